"""The slow clock: every `period_hours` each miner revisits its fleet.

In order: GPUs on order arrive; cohorts that keep losing money retire; miners whose cash stayed
negative too long exit; AI builders convert ASIC MW to GPUs when AI's margin, net of amortised
capex, beats hashing's; free interconnect is filled with new ASICs that pay back in time.
Hosting-contract offers go to the miners with free GPU capacity (`assign_offers`).
Runs per miner in plain Python: it is weekly, not hourly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.hardware import ASIC_MODELS, NEWEST_ASIC
from agents.miner import Contract, GpuOrder, MinerAgent

HOURS_PER_YEAR = 8760.0
HOURS_PER_WEEK = 168
#: share of GPU and site capex paid up front; the rest is financed over the GPU life
DOWN_PAYMENT = 0.2
#: annual interest on financed capex
INTEREST = 0.10


@dataclass(frozen=True)
class InvestmentEvent:
    hour: int
    miner: str
    kind: str  # gpu_order, gpu_online, asic_retire, asic_buy, contract, exit
    mw: float
    usd: float


def _annuity_per_hour(principal: float, years: float) -> float:
    r = INTEREST
    return principal * r / (1 - (1 + r) ** -years) / HOURS_PER_YEAR


def review_fleet(agent: MinerAgent, hour: int, cfg, hashprice_usd_per_ph_day: float,
                 ai_price_outlook: float) -> list[InvestmentEvent]:
    """One miner's periodic fleet decision; returns what it did.

    `ai_price_outlook` is the expected average spot-price factor over a GPU's life relative to
    today's (from the AI market's trend), so a falling AI market discourages conversion.
    """
    f, r, st = agent.fleet, agent.row, agent.state
    events: list[InvestmentEvent] = []
    name = agent.name

    arrived = [o for o in st.gpu_orders if o.arrival_hour <= hour]
    st.gpu_orders = [o for o in st.gpu_orders if o.arrival_hour > hour]
    for o in arrived:
        f.gpu_units[r] += o.units
        events.append(InvestmentEvent(hour, name, "gpu_online", o.units * f.gpu_kw[r] / 1e3, 0.0))
    agent.refresh_contracts(hour)

    running = f.asic_units[r] > 0
    f.asic_age_h[r] += cfg.period_hours * running
    losing = running & (f.hash_margin_ewma[r] < cfg.retire_margin_usd_per_mwh) & (f.asic_age_h[r] > HOURS_PER_WEEK * 4)
    if losing.any():
        asic_mw = f.asic_mw_of(r)
        for c in np.flatnonzero(losing):
            events.append(InvestmentEvent(hour, name, "asic_retire", float(asic_mw[c]), 0.0))
            f.asic_units[r, c] = 0.0

    f.weeks_negative_cash[r] = f.weeks_negative_cash[r] + 1 if f.cash_usd[r] < 0 else 0
    if f.weeks_negative_cash[r] * cfg.period_hours >= cfg.exit_after_weeks * HOURS_PER_WEEK:
        capacity = min(f.interconnect_mw[r], f.asic_mw_of(r).sum() + f.gpu_mw_of(r)) * f.active[r]
        events.append(InvestmentEvent(hour, name, "exit", float(capacity), float(f.cash_usd[r])))
        agent.exit_market()
        return events

    on_order_mw = sum(o.units for o in st.gpu_orders) * f.gpu_kw[r] / 1e3
    if agent.strategy.builds_ai:
        events += _convert_to_ai(agent, hour, cfg, hashprice_usd_per_ph_day, ai_price_outlook, on_order_mw)
        on_order_mw = sum(o.units for o in st.gpu_orders) * f.gpu_kw[r] / 1e3
    events += _buy_asics(agent, hour, cfg, hashprice_usd_per_ph_day, on_order_mw)
    return events


def _convert_to_ai(agent, hour, cfg, hashprice, outlook, on_order_mw) -> list[InvestmentEvent]:
    f, r = agent.fleet, agent.row
    gpu_usd_per_mw = agent.state.gpu_usd * 1e3 / f.gpu_kw[r]
    capex_per_mw = cfg.ai_site_capex_usd_per_mw + gpu_usd_per_mw
    ai_margin_year = f.ai_margin_ewma[r] * outlook * HOURS_PER_YEAR
    has_asics = f.asic_units[r] > 0
    hash_margin = float(np.max(np.where(has_asics, f.hash_margin_ewma[r], -np.inf))) if has_asics.any() else 0.0
    hash_margin_year = max(hash_margin, 0.0) * HOURS_PER_YEAR
    if ai_margin_year - _annuity_per_hour(capex_per_mw, cfg.gpu_life_years) * HOURS_PER_YEAR <= hash_margin_year:
        return []
    mw = min(cfg.convert_step_mw, f.interconnect_mw[r] - f.gpu_mw_of(r) - on_order_mw)
    mw = min(mw, f.cash_usd[r] / (DOWN_PAYMENT * capex_per_mw))
    if mw < 1.0:
        return []
    units = int(mw * 1e3 / f.gpu_kw[r])
    mw = units * f.gpu_kw[r] / 1e3
    capex = mw * capex_per_mw
    f.cash_usd[r] -= DOWN_PAYMENT * capex
    f.debt_service_usd_per_h[r] += _annuity_per_hour((1 - DOWN_PAYMENT) * capex, cfg.gpu_life_years)
    agent.state.gpu_orders.append(GpuOrder(units, hour + cfg.gpu_lead_time_weeks * HOURS_PER_WEEK))
    events = [InvestmentEvent(hour, agent.name, "gpu_order", mw, capex)]
    # make room: retire the least efficient ASICs drawing as much power as the GPUs will
    overbuilt = f.asic_mw_of(r).sum() + f.gpu_mw_of(r) + on_order_mw + mw - f.interconnect_mw[r]
    for c in np.argsort(-f.asic_j_per_th[r]):
        if overbuilt <= 0 or f.asic_units[r, c] <= 0:
            continue
        per_unit_mw = f.asic_th_per_unit[r, c] * f.asic_j_per_th[r, c] * 1e-6
        drop = min(f.asic_units[r, c], np.ceil(overbuilt / per_unit_mw))
        f.asic_units[r, c] -= drop
        overbuilt -= drop * per_unit_mw
        events.append(InvestmentEvent(hour, agent.name, "asic_retire", float(drop * per_unit_mw), 0.0))
    return events


def _buy_asics(agent, hour, cfg, hashprice, on_order_mw) -> list[InvestmentEvent]:
    f, r = agent.fleet, agent.row
    headroom = f.interconnect_mw[r] - f.asic_mw_of(r).sum() - f.gpu_mw_of(r) - on_order_mw
    if headroom < 1.0:
        return []
    empty = np.flatnonzero(f.asic_units[r] <= 0)
    if not len(empty):
        return []
    m = ASIC_MODELS[NEWEST_ASIC]
    power_price = float(f.lmp_ewma[r])
    usd_per_th_day = hashprice / 1e3 - m.j_per_th * 24e-6 * power_price
    if usd_per_th_day <= 0 or m.usd_per_th / usd_per_th_day > cfg.asic_payback_months * 30.4:
        return []
    units = float(np.floor(min(headroom, f.cash_usd[r] / (m.usd_per_th * 1e6 / m.j_per_th)) * 1e6 / m.watts))
    if units < 1:
        return []
    c = empty[0]
    cost = units * m.th_per_unit * m.usd_per_th
    f.asic_units[r, c], f.asic_th_per_unit[r, c], f.asic_j_per_th[r, c], f.asic_age_h[r, c] = units, m.th_per_unit, m.j_per_th, 0.0
    f.hash_margin_ewma[r, c] = float(np.max(f.hash_margin_ewma[r]))
    f.cash_usd[r] -= cost
    agent.state.cohort_models[c] = m.name
    return [InvestmentEvent(hour, agent.name, "asic_buy", units * m.watts / 1e6, cost)]


def assign_offers(offers, agents: list[MinerAgent], hour: int) -> list[InvestmentEvent]:
    """Each hosting offer goes to the contract-taking miner with the most free GPU MW that can
    carry it whole (ties: the first in agent order); offers nobody can carry lapse."""
    events = []
    takers = [a for a in agents if a.strategy.accepts_contracts and a.fleet.active[a.row]]
    for o in offers:
        best, room = None, 0.0
        for a in takers:
            f, r = a.fleet, a.row
            free = f.gpu_mw[r] - f.firm_mw[r] - f.training_mw[r]
            if free >= o.mw and free > room:
                best, room = a, free
        if best is None:
            continue
        best.state.contracts.append(Contract(o.mw, o.price_usd_per_mwh, o.kind, o.sla_uptime,
                                             o.penalty_usd_per_mwh, hour + o.term_hours))
        best.refresh_contracts(hour)
        events.append(InvestmentEvent(hour, best.name, "contract", o.mw, o.mw * o.price_usd_per_mwh * o.term_hours))
    return events
