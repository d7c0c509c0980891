"""Sweeps: every point of a parameter grid x its replications, run in parallel processes or as
Ray tasks on a cluster, one log folder per run and one row per run in `batch.parquet`; resumable.

The package, by job:

- `sweep`     the sweep file (keys, dimensions, ranges, zipped groups), the runs it plans, their seeds
- `design`    designs over [uncertainties] (grid, LHS, Sobol', Morris) and the design table
- `task`      one run on a worker: a self-contained `Task` (the resolved scenario as TOML text) in,
              a `RunResult` (row + the run folder's files as bytes) out; workers touch no shared disk
- `executors` worker processes and Ray tasks behind one bounded-submit loop; Ray retries dead workers
- `folder`    the batch folder, written by the driver alone: atomic run folders and rows, resume, lock
- `table`     `batch.parquet`, rebuilt atomically from the rows
- `driver`    `run_batch`: plan, submit, store (`--shard i/N`: one slice)
- `merge`     shard folders joined into one batch
- `ema`       gridpivot as an EMA Workbench model; a batch as EMA experiments (the `ema` extra)

See `sweep` for the sweep file and the seed rule, `folder` for the folder layout and resume.
"""

from simulation.batch.driver import BatchResult, default_batch_dir, make_task, run_batch
from simulation.batch.sweep import Dimension, RunSpec, Sweep, SweepError, derive_seed, load_sweep, run_id
from simulation.batch.table import read_rows, write_table
from simulation.batch.task import CodeVersionError, RunResult, Task, execute

__all__ = ["BatchResult", "CodeVersionError", "Dimension", "RunResult", "RunSpec", "Sweep", "SweepError", "Task",
           "default_batch_dir", "derive_seed", "execute", "load_sweep", "make_task", "read_rows", "run_batch",
           "run_id", "write_table"]
