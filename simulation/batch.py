"""Sweeps: every point of a parameter grid x its replications, run in parallel processes (or as
Ray tasks), one log folder per run and one row per run in `batch.parquet`; resumable.

Sweep file (TOML; every key optional except that a sweep without [parameters] or [[zip]] is just
replications of the base)::

    name = "halving_prices"         # batch name (default: the file's stem); default folder batches/<name>
    base = "../default.toml"        # scenario, relative to this file (default: the built-in default)
    replications = 4                # seeds per parameter point (>= 1)
    seed = 2024                     # root seed (default: the base scenario's run.seed)
    common_seeds = false            # true: replication r gets the same seed at every point
    summary_only = false            # true: keep each run's summary row only, not its tables

    [fixed]                         # overrides for every run: dotted config paths, TOML values
    "run.hours" = 720

    [parameters]                    # one sweep dimension per key; the points are their product
    "markets.btc_price.drift_per_year" = [-0.5, 0.0, 0.5]          # a list
    "markets.ai.trend_per_year" = {start = -0.3, stop = 0.3, num = 3}   # linspace, stop included
    "run.utc_offset_h" = {start = -8, stop = -5, step = 1}        # stop included if on the grid

    [[zip]]                         # keys varying together (equal lengths): one dimension
    "markets.btc_price.s0_usd" = [50000.0, 64000.0]
    "bitcoin.fees.btc_per_block" = [0.05, 0.1]

Points are numbered in row-major order of the dimensions ([parameters] keys in file order, then
each [[zip]] group; the last dimension varies fastest). Run ids are `p<point>-r<replication>`.

Seeds: run (point p, replication r) of a sweep with root seed R gets
``run.seed = SeedSequence(R, spawn_key=(p, r)).generate_state(1, uint64)[0] >> 1`` (63 bits, a
valid TOML integer), which is the same child as ``SeedSequence(R).spawn(p+1)[p].spawn(r+1)[r]``.
It depends only on (R, p, r), never on the number of points, replications or workers, nor on
the order runs finish in. With ``common_seeds = true`` the key is ``(r,)``: every point of
replication r sees the same random streams (common random numbers). Each row records the run's
seed, its overrides and the `run.py run ... --seed S` command that reproduces it bit for bit.

Batch folder::

    batch.json         the sweep as resolved (dimensions, seeds rule, sweep hash); written once
    sweep.toml         a copy of the sweep file
    rows/<run id>.json one finished run (ok or failed), written atomically when it finishes
    runs/<run id>/     the run's own log folder (deleted after its row when summary_only)
    errors/<run id>.txt  traceback of a failed run
    batch.parquet      one row per recorded run, rebuilt atomically from rows/ at every start and end

Resume: running the same command again skips runs with an "ok" row whose folder is complete (or
any "ok" row when summary_only), rebuilds the row of a run whose folder is complete but whose row
was never written (killed in between), and reruns everything else (no row, a "failed" row, or
an incomplete folder, which is deleted first). A row is one file named by its run id, so no run
is ever recorded twice. A batch folder made from a different sweep (its hash, over the resolved
base scenario, the fixed overrides, the dimensions, replications, root seed, seed rule and
summary_only) is refused. A lock file stops two processes working on one folder at once.

Failures: a run that raises is recorded with status "failed", a one-line error and its
traceback in errors/; the other runs go on. `run_batch` returns normally (exit code 0 from the
CLI) when every run was attempted, failed or not: a crashing parameter point is a result,
listed in the printed summary. Interrupting (Ctrl-C) or a dead worker process raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import shlex
import shutil
import sys
import time
import tomllib
import traceback
import types
import typing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: top-level keys of a sweep file
SWEEP_KEYS = ("name", "base", "replications", "seed", "common_seeds", "summary_only", "fixed", "parameters", "zip")
#: fields of a range table
RANGE_KEYS = {"start", "stop", "step", "num"}
#: at most this many values in one dimension (a typo in a range should not plan a billion runs)
MAX_VALUES = 100_000
#: at most this many runs in one batch
MAX_RUNS = 10_000_000
#: columns every row has, in this order; parameters, overrides, command and outcomes follow
ROW_COLUMNS = ("run_id", "point", "replication", "seed", "status", "error", "wall_s")
#: the start method of worker processes: a fresh interpreter, never a fork of this one
START_METHOD = "spawn"


class SweepError(ValueError):
    """A problem with a sweep file, in one line naming the file and the key."""


# ------------------------------------------------------------------------------------------------
# seeds
def derive_seed(root_seed: int, point: int, replication: int, *, common: bool = False) -> int:
    """The run seed of (point, replication): a child of `SeedSequence(root_seed)` keyed by
    `(point, replication)` (or `(replication,)` with common seeds), 63 bits so it is a valid
    `run.seed` and TOML integer."""
    key = (replication,) if common else (point, replication)
    ss = np.random.SeedSequence(root_seed, spawn_key=key)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


# ------------------------------------------------------------------------------------------------
# TOML values as override strings
def toml_value(v: Any) -> str:
    """`v` as a TOML value (inline tables for dicts), as `--set key=value` expects."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "-_" for c in k) and k.isascii() else json.dumps(k)


