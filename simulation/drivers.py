"""The exogenous world the miners face, hour by hour: the grid and its demand, wind and sun,
the BTC price, the AI compute market and its contract offers, and the rest of the world's
hash supply. Built from a scenario; each process has its own random stream.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np

from simulation.bitcoin import HALVING_2024, BitcoinNetwork, make_fee_model
from simulation.bitcoin.economics import PH_DAY_PER_DIFFICULTY
from simulation.grid import HourlySeries, load_grid, synthetic_series, load_series_csv
from simulation.bitcoin.history import difficulty_growth_per_year, load_chain_history
from simulation.markets import (AiSpotMarket, HostingOffers, GbmJumpPrice, HashrateShock,
                                RestOfWorldFleet, SeriesPrice, load_price_csv, DEFAULT_POOL_SHARES)

RENEWABLE_KINDS = ("wind", "solar")
CHEAP_KINDS = ("wind", "solar", "hydro")
#: weight of one hour in the fee-per-block estimate miners value blocks with (~a day)
FEE_ALPHA = 1.0 / 144.0


def bitcoin_network(b, rng: np.random.Generator) -> BitcoinNetwork:
    """The Bitcoin network at the scenario's chain point (`[bitcoin]`)."""
    wft = b.window_first_time or (HALVING_2024.window_first_time if b.height == HALVING_2024.height else 0)
    if not wft:
        raise ValueError("bitcoin.window_first_time: required when the chain point is not the default "
                         "2024 halving; give the unix time of block height - height % 2016")
    return BitcoinNetwork(height=b.height, time=b.time, bits=b.bits, window_first_time=wft,
                          fees=make_fee_model(b.fees), rng=rng, halving=b.halving)


