"""`MinerAgent`: a mining company's facility at one bus of the grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mesa.discrete_space import CellAgent

from agents.fleet import Fleet
from agents.strategies import Strategy
from agents.valuation import MarketSignals
from simulation.markets.finance import HOURS_PER_MONTH


@dataclass
class Lease:
    """A signed hosting lease: a tenant's GPUs drawing `facility_mw` at the site from
    `start_hour` (after the retrofit) to `end_hour`, paying a take-or-pay fee per MW of IT load."""

    it_mw: float
    facility_mw: float
    fee_usd_per_mw_month: float
    kind: str  # "inference" (firm) or "training" (deferrable)
    sla_uptime: float
    penalty_usd_per_mwh: float
    start_hour: int
    end_hour: int
    escalator_per_year: float = 0.0  # the rent rises by this at every anniversary of the start

    @property
    def fee_usd_per_h(self) -> float:
        """The first operating year's rent per hour (USD)."""
        return self.it_mw * self.fee_usd_per_mw_month / HOURS_PER_MONTH

    def fee_usd_per_h_at(self, hour: int) -> float:
        """The rent per hour at `hour` (USD): escalated at each whole year (8,760 h) since the start."""
        years = max(hour - self.start_hour, 0) // 8760
        return self.fee_usd_per_h * (1.0 + self.escalator_per_year) ** years if years else self.fee_usd_per_h


@dataclass
class GpuOrder:
    units: int
    arrival_hour: int
    facility_mw: float


@dataclass
class MinerState:
    """What a miner holds besides its fleet row: names, leases and GPUs on order."""

    cohort_models: list[str]
    gpu_usd: float = 35_000.0  # price paid per GPU when the miner buys more
    leases: list[Lease] = field(default_factory=list)
    gpu_orders: list[GpuOrder] = field(default_factory=list)


class MinerAgent(CellAgent):
    """A miner at a grid bus. Its numbers are row `row` of the shared `Fleet` arrays; its
    decisions come from its strategy (shared with the other miners of that strategy, which
    decide together in one vectorised call; `bid` here is the same decision for this miner
    alone)."""

    def __init__(self, model, cell, fleet: Fleet, row: int, name: str, strategy: Strategy,
                 state: MinerState) -> None:
        super().__init__(model)
        self.cell = cell
        self.fleet = fleet
        self.row = row
        self.name = name
        self.strategy = strategy
        self.state = state

    # the miner's numbers -------------------------------------------------------------------
    @property
    def bus(self):
        return self.cell.coordinate

    @property
    def interconnect_mw(self) -> float:
        return float(self.fleet.interconnect_mw[self.row])

    @property
    def asic_mw(self) -> float:
        return float(self.fleet.asic_mw[self.row].sum())

    @property
    def gpu_mw(self) -> float:
        return float(self.fleet.gpu_mw[self.row])

    @property
    def hash_mw(self) -> float:
        return float(self.fleet.hash_mw[self.row])

    @property
    def ai_mw(self) -> float:
        return float(self.fleet.ai_mw[self.row])

    @property
    def curtailed_mw(self) -> float:
        return float(self.fleet.curtailed_mw[self.row])

    @property
    def cash_usd(self) -> float:
        return float(self.fleet.cash_usd[self.row])

    @property
    def margin_usd(self) -> float:
        return float(self.fleet.margin_usd[self.row])

    # behaviour -----------------------------------------------------------------------------
    def bid(self, signals: MarketSignals) -> None:
        """Decide this hour's bid for this miner alone (same rule as the vectorised path)."""
        rows = np.array([self.row])
        mw, price = self.strategy.bid(self.fleet, rows, signals)
        self.fleet.bid_mw[self.row] = mw[0]
        self.fleet.bid_usd_per_mwh[self.row] = price[0]

    def refresh_leases(self, hour: int) -> None:
        """Drop ended leases; write the operating leases' MW, fees and SLA terms and the MW still
        converting (leases in retrofit, GPUs on order) into the fleet row."""
        st, f, r = self.state, self.fleet, self.row
        st.leases = [c for c in st.leases if c.end_hour > hour]
        running = [c for c in st.leases if c.start_hour <= hour]
        firm = [c for c in running if c.kind == "inference"]
        f.firm_mw[r] = sum(c.facility_mw for c in firm)
        f.training_mw[r] = sum(c.facility_mw for c in running if c.kind == "training")
        total = f.firm_mw[r] + f.training_mw[r]
        f.lease_fee_usd_per_h[r] = sum(c.fee_usd_per_h_at(hour) for c in running)
        f.lease_value_usd_per_mwh[r] = f.lease_fee_usd_per_h[r] / total if total else 0.0
        f.penalty_usd_per_mwh[r] = sum(c.facility_mw * c.penalty_usd_per_mwh for c in running) / total if total else 0.0
        f.sla_uptime[r] = sum(c.facility_mw * c.sla_uptime for c in firm) / f.firm_mw[r] if f.firm_mw[r] else 1.0
        f.lease_mw[r] = sum(c.facility_mw for c in st.leases)
        f.gpu_on_order_mw[r] = sum(o.facility_mw for o in st.gpu_orders)
        f.converting_mw[r] = f.lease_mw[r] - total + f.gpu_on_order_mw[r]

    @property
    def committed_ai_mw(self) -> float:
        """Facility MW committed to AI: hosted, own GPUs, or converting to either."""
        f, r = self.fleet, self.row
        return float(f.hosted_mw_of(r) + f.gpu_mw_of(r) + f.converting_mw[r])

    def exit_market(self) -> None:
        """Leave: stop drawing power and leave the grid (its row stays, inactive, in the logs)."""
        self.fleet.active[self.row] = False
        self.fleet.bid_mw[self.row] = 0.0
        self.remove()
