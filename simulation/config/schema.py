"""The scenario schema: one TOML file -> one `Scenario`, every field typed, documented, with units.

Defaults reproduce the built-in default scenario (synthetic grid, ~40 miners, 90 days from the
2024 halving). Sources for the figures are in the README ("Sources").
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


class GridConfig(ConfigModel):
    case: str = _f("synthetic", "grid: 'synthetic' (built-in), 'ieee14', 'ieee118', or a MATPOWER .m file path")
    copperplate: bool = _f(False, "ignore line limits: one price for the whole grid")
    voll_usd_per_mwh: float = _f(5000.0, "value of lost load: price of shedding inflexible demand (ERCOT cap)", "USD/MWh", gt=0)
    peak_demand_mw: float = _f(0.0, "peak system demand (0: the case's own)", "MW", ge=0)
    demand_noise: float = _f(0.02, "relative noise of hourly demand", ge=0, le=0.5)
    demand_csv: DataFile | None = _f(None, "hourly series CSV (columns demand_mw, wind_cf, solar_cf; any subset)")
    heatwave: HeatwaveConfig = _sub(HeatwaveConfig, "a window of peak demand")


class BtcPriceConfig(ConfigModel):
    model: Literal["gbm", "series"] = _f("gbm", "GBM with jumps, or a replayed hourly CSV series")
    s0_usd: float = _f(64_000.0, "BTC price at the start (2024 halving ~64k)", "USD", gt=0)
    drift_per_year: float = _f(0.0, "GBM drift of log price", "1/yr", ge=-5, le=5)
    vol_per_year: float = _f(0.55, "GBM volatility", "1/sqrt(yr)", ge=0, le=5)
    jump_rate_per_year: float = _f(4.0, "Poisson rate of price jumps", "1/yr", ge=0)
    jump_mean_log: float = _f(0.0, "mean log jump size", ge=-2, le=2)
    jump_std_log: float = _f(0.06, "std of log jump size", ge=0, le=2)
    csv: DataFile | None = _f(None, "CSV with an hourly price column 'btc_usd' (series model)")


class AiContractsConfig(ConfigModel):
    offers_per_month: float = _f(1.0, "hosting contract offers reaching the grid's miners", "1/month", ge=0)
    mw_mean: float = _f(30.0, "mean contracted critical IT load per offer", "MW", gt=0)
    price_usd_per_mwh: float = _f(166.0, "contract price per MWh of contracted capacity (CoreWeave-Core Scientific ~166)", "USD/MWh", gt=0)
    price_trend_per_year: float = _f(0.0, "relative drift of offered contract prices", "1/yr", ge=-1, le=5)
    term_months: int = _f(60, "contract term", "months", ge=1)
    sla_uptime: float = _f(0.999, "required uptime of contracted inference load", ge=0.5, le=1.0)
    penalty_usd_per_mwh: float = _f(500.0, "penalty per MWh short beyond the SLA allowance", "USD/MWh", ge=0)
    training_share: float = _f(0.3, "share of offers that are deferrable training rather than inference", ge=0, le=1)
    checkpoint_usd_per_mw: float = _f(50.0, "cost of pausing 1 MW of training (checkpoint and restart)", "USD/MW", ge=0)


class AiConfig(ConfigModel):
    price0_usd_per_gpu_hour: float = _f(2.2, "spot price of an H100-class GPU-hour at the start (2025: ~2-3)", "USD/GPU-h", gt=0)
    trend_per_year: float = _f(-0.15, "trend of the spot price (rises or falls)", "1/yr", ge=-2, le=5)
    reversion_per_hour: float = _f(0.01, "mean reversion speed of log price to its trend", "1/h", ge=0, le=1)
    vol_per_hour: float = _f(0.01, "volatility of log spot price", "1/sqrt(h)", ge=0, le=1)
    demand_mean: float = _f(0.7, "mean share of idle GPUs that find spot jobs", ge=0, le=1)
    demand_diurnal_amplitude: float = _f(0.15, "day/night swing of the spot demand share", ge=0, le=1)
    demand_noise: float = _f(0.05, "hourly noise of the spot demand share", ge=0, le=1)
    contracts: AiContractsConfig = _sub(AiContractsConfig, "hosting contract offers")


class MarketsConfig(ConfigModel):
    btc_price: BtcPriceConfig = _sub(BtcPriceConfig, "BTC price process")
    ai: AiConfig = _sub(AiConfig, "AI compute market")


class ShockConfig(ConfigModel):
    start_hour: int = _f(0, "first hour of the shock", "h", ge=0)
    end_hour: int = _f(720, "hour the fleet starts to return", "h", ge=1)
    fraction: float = _f(0.5, "share of the rest-of-world fleet offline", ge=0, le=1)

    @model_validator(mode="after")
    def _window(self):
        if self.end_hour <= self.start_hour:
            raise bad("end_hour", f"must be after start_hour ({self.end_hour} <= {self.start_hour})",
                      "set end_hour > start_hour")
        return self


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
    usd_per_gpu: float = _f(27_500.0, "purchase price per GPU", "USD", gt=0)


class ContractConfig(ConfigModel):
    mw: float = _f(10.0, "contracted critical IT load", "MW", gt=0)
    price_usd_per_mwh: float = _f(166.0, "price per MWh delivered", "USD/MWh", gt=0)
    kind: Literal["inference", "training"] = _f("inference", "inference is firm; training is deferrable")
    sla_uptime: float = _f(0.999, "required uptime", ge=0.5, le=1)
    penalty_usd_per_mwh: float = _f(500.0, "penalty per MWh short beyond the SLA allowance", "USD/MWh", ge=0)
    term_months: int = _f(60, "remaining term", "months", ge=1)


class MinerConfig(ConfigModel):
    name: str = _f("", "miner name (default: miner-<n>)")
    bus: str = _f("", "grid bus id the facility sits on")
    strategy: str = _f("profit_max", "hodl_hasher | profit_max | ai_host | grid_responsive | adaptive")
    interconnect_mw: float = _f(100.0, "grid connection capacity", "MW", gt=0)
    cash_usd: float = _f(20e6, "starting cash", "USD")
    sell_fraction: float = _f(1.0, "share of mined BTC sold each hour", ge=0, le=1)
    asics: list[AsicCohortConfig] = _list("ASIC cohorts")
    gpus: GpuConfig = _sub(GpuConfig, "GPU fleet")
    contracts: list[ContractConfig] = _list("AI contracts already signed")

    @model_validator(mode="after")
    def _miner(self):
        from simulation.config import checks

        checks.strategy_known(self.strategy, "strategy")
        gpu_mw = self.gpus.units * self.gpus.kw_per_gpu / 1e3
        contracted = sum(c.mw for c in self.contracts)
        if contracted > gpu_mw + 1e-9:
            raise bad("contracts", f"{contracted:g} MW contracted exceeds the {gpu_mw:g} MW of GPUs "
                      "(gpus.units x gpus.kw_per_gpu / 1000)", "add GPUs or reduce the contracts")
        return self


class PopulationConfig(ConfigModel):
    counts: dict[str, NonNegInt] = _f(
        {"hodl_hasher": 10, "profit_max": 12, "ai_host": 6, "grid_responsive": 8, "adaptive": 4},
        "generated miners per strategy")
    interconnect_mw_median: float = _f(60.0, "median facility size (log-normal)", "MW", gt=0)
    interconnect_mw_sigma: float = _f(0.6, "log-normal sigma of facility sizes", ge=0, le=3)
    asic_models: dict[str, NonNegFloat] = _f(
        {"S19 Pro": 0.25, "S19 XP": 0.3, "S21": 0.35, "S21 XP": 0.1}, "share of generated fleets by ASIC model")
    overbuild: float = _f(1.1, "installed ASIC MW relative to the interconnect", gt=0, le=3)
    gpu_share: dict[str, Share] = _f(
        {"ai_host": 0.5, "profit_max": 0.1, "adaptive": 0.1},
        "share of interconnect MW already in GPUs, per strategy")
    placement: str = _f("cheap", "'cheap' (near wind/solar/hydro), 'load' (with demand), 'uniform', or 'zone:<name>'")
    cash_usd_per_mw: float = _f(150_000.0, "starting cash per MW of interconnect", "USD/MW")

    @model_validator(mode="after")
    def _population(self):
        from simulation.config import checks

        checks.population(self)
        return self


class InvestmentConfig(ConfigModel):
    period_hours: int = _f(168, "how often miners revisit their fleet (weekly)", "h", ge=1)
    ai_site_capex_usd_per_mw: float = _f(5e6, "electrical and cooling upgrade to an AI-grade site", "USD/MW", ge=0)
    gpu_lead_time_weeks: int = _f(16, "weeks from order to GPUs running", "weeks", ge=0)
    gpu_life_years: float = _f(5.0, "GPU economic life used to amortise capex", "yr", gt=0)
    convert_step_mw: float = _f(10.0, "MW converted from ASICs to GPUs per decision", "MW", gt=0)
    asic_payback_months: float = _f(18.0, "buy new ASICs when they pay back within this", "months", gt=0)
    retire_margin_usd_per_mwh: float = _f(
        5.0, "retire a cohort when its average hashing margin (over the local price, 0 in hours it would not run) falls below this", "USD/MWh")
    exit_after_weeks: int = _f(8, "a miner exits after this many weeks of negative cash", "weeks", ge=1)
    fixed_cost_usd_per_mw_month: float = _f(3000.0, "site O&M and staff per MW of interconnect", "USD/MW/month", ge=0)


class DemandResponseConfig(ConfigModel):
    payment_usd_per_mwh: float = _f(150.0, "paid per MWh curtailed below baseline in stress hours", "USD/MWh", ge=0)
    four_cp_usd_per_mw: float = _f(12_000.0, "transmission charge per MW drawn at each summer monthly peak (4CP)", "USD/MW", ge=0)
    stress_demand_share: float = _f(0.94, "an hour is a likely peak when demand reaches this share of the last 30 days' peak", ge=0.5, le=1.2)
    stress_lmp_usd_per_mwh: float = _f(1000.0, "an hour after an LMP above this is a scarcity hour", "USD/MWh", gt=0)


class HashrateScriptSegment(ConfigModel):
    start_hour: int = _f(0, "first hour of the segment", "h", ge=0)
    end_hour: int = _f(1, "first hour after the segment", "h", ge=1)
    factor: float = _f(1.0, "multiple of the baseline hash rate", ge=0)

    @model_validator(mode="after")
    def _window(self):
        if self.end_hour <= self.start_hour:
            raise bad("end_hour", f"must be after start_hour ({self.end_hour} <= {self.start_hour})",
                      "set end_hour > start_hour")
        return self


class HashrateScriptConfig(ConfigModel):
    baseline: str = _f("implied", "'implied' (the chain point's difficulty x 2^32 / 600) or a number of EH/s as a string")
    segments: list[HashrateScriptSegment] = _list("departures from the baseline")

    @model_validator(mode="after")
    def _script(self):
        from simulation.config import checks

        checks.hashrate_script(self)
        return self


class Scenario(ConfigModel):
    """A whole scenario. With a [hashrate] script the run is network-only (no grid, no miners)."""

    run: RunConfig = _sub(RunConfig, "time span, seed, logging")
    bitcoin: BitcoinConfig = _sub(BitcoinConfig, "chain point, fees, reward sharing")
    grid: GridConfig = _sub(GridConfig, "power grid")
    markets: MarketsConfig = _sub(MarketsConfig, "BTC and AI markets")
    rest_of_world: RestOfWorldConfig = _sub(RestOfWorldConfig, "hash rate outside the grid")
    population: PopulationConfig = _sub(PopulationConfig, "generated miners")
    miners: list[MinerConfig] = _list("explicit miners (in addition to the generated population)")
    investment: InvestmentConfig = _sub(InvestmentConfig, "the slow clock: fleets, GPUs, contracts, exits")
    demand_response: DemandResponseConfig = _sub(DemandResponseConfig, "demand response and 4CP")
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
