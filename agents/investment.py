"""The slow clock: every `period_hours` each miner revisits its site, and AI tenants' lease offers
are placed. A megawatt has three uses, each valued over years at the rate of its own risk
(`simulation.markets.valuation`; `FinanceConfig`'s hashing, lease and own-GPU rates): hashing on
ASICs, a hosting lease (the tenant's GPUs; project-financed against its rent), or an own-GPU AI
cloud. A block of MW moves to the use worth most among those the miner can fund and carry out.

At a review, in order: leases and GPU orders that are due start; ASIC cohorts that keep losing
money retire; a miner whose cash stayed negative too long exits; AI builders convert their least
efficient ASIC MW to own GPUs when that is worth more than hashing them; free interconnect is
filled with new ASICs when their value over their life beats their price. No rule mentions a
date or the halving: the halving enters only through the subsidy schedule in the expected
hashprice path. The rules are per miner, in plain Python; which miners a rule can concern this
week is screened for the whole fleet at once (numpy over miners), so the review runs them only
there: most weeks most miners change nothing but their ASICs' age.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.balance_sheet import ASIC, GPU, RETROFIT, Ledger
from agents.fleet import row_sum
from agents.hardware import ASIC_MODELS, NEWEST_ASIC, AsicModel
from agents.miner import GpuOrder, Lease, MinerAgent
from simulation.markets.finance import (HOURS_PER_MONTH, HOURS_PER_YEAR, lending_capacity_usd, monthly_discount,
                                       project_debt_usd)
from simulation.markets.valuation import HashingValue, hosting_value_usd_per_mw, own_gpu_value_usd_per_mw, price_sample

HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class InvestmentEvent:
    hour: int
    miner: str
    kind: str  # lease_signed, lease_refused, lease_unfunded, offer_lapsed, lease_operating, gpu_order, gpu_online,
    #            asic_retire, asic_buy, exit (usd: capex; for a refused or unfunded offer, the value it was short by)
    mw: float
    usd: float


@dataclass(frozen=True)
class Outlook:
    """What every miner foresees at a review (the same for all; valued per site on its own prices)."""

    hour: int
    hashprice_path: np.ndarray  # USD per PH/s per day, month by month from now
    ai_price_usd_per_gpu_hour: float  # the AI market's trend price now
    ai_trend_per_year: float
    ai_utilisation: float  # share of the time own GPUs find jobs
    cfg: object  # InvestmentConfig
    fin: object  # FinanceConfig
    hosting: object  # HostingConfig
    _values: dict = field(default_factory=dict, compare=False, repr=False)
    _gpu_values: dict = field(default_factory=dict, compare=False, repr=False)
    _hashing: dict = field(default_factory=dict, compare=False, repr=False)

    def hash_value_usd_per_mw(self, bus: int, power_sample, j_per_th: float, months: int, swap: bool) -> float:
        """`HashingValue` over the first `months` of the path on the prices of `bus`
        (`swap`: with the option to run the newest ASICs instead), computed once per review."""
        key = (bus, float(j_per_th), int(months), swap)
        v = self._values.get(key)
        if v is None:
            v = self._values[key] = self._hashing_value(key[1:]).at(power_sample)
        return v

    def _hashing_value(self, key: tuple[float, int, bool]) -> HashingValue:
        """The `HashingValue` of (J/TH, months, swap), whatever the site (computed once)."""
        h = self._hashing.get(key)
        if h is None:
            j_per_th, months, swap = key
            extra = (self.newest.j_per_th, self.newest_capex_usd_per_mw, self.cfg.asic_life_years) if swap else ()
            h = self._hashing[key] = HashingValue(self.hashprice_path[:months], j_per_th, self.fin.hashing_rate_per_year,
                                                  *extra)
        return h

    @property
    def newest(self) -> AsicModel:
        return ASIC_MODELS[NEWEST_ASIC]

    @property
    def newest_capex_usd_per_mw(self) -> float:
        m = self.newest
        return m.usd_per_th * 1e6 / m.j_per_th

    def newest_capital_pv_usd_per_mw(self, months: int) -> float:
        """Present value of the newest ASICs' capital cost over `months` (USD per MW): their price
        as a level monthly charge whose present value over one life (at the hashing rate) is the
        price, so a horizon of one life costs one price and a longer one pays for the machines
        that replace them:  capex x sum_{m < months} d_m / sum_{m < life} d_m."""
        rate = self.fin.hashing_rate_per_year
        life = monthly_discount(round(self.cfg.asic_life_years * 12), rate).sum()
        return self.newest_capex_usd_per_mw * float(monthly_discount(int(months), rate).sum() / life)


# -- values of a block of a site's MW ----------------------------------------------------------
def hashing_block_value_usd(agent: MinerAgent, mw: float, months: int, o: Outlook, power_sample,
                            ledger: Ledger | None = None) -> tuple[float, list]:
    """Present value of hashing `mw` of the site over `months`: its least efficient ASICs first
    (what a conversion would retire), then free interconnect at the newest ASIC's value net of
    its price; with `ledger`, only as much of that free MW as the miner can fund (`funded_mw`),
    the rest idle. Returns the value and [(cohort, MW)] of the ASICs the block holds."""
    f, r = agent.fleet, agent.row
    bus = int(f.bus[r])
    asic_mw = f.asic_mw_of(r)
    value, taken, left = 0.0, [], mw
    for c in np.argsort(-f.asic_j_per_th[r], kind="stable"):
        if left <= 1e-9 or asic_mw[c] <= 0:
            continue
        part = min(left, float(asic_mw[c]))
        value += part * o.hash_value_usd_per_mw(bus, power_sample, float(f.asic_j_per_th[r, c]), months, True)
        taken.append((int(c), part))
        left -= part
    if left > 1e-9:
        free = (o.hash_value_usd_per_mw(bus, power_sample, o.newest.j_per_th, months, False)
                - o.newest_capital_pv_usd_per_mw(months))
        if free > 0 and ledger is not None:
            left = funded_mw(agent, ledger, left, o.newest_capex_usd_per_mw, o)
        value += left * max(free, 0.0)
    return value, taken


def hosting_offer_value_usd(offer, o: Outlook, power_usd_per_mwh: float, rate_per_year: float | None = None) -> float:
    """Present value of signing `offer` (USD, for its whole facility MW), at the lease rate (or
    `rate_per_year`)."""
    h = o.hosting
    per_mw = hosting_value_usd_per_mw(
        fee_usd_per_it_mw_month=offer.fee_usd_per_mw_month, term_months=offer.term_months,
        lead_months=offer.lead_months, build_usd_per_it_mw=h.build_usd_per_it_mw,
        rate_per_year=o.fin.lease_rate_per_year if rate_per_year is None else rate_per_year, pue=h.pue,
        escalator_per_year=h.escalator_per_year, noi_margin=h.noi_margin, power_paid_by_miner=h.power == "miner",
        power_usd_per_mwh=power_usd_per_mwh, tenant_capex_share=h.tenant_capex_share)
    return per_mw * offer.it_mw * h.pue


def lease_project_debt_usd(offer, o: Outlook, power_usd_per_mwh: float = 0.0) -> float:
    """Project debt for `offer`'s build (`project_debt_usd`): LTC of the miner's share of the
    build, within the DSCR on the first operating year's NOI (less power when the miner pays it)."""
    h, fin = o.hosting, o.fin
    build = offer.it_mw * h.build_usd_per_it_mw * (1.0 - h.tenant_capex_share)
    noi = offer.it_mw * offer.fee_usd_per_mw_month * 12 * h.noi_margin
    if h.power == "miner":
        noi -= offer.it_mw * h.pue * power_usd_per_mwh * HOURS_PER_YEAR
    return project_debt_usd(build, noi, fin.lease_rate_per_year, offer.term_months / 12, fin.project_loan_to_cost,
                            fin.project_dscr)


