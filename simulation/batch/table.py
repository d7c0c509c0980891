"""The batch table `batch.parquet`: one row per recorded run (from `rows/`), rebuilt atomically."""

from __future__ import annotations

import os
from pathlib import Path

from simulation.batch.folder import read_json
from simulation.batch.task import ROW_COLUMNS


def read_rows(folder: str | Path) -> list[dict]:
    """Every recorded row of a batch folder, in run-id order (point, then replication)."""
    rows = []
    for p in sorted(Path(folder).glob("rows/*.json")):
        row = read_json(p)
        if row is not None:
            rows.append(row)
    return rows


def write_table(folder: str | Path) -> Path:
    """Rebuild `batch.parquet` from `rows/` atomically (a reader never sees half a table)."""
    import pandas as pd

    from simulation.output import _fsync_dir

    folder = Path(folder)
    rows = read_rows(folder)
    meta = read_json(folder / "batch.json") or {}
    params = list(meta.get("parameters", []))
    head = [*ROW_COLUMNS, *params, "overrides", "command"]
    if rows:
        df = pd.DataFrame(rows)
        for c in params:
            if c in df.columns:
                df[c] = _param_column(df[c].tolist())
        df = df[[c for c in head if c in df.columns] + [c for c in df.columns if c not in head]]
    else:
        df = pd.DataFrame({c: pd.Series(dtype="int64" if c in ("point", "replication", "seed") else "object")
                           for c in head})
    path = folder / "batch.parquet"
    tmp = folder / f".batch.parquet.{os.getpid()}.tmp"
    df.to_parquet(tmp, index=False)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(folder)
    return path


def _param_column(values: list) -> list:
    """One parameter's values as one Parquet type: numbers, booleans or strings as they are;
    tables, arrays and mixtures as TOML text."""
    from simulation.config import toml_inline

    kinds = {"bool" if isinstance(v, bool) else "num" if isinstance(v, (int, float)) else
             "str" if isinstance(v, str) else "other" for v in values}
    if len(kinds) == 1 and "other" not in kinds:
        return values
    return [toml_inline(v) for v in values]
