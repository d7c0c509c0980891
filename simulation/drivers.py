"""The exogenous world the miners face, hour by hour: the grid and its demand, wind and sun,
the BTC price, the AI compute market and its contract offers. Built from a scenario; each process
has its own random stream. Nothing here responds to the model: the Bitcoin network and the rest
of the world's hash supply (which answer the hashprice) are the model's Bitcoin side
(`simulation.bitcoin_side`), and prices the grid clears are the model's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np

from simulation.grid import HourlySeries, load_grid, synthetic_series, load_series_csv
from simulation.grid.series import coastal_wind_cf, zonal_demand_mw
from simulation.grid.commitment import Commitment, daily_commitment
from simulation.markets import (AiSpotMarket, HostingOffers, TenantDemand, GbmJumpPrice, SeriesPrice, load_price_csv,
                                load_price_times, price_window)

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
    gen_min_mw: np.ndarray | None = None  # committed units' minimum output (MW); None: no floors


def scenario_grid(gc) -> "Grid":
    """The scenario's grid (`grid` section `gc`): the case, its lines scaled, its fleet brought
    to the configured year (`simulation.grid.fleet`: wind and solar added, gas re-priced,
    renewables' offers)."""
    from simulation.grid.fleet import add_plants, offer_renewables, reprice_fuels, scale_lines

    try:
        g = load_grid(gc.case)
    except (ValueError, OSError) as e:
        raise ValueError(f"grid.case: {str(e).splitlines()[0]}") from None
    f = gc.fleet
    g = scale_lines(g, gc.line_limit_factor, gc.line_zone_factor)
    if f.gas_usd_per_mmbtu > 0:
        g = reprice_fuels(g, f.gas_usd_per_mmbtu, {"gas_cc": f.gas_cc_heat_rate_mmbtu_per_mwh,
                                                   "gas_ct": f.gas_ct_heat_rate_mmbtu_per_mwh})
    for kind, target, zones in (("wind", f.wind_mw, f.wind_zones), ("solar", f.solar_mw, f.solar_zones)):
        g = add_plants(g, kind, target, zones, f.plant_mw, where=f"grid.fleet.{kind}_zones")
    if f.renewable_offer_usd_per_mwh is not None:
        g = offer_renewables(g, f.renewable_offer_usd_per_mwh)
    return g


class Drivers:
    def __init__(self, sc, rngs: list[np.random.Generator]) -> None:
        self.sc = sc
        series_rng, price_rng, ai_rng, offer_rng = rngs
        g = self.grid = scenario_grid(sc.grid)
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
        self._share = np.asarray(g.demand_share, float)
        self._zone_mw = None  # ERCOT hours: (hours, zones) MW and each bus's zone and share within it
        self._hydro_cf = None  # ERCOT hours: hydro's hourly capacity factor (None: always its capacity)
        if sc.grid.hours == "ercot_2024":
            self.series = self._ercot_series(sc, g)
        else:
            peak = sc.grid.peak_demand_mw or g.peak_demand_mw
            self.series: HourlySeries = synthetic_series(
                hours=self.hours, start=start, peak_mw=peak, rng=series_rng, noise=sc.grid.demand_noise,
                heatwave_start_day=hw.start_day if hw.start_day >= 0 else None, heatwave_days=hw.days,
                heatwave_demand_factor=hw.demand_factor, heatwave_wind_factor=hw.renewable_factor,
                summer_peak_doy=sc.grid.summer_peak_day)
        if sc.grid.demand_csv is not None:
            self.series = load_series_csv(sc.grid.demand_csv, self.hours, base=self.series)
        zones = set(g.bus_zone.tolist())
        for what, names in (("zone_flatness", sc.grid.zone_flatness), ("coastal_wind_zones", sc.grid.coastal_wind_zones)):
            unknown = sorted(set(names) - zones)
            if unknown:
                raise ValueError(f"grid.{what}: zone {unknown[0]!r} is not in grid {g.name!r}; its zones are "
                                 f"{', '.join(sorted(zones))}")
        # zonal demand: None when every zone follows the system shape (bus demand = system x share)
        self._flatness = None
        if any(v > 0 for v in sc.grid.zone_flatness.values()):
            self._flatness = np.array([sc.grid.zone_flatness.get(z, 0.0) for z in g.bus_zone.tolist()])
            self._mean_demand_mw = float(self.series.demand_mw.mean())
        self._is_wind = np.asarray([k == "wind" for k in g.gen_kind])
        # coastal wind (drawn after the series, from the same stream: runs without it are unchanged)
        self._coast_wind = None
        self._is_coast_wind = np.zeros(g.n_gen, bool)
        if sc.grid.coastal_wind_zones:
            self._is_coast_wind = self._is_wind & np.isin(g.bus_zone[g.gen_bus], list(sc.grid.coastal_wind_zones))
            self._coast_wind = coastal_wind_cf(
                hours=self.hours, start=start, rng=series_rng,
                heatwave_start_day=hw.start_day if hw.start_day >= 0 else None, heatwave_days=hw.days,
                heatwave_wind_factor=hw.renewable_factor)
        self._is_solar = np.asarray([k == "solar" for k in g.gen_kind])
        self._is_hydro = np.asarray([k == "hydro" for k in g.gen_kind])
        # units with a minimum output (full MATPOWER cases) run on a daily commitment; None: no floors
        self.commitment: Commitment | None = None
        if np.any(g.gen_min_mw > 0):
            wind = self.series.wind_cf
            if self._coast_wind is not None:
                wind = np.where(self._is_coast_wind, self._coast_wind[:, None], wind[:, None])
            self.commitment = daily_commitment(g, self.series.demand_mw, wind, self.series.solar_cf,
                                               hydro_cf=self._hydro_cf)

        mp = sc.markets.btc_price
        if mp.model == "series":
            if mp.csv is None:
                raise ValueError("markets.btc_price.csv: the 'series' model needs a CSV file; set csv = \"path.csv\"")
            values = load_price_csv(mp.csv, "btc_usd")
            times = load_price_times(mp.csv)
            if times is not None:  # a timed series: the run's hours, from the hour holding its start
                values = price_window(values, times, sc.bitcoin.time, self.hours, mp.csv)
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
        t = ai.tenants
        if t.enabled:  # offers from tenants' demand and their site choice (the same random stream)
            self.offers = TenantDemand(
                start_unix=sc.bitcoin.time, years=t.capex_years, capex_busd=t.capex_busd_per_year,
                flat=t.demand == "flat", it_mw_per_busd=t.it_mw_per_busd, reach_share=t.reach_share,
                size_median_it_mw=t.size_median_it_mw, size_sigma=t.size_sigma, wait_1gw_years=t.wait_1gw_years,
                wait_size_exponent=t.wait_size_exponent, greenfield_build_usd_per_it_mw=t.greenfield_build_usd_per_it_mw,
                developer_rate_per_year=t.developer_rate_per_year, noi_margin=t.noi_margin,
                margin_ref_usd_per_mw_month=t.margin_usd_per_it_mw_month, capex_ref_busd=t.capex_ref_busd,
                margin_elasticity=t.margin_elasticity, miner_share=t.miner_share, term_months=c.term_months,
                lead_months=c.lead_months, training_share=c.training_share, sla_uptime=c.sla_uptime,
                penalty_usd_per_mwh=c.penalty_usd_per_mwh, min_part_it_mw=t.min_part_it_mw,
                escalator_per_year=c.escalator_per_year, rng=offer_rng)
        else:
            self.offers = HostingOffers(
                rate_per_month=c.offers_per_month, mw_mean=c.mw_mean, fee_usd_per_mw_month=c.fee_usd_per_mw_month,
                fee_cv=c.fee_cv, fee_trend_per_year=c.fee_trend_per_year, term_months=c.term_months,
                lead_months=c.lead_months, sla_uptime=c.sla_uptime, penalty_usd_per_mwh=c.penalty_usd_per_mwh,
                training_share=c.training_share, rng=offer_rng)
        self._pending_offers = []

        self.btc_price_usd = float(mp.s0_usd if mp.model == "gbm" else self.btc.step())
        self.ai_price_usd_per_gpu_hour = ai.price0_usd_per_gpu_hour
        self.ai_demand_fraction = ai.demand_mean

    def _ercot_series(self, sc, g) -> HourlySeries:
        """ERCOT's 2024 hours for the run (`simulation.grid.ercot`): each weather zone's native
        load less `grid.flexible_load_mw` (>= 0), kept per zone and spread over the zone's buses
        in the case's proportions (`grid_state`); wind and solar capacity factors from ERCOT's
        system output over its end-2024 fleet, the same in every zone."""
        from simulation.grid.ercot import load_ercot_2024

        year = load_ercot_2024()
        missing = [z for z in year.zones if z not in set(g.bus_zone.tolist())]
        if missing:
            raise ValueError(f"grid.hours: 'ercot_2024' needs a grid with ERCOT's weather zones; {g.name!r} has no "
                             f"zone {missing[0]!r}; use grid.case = 'matpower:case_ACTIVSg2000' or grid.hours = 'synthetic'")
        rows = year.rows(sc.bitcoin.time, self.hours)
        less = np.array([sc.grid.flexible_load_mw.get(z, 0.0) for z in year.zones])
        zone_mw = np.maximum(year.zone_load_mw[rows] - less, 0.0)
        zone_of_bus = np.full(g.n_bus, -1, np.int64)
        for k, z in enumerate(year.zones):
            zone_of_bus[g.bus_zone == z] = k
        if np.any(zone_of_bus < 0):
            b = int(np.flatnonzero(zone_of_bus < 0)[0])
            raise ValueError(f"grid.hours: bus {g.bus_id(b)} is in zone {g.bus_zone[b]!r}, not one of ERCOT's weather "
                             "zones; use grid.hours = 'synthetic' for this grid")
        zone_share = np.bincount(zone_of_bus, weights=self._share, minlength=len(year.zones))
        self._zone_mw = zone_mw
        self._zone_of_bus = zone_of_bus
        self._share_in_zone = np.divide(self._share, zone_share[zone_of_bus], out=np.zeros(g.n_bus),
                                        where=zone_share[zone_of_bus] > 0)
        self.ercot_rows = rows
        # the case's hydro (2.4 GW in ACTIVSg2000, a snapshot's dispatch; ERCOT's fleet is ~0.5 GW)
        # makes ERCOT's hourly hydro output: its capacity factor is that output over the case's MW
        hydro_mw = float(g.gen_cap_mw[g.gen_kind == "hydro"].sum())
        if hydro_mw > 0:
            self._hydro_cf = np.clip(year.generation_mw["hydro"][rows] / hydro_mw, 0.0, 1.0)
        return HourlySeries(demand_mw=zone_mw.sum(axis=1), wind_cf=year.wind_cf(rows), solar_cf=year.solar_cf(rows))

    def grid_state(self, hour: int) -> tuple[np.ndarray, np.ndarray]:
        """Inflexible demand per bus (MW) and available generation per generator (MW) at `hour`."""
        s = self.series
        if self._zone_mw is not None:
            demand = self._zone_mw[hour][self._zone_of_bus] * self._share_in_zone
        elif self._flatness is not None:
            demand = zonal_demand_mw(float(s.demand_mw[hour]), self._mean_demand_mw, self._share, self._flatness)
        else:
            demand = s.demand_mw[hour] * self._share
        return demand, self.available_mw(hour)

    def available_mw(self, hour: int) -> np.ndarray:
        """Available generation per generator (MW) at `hour`: capacity, wind and solar by their
        capacity factors, 0 for units the commitment has off."""
        s = self.series
        cap = np.asarray(self.grid.gen_cap_mw, float)
        avail = np.where(self._is_wind, cap * s.wind_cf[hour], np.where(self._is_solar, cap * s.solar_cf[hour], cap))
        if self._coast_wind is not None:
            avail = np.where(self._is_coast_wind, cap * self._coast_wind[hour], avail)
        if self._hydro_cf is not None:
            avail = np.where(self._is_hydro, cap * self._hydro_cf[hour], avail)
        if self.commitment is not None:
            avail = self.commitment.available_mw(hour, avail)
        return avail

    def min_output(self, hour: int) -> np.ndarray | None:
        """Minimum output per generator (MW) at `hour` (committed units' Pmin), or None without floors."""
        return None if self.commitment is None else self.commitment.floor_mw(hour)

    def commit_units(self, inputs: HourInputs, units) -> HourInputs:
        """Reliability commitment: `units` (indices) are on from `inputs.hour` to the end of its
        day (`Commitment.commit`); the hour's inputs with them available and at their floors."""
        self.commitment.commit(inputs.hour, units)
        return dataclasses.replace(inputs, gen_available_mw=self.available_mw(inputs.hour),
                                   gen_min_mw=self.min_output(inputs.hour))

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
                          self.ai_demand_fraction, self.near_peak(hour), self.min_output(hour))

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