def own_gpu_value_usd_per_mw_at(agent: MinerAgent, o: Outlook, power_usd_per_mwh: float) -> float:
    """`own_gpu_value_usd_per_mw` of the miner's GPUs at `power_usd_per_mwh`, computed once per
    review for each (GPU kW, GPU price, power price)."""
    f, r, cfg = agent.fleet, agent.row, o.cfg
    key = (float(f.gpu_kw[r]), float(agent.state.gpu_usd), float(power_usd_per_mwh))
    v = o._gpu_values.get(key)
    if v is None:
        v = o._gpu_values[key] = own_gpu_value_usd_per_mw(
            price0_usd_per_gpu_hour=o.ai_price_usd_per_gpu_hour, trend_per_year=o.ai_trend_per_year,
            utilisation=o.ai_utilisation, gpu_kw_all_in=key[0], gpu_usd=key[1],
            retrofit_usd_per_mw=cfg.ai_site_capex_usd_per_mw, lead_months=round(cfg.gpu_lead_time_weeks * 7 / 30.44),
            life_months=round(cfg.gpu_life_years * 12), rate_per_year=o.fin.own_gpu_rate_per_year,
            power_usd_per_mwh=power_usd_per_mwh)
    return v


def mean_power_usd_per_mwh(agent: MinerAgent, power_sample) -> float:
    """The power price a site values AI on: the mean of its recent prices (its price EWMA before
    it has any)."""
    sample = price_sample(power_sample)
    return sample.mean_usd_per_mwh if len(sample) else float(agent.fleet.lmp_ewma[agent.row])


