"""The sweep file: its keys, dimensions (lists, ranges, zipped groups), the runs it plans and
their seeds. Pure: reads the sweep file and checks every value against the scenario schema (by
loading the base scenario with it), but runs nothing and writes nothing.

Sweep file (TOML; every key optional except that a sweep without [parameters] or [[zip]] is just
replications of the base)::

    name = "halving_prices"         # batch name (default: the file's stem); default folder batches/<name>
    base = "../default.toml"        # scenario, relative to this file, or a named scenario ("halving_2024")
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
Overrides are (dotted key, value) pairs handed to the config loader as they are; their `--set`
text (`key=<inline TOML>`, the loader's `format_override`) appears only in rows and commands.

Seeds: run (point p, replication r) of a sweep with root seed R gets
``run.seed = SeedSequence(R, spawn_key=(p, r)).generate_state(1, uint64)[0] >> 1`` (63 bits, a
valid TOML integer), which is the same child as ``SeedSequence(R).spawn(p+1)[p].spawn(r+1)[r]``.
It depends only on (R, p, r), never on the number of points, replications or workers, nor on
the order runs finish in. With ``common_seeds = true`` the key is ``(r,)``: every point of
replication r sees the same random streams (common random numbers). Each row records the run's
seed, its overrides and the `run.py run ... --seed S` command that reproduces it bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
import shlex
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.batch.design import DesignError, DesignTable, Uncertainty, check_design, sample

#: top-level keys of a sweep file
SWEEP_KEYS = ("name", "base", "replications", "seed", "common_seeds", "summary_only", "fixed", "parameters", "zip",
              "design", "samples", "levels", "uncertainties", "switches")
#: fields of a range table
RANGE_KEYS = {"start", "stop", "step", "num"}
#: at most this many values in one dimension (a typo in a range should not plan a billion runs)
MAX_VALUES = 100_000
#: at most this many runs in one batch
MAX_RUNS = 10_000_000


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


def scalar(v: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, tables and arrays as TOML text."""
    from simulation.config import toml_inline

    return v if isinstance(v, (bool, int, float, str)) else toml_inline(v)


#: an override: (dotted config path, value as tomllib reads it)
Override = tuple[str, Any]


def override_texts(overrides: typing.Iterable[Override]) -> list[str]:
    """Overrides as `--set` texts (`key=<inline TOML>`), for rows, commands and the sweep hash."""
    from simulation.config import format_override

    return [format_override(k, v) for k, v in overrides]