def _scalar(v: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, tables and arrays as TOML text."""
    return v if isinstance(v, (bool, int, float, str)) else toml_value(v)


# ------------------------------------------------------------------------------------------------
# the sweep definition
@dataclass(frozen=True)
class Dimension:
    """One sweep axis: one key (a list or range) or a zipped group of keys varying together."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # values[i][k]: value of keys[k] at index i
    section: str = "parameters"  # where it was defined: "parameters" or "zip[<n>]"

    def overrides(self, i: int) -> list[str]:
        return [f"{k}={toml_value(v)}" for k, v in zip(self.keys, self.values[i])]


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    base: Path | None  # absolute; None: the built-in default scenario
    replications: int
    root_seed: int
    common_seeds: bool
    summary_only: bool
    fixed: tuple[str, ...]  # override strings
    dims: tuple[Dimension, ...]
    base_config_hash: str

    @property
    def n_points(self) -> int:
        return math.prod(len(d.values) for d in self.dims)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replications

    @property
    def keys(self) -> list[str]:
        return [k for d in self.dims for k in d.keys]

    def definition(self) -> dict:
        """Everything that decides what the runs compute (hashed into the sweep hash)."""
        return {"base_config_hash": self.base_config_hash, "fixed": list(self.fixed),
                "dimensions": [{"keys": list(d.keys), "values": [d.overrides(i) for i in range(len(d.values))]}
                               for d in self.dims],
                "replications": self.replications, "root_seed": self.root_seed,
                "common_seeds": self.common_seeds, "summary_only": self.summary_only}

    @property
    def sweep_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def base_arg(self) -> str:
        """The base scenario as a command-line argument (relative to the current folder if inside it)."""
        if self.base is None:
            return ""
        with contextlib.suppress(ValueError):
            return str(self.base.relative_to(Path.cwd()))
        return str(self.base)

    def runs(self) -> Iterator["RunSpec"]:
        """Every run of the sweep, in point-major order (lazily: a big sweep is never a list)."""
        for point, idx in enumerate(itertools.product(*(range(len(d.values)) for d in self.dims))):
            params: dict[str, Any] = {}
            ovs: list[str] = list(self.fixed)
            for d, i in zip(self.dims, idx):
                params.update(zip(d.keys, d.values[i]))
                ovs += d.overrides(i)
            for rep in range(self.replications):
                seed = derive_seed(self.root_seed, point, rep, common=self.common_seeds)
                yield RunSpec(run_id=run_id(point, rep), point=point, replication=rep, seed=seed,
                              params=params, overrides=tuple(ovs))

    def command(self, spec: "RunSpec") -> str:
        """`run.py run` command line reproducing `spec` alone, bit for bit."""
        parts = ["python", "run.py", "run"] + ([self.base_arg()] if self.base else [])
        for ov in spec.overrides:
            parts += ["--set", ov]
        parts += ["--seed", str(spec.seed)]
        return shlex.join(parts)


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    point: int
    replication: int
    seed: int
    params: dict[str, Any]
    overrides: tuple[str, ...]  # fixed + this point's; the seed is separate (run.seed)


def run_id(point: int, replication: int) -> str:
    return f"p{point:04d}-r{replication:02d}"


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; every problem is a one-line `SweepError` naming the key.
    Every value of every dimension is checked against the scenario schema (by loading the base
    scenario with it), so a typo stops the batch before any run starts."""
    from simulation.config import ConfigError, config_hash, load_scenario

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such sweep file; pass a TOML file like configs/sweeps/halving_prices.toml")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path}: not valid TOML: {e}") from None
    where = str(path)
    for k in doc:
        if k not in SWEEP_KEYS:
            raise SweepError(f"{where}: unknown key '{k}'; a sweep file has {', '.join(SWEEP_KEYS)}")

    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\"):
        raise SweepError(f"{where}: name must be a non-empty string without slashes (got {name!r})")
    base = doc.get("base")
    if base is not None:
        if not isinstance(base, str) or not base:
            raise SweepError(f"{where}: base must be a scenario path (string) relative to the sweep file (got {base!r})")
        base = (path.parent / base).resolve()
        if not base.is_file():
            raise SweepError(f"{where}: base = {doc['base']!r}: no such scenario file ({base})")
    reps = doc.get("replications", 1)
    if not _is_int(reps) or reps < 1:
        raise SweepError(f"{where}: replications must be an integer >= 1 (got {reps!r})")
    for flag in ("common_seeds", "summary_only"):
        if not isinstance(doc.get(flag, False), bool):
            raise SweepError(f"{where}: {flag} must be true or false (got {doc[flag]!r})")

    def load(ovs: list[str], what: str):
        try:
            return load_scenario(str(base) if base else None, ovs)
        except (ConfigError, ValueError, FileNotFoundError) as e:
            raise SweepError(f"{where}: {what}: {_first_line(e)}") from None

    fixed_table = doc.get("fixed", {})
    if not isinstance(fixed_table, dict):
        raise SweepError(f"{where}: [fixed] must be a table of dotted config paths and values")
    fixed_pairs = list(_flatten(fixed_table, "", f"{where}: fixed", values_are_specs=False))
    for key, _ in fixed_pairs:
        _check_not_seed(key, f"{where}: fixed.{key}")
    fixed = tuple(f"{k}={_toml_or_error(v, f'{where}: fixed.{k}')}" for k, v in fixed_pairs)
    base_sc = load(list(fixed), "fixed")

    seed = doc.get("seed", base_sc.run.seed)
    if not _is_int(seed) or seed < 0:
        raise SweepError(f"{where}: seed must be an integer >= 0 (got {seed!r})")

    dims: list[Dimension] = []
    params = doc.get("parameters", {})
    if not isinstance(params, dict):
        raise SweepError(f"{where}: [parameters] must be a table: dotted config path = list of values or range")
    for key, spec in _flatten(params, "", f"{where}: parameters", values_are_specs=True):
        values = _values(spec, f"{where}: parameters.{key}")
        dims.append(Dimension((key,), tuple((v,) for v in values)))
    groups = doc.get("zip", [])
    if isinstance(groups, dict):
        groups = [groups]
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise SweepError(f"{where}: zip must be [[zip]] tables of dotted config path = list of values")
    for gi, group in enumerate(groups):
        gwhere = f"{where}: zip[{gi}]"
        pairs = list(_flatten(group, "", gwhere, values_are_specs=True))
        if not pairs:
            raise SweepError(f"{gwhere}: empty group; give two or more keys varying together")
        columns = [(k, _values(s, f"{gwhere}.{k}")) for k, s in pairs]
        lengths = {k: len(v) for k, v in columns}
        if len(set(lengths.values())) > 1:
            raise SweepError(f"{gwhere}: keys vary together so need equal lengths (got "
                             + ", ".join(f"{k}: {n}" for k, n in lengths.items()) + ")")
        dims.append(Dimension(tuple(k for k, _ in columns), tuple(zip(*(v for _, v in columns))), f"zip[{gi}]"))

    seen: dict[str, str] = {k: "fixed" for k, _ in fixed_pairs}
    for d in dims:
        for k in d.keys:
            _check_not_seed(k, f"{where}: {k}")
            if k in seen:
                raise SweepError(f"{where}: '{k}' is given twice (also in {seen[k]}); give each config path once")
            seen[k] = "parameters"
    # every value of every dimension must make a valid scenario (with the fixed overrides)
    for d in dims:
        for i in range(len(d.values)):
            ovs = d.overrides(i)
            load(list(fixed) + ovs, f"{d.section} value {', '.join(ovs)}")
    sweep = Sweep(path=path.resolve(), name=name, base=base, replications=int(reps), root_seed=int(seed),
                  common_seeds=bool(doc.get("common_seeds", False)), summary_only=bool(doc.get("summary_only", False)),
                  fixed=fixed, dims=tuple(dims), base_config_hash=config_hash(base_sc))
    if sweep.n_runs > MAX_RUNS:
        raise SweepError(f"{where}: {sweep.n_runs:,} runs planned (more than {MAX_RUNS:,}); use fewer values or replications")
    return sweep


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__


def _check_not_seed(key: str, where: str) -> None:
    if key == "run.seed":
        raise SweepError(f"{where}: run.seed is set per run from the sweep's root seed; "
                         "use the top-level `seed` and `replications` instead")


def _toml_or_error(v, where: str) -> str:
    try:
        text = toml_value(v)
        tomllib.loads(f"v = {text}")
    except (TypeError, tomllib.TOMLDecodeError) as e:
        raise SweepError(f"{where}: value {v!r} cannot be passed as an override ({e})") from None
    return text


# config paths --------------------------------------------------------------------------------
def _config_node(key: str, where: str):
    """Walk `key` (dotted) through the schema's dataclasses. Returns the dataclass type when the key
    names a section, else None (a field; anything under a list or dict field is left to the loader).
    Unknown names raise a SweepError saying which part is unknown."""
    from simulation.config.schema import Scenario

    cls: Any = Scenario
    parts = key.split(".")
    for i, part in enumerate(parts):
        if cls is None:
            return None
        indexed = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])+)", part)  # miners[0]: an item of a list field
        if indexed:
            part = indexed.group(1)
        names = list(cls.model_fields)
        if part not in names:
            at = ".".join(parts[:i]) or "the scenario"
            raise SweepError(f"{where}: unknown config path '{key}': {at} has no field '{part}' "
                             f"(fields: {', '.join(names)})")
        cls = None if indexed else _dataclass_of(cls.model_fields[part].annotation)
    return cls


def _dataclass_of(t) -> type | None:
    """The config table class `t` names (through Optional), else None."""
    from pydantic import BaseModel

    if isinstance(t, type) and issubclass(t, BaseModel):
        return t
    if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
        inner = [a for a in typing.get_args(t) if a is not type(None)]
        if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            return inner[0]
    return None


def _is_range(v) -> bool:
    return isinstance(v, dict) and bool(v) and set(v) <= RANGE_KEYS and {"start", "stop"} <= set(v)


def _flatten(table: dict, prefix: str, where: str, *, values_are_specs: bool) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) pairs from a table whose keys are dotted paths and/or nested tables
    (`"run.hours" = 24`, `run.hours = 24` and `[fixed.run] hours = 24` are the same)."""
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if not k or any(not p for p in key.split(".")):
            raise SweepError(f"{where}: empty part in config path '{key}'")
        section = _config_node(key, where)
        if section is not None and isinstance(v, dict) and not (values_are_specs and _is_range(v)):
            yield from _flatten(v, key, where, values_are_specs=values_are_specs)
        else:
            yield key, v


# values ----------------------------------------------------------------------------------------
def _values(spec, where: str) -> list:
    """The values of one dimension: a non-empty list, or a range table."""
    if isinstance(spec, list):
        if not spec:
            raise SweepError(f"{where}: empty list; give at least one value")
        if len(spec) > MAX_VALUES:
            raise SweepError(f"{where}: {len(spec):,} values (more than {MAX_VALUES:,})")
        for v in spec:
            _toml_or_error(v, where)
        return list(spec)
    if isinstance(spec, dict):
        return _range(spec, where)
    raise SweepError(f"{where}: give a list of values or a range {{start, stop, step}} / {{start, stop, num}} "
                     f"(got {toml_value(spec) if not isinstance(spec, dt.time) else spec!r}); "
                     "a single value belongs in [fixed]")


def _range(r: dict, where: str) -> list:
    extra = set(r) - RANGE_KEYS
    if extra:
        raise SweepError(f"{where}: unknown range key(s) {', '.join(sorted(extra))}; a range has start, stop and step or num")
    if "start" not in r or "stop" not in r:
        raise SweepError(f"{where}: a range needs start and stop (and step or num)")
    if ("step" in r) == ("num" in r):
        raise SweepError(f"{where}: a range needs exactly one of step or num")
    for k in ("start", "stop", "step"):
        if k in r and (isinstance(r[k], bool) or not isinstance(r[k], (int, float)) or not math.isfinite(r[k])):
            raise SweepError(f"{where}: range {k} must be a finite number (got {r[k]!r})")
    start, stop = r["start"], r["stop"]
    if "num" in r:
        num = r["num"]
        if not _is_int(num) or num < 1:
            raise SweepError(f"{where}: range num must be an integer >= 1 (got {num!r})")
        if num > MAX_VALUES:
            raise SweepError(f"{where}: range of {num:,} values (more than {MAX_VALUES:,})")
        if num == 1:
            return [start]
        vals = [start + (stop - start) * i / (num - 1) for i in range(num)]
        if all(_is_int(x) for x in (start, stop)) and all(float(v).is_integer() for v in vals):
            return [int(v) for v in vals]
        return [_tidy(v) for v in vals]
    step = r["step"]
    if step == 0:
        raise SweepError(f"{where}: range step must not be 0")
    if (stop - start) * step < 0:
        raise SweepError(f"{where}: range step {step} never gets from start {start} to stop {stop}; flip its sign")
    n = math.floor((stop - start) / step + 1e-9) + 1
    if n > MAX_VALUES:
        raise SweepError(f"{where}: range of {n:,} values (more than {MAX_VALUES:,}); check start, stop and step")
    if all(_is_int(x) for x in (start, stop, step)):
        return [start + i * step for i in range(n)]
    return [_tidy(start + i * step) for i in range(n)]


def _tidy(x: float) -> float:
    """0.30000000000000004 -> 0.3: range values written the way a person would type them."""
    return float(f"{x:.12g}")


# ------------------------------------------------------------------------------------------------
# one run (in a worker process or Ray task)
@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one run (small and picklable)."""

    folder: str  # the batch folder, absolute
    base: str | None
    spec: RunSpec
    command: str
    summary_only: bool
    note: dict = field(default_factory=dict)


def execute(task: Task) -> dict:
    """Run one run into `<batch>/runs/<id>/` and write its row atomically; never raises for a
    failing run (the row says "failed" and the traceback goes to `<batch>/errors/<id>.txt`)."""
    from simulation.config import load_scenario
    from simulation.runner import run_scenario

    folder, spec = Path(task.folder), task.spec
    run_dir, err_file = folder / "runs" / spec.run_id, folder / "errors" / f"{spec.run_id}.txt"
    t0 = time.perf_counter()
    if run_dir.exists():  # an incomplete run of an earlier attempt
        shutil.rmtree(run_dir)
    err_file.unlink(missing_ok=True)
    summary, error = {}, ""
    try:
        sc = load_scenario(task.base, [*spec.overrides, f"run.seed={spec.seed}"])
        summary = run_scenario(sc, run_dir, progress=False, seed_note={"batch": task.note})
    except Exception as e:  # noqa: BLE001 - every failure is recorded, the batch goes on
        error = f"{type(e).__name__}: {_first_line(e)}"
        _write_atomic(err_file, f"{task.command}\n\n{traceback.format_exc()}")
    row = make_row(task, summary, error, time.perf_counter() - t0)
    _write_atomic(folder / "rows" / f"{spec.run_id}.json", json.dumps(row))
    if task.summary_only and not error and run_dir.exists():
        shutil.rmtree(run_dir)
    return row


def make_row(task: Task, summary: dict, error: str, wall_s: float) -> dict:
    spec = task.spec
    row: dict[str, Any] = {"run_id": spec.run_id, "point": spec.point, "replication": spec.replication,
                           "seed": spec.seed, "status": "failed" if error else "ok", "error": error,
                           "wall_s": round(wall_s, 3)}
    row.update(spec.params)
    row["overrides"] = json.dumps(list(spec.overrides))
    row["command"] = task.command
    for k, v in summary.items():
        if k == "wall_s" or isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            continue
        row[k if k not in row else f"summary_{k}"] = v.item() if isinstance(v, np.generic) else v
    return row


def _fsync_dir(folder: Path) -> None:
    from simulation.output import _fsync_dir as fsync_dir

    fsync_dir(folder)


def _write_atomic(path: Path, text: str) -> None:
    """Write `path` (making its folder) so it is either absent or complete, even if the process dies."""
    from simulation.output import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)


def _worker_init() -> None:
    """Worker processes die with the batch process (Linux), so a batch killed with SIGKILL leaves
    no orphan still writing a run that the next attempt reruns."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)


# ------------------------------------------------------------------------------------------------
# the batch
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


def default_batch_dir(sweep: Sweep, root: str | Path = "batches") -> Path:
    return Path(root) / sweep.name


def run_batch(sweep_path: str | Path, *, workers: int | None = None, out: str | Path | None = None,
              backend: str = "process", address: str | None = None, progress: bool = True) -> BatchResult:
    """Run (or resume) every run of the sweep file; see the module docstring for layout and rules."""
    t0 = time.perf_counter()
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray' (got {backend!r})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    sweep = load_sweep(sweep_path)
    folder = Path(out) if out is not None else default_batch_dir(sweep)
    folder = folder.resolve()
    with _locked(folder):
        _prepare_folder(folder, sweep)
        done, todo = _plan(folder, sweep)
        write_table(folder)
        n_workers = max(1, min(workers or _cpu_count(), len(todo) or 1))
        tasks = (_task(folder, sweep, spec) for spec in todo)
        failed: dict[str, str] = {}
        ran = 0
        bar = _bar(sweep.n_runs, len(done), progress, sweep.name)
        try:
            runner = _run_ray if backend == "ray" else _run_processes
            for row in runner(tasks, n_workers, address):
                ran += 1
                if row["status"] == "failed":
                    failed[row["run_id"]] = row["error"]
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
    return BatchResult(folder=folder, name=sweep.name, total=sweep.n_runs, already_done=len(done), ran=ran,
                       ok=ok, failed=sorted(failed.items()), wall_s=time.perf_counter() - t0, table=table)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _bar(total: int, initial: int, enabled: bool, name: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="run", desc=name, dynamic_ncols=True,
                smoothing=0.1)


def _task(folder: Path, sweep: Sweep, spec: RunSpec) -> Task:
    note = {"name": sweep.name, "sweep_hash": sweep.sweep_hash, "run_id": spec.run_id, "point": spec.point,
            "replication": spec.replication, "root_seed": sweep.root_seed, "seed": spec.seed,
            "seed_rule": ("SeedSequence(root_seed, spawn_key=(replication,))" if sweep.common_seeds
                          else "SeedSequence(root_seed, spawn_key=(point, replication))")
            + ".generate_state(1, uint64)[0] >> 1",
            "overrides": list(spec.overrides), "parameters": {k: _scalar(v) for k, v in spec.params.items()}}
    return Task(folder=str(folder), base=str(sweep.base) if sweep.base else None, spec=spec,
                command=sweep.command(spec), summary_only=sweep.summary_only, note=note)


@contextlib.contextmanager
def _locked(folder: Path):
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


def _prepare_folder(folder: Path, sweep: Sweep) -> None:
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
        return
    if any(folder.glob("rows/*.json")) or (folder / "batch.parquet").exists():
        raise ValueError(f"{folder}: has batch results but no batch.json; pass another --out")
    meta = {"name": sweep.name, "sweep_hash": sweep.sweep_hash, "sweep_file": str(sweep.path),
            "base": str(sweep.base) if sweep.base else None, "root_seed": sweep.root_seed,
            "seed_rule": "SeedSequence(root_seed, spawn_key=(replication,) if common_seeds else (point, replication))"
                         ".generate_state(1, uint64)[0] >> 1",
            "replications": sweep.replications, "n_points": sweep.n_points, "n_runs": sweep.n_runs,
            "parameters": sweep.keys,
            "dimensions": [{"keys": list(d.keys), "values": [[_scalar(v) for v in vs] for vs in d.values]}
                           for d in sweep.dims],
            "definition": sweep.definition(),
            "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    with contextlib.suppress(OSError):
        shutil.copyfile(sweep.path, folder / "sweep.toml")
    _write_atomic(meta_path, json.dumps(meta, indent=1))


def _plan(folder: Path, sweep: Sweep) -> tuple[dict[str, dict], list[RunSpec]]:
    """Split the sweep into runs already done (by id) and runs to do (failed ones included: a
    failure is retried on every resume), cleaning leftovers."""
    from simulation.output import is_complete

    done: dict[str, dict] = {}
    todo: list[RunSpec] = []
    for spec in sweep.runs():
        row_path = folder / "rows" / f"{spec.run_id}.json"
        run_dir = folder / "runs" / spec.run_id
        row = _read_row(row_path)
        complete = run_dir.is_dir() and is_complete(run_dir)
        if row is not None and row.get("status") == "ok" and (sweep.summary_only or complete):
            done[spec.run_id] = {"status": "ok"}
            if sweep.summary_only and run_dir.exists():
                shutil.rmtree(run_dir)
            continue
        if complete and (row is None or row.get("status") != "ok"):
            recovered = _row_from_folder(folder, sweep, spec, run_dir)
            if recovered is not None:  # killed between the run's end and its row
                _write_atomic(row_path, json.dumps(recovered))
                done[spec.run_id] = {"status": "ok"}
                if sweep.summary_only:
                    shutil.rmtree(run_dir)
                continue
        row_path.unlink(missing_ok=True)
        todo.append(spec)
    return done, todo


def _read_row(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _row_from_folder(folder: Path, sweep: Sweep, spec: RunSpec, run_dir: Path) -> dict | None:
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
    return make_row(_task(folder, sweep, spec), summary, "", float(wall))


# ------------------------------------------------------------------------------------------------
# backends: each yields the rows of the tasks as they finish
def _run_processes(tasks: Iterator[Task], workers: int, address: str | None) -> Iterator[dict]:
    ctx = multiprocessing.get_context(START_METHOD)
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    try:
        pending: dict = {}
        for task in itertools.islice(tasks, 2 * workers):
            pending[ex.submit(execute, task)] = task
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                try:
                    row = fut.result()
                except (KeyboardInterrupt, OSError):  # OSError: the batch folder cannot be written
                    raise
                except BrokenProcessPool:
                    raise RuntimeError("a worker process died (out of memory or killed?) while running "
                                       f"{task.spec.run_id}; re-run the same command to resume") from None
                except BaseException as e:  # SIGTERM in a worker (Terminated, a SystemExit)
                    raise RuntimeError(f"run {task.spec.run_id} stopped: {_first_line(e)}; "
                                       "re-run the same command to resume") from None
                yield row
                nxt = next(tasks, None)
                if nxt is not None:
                    pending[ex.submit(execute, nxt)] = nxt
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _run_ray(tasks: Iterator[Task], workers: int, address: str | None) -> Iterator[dict]:
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'gridpivot[ray]' (or pip install 'ray[default]')") from None
    started = False
    if not ray.is_initialized():
        root = str(Path(__file__).resolve().parents[1])
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}}
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, runtime_env=env, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(execute)
        in_flight = max(2 * workers, int(ray.cluster_resources().get("CPU", workers)) * 2)
        pending = {remote.remote(t): t for t in itertools.islice(tasks, in_flight)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as e:
                    raise RuntimeError(f"Ray lost run {task.spec.run_id} ({_first_line(e)}); "
                                       "re-run the same command to resume") from None
                yield row
                nxt = next(tasks, None)
                if nxt is not None:
                    pending[remote.remote(nxt)] = nxt
    finally:
        if started:
            ray.shutdown()


# ------------------------------------------------------------------------------------------------
# the table
def read_rows(folder: str | Path) -> list[dict]:
    """Every recorded row of a batch folder, in run-id order (point, then replication)."""
    rows = []
    for p in sorted(Path(folder).glob("rows/*.json")):
        row = _read_row(p)
        if row is not None:
            rows.append(row)
    return rows


def write_table(folder: str | Path) -> Path:
    """Rebuild `batch.parquet` from `rows/` atomically (a reader never sees half a table)."""
    import pandas as pd

    folder = Path(folder)
    rows = read_rows(folder)
    meta = _read_row(folder / "batch.json") or {}
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
    kinds = {"bool" if isinstance(v, bool) else "num" if isinstance(v, (int, float)) else
             "str" if isinstance(v, str) else "other" for v in values}
    if len(kinds) == 1 and "other" not in kinds:
        return values
    return [toml_value(v) for v in values]


__all__ = ["BatchResult", "Dimension", "RunSpec", "Sweep", "SweepError", "derive_seed", "execute", "load_sweep",
           "read_rows", "run_batch", "run_id", "toml_value", "write_table"]
