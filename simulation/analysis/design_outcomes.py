"""Outcomes of a designed batch (a sweep with `design = ...`), one value per design point and
replication, from `batch.parquet`, `batch.json` and `design.json` alone.

An outcome is named one of two ways:

- a summary key (any numeric column of `batch.parquet`, e.g. `ai_mw_end`): its value in the first
  arm (every switch at its first value, e.g. `bitcoin.halving = true`, the factual world);
- a paired difference `<switch>_effect_<key>`: the key in the first arm less the key in the
  second (the switch's second value), on the same seeds, where `<switch>` is the last part of a
  two-valued switch's config path (`bitcoin.halving` -> `halving`) and `<key>` a summary key,
  or a summary key less its `_end` (so `halving_effect_ai_mw` is `ai_mw_end` with the halving
  less `ai_mw_end` without it, in MW).

A condition (`--where "halving_effect_ai_mw > 20"`) is `<outcome> <op> <number>` with op one of
> >= < <= == !=.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
BOOKKEEPING = ("run_id", "point", "replication", "seed", "status", "error", "wall_s", "overrides", "command")


@dataclass
class DesignBatch:
    """A designed batch: its table of inputs, runs and how points map to design points and arms."""

    folder: Path
    meta: dict
    design: str
    keys: list[str]  # uncertain inputs, in design order
    unit: np.ndarray  # (design points, inputs): unit coordinates
    values: pd.DataFrame  # design point x input values
    runs: pd.DataFrame  # batch.parquet with design_point and arm columns
    switches: list[str]
    n_arms: int
    levels: int | None

    @property
    def n_design_points(self) -> int:
        return len(self.unit)

    def summary_keys(self) -> list[str]:
        skip = set(BOOKKEEPING) | set(self.keys) | set(self.switches) | {"design_point", "arm"}
        return [c for c in self.runs.columns if c not in skip and pd.api.types.is_numeric_dtype(self.runs[c])
                and not pd.api.types.is_bool_dtype(self.runs[c])]

    def outcome(self, name: str) -> pd.DataFrame:
        """(design point x replication) table of outcome `name` (NaN where a run failed or is missing)."""
        ok = self.runs[self.runs["status"] == "ok"]
        key = self._key(name)
        if key is not None:
            arm = ok[ok["arm"] == 0]
            return arm.pivot_table(index="design_point", columns="replication", values=key, aggfunc="first").reindex(
                range(self.n_design_points))
        m = re.fullmatch(r"(.+?)_effect_(.+)", name)
        if m and self.n_arms == 2 and len(self.switches) == 1 and m.group(1) == self.switches[0].split(".")[-1]:
            key = self._key(m.group(2)) or self._key(m.group(2) + "_end")
            if key is not None:
                a = ok[ok["arm"] == 0].pivot_table(index="design_point", columns="replication", values=key, aggfunc="first")
                b = ok[ok["arm"] == 1].pivot_table(index="design_point", columns="replication", values=key, aggfunc="first")
                return (a - b).reindex(range(self.n_design_points))
        sw = self.switches[0].split(".")[-1] if len(self.switches) == 1 and self.n_arms == 2 else None
        hint = f", or {sw}_effect_<key> (paired difference)" if sw else ""
        keys = self.summary_keys()
        raise ValueError(f"outcome {name!r}: not a summary key of {self.folder.name}{hint}; summary keys: "
                         f"{', '.join(keys[:12])}{' ...' if len(keys) > 12 else ''}")

    def outcome_mean(self, name: str) -> np.ndarray:
        """The outcome averaged over replications at each design point."""
        tab = self.outcome(name)
        return tab.mean(axis=1, skipna=True).to_numpy(float)

    def _key(self, name: str) -> str | None:
        return name if name in self.summary_keys() else None


def is_design_batch(folder: str | Path) -> bool:
    try:
        return "design" in json.loads((Path(folder) / "batch.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False


def load_design_batch(folder: str | Path) -> DesignBatch:
    folder = Path(folder)
    meta = json.loads((folder / "batch.json").read_text())
    des = meta["design"]
    table = json.loads((folder / "design.json").read_text())
    keys = list(table["keys"])
    unit = np.asarray(table["unit"], float).reshape(len(table["values"]), len(keys))
    values = pd.DataFrame([list(v) for v in table["values"]], columns=keys)
    runs = pd.read_parquet(folder / "batch.parquet")
    n_rows = sum(1 for _ in folder.glob("rows/*.json"))
    if n_rows > len(runs):  # a batch under way: batch.parquet is rebuilt at its start and end only
        from simulation.batch.table import read_rows

        runs = pd.DataFrame(read_rows(folder))
    n_arms = int(des["n_arms"])
    runs["design_point"] = runs["point"] // n_arms
    runs["arm"] = runs["point"] % n_arms
    return DesignBatch(folder=folder, meta=meta, design=des["design"], keys=keys, unit=unit, values=values, runs=runs,
                       switches=list(des.get("switches", [])), n_arms=n_arms, levels=des.get("levels"))


@dataclass(frozen=True)
class Condition:
    outcome: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.outcome} {self.op} {self.value:g}"

    def holds(self, y: np.ndarray) -> np.ndarray:
        return OPS[self.op](np.asarray(y, float), self.value)


def parse_condition(text: str) -> Condition:
    """`"halving_effect_ai_mw > 20"` -> Condition; a one-line ValueError otherwise."""
    m = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*", text or "")
    if not m:
        raise ValueError(f"--where {text!r}: give OUTCOME OP NUMBER, e.g. --where \"halving_effect_ai_mw > 20\" "
                         f"(op one of {' '.join(OPS)})")
    v = float(m.group(3))
    if not math.isfinite(v):
        raise ValueError(f"--where {text!r}: the number must be finite")
    return Condition(m.group(1), m.group(2), v)
