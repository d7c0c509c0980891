"""The model as the browser view runs it: `LiveModel` builds a `GridPivotModel` from the view's
controls (see `options`) and keeps, hour by hour, only the series the charts draw.
"""

from __future__ import annotations

import os

import numpy as np

from simulation.model import GridPivotModel
from simulation.viz.options import DEFAULT_CONFIG, config_path, live_params

#: the series the charts draw (keys of `model.recorder.last`)
SERIES = ("hour", "network_eh_s", "local_eh_s", "difficulty", "btc_price_usd", "hashprice_usd_per_ph_day",
          "ai_price_usd_per_gpu_hour", "lmp_mean_usd_per_mwh", "mw_hashing", "mw_ai", "mw_curtailed",
          "mean_block_interval_s", "blocks", "consumer_shed_mwh", "congested_lines",
          # columns other model versions log (NaN where this one does not): the AI split, conversions
          # and the cost of an attack hour; the charts draw them when they are there
          "mw_ai_hosting", "mw_ai_own_gpu", "mw_converting", "attack_rent_usd_per_h")


class History:
    """The charted series, preallocated for the whole run (a few floats per hour)."""

    def __init__(self, hours: int) -> None:
        self.n = 0
        self._a = {k: np.full(max(int(hours), 1), np.nan) for k in SERIES}

    def append(self, row: dict) -> None:
        if self.n == len(self._a["hour"]):  # the run went past its planned hours: grow
            for k, v in self._a.items():
                self._a[k] = np.concatenate([v, np.full(len(v), np.nan)])
        for k, v in self._a.items():
            v[self.n] = row.get(k, np.nan)
        self.n += 1

    def __getitem__(self, key: str) -> np.ndarray:
        return self._a[key][: self.n]

    def __len__(self) -> int:
        return self.n

    def snapshot(self, n: int | None = None) -> "HistoryView":
        """The first `n` hours (default: all so far) of every series, all cut at the same hour: a
        redraw running while the play loop appends the next hour never mixes lengths."""
        return HistoryView(self._a, self.n if n is None else min(int(n), self.n))


class HistoryView:
    """A fixed-length read-only view of a `History` (see `History.snapshot`)."""

    def __init__(self, arrays: dict[str, np.ndarray], n: int) -> None:
        self._a, self.n = arrays, n

    def __getitem__(self, key: str) -> np.ndarray:
        return self._a[key][: self.n]

    def __len__(self) -> int:
        return self.n


class LiveModel(GridPivotModel):
    """`GridPivotModel` for the browser view.

    Args:
        config: scenario name in configs/ or a TOML path.
        rng: root seed (an int; the view's seed control is an integer slider).
        miners: number of miners (None: the scenario's), split by `strategy_mix`.
        strategy_mix: "scenario", "even" or "only <strategy>".
        btc_drift_per_year: GBM drift of the BTC price (None: the scenario's).
        ai_price_usd_per_gpu_hour: AI spot price at the start (None: the scenario's).
        heatwave: True: a heat wave (the scenario's, or one from day 2); False: none; None: as the scenario.
        scenario: ignored unless a gridpivot scenario (Mesa's Reset passes its own empty one).
        **params: further dotted-path overrides (`a__b=v`), as for `GridPivotModel`.
    """

    def __init__(self, config: str | os.PathLike | None = DEFAULT_CONFIG, *, rng: int | None = None,
                 miners: int | None = None, strategy_mix: str = "scenario", btc_drift_per_year: float | None = None,
                 ai_price_usd_per_gpu_hour: float | None = None, heatwave: bool | None = None, scenario=None,
                 **params) -> None:
        from simulation.config.schema import Scenario

        if isinstance(rng, (str, float, np.integer)):
            rng = int(rng)  # a text field would pass "42": another seed type, so other numbers
        overrides = live_params(config, miners=miners, strategy_mix=strategy_mix,
                                btc_drift_per_year=btc_drift_per_year,
                                ai_price_usd_per_gpu_hour=ai_price_usd_per_gpu_hour, heatwave=heatwave)
        source = scenario if isinstance(scenario, Scenario) else config_path(config)
        super().__init__(source, rng=rng, **{**overrides, **params})
        self.config_name = str(config) if config else DEFAULT_CONFIG
        sc = self._resolved()
        self.settings = {"seed": int(sc.run.seed) if rng is None else rng, "miners": len(self.miner_agents),
                         "strategy_mix": strategy_mix, "btc_drift_per_year": sc.markets.btc_price.drift_per_year,
                         "ai_price_usd_per_gpu_hour": sc.markets.ai.price0_usd_per_gpu_hour}
        self.history = History(self.hours)
        self._miner_names = [a.name for a in sorted(self.miner_agents, key=lambda a: a.row)]
        self._miner_strategies = [a.strategy.name for a in sorted(self.miner_agents, key=lambda a: a.row)]

    def step(self) -> None:
        super().step()
        self.history.append(self.recorder.last)
        self.recorder.drain()  # the view writes no logs: drop the buffered table rows

    @property
    def heatwave_hours(self) -> tuple[int, int] | None:
        """[first, end) hours of the run's heat wave, or None."""
        hw = self._resolved().grid.heatwave
        return (hw.start_day * 24, (hw.start_day + hw.days) * 24) if hw.start_day >= 0 else None

    def _resolved(self):
        """The gridpivot scenario this model runs (whatever attribute the model keeps it in)."""
        from simulation.config.schema import Scenario

        for name in ("scenario", "config", "sc", "_scenario"):
            value = getattr(self, name, None)
            if isinstance(value, Scenario):
                return value
        raise AttributeError("LiveModel: the model keeps no gridpivot Scenario")

    @property
    def miner_names(self) -> list[str]:
        return self._miner_names

    @property
    def miner_strategies(self) -> list[str]:
        return self._miner_strategies