# -- capital -----------------------------------------------------------------------------------
def fund(agent: MinerAgent, ledger: Ledger, capex_usd: float, o: Outlook, hour: int, repay_from_hour: int | None = None,
         loan_years: float | None = None, project_debt_usd: float = 0.0, commit: bool = True) -> bool:
    """Pay `capex_usd` now if the miner can. A lease build first takes its project debt
    (`project_debt_usd`, sized on the lease's rent: `lease_project_debt_usd`), repaid over
    `loan_years` from `repay_from_hour` at the lease rate; the rest is the miner's equity: the
    down payment (and whatever the corporate lender will not lend) from cash, the rest borrowed
    within the corporate limit (corporate debt <= k x trailing EBITDA after project debt
    service), at the corporate rate. The miner keeps `finance.reserve_months` of fixed costs and
    corporate debt service (the new loan's included) in cash; project debt is serviced by its
    lease's rent (its DSCR), though interest during the build is paid from cash. Returns False,
    changing nothing, when it cannot; with `commit` False it only says whether it could."""
    f, r, fin = agent.fleet, agent.row, o.fin
    project = min(max(project_debt_usd, 0.0), capex_usd)
    equity = capex_usd - project
    ebitda_usd_per_h = f.ebitda_usd_per_h[r] - ledger.project_service_usd_per_h(r, hour)
    capacity = float(lending_capacity_usd(ebitda_usd_per_h * HOURS_PER_YEAR, ledger.debt_of(r, project=False),
                                          fin.leverage_limit))
    loan = min((1.0 - fin.down_payment_share) * equity, capacity)
    cash = equity - loan
    years = loan_years or fin.loan_years
    service = ledger.debt_service_usd_per_h(r, project=False) + loan * (fin.interest_rate_per_year + 1.0 / years) / HOURS_PER_YEAR
    fixed = o.cfg.fixed_cost_usd_per_mw_month / HOURS_PER_MONTH * f.interconnect_mw[r]
    reserve = fin.reserve_months * HOURS_PER_MONTH * (service + fixed)
    if cash + reserve > f.cash_usd[r]:
        return False
    if not commit:
        return True
    repay = hour if repay_from_hour is None else repay_from_hour
    f.cash_usd[r] -= cash
    ledger.borrow(r, loan, repay_from_hour=repay, years=years)
    if project > 0:
        ledger.borrow(r, project, repay_from_hour=repay, years=years, rate_per_year=fin.lease_rate_per_year, project=True)
    f.capex_usd[r] += capex_usd
    return True


