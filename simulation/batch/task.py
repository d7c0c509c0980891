"""One run of a batch, on whichever worker gets it (a local process or a Ray worker on any node).

A `Task` is self-contained: the run's resolved scenario as TOML text (base scenario, the sweep's
overrides and the run's seed already applied on the driver), the row's identity columns and the
note for `meta.json`. It names no path on the driver's disk, so a worker needs neither the
driver's checkout nor its batch folder. `execute` runs the scenario into a temporary folder of
the worker's own and returns a `RunResult`: the row, and the run folder's files as bytes (Parquet
tables, config.toml, meta.json, summary.json). The driver alone writes them into the batch
folder (`simulation.batch.folder.store_result`), the same way whichever executor ran the task.

A run that fails by its own error (a scenario the model refuses, a solver failure) is a result:
status "failed", a one-line error and its traceback; `execute` does not raise for it, so Ray
never retries it. `execute` raises only when the worker's code differs from the driver's
(`CodeVersionError`), which no retry can fix.
"""

from __future__ import annotations

import importlib.metadata
import platform
import tempfile
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: columns every row has, in this order; parameters, overrides, command and outcomes follow
ROW_COLUMNS = ("run_id", "point", "replication", "seed", "status", "error", "wall_s")
#: distributions whose versions decide a run's numbers: a worker must have the driver's
VERSIONED = ("gridpivot", "numpy", "mesa", "highspy")


class CodeVersionError(RuntimeError):
    """The worker's code (gridpivot or a library deciding the numbers) is not the driver's."""


def code_versions() -> dict[str, str]:
    """Versions of what decides a run's numbers, in this process. gridpivot's own is the imported
    package's `__version__` (also right for code shipped by Ray's runtime_env, which is not
    installed as a distribution on the node)."""
    import simulation

    out = {"gridpivot": simulation.__version__}
    for dist in VERSIONED[1:]:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one run (small and picklable)."""

    run_id: str
    scenario_toml: str | None  # the resolved scenario of this run; None when it could not be resolved
    head: dict  # identity columns of the row: run_id, point, replication, seed, parameters, overrides, command
    note: dict = field(default_factory=dict)  # meta.json's "batch" entry
    summary_only: bool = False
    load_error: str = ""  # why the scenario could not be resolved on the driver (the run is then failed)
    versions: dict = field(default_factory=dict)  # the driver's code_versions(); {}: not checked


@dataclass
class RunResult:
    """What a worker sends back: the row, the run folder's files, and the traceback of a failure."""

    row: dict
    files: dict[str, bytes]  # file name -> content; {} for a failed or summary-only run
    traceback: str = ""
    host: str = ""

    @property
    def run_id(self) -> str:
        return self.row["run_id"]

    @property
    def failed(self) -> bool:
        return self.row["status"] == "failed"


def scenario_from_toml(text: str, source: str):
    """The scenario a task carries, from its TOML text (as `dump_config` wrote it)."""
    from simulation.config import Scenario, config_from_dict

    return config_from_dict(tomllib.loads(text), Scenario, source=source)


def check_versions(wanted: dict) -> None:
    """Raise CodeVersionError when this process's code_versions() differ from `wanted`."""
    if not wanted:
        return
    have = code_versions()
    diff = [f"{k} {have.get(k)} here, {v} on the driver" for k, v in wanted.items() if have.get(k) != v]
    if diff:
        raise CodeVersionError(
            f"worker on {platform.node()} runs other code than the driver ({'; '.join(diff)}); install the "
            "driver's version on every node (pip install 'gridpivot[ray]==<version>') or run the driver "
            "from a checkout, which ships its code to the workers")


def execute(task: Task) -> RunResult:
    """Run `task` in a temporary folder of this worker and return its row and files; never raises
    for a failing run (see the module docstring)."""
    check_versions(task.versions)
    from simulation.runner import run_scenario

    t0 = time.perf_counter()
    summary: dict = {}
    error, tb = "", ""
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix=f"gridpivot-{task.run_id}-") as tmp:
        run_dir = Path(tmp) / task.run_id
        try:
            if task.scenario_toml is None:
                raise ValueError(task.load_error or "the run's scenario could not be resolved")
            sc = scenario_from_toml(task.scenario_toml, f"run {task.run_id}")
            summary = run_scenario(sc, run_dir, progress=False, seed_note={"batch": task.note})
            if not task.summary_only:
                files = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}
        except Exception as e:  # noqa: BLE001 - every failure is recorded, the batch goes on
            error = f"{type(e).__name__}: {first_line(e)}"
            tb = traceback.format_exc()
            files = {}
    row = make_row(task.head, summary, error, time.perf_counter() - t0)
    return RunResult(row=row, files=files, traceback=tb, host=platform.node())


def make_row(head: dict, summary: dict, error: str, wall_s: float) -> dict:
    """One row of the batch table: identity, status, parameters, overrides, command, outcomes."""
    row: dict[str, Any] = {"run_id": head["run_id"], "point": head["point"], "replication": head["replication"],
                           "seed": head["seed"], "status": "failed" if error else "ok", "error": error,
                           "wall_s": round(wall_s, 3)}
    row.update(head["parameters"])
    row["overrides"] = head["overrides"]
    row["command"] = head["command"]
    for k, v in summary.items():
        if k == "wall_s" or isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            continue
        row[k if k not in row else f"summary_{k}"] = v.item() if isinstance(v, np.generic) else v
    return row


def first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__