class Drivers:
    def __init__(self, sc, rngs: list[np.random.Generator]) -> None:
        self.sc = sc
        series_rng, price_rng, ai_rng, offer_rng, chain_rng = rngs
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
        self.bus_demand_mw = np.zeros(g.n_bus)
        self.gen_available_mw = np.asarray(g.gen_cap_mw, float).copy()
        # 30-day trailing peak for the stress (likely 4CP) signal
        self._trailing_peak = np.maximum.accumulate(self.series.demand_mw)

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

        self.bitcoin = bitcoin_network(sc.bitcoin, chain_rng)
        chain = load_chain_history()
        before = chain.time_unix <= sc.bitcoin.time
        self._chain_seen = (chain.time_unix[before].astype(float), chain.difficulty[before])
        self._retargets_seen = 0
        self.expected_fees_btc = sc.bitcoin.fees.btc_per_block
        self.btc_price_usd = float(mp.s0_usd if mp.model == "gbm" else self.btc.step())
        self.ai_price_usd_per_gpu_hour = ai.price0_usd_per_gpu_hour
        self.ai_demand_fraction = ai.demand_mean
        self.rest_of_world: RestOfWorldFleet | None = None
        self.rest_of_world_eh_s = 0.0
        self.rest_of_world_pool_shares = np.asarray(list(DEFAULT_POOL_SHARES.values()), float)
        self.rest_of_world_pool_shares /= self.rest_of_world_pool_shares.sum()

    def calibrate_rest_of_world(self, local_th_s: float) -> None:
        """Size the rest of the world so the network starts at the chain point's implied rate."""
        rw = self.sc.rest_of_world
        implied_eh_s = self.bitcoin.implied_hashrate_hs() / 1e18
        target = rw.eh_s or max(implied_eh_s - local_th_s / 1e6, 0.1 * implied_eh_s)
        self.rest_of_world = RestOfWorldFleet.calibrated(
            target_eh_s=target, hashprice_usd_per_ph_day=self.hashprice_now(),
            mean_j_per_th=rw.mean_j_per_th, median_power_cost_usd_per_mwh=rw.power_cost_usd_per_mwh,
            response_hours=rw.response_hours, growth_eh_s_per_month=rw.growth_eh_s_per_month,
            new_j_per_th=rw.new_j_per_th,
            shocks=[HashrateShock(s.start_hour, s.end_hour, s.fraction) for s in rw.shocks])
        self.rest_of_world_eh_s = self.rest_of_world.online_eh_s_now

    def hashprice_now(self) -> float:
        """Hashprice (USD per PH/s per day) from the current difficulty, the next block's subsidy
        and the expected fees per block."""
        reward = self.bitcoin.subsidy_sat(self.bitcoin.height + 1) / 1e8 + self.expected_fees_btc
        return self.btc_price_usd * reward * PH_DAY_PER_DIFFICULTY / self.bitcoin.difficulty

    def difficulty_growth_per_year(self, now_unix: float) -> float:
        """The difficulty growth miners expect (continuous, 1/yr): a fixed rate, or estimated on the
        chain seen so far: the real retargets before the start, then the simulated ones."""
        e = self.sc.expectations
        if e.difficulty_growth == "fixed":
            return e.difficulty_growth_per_year
        times, diffs = self._chain_seen
        sim = self.bitcoin.retargets[self._retargets_seen:]
        if sim:
            from simulation.bitcoin import bits_to_difficulty
            times = np.append(times, [r.time for r in sim])
            diffs = np.append(diffs, [bits_to_difficulty(r.new_bits) for r in sim])
            self._chain_seen = (times, diffs)
            self._retargets_seen = len(self.bitcoin.retargets)
        try:
            return difficulty_growth_per_year(times, diffs, now_unix, e.difficulty_window_days)
        except ValueError as err:
            raise ValueError(f"{err} (the run starts at unix time {self.sc.bitcoin.time})") from None

    def grid_state(self, hour: int) -> tuple[np.ndarray, np.ndarray]:
        """Inflexible demand per bus (MW) and available generation per generator (MW) at `hour`."""
        s = self.series
        cap = np.asarray(self.grid.gen_cap_mw, float)
        avail = np.where(self._is_wind, cap * s.wind_cf[hour], np.where(self._is_solar, cap * s.solar_cf[hour], cap))
        return s.demand_mw[hour] * self._share, avail

    def advance(self, hour: int) -> None:
        """Move every exogenous process to `hour`."""
        self.bus_demand_mw, self.gen_available_mw = self.grid_state(hour)
        if hour:
            self.btc_price_usd = float(self.btc.step())
        local_hour = (dt.datetime.fromtimestamp(self.sc.bitcoin.time + 3600 * hour, dt.timezone.utc).hour
                      + self.sc.run.utc_offset_h) % 24
        self.ai_price_usd_per_gpu_hour, self.ai_demand_fraction = self.ai.step(local_hour)
        self._pending_offers.extend(self.offers.step())
        self.rest_of_world_eh_s = self.rest_of_world.step(self.hashprice_now(), hour)

    def grid_stress(self, hour: int, last_lmp: np.ndarray) -> bool:
        """A likely system peak (demand near the trailing 30-day peak) or an hour after scarcity.
        In the first week the reference is the week's forecast peak, as a utility publishes it,
        so a run's first hours are not all "peaks" for want of history."""
        dr = self.sc.demand_response
        d = self.series.demand_mw
        window = d[max(0, hour - 720):max(hour + 1, 168)]
        near_peak = d[hour] >= dr.stress_demand_share * window.max()
        scarce = hour > 0 and float(np.max(last_lmp)) >= dr.stress_lmp_usd_per_mwh
        return bool(near_peak or scarce)

    def observe_blocks(self, blocks) -> None:
        for b in blocks:
            self.expected_fees_btc += FEE_ALPHA * (b.fees_sat / 1e8 - self.expected_fees_btc)

    def take_contract_offers(self):
        offers, self._pending_offers = self._pending_offers, []
        return offers

    def ai_trend_price_usd_per_gpu_hour(self, hour: int) -> float:
        """The AI spot market's trend price at `hour` (what a buyer of GPUs extrapolates from)."""
        ai = self.sc.markets.ai
        return ai.price0_usd_per_gpu_hour * math.exp(ai.trend_per_year * hour / 8760.0)
