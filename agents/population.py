"""Build the miner population from a scenario: explicit miners plus a generated population.

Returns plain `MinerSpec`s; the model turns them into Mesa agents on their bus cells. Bad
entries fail here, at load time, with one line naming the entry (`miners[2].bus`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.hardware import GPU_KW_ALL_IN, GPU_USD, asic_model
from agents.miner import Lease
from agents.strategies import strategy_class
from simulation.markets.finance import HOURS_PER_MONTH


@dataclass
class CohortSpec:
    model: str
    units: float
    th_per_unit: float
    j_per_th: float
    age_h: float


@dataclass
class MinerSpec:
    name: str
    bus: int  # bus index in the grid
    strategy: str
    interconnect_mw: float
    cash_usd: float
    sell_fraction: float
    cohorts: list[CohortSpec]
    gpu_units: int = 0
    gpu_kw: float = GPU_KW_ALL_IN
    gpu_usd: float = GPU_USD
    leases: list[Lease] = field(default_factory=list)


@dataclass(frozen=True)
class BusInfo:
    """What placement needs to know about the grid's buses."""

    ids: list[str]  # bus ids as strings (config `bus` values)
    zones: list[str]
    load_share: np.ndarray  # share of system demand per bus
    cheap_weight: np.ndarray  # MW of wind, solar and hydro per bus


def _cohort(c, where: str) -> CohortSpec:
    if c.th_per_unit > 0 and c.j_per_th > 0:
        th, jpt = c.th_per_unit, c.j_per_th
    else:
        m = asic_model(c.model, f"{where}.model")
        th = c.th_per_unit or m.th_per_unit
        jpt = c.j_per_th or m.j_per_th
    return CohortSpec(c.model, float(c.units), th, jpt, c.age_months * HOURS_PER_MONTH)


def _lease(it_mw: float, fee: float, kind: str, sla: float, penalty: float, term_months: int, months_to_operation: int,
           pue: float) -> Lease:
    start = int(round(months_to_operation * HOURS_PER_MONTH))
    return Lease(it_mw, it_mw * pue, fee, kind, sla if kind == "inference" else 0.0, penalty if kind == "inference" else 0.0,
                 start, start + int(round(term_months * HOURS_PER_MONTH)))


def explicit_miners(miners, buses: BusInfo, hosting) -> list[MinerSpec]:
    """Specs for the scenario's `[[miners]]` entries, validated."""
    index = {b: i for i, b in enumerate(buses.ids)}
    specs = []
    for i, m in enumerate(miners):
        where = f"miners[{i}]"
        strategy_class(m.strategy, f"{where}.strategy")
        if m.bus not in index:
            near = ", ".join(buses.ids[:8]) + (" ..." if len(buses.ids) > 8 else "")
            raise ValueError(f"{where}.bus: bus {m.bus!r} is not in the grid; use one of its bus ids ({near})")
        gpu_mw = m.gpus.units * m.gpus.kw_per_gpu / 1e3
        leases = [_lease(c.mw, c.fee_usd_per_mw_month, c.kind, c.sla_uptime, c.penalty_usd_per_mwh, c.term_months,
                         c.months_to_operation, hosting.pue) for c in m.leases]
        ai_mw = gpu_mw + sum(c.facility_mw for c in leases)
        if ai_mw > m.interconnect_mw + 1e-9:
            raise ValueError(f"{where}.leases: {ai_mw:g} facility MW of GPUs and leases (IT MW x markets.ai.hosting.pue) "
                             f"exceed the interconnect of {m.interconnect_mw:g} MW; raise interconnect_mw or lease less")
        cohorts = [_cohort(c, f"{where}.asics[{j}]") for j, c in enumerate(m.asics)]
        specs.append(MinerSpec(m.name or f"miner-{i}", index[m.bus], m.strategy, m.interconnect_mw, m.cash_usd,
                               m.sell_fraction, cohorts, m.gpus.units, m.gpus.kw_per_gpu, m.gpus.usd_per_gpu,
                               leases))
    return specs


def _placement_weights(rule: str, buses: BusInfo) -> np.ndarray:
    n = len(buses.ids)
    if rule == "uniform":
        w = np.ones(n)
    elif rule == "load":
        w = np.asarray(buses.load_share, float)
    elif rule == "cheap":
        w = np.asarray(buses.cheap_weight, float)
    elif rule.startswith("zone:"):
        zone = rule.split(":", 1)[1]
        w = np.array([z == zone for z in buses.zones], float)
        if not w.any():
            raise ValueError(f"population.placement: no bus in zone {zone!r}; zones are {sorted(set(buses.zones))}")
    else:
        raise ValueError(f"population.placement: unknown rule {rule!r}; use 'cheap', 'load', 'uniform' or 'zone:<name>'")
    if w.sum() <= 0:
        w = np.ones(n)
    return w / w.sum()


def generated_miners(pop, rng: np.random.Generator, buses: BusInfo, hosting, first_index: int = 0) -> list[MinerSpec]:
    """A population drawn from the scenario's distributions: log-normal sizes, ASIC models by
    share, an older second cohort, own GPUs and operating hosting leases by strategy."""
    for name in pop.counts:
        strategy_class(name, f"population.counts.{name}")
    for table in ("gpu_share", "lease_share"):
        for name, share in getattr(pop, table).items():
            strategy_class(name, f"population.{table}.{name}")
            if not 0 <= share <= 1:
                raise ValueError(f"population.{table}.{name}: {share:g} is not a share in [0, 1]; give a fraction of the interconnect")
    for name in pop.asic_models:
        asic_model(name, f"population.asic_models.{name}")
    weights = _placement_weights(pop.placement, buses)
    models = list(pop.asic_models)
    shares = np.array([pop.asic_models[m] for m in models], float)
    if shares.sum() <= 0:
        raise ValueError("population.asic_models: shares sum to 0; give at least one positive share")
    shares = shares / shares.sum()
    specs: list[MinerSpec] = []
    k = first_index
    for strategy, count in pop.counts.items():
        for _ in range(count):
            size = float(pop.interconnect_mw_median * np.exp(pop.interconnect_mw_sigma * rng.standard_normal()))
            bus = int(rng.choice(len(weights), p=weights))
            gpu_mw = pop.gpu_share.get(strategy, 0.0) * size
            lease_mw = pop.lease_share.get(strategy, 0.0) * size
            asic_mw = max(size * pop.overbuild - gpu_mw - lease_mw, 0.0)
            main = asic_model(models[int(rng.choice(len(models), p=shares))])
            older = asic_model("S19 Pro" if main.j_per_th < 25 else "S9")
            cohorts = []
            for m, part, age in ((main, 0.7, 6.0), (older, 0.3, 30.0)):
                units = round(asic_mw * part * 1e6 / (m.th_per_unit * m.j_per_th))
                if units:
                    cohorts.append(CohortSpec(m.name, float(units), m.th_per_unit, m.j_per_th, age * HOURS_PER_MONTH))
            gpu_units = int(round(gpu_mw * 1e3 / GPU_KW_ALL_IN))
            leases = []
            if lease_mw > 0:
                leases.append(_lease(round(lease_mw / hosting.pue, 3), hosting.fee_usd_per_mw_month, "inference",
                                     hosting.sla_uptime, hosting.penalty_usd_per_mwh, hosting.term_months, 0, hosting.pue))
            specs.append(MinerSpec(f"{strategy}-{k}", bus, strategy, size, pop.cash_usd_per_mw * size, 1.0,
                                   cohorts, gpu_units, leases=leases))
            k += 1
    return specs
