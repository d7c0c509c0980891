"""gridpivot as an EMA Workbench model (the `ema` extra: `pip install 'gridpivot[ema]'`), so EMA
users run their own designs, optimisation or robustness analyses on it; and a gridpivot batch
folder read back as EMA's (experiments, outcomes).

    from ema_workbench import SequentialEvaluator
    from simulation.batch.ema import model_from_sweep
    model = model_from_sweep("configs/sweeps/pivot_uncertainty.toml", outcomes=["ai_mw_end"])
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=20)

- **Uncertainties** are config keys, named with `__` for dots (EMA 3 wants Python identifiers;
  `markets__btc_price__drift_per_year`, as `mesa.batch_run` names them): uniform ranges as `RealParameter`, integer ranges as
  `IntegerParameter`, categories as `CategoricalParameter`. EMA samples uniformly within those
  bounds; a log-uniform or normal uncertainty has no EMA counterpart and is refused (sample it
  with gridpivot's own designs instead).
- **Outcomes** are `summary.json` keys (`ScalarOutcome`).
- Each experiment is one run of the base scenario with the sweep's [fixed] overrides and the
  experiment's values, at the scenario's `run.seed` (or `seed=`), in a temporary folder; the
  summary is all that is kept. Same values, same seed, same outcome, bit for bit.

`experiments_from_batch(folder)` gives a batch's runs as EMA's experiments DataFrame (input
columns named as the model names them, then `scenario`, `policy`, `model`) and outcomes dict (summary key -> array), so EMA's
analysis (prim, feature scoring, dimensional stacking) runs on a gridpivot batch directly.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any


def _ema():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench
    except ImportError:
        raise ValueError("the EMA adapter needs the EMA Workbench: pip install 'gridpivot[ema]'") from None
    return ema_workbench


def variable_name(key: str) -> str:
    return key.replace(".", "__").replace("[", "_").replace("]", "_")


def run_once(base: str | None, overrides: list[tuple[str, Any]], outcomes: list[str]) -> dict:
    """One run of `base` with `overrides` (dotted key, value); the chosen summary keys."""
    from simulation.config import load_scenario
    from simulation.runner import run_scenario

    sc = load_scenario(base, overrides)
    with tempfile.TemporaryDirectory(prefix="gridpivot-ema-") as tmp:
        summary = run_scenario(sc, Path(tmp) / "run", progress=False)
    missing = [o for o in outcomes if o not in summary]
    if missing:
        raise ValueError(f"outcome(s) {', '.join(missing)}: not summary keys; summary keys: {', '.join(summary)}")
    return {o: summary[o] for o in outcomes}


class _Function:
    """The EMA model's function (picklable, for EMA's multiprocessing evaluator)."""

    def __init__(self, base, fixed, keys, outcomes, seed):
        self.base, self.fixed, self.keys, self.outcomes, self.seed = base, list(fixed), dict(keys), list(outcomes), seed

    def __call__(self, **kwargs) -> dict:
        ovs = list(self.fixed) + [(key, _plain(kwargs[var])) for var, key in self.keys.items() if var in kwargs]
        if self.seed is not None:
            ovs.append(("run.seed", int(self.seed)))
        return run_once(self.base, ovs, self.outcomes)


def _plain(v):
    """numpy scalars as Python values (the config loader takes TOML-like values)."""
    return v.item() if hasattr(v, "item") else v


def make_model(base: str | None, uncertainties: list, outcomes: list[str], *, fixed: list[tuple[str, Any]] = (),
               seed: int | None = None, name: str = "gridpivot"):
    """An EMA `Model` of the scenario `base` (None: the default scenario). `uncertainties`:
    `simulation.batch.design.Uncertainty` objects (uniform, integer, categories)."""
    ema = _ema()
    params, keys = [], {}
    for u in uncertainties:
        var = variable_name(u.key)
        keys[var] = u.key
        if u.dist == "uniform":
            params.append(ema.RealParameter(var, u.low, u.high))
        elif u.dist == "integer":
            params.append(ema.IntegerParameter(var, int(u.low), int(u.high)))
        elif u.dist == "categories":
            params.append(ema.CategoricalParameter(var, list(u.values)))
        else:
            raise ValueError(f"uncertainty {u.key}: a {u.dist} has no EMA parameter (EMA samples uniformly within "
                             "bounds); use a uniform range, an integer range or categories, or a gridpivot design")
    model = ema.Model(name, function=_Function(base, fixed, keys, outcomes, seed))
    model.uncertainties = params
    model.outcomes = [ema.ScalarOutcome(o) for o in outcomes]
    return model


def model_from_sweep(path: str | Path, outcomes: list[str], *, seed: int | None = None):
    """An EMA `Model` with a design sweep file's base, [fixed] and [uncertainties]."""
    from simulation.batch.sweep import load_sweep

    sw = load_sweep(path)
    if sw.design is None:
        raise ValueError(f"{path}: has no [uncertainties] (design = ...); the EMA model takes its uncertainties from them")
    return make_model(str(sw.base) if sw.base else None, list(sw.design.uncertainties), outcomes,
                      fixed=list(sw.fixed), seed=seed, name=sw.name)


def experiments_from_batch(folder: str | Path, outcomes: list[str] | None = None):
    """A batch folder's ok runs as EMA's (experiments DataFrame, outcomes dict). Experiments hold
    the batch's parameters (design inputs and switches, or grid parameters) and EMA's `scenario`
    (the run's point), `policy` (its replication) and `model` (the batch name) columns."""
    import json

    import numpy as np
    import pandas as pd

    folder = Path(folder)
    meta = json.loads((folder / "batch.json").read_text())
    df = pd.read_parquet(folder / "batch.parquet")
    df = df[df["status"] == "ok"].reset_index(drop=True)
    params = [p for p in meta.get("parameters", []) if p in df]
    exp = df[params].rename(columns=variable_name)
    exp["scenario"] = df["point"].to_numpy()
    exp["policy"] = df["replication"].to_numpy()
    exp["model"] = meta.get("name", folder.name)
    skip = {"run_id", "point", "replication", "seed", "status", "error", "wall_s", "overrides", "command", *params}
    names = outcomes or [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    return exp, {o: df[o].to_numpy(dtype=float) for o in names}
