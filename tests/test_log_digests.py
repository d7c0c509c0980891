"""The logs of `default` (2,160 h) and of 1,000 h of `ieee118`, checked twice against stored values.

1. **Bit for bit, given the lock and the CPU's vector instructions** (`tests/data/log_digests.json`):
   per table and column, a sha256 of the column's values as read back from the run's Parquet, and
   of the summary (wall time left out). The digests hold for the versions pinned in
   `requirements.lock`, the ones the README's commands install: another numpy, HiGHS or scipy may
   round differently (numpy 2.5 changes the last bits of the investment table's `usd` column), and
   then bytes differ while the numbers agree. numpy also picks its kernels (sums, exp, log) by the
   CPU's vector instruction level at run time, and those round differently too: the digests first
   recorded on an Intel Xeon failed, for the same code and versions, on an AMD EPYC whose numpy
   dispatches to `X86_V3` (AVX2, no AVX-512), while every figure of check 2 agreed to 1e-6. So
   digests are stored per level (`simd_level()`); a machine whose level has none recorded skips
   this check, saying so, and check 2 still holds it to the numbers.
2. **The same numbers, on any versions** (`tests/data/log_figures.json`): every numeric summary
   figure to a relative 1e-6, and the daily means of a few hourly columns (`FIGURE_COLUMNS`) to
   1e-6 of the column's largest daily mean. Measured on these runs: perturbing every bid price by
   1e-9 USD/MWh (which breaks ties between equal bids) or the demand by 1e-12 moves none of them by
   more than 1e-7; another seed moves them by 10-150 %. A failure names the figure, both values and
   the installed versions that decide the numbers.

A change that means to change the logs regenerates both files:
`.venv/bin/python tests/test_log_digests.py` (with the lock's versions installed; it keeps only this
machine's level, since the other levels' digests are then stale), and says so in its commit. The
same code on a machine of another level adds its digests with `--add-level` (refused unless the
numbers agree with the stored figures). After a refresh of the lock, the tolerant check passing
while digests differ means the new versions only round differently: regenerate in the same commit."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("data")
STORED = DATA / "log_digests.json"
FIGURES = DATA / "log_figures.json"
#: scenario name -> hours the run is stopped after (None: the scenario's own run.hours)
RUNS = {"default": None, "ieee118": 1000}
#: hourly columns the version-tolerant check compares (as daily means)
FIGURE_COLUMNS = ("difficulty", "height", "network_eh_s", "hashprice_usd_per_ph_day", "mw_hashing", "mw_ai",
                  "mw_committed_ai", "lmp_mean_usd_per_mwh", "emissions_t", "miner_cash_usd")
#: relative tolerance of the version-tolerant check (see the module docstring for why this size)
RTOL = 1e-6
#: the installed packages the logs' numbers depend on (named in a failure)
NUMERIC_PACKAGES = ("numpy", "scipy", "highspy", "pandas", "pyarrow", "mesa", "networkx")


def simd_level() -> str:
    """The machine and the highest vector instruction level numpy dispatches to here, e.g.
    'x86_64 X86_V3' (AVX2) or 'x86_64 X86_V4' (AVX-512): what numpy's kernels round by."""
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    found = [d for d in __cpu_dispatch__ if __cpu_features__.get(d)] or list(__cpu_baseline__)[-1:]
    return f"{platform.machine()} {found[-1] if found else 'baseline'}"


def _column_digest(col) -> str:
    """sha256 of one column: its Arrow type, null mask and values (strings joined with NULs)."""
    h = hashlib.sha256(str(col.type).encode())
    col = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    h.update(np.asarray(col.is_null()).tobytes())
    values = col.to_numpy(zero_copy_only=False)
    if values.dtype == object:
        h.update("\0".join(map(str, values.tolist())).encode())
    else:
        h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def run_logs(name: str, hours: int | None, out: Path) -> Path:
    """Run scenario `name` into `out` (stopped after `hours`)."""
    sys.path.insert(0, str(ROOT))
    from simulation.config import load_scenario
    from simulation.runner import run_scenario

    run_scenario(load_scenario(ROOT / "configs" / f"{name}.toml"), out, progress=False, hours=hours)
    return out


def log_digests(out: Path) -> dict:
    """Every table's columns and the summary of the run in `out`, digested."""
    tables = {}
    for p in sorted(out.glob("*.parquet")):
        t = pq.read_table(p)
        tables[p.stem] = {"rows": t.num_rows, "names": t.column_names,
                          "columns": {c: _column_digest(t.column(c)) for c in t.column_names}}
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("wall_s", None)
    tables["summary.json"] = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return tables


def log_figures(out: Path) -> dict:
    """The run's numeric summary figures and the daily means of `FIGURE_COLUMNS`."""
    summary = json.loads((out / "summary.json").read_text())
    numbers = {k: float(v) for k, v in summary.items()
               if k != "wall_s" and isinstance(v, (int, float)) and not isinstance(v, bool)}
    hourly = pq.read_table(out / "hourly.parquet", columns=["hour", *FIGURE_COLUMNS])
    day = np.asarray(hourly.column("hour")) // 24
    daily = {}
    for c in FIGURE_COLUMNS:
        v = np.asarray(hourly.column(c), float)
        daily[c] = (np.bincount(day, v) / np.bincount(day)).tolist()
    return {"summary": numbers, "daily_means": daily}


