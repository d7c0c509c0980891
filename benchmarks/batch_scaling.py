"""Batch throughput: runs per minute of the same small sweep with 1 and 2 workers on both backends
(worker processes, and Ray tasks on a local Ray started for the batch), the 2-vs-1 worker ratio of
each (the goal on 2 cores is >= 1.8x) and Ray against the process pool. Each batch is timed in
this process from `run_batch` call to return (pool or Ray start-up included), and every batch
table is checked to be identical to the first one apart from wall time. The CPU seconds the
batch got (this process and its finished child processes: the pool's workers, a local Ray's
processes) show how much of the machine it had: on a machine shared with other work, a low
"CPU/wall" says the ratio measures the sharing, not the batch.

    .venv/bin/python benchmarks/batch_scaling.py [--runs 8] [--hours 720] [--backend both|process|ray]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWEEP = """\
name = "batch_scaling"
base = "{base}"
replications = {runs}
seed = 7

[fixed]
"run.hours" = {hours}
"run.agent_log" = "daily"
"population.counts" = {{profit_max = 4, hodl_hasher = 3, ai_host = 2, grid_responsive = 3, adaptive = 2}}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=8, help="runs in the sweep (replications of one point)")
    ap.add_argument("--hours", type=int, default=720, help="simulated hours per run")
    ap.add_argument("--backend", choices=["both", "process", "ray"], default="both")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (first is the baseline)")
    args = ap.parse_args(argv)
    backends = ["process", "ray"] if args.backend == "both" else [args.backend]
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import pandas as pd

    from simulation.batch import run_batch

    with tempfile.TemporaryDirectory(prefix="gridpivot-bench-") as tmp:
        tmp = Path(tmp)
        sweep = tmp / "sweep.toml"
        sweep.write_text(SWEEP.format(base=(ROOT / "configs" / "default.toml").as_posix(), runs=args.runs, hours=args.hours))
        timings, cpu, tables = {}, {}, {}
        for backend in backends:
            for w in args.workers:
                c0, t0 = _cpu_s(), time.perf_counter()
                res = run_batch(sweep, workers=w, out=tmp / f"{backend}-w{w}", backend=backend, progress=False)
                timings[backend, w] = time.perf_counter() - t0
                cpu[backend, w] = _cpu_s() - c0
                if res.failed:
                    print(f"{backend} workers={w}: {len(res.failed)} runs failed, e.g. {res.failed[0]}", file=sys.stderr)
                    return 1
                tables[backend, w] = pd.read_parquet(res.table).drop(columns=["wall_s"])
        base = args.workers[0]
        print(f"batch scaling: {args.runs} runs x {args.hours} h, {os.cpu_count()} CPUs "
              f"(load average at the end {os.getloadavg()[0]:.2f})")
        print(f"{'backend':>8}  {'workers':>7}  {'wall s':>8}  {'CPU s':>7}  {'CPU/wall':>8}  {'runs/min':>9}  "
              f"{f'vs {base} worker':>12}" + ("  vs process" if len(backends) > 1 else ""))
        first = next(iter(tables.values()))
        for backend in backends:
            for w in args.workers:
                rpm = args.runs / timings[backend, w] * 60
                line = (f"{backend:>8}  {w:>7}  {timings[backend, w]:>8.2f}  {cpu[backend, w]:>7.1f}  "
                        f"{cpu[backend, w] / timings[backend, w]:>8.2f}  {rpm:>9.2f}  "
                        f"{timings[backend, base] / timings[backend, w]:>11.2f}x")
                if len(backends) > 1:
                    line += f"  {timings['process', w] / timings[backend, w]:>9.2f}x"
                print(line)
                pd.testing.assert_frame_equal(first, tables[backend, w])
        if "ray" in backends:
            print("(Ray's CPU s undercount: its worker processes are stopped, not waited for, so their CPU time is not seen here)")
        print("batch tables identical across backends and worker counts (apart from wall time)")
    return 0


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished (waited-for) children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