def funded_mw(agent: MinerAgent, ledger: Ledger, mw: float, capex_usd_per_mw: float, o: Outlook,
              loan_years: float | None = None) -> float:
    """How much of `mw` the miner could fund now at `capex_usd_per_mw` (`fund` without
    committing): all of it, or the largest part found by halving, to 1/64 of it; 0 if none."""
    if capex_usd_per_mw <= 0 or fund(agent, ledger, mw * capex_usd_per_mw, o, o.hour, loan_years=loan_years,
                                     commit=False):
        return mw
    lo, hi = 0.0, mw
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        if fund(agent, ledger, mid * capex_usd_per_mw, o, o.hour, loan_years=loan_years, commit=False):
            lo = mid
        else:
            hi = mid
    return lo


def _retire(agent: MinerAgent, ledger: Ledger, c: int, mw: float, hour: int, events: list, for_ai: bool = False) -> None:
    """Take `mw` of cohort `c` out of service (whole machines, rounded up) and write it off;
    `for_ai`: to make room for AI (counted in `th_moved_to_ai`)."""
    f, r = agent.fleet, agent.row
    per_unit_mw = f.asic_th_per_unit[r, c] * f.asic_j_per_th[r, c] * 1e-6
    units = f.asic_units[r, c]
    drop = min(units, float(np.ceil(mw / per_unit_mw - 1e-9)))
    if drop <= 0:
        return
    ledger.write_off(r, ASIC, c, drop / units)
    f.asic_units[r, c] -= drop
    if for_ai:
        f.th_moved_to_ai[r] += drop * f.asic_th_per_unit[r, c]
    events.append(InvestmentEvent(hour, agent.name, "asic_retire", float(drop * per_unit_mw), 0.0))


# -- the review --------------------------------------------------------------------------------
def review_fleet(agents: list[MinerAgent], ledger: Ledger, o: Outlook, power_samples) -> list[InvestmentEvent]:
    """Every active miner's periodic decision, in agent order; returns what they did.
    `power_samples(row)` is a site's recent hourly prices (a `PriceSample` or an array).

    What applies to every miner (its ASICs age; its weeks of negative cash are counted) and which
    miners a rule can concern (`_screen`) are computed for the fleet at once; the rules then run
    per miner, only where they can act."""
    agents = [a for a in agents if a.fleet.active[a.row]]
    if not agents:
        return []
    f, cfg = agents[0].fleet, o.cfg
    rows = np.array([a.row for a in agents], np.int64)
    running = f.asic_units[rows] > 0
    f.asic_age_h[rows] += cfg.period_hours * running
    losing = (running & (f.hash_margin_ewma[rows] < cfg.retire_margin_usd_per_mwh)
              & (f.asic_age_h[rows] > HOURS_PER_WEEK * 4))
    f.weeks_negative_cash[rows] = np.where(f.cash_usd[rows] < 0, f.weeks_negative_cash[rows] + 1, 0)
    exits = f.weeks_negative_cash[rows] * cfg.period_hours >= cfg.exit_after_weeks * HOURS_PER_WEEK
    may_convert, may_buy = _screen(agents, rows, o, power_samples)
    acts = losing.any(axis=1) | exits | may_convert | may_buy
    events: list[InvestmentEvent] = []
    for i, agent in enumerate(agents):
        if acts[i] or agent.state.leases or agent.state.gpu_orders:
            events += _review_miner(agent, ledger, o, power_samples, np.flatnonzero(losing[i]), bool(exits[i]),
                                    bool(may_convert[i]), bool(may_buy[i]))
    return events


