"""The logs of `default` (2,160 h) and of 1,000 h of `ieee118` are bit for bit those stored in
tests/data/log_digests.json: per table and column, a sha256 of the column's values as read back
from the run's Parquet, and of the summary (wall time left out).

The stored digests come from the code before issue 16's refactor (the hour as a pipeline of
values), which had to leave every log byte unchanged. A change that means to change the logs
regenerates them: `.venv/bin/python tests/test_log_digests.py` (and says so in its commit)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
STORED = Path(__file__).with_name("data") / "log_digests.json"
#: scenario name -> hours the run is stopped after (None: the scenario's own run.hours)
RUNS = {"default": None, "ieee118": 1000}


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


def log_digests(name: str, hours: int | None, out: Path) -> dict:
    """Run scenario `name` into `out` and digest every table's columns and the summary."""
    sys.path.insert(0, str(ROOT))
    from simulation.config import load_scenario
    from simulation.runner import run_scenario

    sc = load_scenario(ROOT / "configs" / f"{name}.toml")
    run_scenario(sc, out, progress=False, hours=hours)
    tables = {}
    for p in sorted(out.glob("*.parquet")):
        t = pq.read_table(p)
        tables[p.stem] = {"rows": t.num_rows, "names": t.column_names,
                          "columns": {c: _column_digest(t.column(c)) for c in t.column_names}}
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("wall_s", None)
    tables["summary.json"] = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return tables


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_logs_are_bit_for_bit_the_stored_ones(name, tmp_path):
    stored = json.loads(STORED.read_text())[name]
    got = log_digests(name, RUNS[name], tmp_path / name)
    assert sorted(got) == sorted(stored), "tables differ"
    for table, want in stored.items():
        if table == "summary.json":
            assert got[table] == want, "summary.json differs"
            continue
        assert got[table]["rows"] == want["rows"], f"{table}: row count"
        assert got[table]["names"] == want["names"], f"{table}: column names or order"
        bad = [c for c in want["columns"] if got[table]["columns"][c] != want["columns"][c]]
        assert not bad, f"{table}: columns differ: {bad}"


if __name__ == "__main__":  # regenerate the stored digests from the code as it is
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = {name: log_digests(name, hours, Path(tmp) / name) for name, hours in RUNS.items()}
    STORED.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORED}")
