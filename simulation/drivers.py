"""The exogenous world the miners face, hour by hour: the grid and its demand, wind and sun,
the BTC price, the AI compute market and its contract offers. Built from a scenario; each process
has its own random stream. Nothing here responds to the model: the Bitcoin network and the rest
of the world's hash supply (which answer the hashprice) are the model's Bitcoin side
(`simulation.bitcoin_side`), and prices the grid clears are the model's.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np

from simulation.grid import HourlySeries, load_grid, synthetic_series, load_series_csv
from simulation.markets import AiSpotMarket, HostingOffers, GbmJumpPrice, SeriesPrice, load_price_csv

RENEWABLE_KINDS = ("wind", "solar")
CHEAP_KINDS = ("wind", "solar", "hydro")


@dataclass(frozen=True)
class HourInputs:
    """The exogenous inputs of one hour."""

    hour: int
    bus_demand_mw: np.ndarray  # inflexible demand per bus (MW)
    gen_available_mw: np.ndarray  # available generation per unit (MW)
    btc_price_usd: float
    ai_price_usd_per_gpu_hour: float
    ai_demand_fraction: float  # share of idle GPUs that find spot jobs this hour
    near_peak: bool  # demand near the trailing peak (a likely 4CP hour)


class Drivers:
    def __init__(self, sc, rngs: list[np.random.Generator]) -> None:
        self.sc = sc
        series_rng, price_rng, ai_rng, offer_rng = rngs
        try:
            g = self.grid = load_grid(sc.grid.case)
        except (ValueError, OSError) as e:
            raise ValueError(f"grid.case: {str(e).splitlines()[0]}") from None
        for i, s in enumerate(sc.rest_of_world.shocks):
            if s.end_hour <= s.start_hour:
                raise ValueError(f"rest_of_world.shocks[{i}]: end_hour ({s.end_hour}) must be after start_hour "
                                 f"({s.start_hour})")
        hw = sc.grid.heatwave
        if hw.start_day >= 0 and hw.start_day * 24 >= sc.run.hours:
            warnings.warn(f"grid.heatwave.start_day: day {hw.start_day} is after the run's end ({sc.run.hours} h); "
                          "this run has no heat wave", stacklevel=2)
        self.hours = sc.run.hours
        start = dt.datetime.fromtimestamp(sc.bitcoin.time, dt.timezone(dt.timedelta(hours=sc.run.utc_offset_h)))
        peak = sc.grid.peak_demand_mw or g.peak_demand_mw
        self.series: HourlySeries = synthetic_series(
            hours=self.hours, start=start, peak_mw=peak, rng=series_rng, noise=sc.grid.demand_noise,
            heatwave_start_day=hw.start_day if hw.start_day >= 0 else None, heatwave_days=hw.days,
            heatwave_demand_factor=hw.demand_factor, heatwave_wind_factor=hw.renewable_factor)
        if sc.grid.demand_csv is not None:
            self.series = load_series_csv(sc.grid.demand_csv, self.hours, base=self.series)
        self._share = np.asarray(g.demand_share, float)
        self._is_wind = np.asarray([k == "wind" for k in g.gen_kind])
        self._is_solar = np.asarray([k == "solar" for k in g.gen_kind])

        mp = sc.markets.btc_price
        if mp.model == "series":
            if mp.csv is None:
                raise ValueError("markets.btc_price.csv: the 'series' model needs a CSV file; set csv = \"path.csv\"")
            values = load_price_csv(mp.csv, "btc_usd")
            if len(values) < self.hours:
                raise ValueError(f"markets.btc_price.csv: {mp.csv} has {len(values)} hours but the run needs "
                                 f"{self.hours}; give a longer series or fewer run.hours")
            self.btc = SeriesPrice(values)
        else:
            self.btc = GbmJumpPrice(mp.s0_usd, mp.drift_per_year, mp.vol_per_year, mp.jump_rate_per_year,
                                    mp.jump_mean_log, mp.jump_std_log, price_rng)
        ai = sc.markets.ai
        self.ai = AiSpotMarket(ai.price0_usd_per_gpu_hour, ai.trend_per_year, ai.reversion_per_hour, ai.vol_per_hour,
                               ai.demand_mean, ai.demand_diurnal_amplitude, ai.demand_noise, ai_rng)
        c = ai.hosting
        self.offers = HostingOffers(
            rate_per_month=c.offers_per_month, mw_mean=c.mw_mean, fee_usd_per_mw_month=c.fee_usd_per_mw_month,
            fee_cv=c.fee_cv, fee_trend_per_year=c.fee_trend_per_year, term_months=c.term_months,
            lead_months=c.lead_months, sla_uptime=c.sla_uptime, penalty_usd_per_mwh=c.penalty_usd_per_mwh,
            training_share=c.training_share, rng=offer_rng)
        self._pending_offers = []

        self.btc_price_usd = float(mp.s0_usd if mp.model == "gbm" else self.btc.step())
        self.ai_price_usd_per_gpu_hour = ai.price0_usd_per_gpu_hour
        self.ai_demand_fraction = ai.demand_mean

    def grid_state(self, hour: int) -> tuple[np.ndarray, np.ndarray]:
        """Inflexible demand per bus (MW) and available generation per generator (MW) at `hour`."""
        s = self.series
        cap = np.asarray(self.grid.gen_cap_mw, float)
        avail = np.where(self._is_wind, cap * s.wind_cf[hour], np.where(self._is_solar, cap * s.solar_cf[hour], cap))
        return s.demand_mw[hour] * self._share, avail

    def advance(self, hour: int) -> HourInputs:
        """Move every exogenous process to `hour`; its inputs."""
        bus_demand_mw, gen_available_mw = self.grid_state(hour)
        if hour:
            self.btc_price_usd = float(self.btc.step())
        local_hour = (dt.datetime.fromtimestamp(self.sc.bitcoin.time + 3600 * hour, dt.timezone.utc).hour
                      + self.sc.run.utc_offset_h) % 24
        self.ai_price_usd_per_gpu_hour, self.ai_demand_fraction = self.ai.step(local_hour)
        self._pending_offers.extend(self.offers.step())
        return HourInputs(hour, bus_demand_mw, gen_available_mw, self.btc_price_usd, self.ai_price_usd_per_gpu_hour,
                          self.ai_demand_fraction, self.near_peak(hour))

    def near_peak(self, hour: int) -> bool:
        """Demand near the trailing 30-day peak: a likely system peak (4CP). In the first week
        the reference is the week's forecast peak, as a utility publishes it, so a run's first
        hours are not all "peaks" for want of history."""
        d = self.series.demand_mw
        window = d[max(0, hour - 720):max(hour + 1, 168)]
        return bool(d[hour] >= self.sc.demand_response.stress_demand_share * window.max())

    def take_contract_offers(self):
        offers, self._pending_offers = self._pending_offers, []
        return offers

    def ai_trend_price_usd_per_gpu_hour(self, hour: int) -> float:
        """The AI spot market's trend price at `hour` (what a buyer of GPUs extrapolates from)."""
        ai = self.sc.markets.ai
        return ai.price0_usd_per_gpu_hour * math.exp(ai.trend_per_year * hour / 8760.0)