def _screen(agents: list[MinerAgent], rows: np.ndarray, o: Outlook, power_samples) -> tuple[np.ndarray, np.ndarray]:
    """Which miners (as they stand before the review) could convert ASIC MW to own GPUs, and
    which could buy ASICs: the conditions `_convert_to_own_gpus` and `_buy_asics` check first,
    over the fleet at once (with a hair of slack: the rules themselves decide)."""
    f, cfg, m = agents[0].fleet, o.cfg, o.newest
    committed_ai = f.hosted_mw_of(rows) + f.gpu_mw_of(rows) + f.converting_mw[rows]  # (`committed_ai_mw`)
    with np.errstate(divide="ignore", invalid="ignore"):
        _, step_mw, gpu_usd, retrofit_usd = gpu_step(f.interconnect_mw[rows] - committed_ai, f.gpu_kw[rows],
                                                      np.array([a.state.gpu_usd for a in agents], float), cfg)
    # `fund` takes at least the down payment from cash
    down_payment = o.fin.down_payment_share * (gpu_usd + retrofit_usd)
    may_convert = (np.array([a.strategy.builds_ai for a in agents], bool) & (step_mw >= 1.0 - 1e-9)
                   & (f.cash_usd[rows] >= down_payment * (1.0 - 1e-9)))
    for i in np.flatnonzero(may_convert):
        a = agents[i]
        may_convert[i] = own_gpu_value_usd_per_mw_at(a, o, mean_power_usd_per_mwh(a, power_samples(a.row))) > 0

    headroom = f.interconnect_mw[rows] - row_sum(f.asic_mw_of(rows)) - committed_ai  # (`_free_mw`)
    may_buy = (headroom >= 1.0 - 1e-9) & (f.asic_units[rows] <= 0).any(axis=1)
    months = round(cfg.asic_life_years * 12)
    for i in np.flatnonzero(may_buy):
        bus = int(f.bus[rows[i]])
        value = o.hash_value_usd_per_mw(bus, power_samples(rows[i]), m.j_per_th, months, False)
        may_buy[i] = value > o.newest_capex_usd_per_mw
    return may_convert, may_buy


def _review_miner(agent: MinerAgent, ledger: Ledger, o: Outlook, power_samples, losing: np.ndarray, exits: bool,
                  may_convert: bool, may_buy: bool) -> list[InvestmentEvent]:
    """One miner's review: leases and GPU orders that are due start, its `losing` cohorts retire,
    it exits or else converts and buys (where `_screen` found it could, or its fleet changed)."""
    f, r, st, cfg, hour = agent.fleet, agent.row, agent.state, o.cfg, o.hour
    events: list[InvestmentEvent] = []
    name = agent.name
    changed = bool(st.leases or st.gpu_orders or len(losing))

    if st.leases or st.gpu_orders:  # (without either, the fleet row already holds none)
        for lease in st.leases:
            if hour - cfg.period_hours < lease.start_hour <= hour:
                events.append(InvestmentEvent(hour, name, "lease_operating", lease.facility_mw, 0.0))
        arrived = [x for x in st.gpu_orders if x.arrival_hour <= hour]
        st.gpu_orders = [x for x in st.gpu_orders if x.arrival_hour > hour]
        for x in arrived:
            f.gpu_units[r] += x.units
            events.append(InvestmentEvent(hour, name, "gpu_online", x.facility_mw, 0.0))
        agent.refresh_leases(hour)

    for c in losing:
        _retire(agent, ledger, int(c), float(f.asic_mw_of(r)[c]), hour, events)

    if exits:
        capacity = min(f.interconnect_mw[r], f.asic_mw_of(r).sum() + f.gpu_mw_of(r) + f.hosted_mw_of(r)) * f.active[r]
        events.append(InvestmentEvent(hour, name, "exit", float(capacity), float(f.cash_usd[r])))
        ledger.write_off_all(r)
        agent.exit_market()
        return events

    if agent.strategy.builds_ai and (may_convert or changed):
        power_sample = power_samples(r)
        converted = _convert_to_own_gpus(agent, ledger, o, power_sample, mean_power_usd_per_mwh(agent, power_sample))
        events += converted
        changed = changed or bool(converted)
    if may_buy or changed:
        events += _buy_asics(agent, ledger, o, power_samples(r))
    return events


def _free_mw(agent: MinerAgent) -> float:
    """Interconnect MW not yet used by ASICs, GPUs, hosted load or conversions."""
    f, r = agent.fleet, agent.row
    return float(f.interconnect_mw[r] - f.asic_mw_of(r).sum() - agent.committed_ai_mw)


def gpu_step(room_mw, gpu_kw, gpu_usd, cfg):
    """What one conversion step buys: whole GPUs of `gpu_kw` (all-in) within `convert_step_mw`
    and the interconnect `room_mw` left: (GPUs, facility MW, USD for the GPUs, USD for the
    retrofit); scalars or arrays over miners."""
    mw = np.minimum(cfg.convert_step_mw, room_mw)
    units = np.trunc(mw * 1e3 / gpu_kw)
    mw = units * gpu_kw / 1e3
    return units, mw, units * gpu_usd, mw * cfg.ai_site_capex_usd_per_mw


