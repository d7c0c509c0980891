"""Do the compiled engine's logs equal HiGHS's? Runs the log-digest runs (`tests/test_log_digests.py`:
`default` 2,160 h, `ieee118` 1,000 h) with `grid.dispatch_engine = "compiled"` and compares them to the
stored (HiGHS) digests bit for bit, column by column, and to the stored figures within 1e-6.

    .venv/bin/python benchmarks/engine_log_digests.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import test_log_digests as t  # noqa: E402
from simulation.config import load_scenario, resolve_scenario  # noqa: E402
from simulation.runner import run_scenario  # noqa: E402


def main() -> int:
    stored = json.loads(t.STORED.read_text())
    figures = json.loads(t.FIGURES.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for name, hours in t.RUNS.items():
            sc = resolve_scenario(load_scenario(ROOT / "configs" / f"{name}.toml"), [("grid.dispatch_engine", "compiled")])
            out = Path(tmp) / name
            run_scenario(sc, out, progress=False, hours=hours)
            got = t.log_digests(out)
            want = stored[name]
            moved = [f"{table}.{col}" for table, tab in want.items() if isinstance(tab, dict)
                     for col, dig in tab["columns"].items() if got.get(table, {}).get("columns", {}).get(col) != dig]
            if got.get("summary.json") != want.get("summary.json"):
                moved.append("summary.json")
            same = sum(len(tab["columns"]) for tab in want.values() if isinstance(tab, dict)) + 1 - len(moved)
            print(f"{name}: {same} columns bit for bit, {len(moved)} differ: {', '.join(moved[:30]) or 'none'}"
                  + (" ..." if len(moved) > 30 else ""))
            bad = t.figure_mismatches(t.log_figures(out), figures[name])
            print(f"{name}: figures within {t.RTOL:g}: {'all' if not bad else f'{len(bad)} not: ' + '; '.join(bad[:5])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
