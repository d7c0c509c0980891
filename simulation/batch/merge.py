"""Joining shard folders (`run.py batch SWEEP --shard i/N`, one per machine or Slurm array task)
into one batch folder, the same as the batch run in one piece: the same batch.json (less its
`shard` entry), design table, rows, run folders and errors, copied byte for byte, and
batch.parquet rebuilt from the rows.

Every check runs before anything is written: the folders must be shards 1..N of one N, each
once, of one sweep (the same sweep hash) and one design table (byte-identical design.json);
the target must be new or empty. A shard with unfinished or failed runs is merged as it is; the
merged folder resumes like any batch (`run.py batch SWEEP --out MERGED`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from simulation.batch.folder import read_json, write_atomic
from simulation.batch.table import write_table

#: what a shard folder contributes besides its rows and run folders
COPIED_FILES = ("sweep.toml", "design.json", "design.csv")


def check_shards(folders: list[Path]) -> tuple[dict, list[Path]]:
    """The shards' common batch.json and the folders in shard order; one-line ValueError otherwise."""
    if not folders:
        raise ValueError("--merge needs the shard folders: run.py batch --merge SHARD_DIR... --out BATCH_DIR")
    metas: dict[int, tuple[Path, dict]] = {}
    first: dict | None = None
    first_design: bytes | None = None
    n = None
    for f in folders:
        meta = read_json(f / "batch.json")
        if meta is None:
            raise ValueError(f"{f}: no batch.json: not a batch folder; pass folders written by run.py batch --shard i/N")
        shard = meta.get("shard")
        if not shard:
            raise ValueError(f"{f}: a whole batch, not a shard; --merge joins folders written with --shard i/N")
        i, this_n = int(shard[0]), int(shard[1])
        design = (f / "design.json").read_bytes() if (f / "design.json").exists() else None
        if first is None:
            first, first_design, n = meta, design, this_n
        elif meta.get("sweep_hash") != first.get("sweep_hash"):
            raise ValueError(f"{f}: shard of another sweep (hash {meta.get('sweep_hash')}, not "
                             f"{first.get('sweep_hash')}: a different sweep file, design or base); merge shards of one sweep")
        elif design != first_design:
            raise ValueError(f"{f}: its design table differs from {folders[0]}'s; merge shards of one design")
        elif this_n != n:
            raise ValueError(f"{f}: shard {i}/{this_n} of a split into {this_n}, the others into {n}; merge one split")
        if i in metas:
            raise ValueError(f"{f}: shard {i}/{n} given twice (also {metas[i][0]}); give each shard once")
        metas[i] = (f, meta)
    missing = sorted(set(range(1, n + 1)) - set(metas))
    if missing:
        raise ValueError(f"shards {', '.join(f'{i}/{n}' for i in missing)} missing; --merge needs all {n} shard folders")
    meta = {k: v for k, v in first.items() if k != "shard"}
    return meta, [metas[i][0] for i in range(1, n + 1)]


def merge_shards(folders: list[str | Path], out: str | Path) -> Path:
    """Merge shard folders into `out` (new or empty); returns its batch.parquet."""
    folders = [Path(f).resolve() for f in folders]
    for f in folders:
        if not f.is_dir():
            raise FileNotFoundError(f"{f}: no such shard folder; pass folders written by run.py batch --shard i/N")
    meta, ordered = check_shards(folders)
    out = Path(out).resolve()
    if out in folders:
        raise ValueError(f"--out {out}: is one of the shards; pass a new folder")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"--out {out}: exists and is not empty; pass a new folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        src = ordered[0] / name
        if src.exists():
            shutil.copyfile(src, out / name)
    for f in ordered:
        for sub in ("rows", "runs", "errors"):
            src = f / sub
            if not src.is_dir():
                continue
            (out / sub).mkdir(exist_ok=True)
            for item in sorted(src.iterdir()):
                if item.name.startswith("."):  # an interrupted store's leftovers
                    continue
                if item.is_dir():
                    shutil.copytree(item, out / sub / item.name)
                else:
                    shutil.copyfile(item, out / sub / item.name)
    write_atomic(out / "batch.json", json.dumps(meta, indent=1))
    return write_table(out)
