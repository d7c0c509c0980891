"""Batch throughput: runs per minute of the same small sweep with 1 and with 2 worker processes,
and their ratio (the target on 2 cores is >= 1.8x). Both batches are timed in this process, from
`run_batch` call to return (pool start-up included), and their tables are checked to be identical
apart from wall time.

    .venv/bin/python benchmarks/batch_scaling.py [--runs 8] [--hours 168] [--backend process|ray]
"""

from __future__ import annotations

import argparse
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
    ap.add_argument("--hours", type=int, default=168, help="simulated hours per run")
    ap.add_argument("--backend", choices=["process", "ray"], default="process")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (first is the baseline)")
    args = ap.parse_args(argv)

    import pandas as pd

    from simulation.batch import run_batch

    with tempfile.TemporaryDirectory(prefix="gridpivot-bench-") as tmp:
        tmp = Path(tmp)
        sweep = tmp / "sweep.toml"
        sweep.write_text(SWEEP.format(base=(ROOT / "configs" / "default.toml").as_posix(), runs=args.runs, hours=args.hours))
        timings, tables = {}, {}
        for w in args.workers:
            t0 = time.perf_counter()
            res = run_batch(sweep, workers=w, out=tmp / f"w{w}", backend=args.backend, progress=False)
            timings[w] = time.perf_counter() - t0
            if res.failed:
                print(f"workers={w}: {len(res.failed)} runs failed, e.g. {res.failed[0]}", file=sys.stderr)
                return 1
            tables[w] = pd.read_parquet(res.table).drop(columns=["wall_s"])
        base = args.workers[0]
        print(f"batch scaling: {args.runs} runs x {args.hours} h, backend {args.backend}")
        print(f"{'workers':>7}  {'wall s':>8}  {'runs/min':>9}  {'ratio':>6}")
        for w in args.workers:
            rpm = args.runs / timings[w] * 60
            print(f"{w:>7}  {timings[w]:>8.2f}  {rpm:>9.2f}  {timings[base] / timings[w]:>5.2f}x")
            pd.testing.assert_frame_equal(tables[base], tables[w])
        print("tables identical across worker counts (apart from wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