# ------------------------------------------------------------------------------------------------
# the sweep definition
@dataclass(frozen=True)
class Dimension:
    """One sweep axis: one key (a list or range) or a zipped group of keys varying together."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # values[i][k]: value of keys[k] at index i
    section: str = "parameters"  # where it was defined: "parameters" or "zip[<n>]"

    def overrides(self, i: int) -> list[Override]:
        return list(zip(self.keys, self.values[i]))


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    base: Path | None  # absolute; None: the built-in default scenario
    base_name: str | None  # the base as the sweep file names it (a named scenario or a path)
    replications: int
    root_seed: int
    common_seeds: bool
    summary_only: bool
    fixed: tuple[Override, ...]
    dims: tuple[Dimension, ...]
    base_config_hash: str
    design: "Design | None" = None  # a sampled design over [uncertainties] (then dims is empty)

    @property
    def n_points(self) -> int:
        if self.design is not None:
            return self.design.table.n_points * self.design.n_arms
        return math.prod(len(d.values) for d in self.dims)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replications

    @property
    def keys(self) -> list[str]:
        if self.design is not None:
            return [*self.design.table.keys, *(k for d in self.design.switches for k in d.keys)]
        return [k for d in self.dims for k in d.keys]

    def definition(self) -> dict:
        """Everything that decides what the runs compute (hashed into the sweep hash)."""
        return {"base_config_hash": self.base_config_hash, "fixed": override_texts(self.fixed),
                "dimensions": [{"keys": list(d.keys),
                                "values": [override_texts(d.overrides(i)) for i in range(len(d.values))]}
                               for d in self.dims],
                "replications": self.replications, "root_seed": self.root_seed,
                "common_seeds": self.common_seeds, "summary_only": self.summary_only,
                **({"design": self.design.definition()} if self.design is not None else {})}

    @property
    def sweep_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def base_arg(self) -> str:
        """The base scenario as a command-line argument (relative to the current folder if inside it)."""
        if self.base is None:
            return ""
        if self.base_name and (self.path.parent / self.base_name).resolve() != self.base:
            return self.base_name  # a named scenario
        with contextlib.suppress(ValueError):
            return str(self.base.relative_to(Path.cwd()))
        return str(self.base)

    def runs(self, shard: tuple[int, int] | None = None) -> Iterator["RunSpec"]:
        """Every run of the sweep, in point-major order (lazily: a big sweep is never a list).
        `shard=(i, N)`: only the i-th (1-based) of N disjoint slices: the design points (or grid
        points) whose number is i - 1 modulo N, every arm and replication of each."""
        if self.design is not None:
            yield from self._design_runs(shard)
            return
        for point, idx in enumerate(itertools.product(*(range(len(d.values)) for d in self.dims))):
            params: dict[str, Any] = {}
            ovs: list[Override] = list(self.fixed)
            for d, i in zip(self.dims, idx):
                params.update(zip(d.keys, d.values[i]))
                ovs += d.overrides(i)
            if shard is not None and point % shard[1] != shard[0] - 1:
                continue
            for rep in range(self.replications):
                seed = derive_seed(self.root_seed, point, rep, common=self.common_seeds)
                yield RunSpec(run_id=run_id(point, rep), point=point, replication=rep, seed=seed,
                              params=params, overrides=tuple(ovs))

    def _design_runs(self, shard: tuple[int, int] | None) -> Iterator["RunSpec"]:
        """Design point dp x arm a x replication r is point dp * arms + a; its seed is keyed by
        (dp, r) (or (r,) with common seeds), so the arms of a design point share their seeds."""
        des = self.design
        table, arms = des.table, list(itertools.product(*(range(len(d.values)) for d in des.switches)))
        for dp in range(table.n_points):
            if shard is not None and dp % shard[1] != shard[0] - 1:
                continue
            base_params = dict(zip(table.keys, table.values[dp]))
            base_ovs = [*self.fixed, *zip(table.keys, table.values[dp])]
            for a, idx in enumerate(arms):
                params, ovs = dict(base_params), list(base_ovs)
                for d, i in zip(des.switches, idx):
                    params.update(zip(d.keys, d.values[i]))
                    ovs += d.overrides(i)
                point = dp * len(arms) + a
                for rep in range(self.replications):
                    seed = derive_seed(self.root_seed, dp, rep, common=self.common_seeds)
                    yield RunSpec(run_id=run_id(point, rep), point=point, replication=rep, seed=seed,
                                  params=params, overrides=tuple(ovs))

    def with_table(self, table: DesignTable) -> "Sweep":
        """The same sweep with `table` as its design table (a resumed batch's stored one)."""
        import dataclasses

        return dataclasses.replace(self, design=dataclasses.replace(self.design, table=table))

    def command(self, spec: "RunSpec") -> str:
        """`run.py run` command line reproducing `spec` alone, bit for bit."""
        parts = ["python", "run.py", "run"] + ([self.base_arg()] if self.base else [])
        for ov in override_texts(spec.overrides):
            parts += ["--set", ov]
        parts += ["--seed", str(spec.seed)]
        return shlex.join(parts)


@dataclass(frozen=True)
class Design:
    """A sampled design: the uncertainties, the sampler's settings, the table, the paired switches."""

    name: str  # "grid" | "lhs" | "sobol" | "morris"
    samples: int
    levels: int | None
    uncertainties: tuple[Uncertainty, ...]
    switches: tuple[Dimension, ...]
    table: DesignTable

    @property
    def n_arms(self) -> int:
        return math.prod(len(d.values) for d in self.switches)

    def definition(self) -> dict:
        """What decides the design (the table follows from it; it is hashed apart, in design.json)."""
        return {"design": self.name, "samples": self.samples, "levels": self.levels,
                "uncertainties": [u.describe() for u in self.uncertainties],
                "switches": [{"keys": list(d.keys), "values": [override_texts(d.overrides(i)) for i in range(len(d.values))]}
                             for d in self.switches]}


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    point: int
    replication: int
    seed: int
    params: dict[str, Any]
    overrides: tuple[Override, ...]  # fixed + this point's; the seed is separate (run.seed)

    def scenario_overrides(self) -> list[Override]:
        """Everything the loader applies to the base for this run: the overrides, then its seed."""
        return [*self.overrides, ("run.seed", self.seed)]


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
    base_name = doc.get("base")
    base: Path | None = None
    if base_name is not None:
        from simulation.config.named import named_scenario, scenario_names

        if not isinstance(base_name, str) or not base_name:
            raise SweepError(f"{where}: base must be a scenario path (string) relative to the sweep file, or a "
                             f"named scenario (got {base_name!r})")
        candidate = (path.parent / base_name).resolve()
        base = candidate if candidate.is_file() else named_scenario(base_name)
        if base is None:
            raise SweepError(f"{where}: base = {base_name!r}: no such scenario file ({candidate}) nor named scenario "
                             f"({', '.join(scenario_names())})")
    reps = doc.get("replications", 1)
    if not _is_int(reps) or reps < 1:
        raise SweepError(f"{where}: replications must be an integer >= 1 (got {reps!r})")
    for flag in ("common_seeds", "summary_only"):
        if not isinstance(doc.get(flag, False), bool):
            raise SweepError(f"{where}: {flag} must be true or false (got {doc[flag]!r})")

    def load(ovs: list[Override], what: str):
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
    fixed = tuple(fixed_pairs)
    base_sc = load(list(fixed), "fixed")

    seed = doc.get("seed", base_sc.run.seed)
    if not _is_int(seed) or seed < 0:
        raise SweepError(f"{where}: seed must be an integer >= 0 (got {seed!r})")

    if "design" in doc:
        design = _load_design(doc, where, fixed_pairs, lambda ovs, what: load(list(fixed) + ovs, what), int(seed))
        if design.table.n_points * design.n_arms * reps > MAX_RUNS:
            raise SweepError(f"{where}: {design.table.n_points * design.n_arms * reps:,} runs planned (more than "
                             f"{MAX_RUNS:,}); use fewer samples or replications")
        return Sweep(path=path.resolve(), name=name, base=base, base_name=base_name, replications=int(reps),
                     root_seed=int(seed), common_seeds=bool(doc.get("common_seeds", False)),
                     summary_only=bool(doc.get("summary_only", False)), fixed=fixed, dims=(),
                     base_config_hash=config_hash(base_sc), design=design)
    for k in ("uncertainties", "samples", "levels", "switches"):
        if k in doc:
            raise SweepError(f"{where}: {k} needs a design: add design = \"lhs\" (or \"grid\", \"sobol\", "
                             "\"morris\")")

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
            load(list(fixed) + ovs, f"{d.section} value {', '.join(override_texts(ovs))}")
    sweep = Sweep(path=path.resolve(), name=name, base=base, base_name=base_name, replications=int(reps), root_seed=int(seed),
                  common_seeds=bool(doc.get("common_seeds", False)), summary_only=bool(doc.get("summary_only", False)),
                  fixed=fixed, dims=tuple(dims), base_config_hash=config_hash(base_sc))
    if sweep.n_runs > MAX_RUNS:
        raise SweepError(f"{where}: {sweep.n_runs:,} runs planned (more than {MAX_RUNS:,}); use fewer values or replications")
    return sweep


def _load_design(doc: dict, where: str, fixed_pairs: list, load, seed: int) -> Design:
    """The design of a sweep file: its uncertainties sampled, every input's extreme values and
    every switch value checked against the schema."""
    for k in ("parameters", "zip"):
        if k in doc:
            raise SweepError(f"{where}: [{k}] is for a sweep without a design; with design = ..., give the "
                             "uncertain inputs in [uncertainties] and paired arms in [switches]")
    table = doc.get("uncertainties", {})
    if not isinstance(table, dict):
        raise SweepError(f"{where}: [uncertainties] must be a table: dotted config path = range or distribution")
    seen = {k: "fixed" for k, _ in fixed_pairs}
    uncs: list[Uncertainty] = []
    try:
        for key, spec in _flatten(table, "", f"{where}: uncertainties", values_are_specs=True):
            _check_not_seed(key, f"{where}: uncertainties.{key}")
            if key in seen:
                raise SweepError(f"{where}: '{key}' is given twice (also in {seen[key]}); give each config path once")
            seen[key] = "uncertainties"
            uncs.append(_parse_unc(key, spec, f"{where}: uncertainties.{key}"))
        check_design(doc["design"], doc.get("samples"), doc.get("levels"), len(uncs), where)
    except DesignError as e:
        raise SweepError(str(e)) from None
    switches: list[Dimension] = []
    sw = doc.get("switches", {})
    if not isinstance(sw, dict):
        raise SweepError(f"{where}: [switches] must be a table: dotted config path = list of values")
    for key, spec in _flatten(sw, "", f"{where}: switches", values_are_specs=True):
        _check_not_seed(key, f"{where}: switches.{key}")
        if key in seen:
            raise SweepError(f"{where}: '{key}' is given twice (also in {seen[key]}); give each config path once")
        seen[key] = "switches"
        switches.append(Dimension((key,), tuple((v,) for v in _values(spec, f"{where}: switches.{key}")), "switches"))
    from simulation.batch.design import MAX_POINTS, n_points

    size = n_points(doc["design"], len(uncs), doc["samples"], uncs)
    if size > MAX_POINTS:
        raise SweepError(f"{where}: design of {size:,} points (more than {MAX_POINTS:,}); use fewer samples")
    tab = sample(doc["design"], tuple(uncs), doc["samples"], seed, doc.get("levels"))
    for j, u in enumerate(uncs):  # every input at its extremes in this table, with the fixed overrides
        col = [v[j] for v in tab.values]
        probes = list(u.values) if u.dist == "categories" else sorted({min(col), max(col)})
        for v in probes:
            load([(u.key, v)], f"uncertainties.{u.key} = {scalar(v)}")
    for d in switches:
        for i in range(len(d.values)):
            load(d.overrides(i), f"switches value {', '.join(override_texts(d.overrides(i)))}")
    return Design(name=doc["design"], samples=int(doc["samples"]), levels=doc.get("levels"),
                  uncertainties=tuple(uncs), switches=tuple(switches), table=tab)


def _parse_unc(key: str, spec, where: str) -> Uncertainty:
    from simulation.batch.design import parse_uncertainty

    return parse_uncertainty(key, spec, where)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__


def _check_not_seed(key: str, where: str) -> None:
    if key == "run.seed":
        raise SweepError(f"{where}: run.seed is set per run from the sweep's root seed; "
                         "use the top-level `seed` and `replications` instead")


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
        return list(spec)
    if isinstance(spec, dict):
        return _range(spec, where)
    raise SweepError(f"{where}: give a list of values or a range {{start, stop, step}} / {{start, stop, num}} "
                     f"(got {scalar(spec)}); "
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


