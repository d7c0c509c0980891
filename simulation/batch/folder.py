"""The batch folder, written by the driver alone (workers never touch it)::

    batch.json         the sweep as resolved (dimensions, seeds rule, sweep hash); written once
    sweep.toml         a copy of the sweep file
    design.json        a design's table (unit coordinates and values), written before the first
                       run and read back on resume (design.csv: the same, readable)
    rows/<run id>.json one finished run (ok or failed), written atomically after its folder
    runs/<run id>/     the run's own log folder (absent when summary_only)
    errors/<run id>.txt  command and traceback of a failed run
    batch.parquet      one row per recorded run, rebuilt atomically from rows/ at every start and end

A run's folder arrives from its worker as bytes (`RunResult.files`); `store_result` writes them
into `runs/.<id>.<pid>.tmp/`, fsyncs each file and the folder, renames it to `runs/<id>/` in one
step, then writes the row. So a run folder is either absent or complete, and a row exists only
for a stored run.

Resume (`plan`): runs with an "ok" row whose folder is complete (or any "ok" row when
summary_only) are skipped; a run whose folder is complete but whose row was never written
(killed in between) gets its row rebuilt; everything else (no row, a "failed" row, an incomplete
folder) is rerun. A folder made from a different sweep is refused. A lock file stops two
processes working on one folder at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import shutil
from pathlib import Path

from simulation.batch.sweep import RunSpec, Sweep, scalar
from simulation.batch.task import RunResult, make_row


@contextlib.contextmanager
def locked(folder: Path):
    """Hold an exclusive lock on the batch folder itself (the same lock a run takes on its folder;
    released when the process ends, however); `.lock` names the holder's pid."""
    from simulation.output import FolderInUseError, lock_folder

    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = lock_folder(folder)
    except FolderInUseError as e:
        raise ValueError(str(e).replace("a live run", "another process (a batch or a run)")) from None
    try:
        (folder / ".lock").write_text(str(os.getpid()))
        yield
    finally:
        os.close(fd)


