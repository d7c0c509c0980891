"""Designs over uncertain inputs: the `[uncertainties]` of a sweep file, sampled by a design
(`grid`, `lhs`, `sobol`, `morris`) into a design table. Pure: samples and checks, writes nothing.

Sweep file keys (with `design`; `[parameters]` and `[[zip]]` are then not used)::

    design = "morris"        # "grid" | "lhs" | "sobol" | "morris"
    samples = 10             # grid: levels per input; lhs: points; sobol: base samples N (a power
                             # of 2; N (D + 2) points); morris: trajectories (N (D + 1) points)
    levels = 4               # morris only: grid levels of each input (even; default 4)

    [uncertainties]          # dotted config path = a range or a distribution
    "markets.ai.hosting.build_usd_per_it_mw" = {low = 6e6, high = 15e6}           # uniform
    "markets.ai.hosting.fee_usd_per_mw_month" = {dist = "log-uniform", low = 1e5, high = 1.6e5}
    "markets.btc_price.vol_per_year" = {dist = "normal", mean = 0.55, sd = 0.1}    # (low/high: truncation)
    "markets.ai.hosting.lead_months" = {dist = "integer", low = 12, high = 24}     # both included
    "markets.ai.hosting.power" = ["passthrough", "miner"]                          # categories

    [switches]               # paired arms: every design point runs once per value, on the same seeds
    "bitcoin.halving" = [true, false]

Every design works in the unit hypercube and maps each coordinate u in [0, 1] through the
input's quantile function: uniform low + u (high - low); log-uniform exp(ln low + u ln(high/low));
normal the quantile at 0.005 + 0.99 u (the central 99 %, so the edges of a Morris grid stay
finite), or between its truncation bounds when low/high are given; integer low + floor(u (high -
low + 1)), capped at high; categories item floor(u k), capped at k - 1.

Samplers (well-kept libraries, not ours): `lhs` is `scipy.stats.qmc.LatinHypercube`, `sobol` is
SALib's Saltelli/Sobol' sequence (`SALib.sample.sobol.sample`, first and total order), `morris`
is SALib's trajectories (`SALib.sample.morris.sample`); `grid` is the product of `samples`
equally spaced u (0 and 1 included) per input. The sampler's seed is the sweep's root seed
modulo 2^32. The table (unit coordinates and values) is written into the batch folder before
the first run and a resumed batch reads it back (`DesignTable.to_json` / `from_json`), so a
different library version never changes a batch under way.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DESIGNS = ("grid", "lhs", "sobol", "morris")
DISTRIBUTIONS = ("uniform", "log-uniform", "normal", "integer", "categories")
#: keys of an uncertainty table
UNCERTAINTY_KEYS = {"dist", "low", "high", "mean", "sd", "values"}
#: the normal's central mass the unit interval spans when it is not truncated
NORMAL_TAIL = 0.005
#: at most this many design points
MAX_POINTS = 1_000_000


class DesignError(ValueError):
    """A problem with a design or an uncertainty, in one line naming the key."""


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain input: a config path and its distribution."""

    key: str
    dist: str
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    values: tuple = ()

    def describe(self) -> dict:
        d: dict[str, Any] = {"key": self.key, "dist": self.dist}
        for k in ("low", "high", "mean", "sd"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.dist == "categories":
            d["values"] = list(self.values)
        return d

    def ppf(self, u: np.ndarray) -> list:
        """The input's values at unit coordinates `u` (its quantile function; see the module doc)."""
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        if self.dist == "uniform":
            return [float(x) for x in self.low + u * (self.high - self.low)]
        if self.dist == "log-uniform":
            lo, hi = math.log(self.low), math.log(self.high)
            return [float(x) for x in np.exp(lo + u * (hi - lo))]
        if self.dist == "normal":
            from scipy.stats import norm

            a = norm.cdf(self.low, self.mean, self.sd) if self.low is not None else NORMAL_TAIL
            b = norm.cdf(self.high, self.mean, self.sd) if self.high is not None else 1.0 - NORMAL_TAIL
            return [float(x) for x in norm.ppf(a + u * (b - a), self.mean, self.sd)]
        if self.dist == "integer":
            n = int(self.high) - int(self.low) + 1
            return [int(x) for x in np.minimum(int(self.low) + np.floor(u * n).astype(np.int64), int(self.high))]
        k = len(self.values)
        return [self.values[int(i)] for i in np.minimum(np.floor(u * k).astype(np.int64), k - 1)]


def parse_uncertainty(key: str, spec: Any, where: str) -> Uncertainty:
    """An `[uncertainties]` entry: a list (categories) or a table {dist, low, high, mean, sd, values}."""
    if isinstance(spec, list):
        return _categories(key, spec, where)
    if not isinstance(spec, dict):
        raise DesignError(f"{where}: give a range {{low, high}}, a distribution {{dist = ..., ...}} or a list of "
                          f"categories (got {spec!r}); a single value belongs in [fixed]")
    extra = set(spec) - UNCERTAINTY_KEYS
    if extra:
        raise DesignError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; an uncertainty has "
                          f"{', '.join(sorted(UNCERTAINTY_KEYS))}")
    dist = spec.get("dist", "uniform")
    if dist not in DISTRIBUTIONS:
        raise DesignError(f"{where}: unknown distribution {dist!r}; use one of {', '.join(DISTRIBUTIONS)}")
    if dist == "categories":
        return _categories(key, spec.get("values"), where)
    nums = {}
    for k in ("low", "high", "mean", "sd"):
        if k in spec:
            v = spec[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise DesignError(f"{where}: {k} must be a finite number (got {v!r})")
            nums[k] = v
    if "values" in spec:
        raise DesignError(f"{where}: values belongs to dist = \"categories\" only")
    if dist == "normal":
        for k in ("mean", "sd"):
            if k not in nums:
                raise DesignError(f"{where}: a normal needs mean and sd (and optionally low/high to truncate it)")
        if nums["sd"] <= 0:
            raise DesignError(f"{where}: sd must be > 0 (got {nums['sd']!r})")
        lo, hi = nums.get("low"), nums.get("high")
        if lo is not None and hi is not None and lo >= hi:
            raise DesignError(f"{where}: low {lo!r} > high {hi!r}; swap them")
        return Uncertainty(key, dist, low=lo, high=hi, mean=float(nums["mean"]), sd=float(nums["sd"]))
    for k in ("mean", "sd"):
        if k in nums:
            raise DesignError(f"{where}: {k} belongs to dist = \"normal\"; a {dist} has low and high")
    if "low" not in nums or "high" not in nums:
        raise DesignError(f"{where}: a {dist} needs low and high")
    lo, hi = nums["low"], nums["high"]
    if lo > hi:
        raise DesignError(f"{where}: low {lo!r} > high {hi!r}; swap them")
    if lo == hi:
        raise DesignError(f"{where}: low = high = {lo!r}: not uncertain; put it in [fixed]")
    if dist == "log-uniform" and lo <= 0:
        raise DesignError(f"{where}: a log-uniform needs low > 0 (got {lo!r})")
    if dist == "integer":
        if not all(isinstance(x, int) for x in (lo, hi)):
            raise DesignError(f"{where}: an integer range needs integer low and high (got {lo!r}, {hi!r})")
        return Uncertainty(key, dist, low=int(lo), high=int(hi))
    return Uncertainty(key, dist, low=float(lo), high=float(hi))


def _categories(key: str, values: Any, where: str) -> Uncertainty:
    if not isinstance(values, list) or len(values) < 2:
        raise DesignError(f"{where}: categories need a list of at least two values (got {values!r})")
    return Uncertainty(key, "categories", values=tuple(values))


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DesignTable:
    """The design points: unit coordinates `unit[i, j]` and the values of input j at point i."""

    design: str
    keys: tuple[str, ...]
    unit: np.ndarray  # (points, inputs) in [0, 1]
    values: tuple[tuple, ...]  # values[i][j]

    @property
    def n_points(self) -> int:
        return len(self.values)

    def to_json(self) -> str:
        """The table as JSON text (floats as Python's shortest round-trip repr: exact)."""
        return json.dumps({"design": self.design, "keys": list(self.keys),
                           "unit": [[float(x) for x in row] for row in self.unit],
                           "values": [list(v) for v in self.values]}, indent=None, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "DesignTable":
        d = json.loads(text)
        unit = np.asarray(d["unit"], float).reshape(len(d["values"]), len(d["keys"]))
        return cls(design=d["design"], keys=tuple(d["keys"]), unit=unit, values=tuple(tuple(v) for v in d["values"]))

    @property
    def table_hash(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_csv(self) -> str:
        """A readable copy: design_point, each input's value, then each input's unit coordinate."""
        import io

        import pandas as pd

        df = pd.DataFrame([list(v) for v in self.values], columns=list(self.keys))
        df.insert(0, "design_point", range(self.n_points))
        for j, k in enumerate(self.keys):
            df[f"u:{k}"] = self.unit[:, j]
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        return buf.getvalue()


def n_points(design: str, n_inputs: int, samples: int, uncertainties=()) -> int:
    """The design's size, before sampling."""
    if design == "lhs":
        return samples
    if design == "sobol":
        return samples * (n_inputs + 2)
    if design == "morris":
        return samples * (n_inputs + 1)
    return math.prod(len(u.values) if u.dist == "categories" else samples for u in uncertainties)


def check_design(design: Any, samples: Any, levels: Any, n_inputs: int, where: str) -> None:
    if design not in DESIGNS:
        raise DesignError(f"{where}: design = {design!r}: unknown; use one of {', '.join(DESIGNS)}")
    if n_inputs < 1:
        raise DesignError(f"{where}: design = {design!r} needs [uncertainties] (dotted config path = range or "
                          "distribution)")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise DesignError(f"{where}: samples must be an integer >= 1 (got {samples!r})")
    if design == "sobol" and samples & (samples - 1):
        raise DesignError(f"{where}: samples = {samples} for design = \"sobol\" must be a power of 2 (Sobol' "
                          f"sequences balance at 2^k; try {1 << max(1, samples.bit_length() - 1)})")
    if design == "grid" and samples < 2:
        raise DesignError(f"{where}: samples (levels per input) must be >= 2 for design = \"grid\"")
    if levels is not None:
        if design != "morris":
            raise DesignError(f"{where}: levels is for design = \"morris\" only")
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
            raise DesignError(f"{where}: levels must be an even integer >= 2 (got {levels!r})")
    if design == "morris" and n_inputs < 2:
        raise DesignError(f"{where}: design = \"morris\" needs at least 2 uncertainties")


def sample(design: str, uncertainties: tuple[Uncertainty, ...], samples: int, seed: int,
           levels: int | None = None) -> DesignTable:
    """The design table: unit coordinates by the design's sampler, mapped through each input's ppf."""
    d = len(uncertainties)
    s = int(seed) % 2**32
    if design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d, rng=np.random.default_rng(s)).random(samples)
    elif design in ("sobol", "morris"):
        problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}
        if design == "sobol":
            from SALib.sample import sobol

            unit = sobol.sample(problem, samples, calc_second_order=False, seed=s)
        else:
            from SALib.sample import morris

            unit = morris.sample(problem, samples, num_levels=levels or 4, seed=s)
    else:
        axes = [(np.arange(len(u.values)) + 0.5) / len(u.values) if u.dist == "categories"
                else np.linspace(0.0, 1.0, samples) for u in uncertainties]
        unit = np.array(list(itertools.product(*axes)), float).reshape(-1, d)
    unit = np.asarray(unit, float)
    columns = [u.ppf(unit[:, j]) for j, u in enumerate(uncertainties)]
    values = tuple(tuple(col[i] for col in columns) for i in range(len(unit)))
    return DesignTable(design=design, keys=tuple(u.key for u in uncertainties), unit=unit, values=values)


def salib_problem(uncertainties: list[dict]) -> dict:
    """SALib's problem dict in unit coordinates (the analysis works on `unit`)."""
    return {"num_vars": len(uncertainties), "names": [u["key"] for u in uncertainties],
            "bounds": [[0.0, 1.0]] * len(uncertainties)}
