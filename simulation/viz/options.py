"""The browser view's controls: scenario choices, SolaraViz `model_params`, and how each control
becomes a dotted-path override of the scenario. Light: imports neither the model nor Solara.

Mesa's SolaraViz re-creates the model on Reset as `type(model)(**model_params)`, so every control
is a keyword argument of `simulation.viz.live.LiveModel`. A control left at None takes the
scenario's own value.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "configs"
DEFAULT_CONFIG = "default"
#: environment variable through which `run.py viz CONFIG` hands its CONFIG to app.py
CONFIG_ENV = "GRIDPIVOT_VIZ_CONFIG"
#: day the heat wave starts when switched on for a scenario that has none
HEATWAVE_START_DAY = 2


def scenario_choices(extra: str | None = None) -> list[str]:
    """Names of the grid scenarios in configs/ (network-only [hashrate] scripts left out), plus
    `extra` (a path outside configs/) if given."""
    names = []
    for p in sorted(CONFIG_DIR.glob("*.toml")):
        try:
            data = tomllib.loads(p.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if "hashrate" not in data:
            names.append(p.stem)
    if DEFAULT_CONFIG in names:  # the default first
        names.insert(0, names.pop(names.index(DEFAULT_CONFIG)))
    if extra and extra not in names:
        names.append(extra)
    return names


def config_path(config: str | os.PathLike | None) -> Path | None:
    """A scenario name from configs/ or a TOML path -> the file (None: the built-in default)."""
    if config is None or str(config) == "":
        return CONFIG_DIR / f"{DEFAULT_CONFIG}.toml"
    p = Path(config)
    if p.suffix != ".toml" and (CONFIG_DIR / f"{config}.toml").is_file():
        return CONFIG_DIR / f"{config}.toml"
    if not p.is_file():
        raise ValueError(f"config: no scenario file {str(config)!r}; give a name from configs/ "
                         f"({', '.join(scenario_choices())}) or a TOML path")
    return p


def base_scenario(config: str | os.PathLike | None):
    """The scenario as its file says (schema defaults filled in)."""
    from simulation.config import load_config
    from simulation.config.schema import Scenario

    return load_config(config_path(config), Scenario)


def strategy_names() -> list[str]:
    """Strategy names in the schema's order (then any other registered ones)."""
    from agents.strategies import STRATEGIES
    from simulation.config.schema import PopulationConfig

    names = list(PopulationConfig().counts)
    return names + sorted(set(STRATEGIES) - set(names))


def mix_choices() -> list[str]:
    return ["scenario", "even"] + [f"only {s}" for s in strategy_names()]


def population_counts(base_counts: dict[str, int], mix: str, n: int) -> dict[str, int]:
    """`n` generated miners split by `mix`: "scenario" (the scenario's proportions), "even", or
    "only <strategy>"; largest-remainder rounding, so the counts add up to exactly `n`."""
    names = strategy_names()
    if mix == "scenario":
        weights = {k: float(v) for k, v in base_counts.items() if v > 0} or {k: 1.0 for k in names}
    elif mix == "even":
        weights = {k: 1.0 for k in names}
    elif mix.startswith("only ") and mix[5:] in names:
        weights = {mix[5:]: 1.0}
    else:
        raise ValueError(f"strategy_mix: {mix!r} is not one of {mix_choices()}")
    keys = list(weights)
    w = np.array([weights[k] for k in keys])
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return {k: int(c) for k, c in zip(keys, counts) if c > 0}


def live_params(config: str | os.PathLike | None = None, *, miners: int | None = None, strategy_mix: str = "scenario",
                btc_drift_per_year: float | None = None, ai_price_usd_per_gpu_hour: float | None = None,
                heatwave: bool | None = None) -> dict:
    """The view's controls as the model's dotted-path keyword overrides (`a__b=v`)."""
    params: dict = {"run__agent_log": "none", "run__bus_log": "none"}  # the view keeps its own series; no per-agent or per-bus rows
    base = None
    if miners is not None or strategy_mix != "scenario" or heatwave is not None:
        base = base_scenario(config)
    if miners is not None or strategy_mix != "scenario":
        n = miners if miners is not None else sum(base.population.counts.values()) + len(base.miners)
        generated = max(int(n) - len(base.miners), 0)
        params["population__counts"] = population_counts(dict(base.population.counts), strategy_mix, generated)
    if btc_drift_per_year is not None:
        params["markets__btc_price__drift_per_year"] = float(btc_drift_per_year)
    if ai_price_usd_per_gpu_hour is not None:
        params["markets__ai__price0_usd_per_gpu_hour"] = float(ai_price_usd_per_gpu_hour)
    if heatwave is not None and base.grid.hours == "synthetic":  # ERCOT's hours have their own heat
        has_one = base.grid.heatwave.start_day >= 0
        if heatwave and not has_one:
            params["grid__heatwave__start_day"] = HEATWAVE_START_DAY
        elif not heatwave and has_one:
            params["grid__heatwave__start_day"] = -1
    return params


def model_params(config: str | None = None) -> dict:
    """SolaraViz `model_params`: the view's controls, starting at the scenario's own values."""
    base = base_scenario(config)
    path = config_path(config)
    name = path.stem if path.resolve().parent == CONFIG_DIR.resolve() else str(config)
    n = sum(base.population.counts.values()) + len(base.miners)
    seed = int(base.run.seed)
    ai = float(base.markets.ai.price0_usd_per_gpu_hour)
    drift = float(base.markets.btc_price.drift_per_year)
    return {
        "config": {"type": "Select", "value": name, "values": scenario_choices(name), "label": "Scenario"},
        "rng": {"type": "SliderInt", "value": seed, "min": 0, "max": max(999, seed), "step": 1, "label": "Seed"},
        "miners": {"type": "SliderInt", "value": n, "min": 1, "max": max(400, n), "step": 1, "label": "Miners"},
        "strategy_mix": {"type": "Select", "value": "scenario", "values": mix_choices(), "label": "Strategy mix"},
        "btc_drift_per_year": {"type": "SliderFloat", "value": drift, "min": min(-1.0, drift), "max": max(2.0, drift),
                               "step": 0.1, "label": "BTC price drift (1/yr)"},
        "ai_price_usd_per_gpu_hour": {"type": "SliderFloat", "value": ai, "min": 0.5, "max": max(8.0, ai), "step": 0.1,
                                      "label": "AI price (USD/GPU-h)"},
        "heatwave": {"type": "Checkbox", "value": base.grid.heatwave.start_day >= 0, "label": "Heat wave"},
    }


def initial_kwargs(params: dict) -> dict:
    """The keyword arguments the first model is built with: each control's starting value."""
    return {k: (v["value"] if isinstance(v, dict) and "type" in v else v) for k, v in params.items()}