def versions() -> str:
    return ", ".join(f"{p} {metadata.version(p)}" for p in NUMERIC_PACKAGES)


def figure_mismatches(got: dict, want: dict, rtol: float = RTOL) -> list[str]:
    """Each figure of `want` that `got` misses or differs from beyond `rtol`, as a line."""
    bad = []
    for k, w in want["summary"].items():
        g = got["summary"].get(k)
        if g is None or not math.isclose(g, w, rel_tol=rtol, abs_tol=1e-12):
            bad.append(f"summary {k}: {g!r}, stored {w!r}")
    for c, w in want["daily_means"].items():
        w, g = np.asarray(w, float), np.asarray(got["daily_means"].get(c, []), float)
        if g.shape != w.shape:
            bad.append(f"hourly {c}: {g.size} days, stored {w.size}")
            continue
        scale = float(np.max(np.abs(w))) or 1.0
        off = np.abs(g - w) / scale
        if off.max() > rtol:
            d = int(off.argmax())
            bad.append(f"hourly {c}: day {d} mean {g[d]!r}, stored {w[d]!r} ({off.max():.1e} of its scale)")
    return bad


@pytest.fixture(scope="module", params=list(RUNS))
def run(request, tmp_path_factory):
    name = request.param
    return name, run_logs(name, RUNS[name], tmp_path_factory.mktemp(name) / name)


def test_logs_are_bit_for_bit_the_stored_ones_with_the_locked_versions(run):
    name, out = run
    level = simd_level()
    by_level = json.loads(STORED.read_text())
    if level not in by_level:
        pytest.skip(f"no digests recorded for this CPU's vector level ({level}; recorded: {', '.join(by_level)}): "
                    "numpy rounds by it; the version-tolerant test checks the numbers; "
                    "record with `python tests/test_log_digests.py --add-level`")
    stored = by_level[level][name]
    got = log_digests(out)
    hint = (f" (installed: {versions()}; CPU level {level}; the digests hold for requirements.lock's versions, "
            "and the version-tolerant test in this file says whether the numbers still agree)")
    assert sorted(got) == sorted(stored), "tables differ" + hint
    for table, want in stored.items():
        if table == "summary.json":
            assert got[table] == want, "summary.json differs" + hint
            continue
        assert got[table]["rows"] == want["rows"], f"{table}: row count"
        assert got[table]["names"] == want["names"], f"{table}: column names or order"
        bad = [c for c in want["columns"] if got[table]["columns"][c] != want["columns"][c]]
        assert not bad, f"{table}: columns differ: {bad}" + hint


def test_summary_and_hourly_figures_agree_with_the_stored_ones_on_any_versions(run):
    name, out = run
    bad = figure_mismatches(log_figures(out), json.loads(FIGURES.read_text())[name])
    assert not bad, f"{name}: {len(bad)} figures beyond {RTOL:g} (installed: {versions()}): " + "; ".join(bad[:8])


def test_the_tolerant_check_tells_another_seed_from_the_stored_run(run, tmp_path):
    """The tolerance is tight enough to matter: the same scenario on another seed fails it."""
    name, _ = run
    sys.path.insert(0, str(ROOT))
    from simulation.config import load_scenario, resolve_scenario
    from simulation.runner import run_scenario

    sc = resolve_scenario(load_scenario(ROOT / "configs" / f"{name}.toml"), ["run.seed=7"], {})
    run_scenario(sc, tmp_path / "other", progress=False, hours=min(RUNS[name] or sc.run.hours, 336))
    got = log_figures(tmp_path / "other")
    want = json.loads(FIGURES.read_text())[name]
    days = len(got["daily_means"]["difficulty"])
    want = {"summary": {}, "daily_means": {c: v[:days] for c, v in want["daily_means"].items()}}
    assert len(figure_mismatches(got, want)) >= len(FIGURE_COLUMNS) // 2


if __name__ == "__main__":  # regenerate the stored digests and figures from the code as it is
    import tempfile

    add = "--add-level" in sys.argv[1:]
    level = simd_level()
    with tempfile.TemporaryDirectory() as tmp:
        outs = {name: run_logs(name, hours, Path(tmp) / name) for name, hours in RUNS.items()}
        figures = {n: log_figures(o) for n, o in outs.items()}
        digests = {n: log_digests(o) for n, o in outs.items()}
    if add:  # the same code on another CPU level: its digests join the others, the figures stay
        stored_figures = json.loads(FIGURES.read_text())
        bad = [line for n in RUNS for line in figure_mismatches(figures[n], stored_figures[n])]
        if bad:
            sys.exit(f"--add-level refused: the numbers differ from the stored figures, so the code changed the "
                     f"logs; regenerate without --add-level. First: {bad[0]}")
        by_level = json.loads(STORED.read_text()) | {level: digests}
    else:
        by_level = {level: digests}
        FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    STORED.write_text(json.dumps(by_level, indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORED} for {level}{'' if add else f' and {FIGURES}'} (installed: {versions()})")