def _convert_to_own_gpus(agent, ledger, o: Outlook, power_sample, power) -> list[InvestmentEvent]:
    f, r, cfg = agent.fleet, agent.row, o.cfg
    gpu_value = own_gpu_value_usd_per_mw_at(agent, o, power)
    if gpu_value <= 0:
        return []
    units, mw, gpu_usd, retrofit_usd = gpu_step(float(f.interconnect_mw[r]) - agent.committed_ai_mw,
                                                float(f.gpu_kw[r]), agent.state.gpu_usd, cfg)
    if not mw >= 1.0:
        return []
    months = round(cfg.gpu_lead_time_weeks * 7 / 30.44 + cfg.gpu_life_years * 12)
    hash_value, taken = hashing_block_value_usd(agent, mw, months, o, power_sample)
    if gpu_value * mw <= hash_value:
        return []
    start = o.hour + cfg.gpu_lead_time_weeks * HOURS_PER_WEEK
    if not fund(agent, ledger, gpu_usd + retrofit_usd, o, o.hour, repay_from_hour=start, loan_years=cfg.gpu_life_years):
        return []
    ledger.add_asset(r, gpu_usd, cfg.gpu_life_years * HOURS_PER_YEAR, kind=GPU, start_hour=start)
    ledger.add_asset(r, retrofit_usd, cfg.gpu_life_years * HOURS_PER_YEAR, kind=RETROFIT, start_hour=start)
    agent.state.gpu_orders.append(GpuOrder(int(units), start, mw))
    events = [InvestmentEvent(o.hour, agent.name, "gpu_order", mw, gpu_usd + retrofit_usd)]
    for c, part in taken:
        _retire(agent, ledger, c, part, o.hour, events, for_ai=True)
    agent.refresh_leases(o.hour)
    return events


def _buy_asics(agent, ledger, o: Outlook, power_sample) -> list[InvestmentEvent]:
    f, r, cfg = agent.fleet, agent.row, o.cfg
    headroom = _free_mw(agent) * 1.0
    if headroom < 1.0:
        return []
    empty = np.flatnonzero(f.asic_units[r] <= 0)
    if not len(empty):
        return []
    m = o.newest
    months = round(cfg.asic_life_years * 12)
    value = o.hash_value_usd_per_mw(int(f.bus[r]), power_sample, m.j_per_th, months, False)
    if value <= o.newest_capex_usd_per_mw:
        return []
    units = float(np.floor(headroom * 1e6 / m.watts))
    cost = units * m.th_per_unit * m.usd_per_th
    while units >= 1 and not fund(agent, ledger, cost, o, o.hour):
        units = float(np.floor(units / 2))
        cost = units * m.th_per_unit * m.usd_per_th
    if units < 1:
        return []
    c = int(empty[0])
    f.asic_units[r, c], f.asic_th_per_unit[r, c], f.asic_j_per_th[r, c], f.asic_age_h[r, c] = units, m.th_per_unit, m.j_per_th, 0.0
    f.hash_margin_ewma[r, c] = float(np.max(f.hash_margin_ewma[r]))
    ledger.add_asset(r, cost, cfg.asic_life_years * HOURS_PER_YEAR, kind=ASIC, tag=c, start_hour=o.hour)
    agent.state.cohort_models[c] = m.name
    return [InvestmentEvent(o.hour, agent.name, "asic_buy", units * m.watts / 1e6, cost)]


