"""The miners' numbers as arrays, one row per miner (structure of arrays).

Mesa agents (`agents.miner.MinerAgent`) are the unit of identity and behaviour; their state lives
here so that a strategy decides for all of its miners in one numpy expression. That is the hot
path of the model (1,000 miners x 8,760 hours); a per-agent Python loop over the same functions
gives the same numbers, only slower (see `MinerAgent.bid`).

Each miner offers its power in bid *slots*, in a fixed layout so that the grid's LP keeps the
same columns every hour:

    slot 0        hosted AI, inference: a tenant's GPUs under a lease (firm up to the SLA)
    slot 1        hosted AI, training (deferrable: pausing costs a checkpoint)
    slot 2        own-GPU AI: GPU-hours sold on the spot market (fully interruptible)
    slots 3..3+C  hashing, one per ASIC cohort (fully interruptible)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SLOT_FIRM = 0
SLOT_TRAINING = 1
SLOT_SPOT = 2
SLOT_HASH0 = 3
AI_SLOTS = slice(SLOT_FIRM, SLOT_HASH0)


def row_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the columns of an (n, few) array, column by column, left to right: what
    `a.sum(axis=1)` gives for up to 8 columns, ~4x faster for 1,000 x 3 (numpy reduces each short
    row in its own inner loop)."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[0])
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out


def running_sum(a: np.ndarray) -> np.ndarray:
    """`np.cumsum(a, axis=1)` for an (n, few) array, column by column (the same numbers, faster)."""
    out = np.empty_like(a, dtype=float)
    if a.shape[1]:
        out[:, 0] = a[:, 0]
    for j in range(1, a.shape[1]):
        np.add(out[:, j - 1], a[:, j], out=out[:, j])
    return out


@dataclass
class Fleet:
    """State of `n` miners with up to `n_cohorts` ASIC cohorts each (units in the names)."""

    n: int
    n_cohorts: int
    bus: np.ndarray  # int, grid bus index
    interconnect_mw: np.ndarray
    asic_units: np.ndarray  # (n, C)
    asic_th_per_unit: np.ndarray  # (n, C) TH/s per machine
    asic_j_per_th: np.ndarray  # (n, C)
    asic_age_h: np.ndarray  # (n, C) hours in service
    gpu_units: np.ndarray
    gpu_kw: np.ndarray  # all-in facility kW per GPU (incl. cooling)
    cash_usd: np.ndarray
    btc: np.ndarray
    sell_fraction: np.ndarray  # share of mined BTC sold each hour
    active: np.ndarray  # bool: False once a miner has exited
    btc_price_usd: float = 0.0  # the price the last hour was booked at    # hosted AI under operating leases (sums over each miner's leases; see MinerAgent.refresh_leases)
    firm_mw: np.ndarray = field(init=False)  # facility MW of hosted inference
    training_mw: np.ndarray = field(init=False)  # facility MW of hosted training
    lease_fee_usd_per_h: np.ndarray = field(init=False)  # take-or-pay fees due each hour
    lease_value_usd_per_mwh: np.ndarray = field(init=False)  # fee per facility MWh (bid value of training)
    penalty_usd_per_mwh: np.ndarray = field(init=False)
    sla_uptime: np.ndarray = field(init=False)
    converting_mw: np.ndarray = field(init=False)  # facility MW signed or ordered for AI, not yet running
    lease_mw: np.ndarray = field(init=False)  # facility MW under signed leases, operating or in retrofit
    gpu_on_order_mw: np.ndarray = field(init=False)  # facility MW of own GPUs ordered, not yet running
    # the balance sheet (book value and debt live in agents.balance_sheet.Ledger)
    book_usd: np.ndarray = field(init=False)
    debt_usd: np.ndarray = field(init=False)
    capex_usd: np.ndarray = field(init=False)  # cumulative capex since the start
    ebitda_usd_per_h: np.ndarray = field(init=False)  # trailing (EWMA) EBITDA, what lenders look at
    th_moved_to_ai: np.ndarray = field(init=False)  # TH/s of ASICs retired to make room for AI since the start
    # the last hour: bids, what cleared, and its money
    bid_mw: np.ndarray = field(init=False)  # (n, S)
    bid_usd_per_mwh: np.ndarray = field(init=False)  # (n, S)
    cleared_mw: np.ndarray = field(init=False)  # (n, S)
    revenue_hash_usd: np.ndarray = field(init=False)
    revenue_ai_usd: np.ndarray = field(init=False)
    revenue_dr_usd: np.ndarray = field(init=False)
    power_cost_usd: np.ndarray = field(init=False)
    other_cost_usd: np.ndarray = field(init=False)  # O&M, SLA penalties, checkpoints, 4CP charges
    interest_usd: np.ndarray = field(init=False)
    depreciation_usd: np.ndarray = field(init=False)  # incl. write-offs of retired hardware
    revaluation_usd: np.ndarray = field(init=False)  # BTC held x the hour's price change
    # running sums for SLA and investment decisions
    required_firm_mwh: np.ndarray = field(init=False)
    short_firm_mwh: np.ndarray = field(init=False)
    penalised_mwh: np.ndarray = field(init=False)
    hash_margin_ewma: np.ndarray = field(init=False)  # (n, C) USD/MWh, max(value - LMP, 0)
    lmp_ewma: np.ndarray = field(init=False)  # USD/MWh at the miner's bus, about a week of memory
    baseline_mw: np.ndarray = field(init=False)  # demand-response baseline (EWMA of draw)
    weeks_negative_cash: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n, s = self.n, self.n_slots
        for name in ("firm_mw", "training_mw", "lease_fee_usd_per_h", "lease_value_usd_per_mwh",
                     "penalty_usd_per_mwh", "sla_uptime", "converting_mw", "lease_mw", "gpu_on_order_mw", "book_usd", "debt_usd", "capex_usd",
                     "ebitda_usd_per_h", "th_moved_to_ai", "revenue_hash_usd", "revenue_ai_usd", "revenue_dr_usd",
                     "power_cost_usd", "other_cost_usd", "interest_usd", "depreciation_usd", "revaluation_usd",
                     "required_firm_mwh", "short_firm_mwh", "penalised_mwh", "lmp_ewma",
                     "baseline_mw", "weeks_negative_cash"):
            setattr(self, name, np.zeros(n))
        for name in ("bid_mw", "bid_usd_per_mwh", "cleared_mw"):
            setattr(self, name, np.zeros((n, s)))
        self.hash_margin_ewma = np.zeros((n, self.n_cohorts))

    @property
    def n_slots(self) -> int:
        return SLOT_HASH0 + self.n_cohorts

    # derived quantities ---------------------------------------------------------------------
    # (each `*_of(r)` is the property for miner row(s) `r`, an index, index array or slice: the
    # same numbers, without computing the whole fleet's)
    @property
    def asic_mw(self) -> np.ndarray:
        """(n, C) MW each cohort draws when hashing: units x TH/s x J/TH."""
        return self.asic_mw_of(slice(None))

    def asic_mw_of(self, r) -> np.ndarray:
        return self.asic_units[r] * self.asic_th_per_unit[r] * self.asic_j_per_th[r] * 1e-6

    @property
    def gpu_mw(self) -> np.ndarray:
        return self.gpu_mw_of(slice(None))

    def gpu_mw_of(self, r):
        return self.gpu_units[r] * self.gpu_kw[r] * 1e-3

    @property
    def hosted_mw(self) -> np.ndarray:
        """Facility MW of tenants' GPUs under operating leases."""
        return self.hosted_mw_of(slice(None))

    def hosted_mw_of(self, r):
        return self.firm_mw[r] + self.training_mw[r]

    @property
    def capacity_mw(self) -> np.ndarray:
        """Power the miner could draw this hour: installed load capped by the interconnect."""
        return self.capacity_mw_with(row_sum(self.asic_mw))

    def capacity_mw_at(self, rows) -> np.ndarray:
        """`capacity_mw` of miner `rows` (an index array or a slice) alone."""
        installed_mw = row_sum(self.asic_mw_of(rows)) + self.gpu_mw_of(rows) + self.hosted_mw_of(rows)
        return np.minimum(self.interconnect_mw[rows], installed_mw) * self.active[rows]

    def capacity_mw_with(self, asic_total_mw: np.ndarray) -> np.ndarray:
        """`capacity_mw` from each miner's ASIC MW (`row_sum(asic_mw)`), for a caller that has it."""
        return np.minimum(self.interconnect_mw, asic_total_mw + self.gpu_mw + self.hosted_mw) * self.active

    @property
    def hash_mw(self) -> np.ndarray:
        return row_sum(self.cleared_mw[:, SLOT_HASH0:])

    @property
    def hosting_running_mw(self) -> np.ndarray:
        """MW running for hosting tenants this hour (inference and training)."""
        c = self.cleared_mw
        return c[:, SLOT_FIRM] + c[:, SLOT_TRAINING]

    @property
    def own_gpu_running_mw(self) -> np.ndarray:
        """MW of own GPUs running spot jobs this hour."""
        return self.cleared_mw[:, SLOT_SPOT]

    @property
    def ai_mw(self) -> np.ndarray:
        return row_sum(self.cleared_mw[:, AI_SLOTS])

    @property
    def drawn_mw(self) -> np.ndarray:
        return row_sum(self.cleared_mw)

    @property
    def curtailed_mw(self) -> np.ndarray:
        """Capacity left undrawn this hour: flexibility given back to the grid."""
        return np.maximum(self.capacity_mw - self.drawn_mw, 0.0)

    @property
    def hashing_th_s(self) -> np.ndarray:
        """(n, C) TH/s running: cleared MW x 1e6 / (J/TH)."""
        jpt = self.asic_j_per_th
        has = jpt > 0  # (0 where there are no ASICs)
        return np.where(has, self.cleared_mw[:, SLOT_HASH0:] * 1e6 / np.where(has, jpt, 1.0), 0.0)

    @property
    def margin_usd(self) -> np.ndarray:
        """Last hour's operating margin (EBITDA) per miner (USD)."""
        return self.margin_usd_at(slice(None))

    def margin_usd_at(self, rows) -> np.ndarray:
        """`margin_usd` of miner `rows` (an index array or a slice) alone."""
        return (self.revenue_hash_usd[rows] + self.revenue_ai_usd[rows] + self.revenue_dr_usd[rows]
                - self.power_cost_usd[rows] - self.other_cost_usd[rows])

    @property
    def equity_usd(self) -> np.ndarray:
        """Cash + BTC held (at the last hour's price, see `btc_price_usd`) + book value - debt."""
        return self.cash_usd + self.btc * self.btc_price_usd + self.book_usd - self.debt_usd
