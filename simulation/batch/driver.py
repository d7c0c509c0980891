"""The batch driver: load the sweep, plan (resume), turn runs into self-contained tasks, hand them
to an executor and write every result into the batch folder as it arrives.

Failures: a run that raises is recorded with status "failed", a one-line error and its traceback
in errors/; the other runs go on. `run_batch` returns normally (exit code 0 from the CLI) when
every run was attempted, failed or not: a crashing parameter point is a result, listed in the
printed summary. Interrupting (Ctrl-C), a dead worker process (process pool) or a task Ray lost
after its retries raises; the same command resumes.
"""

from __future__ import annotations

import contextlib

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from simulation.batch import folder as bf
from simulation.batch.executors import run_processes, run_ray
from simulation.batch.sweep import RunSpec, Sweep, load_sweep, override_texts, scalar
from simulation.batch.table import write_table
from simulation.batch.task import Task, code_versions, first_line


@dataclass
class BatchResult:
    """What `run_batch` did (printable; `failed` lists (run id, error))."""

    folder: Path
    name: str
    total: int
    already_done: int
    ran: int
    ok: int
    failed: list[tuple[str, str]]
    wall_s: float
    table: Path

    def __str__(self) -> str:
        lines = [f"batch {self.name}: {self.total} runs ({self.already_done} already done, {self.ran} ran now "
                 f"in {self.wall_s:.1f} s): {self.ok} ok, {len(self.failed)} failed",
                 f"table: {self.table}"]
        for rid, err in self.failed[:10]:
            lines.append(f"  failed {rid}: {err}  (traceback: {self.folder / 'errors' / (rid + '.txt')})")
        if len(self.failed) > 10:
            lines.append(f"  ... {len(self.failed) - 10} more failed runs in {self.table}")
        lines.append(f"analyse: python run.py analyse {self.folder}")
        return "\n".join(lines)


def default_batch_dir(sweep: Sweep, root: str | Path = "batches", shard: tuple[int, int] | None = None) -> Path:
    return Path(root) / (sweep.name if shard is None else f"{sweep.name}-shard{shard[0]}of{shard[1]}")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`--shard i/N` as (i, N), 1 <= i <= N; a one-line ValueError otherwise."""
    if text is None:
        return None
    parts = str(text).split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--shard {text}: give i/N with whole numbers, e.g. --shard 1/4 (the first of 4 slices)")
    return check_shard((int(parts[0]), int(parts[1])))


def check_shard(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    i, n = shard
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {i}/{n}: the slice number i must be between 1 and N = {n} (1-based)")
    return (int(i), int(n))


def run_batch(sweep_path: str | Path, *, workers: int | None = None, out: str | Path | None = None,
              backend: str = "process", address: str | None = None, progress: bool = True,
              shard: tuple[int, int] | None = None) -> BatchResult:
    """Run (or resume) every run of the sweep file. `backend` "process" runs `workers` local
    processes (default: the CPU count); "ray" runs Ray tasks on the cluster at `address` (host:port
    or ray://host:10001; default: a local Ray with `workers` CPUs). `shard=(i, N)` runs only the
    i-th of N disjoint slices of the sweep (`Sweep.runs`); `merge_shards` joins the N folders."""
    t0 = time.perf_counter()
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray' (got {backend!r})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    if address and backend != "ray":
        raise ValueError("--address is a Ray cluster address; add --backend ray")
    shard = check_shard(shard)
    sweep = load_sweep(sweep_path)
    folder = Path(out) if out is not None else default_batch_dir(sweep, shard=shard)
    folder = folder.resolve()
    with bf.locked(folder):
        sweep = bf.prepare(folder, sweep, shard)
        done, todo = bf.plan(folder, sweep, lambda spec: row_head(sweep, spec), shard)
        write_table(folder)
        failed: dict[str, str] = {}
        ran = 0
        bar = _bar(len(done) + len(todo), len(done), progress, sweep.name)
        try:
            if todo:
                versions = code_versions()
                tasks = (make_task(sweep, spec, versions) for spec in todo)
                if backend == "ray":
                    results = run_ray(tasks, workers, address)
                else:
                    results = run_processes(tasks, max(1, min(workers or _cpu_count(), len(todo))))
                for res in results:
                    bf.store_result(folder, res, res.row["command"])
                    ran += 1
                    if res.failed:
                        failed[res.run_id] = res.row["error"]
                    bar.update(1)
                    if failed:
                        bar.set_postfix(failed=len(failed), refresh=False)
        except BaseException:
            bar.close()
            with contextlib.suppress(OSError):  # the first error is the one to report
                write_table(folder)
            raise
        bar.close()
        table = write_table(folder)
    ok = len(done) + ran - len(failed)
    return BatchResult(folder=folder, name=sweep.name, total=len(done) + len(todo), already_done=len(done), ran=ran,
                       ok=ok, failed=sorted(failed.items()), wall_s=time.perf_counter() - t0, table=table)


def row_head(sweep: Sweep, spec: RunSpec) -> dict:
    """The identity columns of a run's row."""
    return {"run_id": spec.run_id, "point": spec.point, "replication": spec.replication, "seed": spec.seed,
            "parameters": dict(spec.params), "overrides": json.dumps(override_texts(spec.overrides)),
            "command": sweep.command(spec)}


def batch_note(sweep: Sweep, spec: RunSpec) -> dict:
    """The run's `meta.json` "batch" entry: which batch, which run, how its seed was made."""
    return {"name": sweep.name, "sweep_hash": sweep.sweep_hash, "run_id": spec.run_id, "point": spec.point,
            "replication": spec.replication, "root_seed": sweep.root_seed, "seed": spec.seed,
            "seed_rule": ("SeedSequence(root_seed, spawn_key=(replication,))" if sweep.common_seeds
                          else "SeedSequence(root_seed, spawn_key=(point, replication))")
            + ".generate_state(1, uint64)[0] >> 1",
            "overrides": override_texts(spec.overrides),
            "parameters": {k: scalar(v) for k, v in spec.params.items()}}


def make_task(sweep: Sweep, spec: RunSpec, versions: dict | None = None) -> Task:
    """The self-contained task of one run: its scenario resolved here (base + overrides + seed) and
    carried as TOML text. A combination of values the schema refuses becomes a failed run."""
    from simulation.config import ConfigError, dump_config, load_scenario

    toml_text, error = None, ""
    try:
        toml_text = dump_config(load_scenario(str(sweep.base) if sweep.base else None, spec.scenario_overrides()))
    except (ConfigError, ValueError, FileNotFoundError) as e:
        error = first_line(e)
    return Task(run_id=spec.run_id, scenario_toml=toml_text, head=row_head(sweep, spec), note=batch_note(sweep, spec),
                summary_only=sweep.summary_only, load_error=error, versions=dict(versions or {}))


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _bar(total: int, initial: int, enabled: bool, name: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="run", desc=name, dynamic_ncols=True,
                smoothing=0.1)
