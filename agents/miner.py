"""`MinerAgent`: a mining company's facility at one bus of the grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mesa.discrete_space import CellAgent

from agents.fleet import Fleet
from agents.strategies import Strategy
from agents.valuation import MarketSignals


@dataclass
class Contract:
    """A signed AI hosting contract (MW of critical IT load on the miner's own GPUs)."""

    mw: float
    price_usd_per_mwh: float
    kind: str  # "inference" (firm) or "training" (deferrable)
    sla_uptime: float
    penalty_usd_per_mwh: float
    end_hour: int


@dataclass
class GpuOrder:
    units: int
    arrival_hour: int


@dataclass
class MinerState:
    """What a miner holds besides its fleet row: names, contracts and GPUs on order."""

    cohort_models: list[str]
    gpu_usd: float = 27_500.0  # price paid per GPU when the miner buys more
    contracts: list[Contract] = field(default_factory=list)
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

    def refresh_contracts(self, hour: int) -> None:
        """Drop expired contracts and write the contracted MW and prices into the fleet row."""
        self.state.contracts = [c for c in self.state.contracts if c.end_hour > hour]
        firm = [c for c in self.state.contracts if c.kind == "inference"]
        training = [c for c in self.state.contracts if c.kind == "training"]
        f, r = self.fleet, self.row
        f.firm_mw[r] = sum(c.mw for c in firm)
        f.training_mw[r] = sum(c.mw for c in training)
        total = f.firm_mw[r] + f.training_mw[r]
        cs = self.state.contracts
        f.contract_usd_per_mwh[r] = sum(c.mw * c.price_usd_per_mwh for c in cs) / total if total else 0.0
        f.penalty_usd_per_mwh[r] = sum(c.mw * c.penalty_usd_per_mwh for c in cs) / total if total else 0.0
        f.sla_uptime[r] = sum(c.mw * c.sla_uptime for c in firm) / f.firm_mw[r] if f.firm_mw[r] else 1.0

    def exit_market(self) -> None:
        """Leave: stop drawing power and leave the grid (its row stays, inactive, in the logs)."""
        self.fleet.active[self.row] = False
        self.fleet.bid_mw[self.row] = 0.0
        self.remove()