# -- lease offers ------------------------------------------------------------------------------
def best_alternative_usd(agent: MinerAgent, ledger: Ledger, mw: float, months: int, o: Outlook, power_sample,
                         power_usd_per_mwh: float) -> tuple[float, list]:
    """The best use of `mw` of the site the miner can fund and carry out, over `months`, with
    the ASICs hashing would hold: hashing them (free interconnect only as far as new ASICs can
    be funded), or, for an AI builder, own GPUs on the whole conversion steps of the block it can
    fund now (in place of the least efficient ASICs, the rest hashing), when they are worth more.
    What the miner cannot fund is never an alternative, so refusing an offer never points to
    something it then cannot do."""
    hash_value, taken = hashing_block_value_usd(agent, mw, months, o, power_sample, ledger)
    best = hash_value
    if agent.strategy.builds_ai:
        gpu_value = own_gpu_value_usd_per_mw_at(agent, o, power_usd_per_mwh)
        if gpu_value > 0:
            cfg, f, r = o.cfg, agent.fleet, agent.row
            capex_per_mw = agent.state.gpu_usd * 1e3 / float(f.gpu_kw[r]) + cfg.ai_site_capex_usd_per_mw
            # conversions come in whole steps (`gpu_step`): count the steps the miner can fund now
            step = min(cfg.convert_step_mw, float(f.interconnect_mw[r]) - agent.committed_ai_mw)
            steps = np.ceil(mw / step - 1e-9)
            fundable = funded_mw(agent, ledger, steps * step, capex_per_mw, o, loan_years=cfg.gpu_life_years)
            gpu_mw = min(mw, np.floor(fundable / step + 1e-9) * step)
            if gpu_mw > 0:
                replaced, _ = hashing_block_value_usd(agent, gpu_mw, months, o, power_sample)
                best = max(best, hash_value - replaced + gpu_value * gpu_mw)
    return best, taken


def place_offers(offers, agents: list[MinerAgent], ledger: Ledger, o: Outlook, power_samples) -> list[InvestmentEvent]:
    """Each offer is taken to the sites a tenant wants, the largest convertible capacity first
    (up to `approaches_per_offer` of them, ties by agent order); a site signs only when the
    lease is worth more than the best alternative use of those MW it can fund and carry out
    (`best_alternative_usd`) and it can fund the build (project debt on the rent, its equity
    from its balance sheet). Offers nobody signs lapse. `power_samples(row)` is the site's
    recent hourly prices."""
    h = o.hosting
    events = []
    takers = [a for a in agents if a.strategy.accepts_contracts and a.fleet.active[a.row]]
    for offer in offers:
        mw = offer.it_mw * h.pue
        fits = [a for a in takers if a.fleet.interconnect_mw[a.row] - a.committed_ai_mw >= mw - 1e-9]
        fits.sort(key=lambda a: -(a.fleet.interconnect_mw[a.row] - a.committed_ai_mw))
        for a in fits[:h.approaches_per_offer]:
            r = a.row
            sample = power_samples(r)
            power = mean_power_usd_per_mwh(a, sample)
            months = offer.lead_months + offer.term_months
            lease_value = hosting_offer_value_usd(offer, o, power)
            best_alternative, taken = best_alternative_usd(a, ledger, mw, months, o, sample, power)
            if lease_value <= best_alternative:
                events.append(InvestmentEvent(o.hour, a.name, "lease_refused", mw, lease_value - best_alternative))
                continue
            build = offer.it_mw * h.build_usd_per_it_mw * (1.0 - h.tenant_capex_share)
            start = o.hour + int(round(offer.lead_months * HOURS_PER_MONTH))
            end = start + int(round(offer.term_months * HOURS_PER_MONTH))
            lease = Lease(offer.it_mw, mw, offer.fee_usd_per_mw_month, offer.kind, offer.sla_uptime,
                          offer.penalty_usd_per_mwh, start, end, h.escalator_per_year)
            if not fund(a, ledger, build, o, o.hour, repay_from_hour=start, loan_years=offer.term_months / 12,
                        project_debt_usd=lease_project_debt_usd(offer, o, power)):
                events.append(InvestmentEvent(o.hour, a.name, "lease_unfunded", mw, build))
                continue
            ledger.add_asset(r, build, end - start, kind=RETROFIT, tag=-2, start_hour=start)
            a.state.leases.append(lease)
            events.append(InvestmentEvent(o.hour, a.name, "lease_signed", mw, build))
            for c, part in taken:
                _retire(a, ledger, c, part, o.hour, events, for_ai=True)
            a.refresh_leases(o.hour)
            break
        else:
            events.append(InvestmentEvent(o.hour, "", "offer_lapsed", mw, 0.0))
    return events