def prepare(folder: Path, sweep: Sweep, shard: tuple[int, int] | None = None) -> Sweep:
    """Write batch.json, sweep.toml (and a design's design.json) into a new folder; refuse one
    holding another sweep, another shard or a run. Returns the sweep with the folder's design table
    (a resumed batch runs the table it started with)."""
    from simulation.batch.design import DesignTable
    from simulation.output import MARKER, is_complete

    if (folder / MARKER).exists() or is_complete(folder):
        raise ValueError(f"{folder}: holds a single run, not a batch; pass another --out")
    meta_path = folder / "batch.json"
    if meta_path.exists():
        try:
            old = json.loads(meta_path.read_text()).get("sweep_hash")
        except (OSError, json.JSONDecodeError):
            old = None
        if old != sweep.sweep_hash:
            raise ValueError(f"{folder}: this batch folder holds a different sweep (hash {old}, now "
                             f"{sweep.sweep_hash}: the sweep file or its base scenario changed); "
                             "pass another --out or delete the folder")
        old_shard = (read_json(meta_path) or {}).get("shard")
        if (tuple(old_shard) if old_shard else None) != shard:
            have = f"shard {old_shard[0]}/{old_shard[1]}" if old_shard else "the whole sweep"
            raise ValueError(f"{folder}: this batch folder holds {have}; resume it with the same --shard or "
                             "pass another --out")
        if sweep.design is not None:
            try:
                table = DesignTable.from_json((folder / "design.json").read_text())
            except (OSError, ValueError, KeyError) as e:
                raise ValueError(f"{folder / 'design.json'}: unreadable design table ({type(e).__name__}); the "
                                 "batch cannot resume without it: delete the folder and start again") from None
            if table.keys != sweep.design.table.keys:
                raise ValueError(f"{folder / 'design.json'}: its inputs are not the sweep's; pass another --out")
            return sweep.with_table(table)
        return sweep
    if any(folder.glob("rows/*.json")) or (folder / "batch.parquet").exists():
        raise ValueError(f"{folder}: has batch results but no batch.json; pass another --out")
    meta = {"name": sweep.name, "sweep_hash": sweep.sweep_hash, "sweep_file": str(sweep.path),
            "base": str(sweep.base) if sweep.base else None, "root_seed": sweep.root_seed,
            "seed_rule": "SeedSequence(root_seed, spawn_key=(replication,) if common_seeds else (point, replication))"
                         ".generate_state(1, uint64)[0] >> 1",
            "replications": sweep.replications, "n_points": sweep.n_points, "n_runs": sweep.n_runs,
            "parameters": sweep.keys,
            "dimensions": [{"keys": list(d.keys), "values": [[scalar(v) for v in vs] for vs in d.values]}
                           for d in sweep.dims],
            "definition": sweep.definition(),
            "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    if sweep.design is not None:
        des = sweep.design
        meta["dimensions"] = []
        meta["design"] = {"design": des.name, "samples": des.samples, "levels": des.levels,
                          "n_design_points": des.table.n_points, "n_arms": des.n_arms,
                          "uncertainties": [u.describe() for u in des.uncertainties],
                          "switches": [k for d in des.switches for k in d.keys],
                          "point_rule": "point = design_point * n_arms + arm",
                          "table_hash": des.table.table_hash}
        meta["seed_rule"] = ("SeedSequence(root_seed, spawn_key=(replication,) if common_seeds else "
                             "(design_point, replication)).generate_state(1, uint64)[0] >> 1")
        write_atomic(folder / "design.json", des.table.to_json())
        write_atomic(folder / "design.csv", des.table.to_csv())
    if shard is not None:
        meta["shard"] = list(shard)
    with contextlib.suppress(OSError):
        shutil.copyfile(sweep.path, folder / "sweep.toml")
    write_atomic(meta_path, json.dumps(meta, indent=1))
    return sweep


def plan(folder: Path, sweep: Sweep, head_of, shard: tuple[int, int] | None = None) -> tuple[dict[str, dict], list[RunSpec]]:
    """Split the sweep into runs already done (by id) and runs to do (failed ones included: a
    failure is retried on every resume), cleaning leftovers. `head_of(spec)` gives a run's row
    identity columns (to rebuild a lost row)."""
    from simulation.output import is_complete

    for tmp in (folder / "runs").glob(".*.tmp"):  # a store interrupted before its rename
        shutil.rmtree(tmp, ignore_errors=True)
    done: dict[str, dict] = {}
    todo: list[RunSpec] = []
    for spec in sweep.runs(shard):
        row_path = folder / "rows" / f"{spec.run_id}.json"
        run_dir = folder / "runs" / spec.run_id
        row = read_json(row_path)
        complete = run_dir.is_dir() and is_complete(run_dir)
        if row is not None and row.get("status") == "ok" and (sweep.summary_only or complete):
            done[spec.run_id] = {"status": "ok"}
            if sweep.summary_only and run_dir.exists():
                shutil.rmtree(run_dir)
            continue
        if complete and (row is None or row.get("status") != "ok"):
            recovered = _row_from_folder(sweep, spec, run_dir, head_of)
            if recovered is not None:  # killed between the run's folder and its row
                write_atomic(row_path, json.dumps(recovered))
                done[spec.run_id] = {"status": "ok"}
                if sweep.summary_only:
                    shutil.rmtree(run_dir)
                continue
        row_path.unlink(missing_ok=True)
        todo.append(spec)
    if sweep.common_seeds:  # paired arms first: replication by replication, so a cut-short batch has whole pairs
        todo.sort(key=lambda s: (s.replication, s.point))
    return done, todo


def _row_from_folder(sweep: Sweep, spec: RunSpec, run_dir: Path, head_of) -> dict | None:
    """The row of a complete run folder whose row was never written (its meta must match)."""
    try:
        meta = json.loads((run_dir / "meta.json").read_text())
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    note = meta.get("batch") or {}
    if note.get("sweep_hash") != sweep.sweep_hash or note.get("run_id") != spec.run_id or meta.get("seed", spec.seed) != spec.seed:
        return None
    wall = summary.get("wall_s", meta.get("wall_s", math.nan))
    return make_row(head_of(spec), summary, "", float(wall) if wall is not None else math.nan)


def store_result(folder: Path, result: RunResult, command: str) -> None:
    """Write a worker's result into the batch folder: the run folder (atomically renamed into
    place), or the traceback of a failure; then the row."""
    from simulation.output import _fsync_dir

    rid = result.run_id
    runs, run_dir, err_file = folder / "runs", folder / "runs" / rid, folder / "errors" / f"{rid}.txt"
    err_file.unlink(missing_ok=True)
    if run_dir.exists():  # an incomplete folder of an earlier attempt (plan reruns those)
        shutil.rmtree(run_dir)
    if result.files:
        runs.mkdir(parents=True, exist_ok=True)
        tmp = runs / f".{rid}.{os.getpid()}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for name, data in result.files.items():
            if "/" in name or "\\" in name or name in ("", ".", ".."):
                raise ValueError(f"run {rid}: refusing a result file named {name!r}")
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        os.replace(tmp, run_dir)
        _fsync_dir(runs)
    if result.failed:
        write_atomic(err_file, f"{command}\n\n{result.traceback}")
    write_atomic(folder / "rows" / f"{rid}.json", json.dumps(result.row))


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_atomic(path: Path, text: str) -> None:
    """Write `path` (making its folder) so it is either absent or complete, even if the process dies."""
    from simulation.output import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
