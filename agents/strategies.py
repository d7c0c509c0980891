"""Miners' hourly bidding strategies, chosen per miner by name in the scenario config.

A strategy decides for a *group* of miners at once (rows `idx` of the fleet arrays: an index
array or, where the group's rows are contiguous, a slice): it returns the MW it asks for in
every bid slot and the price it is willing to pay (USD/MWh). A bid at the
value of lost load is *price-taking*: the miner self-schedules that load from its own forecast
and the grid serves it like firm demand. A bid below it is *price-responsive*: the market
clearing decides, hour by hour, whether the miner runs.

A strategy's rule is `offer`: from what each slot is worth (`slot_values`) to MW and prices.
`bid` is that rule with the valuation before it and the interconnect cut after it. The model
values every miner's slots once an hour, hands each strategy its rows (`offer`) and cuts all
bids to their interconnects in one call: the same numbers as `bid` per group, without the
per-group overhead.

New strategies plug in with `@register("name")`; the model never needs to change.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from agents.fleet import AI_SLOTS, SLOT_FIRM, SLOT_HASH0, SLOT_SPOT, SLOT_TRAINING, Fleet
from agents.valuation import MarketSignals, fit_to_interconnect, slot_values

STRATEGIES: dict[str, type[Strategy]] = {}


def register(name: str):
    """Class decorator adding a strategy to the registry under `name`."""

    def deco(cls):
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return deco


def strategy_class(name: str, where: str = "strategy") -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"{where}: unknown strategy {name!r}; use one of {sorted(STRATEGIES)}") from None


class Strategy:
    """Base class. Subclasses override `offer` (or, for a rule that needs more than the slot
    values, `bid`); `learn` is called after each hour settles."""

    name: ClassVar[str] = "base"
    #: considers AI tenants' hosting lease offers (signs those worth more than the MW's best other use)
    accepts_contracts: ClassVar[bool] = False
    #: its price-taking hashing is self-scheduled load the grid operator cannot curtail: it enters
    #: the dispatch as firm demand and is shed only with the consumers at its bus
    self_schedules: ClassVar[bool] = False
    #: converts ASIC capacity to own GPUs when that is worth more
    builds_ai: ClassVar[bool] = False
    #: enrolled in demand response: paid for curtailing in grid-stress hours
    demand_response: ClassVar[bool] = False

    def __init__(self, fleet: Fleet, idx: np.ndarray, rng: np.random.Generator) -> None:
        self.idx = idx
        self.rng = rng
        #: fleet row -> position in this strategy's own per-miner state (-1: not ours)
        self.pos = np.full(fleet.n, -1)
        self.pos[idx] = np.arange(len(idx))

    def bid(self, fleet: Fleet, idx: np.ndarray, s: MarketSignals) -> tuple[np.ndarray, np.ndarray]:
        """MW and price per slot for miners `idx`, cut to their interconnects."""
        avail, value = slot_values(fleet, idx, s)
        mw, price = self.offer(fleet, idx, s, avail, value)
        return _fitted(fleet, idx, mw, price)

    def offer(self, fleet: Fleet, idx: np.ndarray, s: MarketSignals, avail: np.ndarray,
              value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rule: MW and price per slot from the available MW and value of each slot of miners
        `idx` (`slot_values`; the arrays are the caller's copies, free to change), before the
        interconnect cut."""
        raise NotImplementedError

    @classmethod
    def decides_by_offer(cls) -> bool:
        """True when the strategy's bid is `offer` between valuation and cut (the model can then
        value and cut all miners at once); False for a strategy overriding `bid` itself."""
        return cls.bid is Strategy.bid

    def learn(self, fleet: Fleet, idx: np.ndarray, s: MarketSignals) -> None:
        """Update internal state from the hour's realised outcome (fleet arrays)."""


def _fitted(fleet: Fleet, idx: np.ndarray, mw: np.ndarray, price: np.ndarray):
    return fit_to_interconnect(mw, price, fleet.interconnect_mw[idx] * fleet.active[idx]), price


@register("hodl_hasher")
class HodlHasher(Strategy):
    """Hash unless power costs more than it earns: self-schedules each cohort whose hash value
    beats the day-ahead forecast of its bus's price, and takes whatever price clears. Honours
    any hosting leases it holds as firm load; no spot AI; considers no lease offers."""

    self_schedules = True

    def offer(self, fleet, idx, s, avail, value):
        mw = np.zeros_like(avail)
        mw[:, SLOT_FIRM] = avail[:, SLOT_FIRM]
        mw[:, SLOT_TRAINING] = avail[:, SLOT_TRAINING]
        pays = value[:, SLOT_HASH0:] >= s.lmp_forecast_usd_per_mwh[idx, None]
        mw[:, SLOT_HASH0:] = np.where(pays, avail[:, SLOT_HASH0:], 0.0)
        return mw, np.full_like(mw, s.voll_usd_per_mwh)


@register("profit_max")
class ProfitMax(Strategy):
    """Myopic best use of each MW: every slot bid at its value, so the market clearing runs
    exactly the uses worth more than the local price, best first within the interconnect."""

    accepts_contracts = True
    builds_ai = True

    def offer(self, fleet, idx, s, avail, value):
        return avail, value


@register("ai_host")
class AiHost(Strategy):
    """Contracts first: contracted inference and training are firm (price-taking) load so SLAs
    hold; spare GPU and ASIC power is bid at its value."""

    accepts_contracts = True
    builds_ai = True

    def offer(self, fleet, idx, s, avail, value):
        value[:, SLOT_FIRM] = s.voll_usd_per_mwh
        value[:, SLOT_TRAINING] = s.voll_usd_per_mwh
        return avail, value


@register("grid_responsive")
class GridResponsive(Strategy):
    """Profit-max bids, plus demand response: in grid-stress hours (likely 4CP peaks, scarcity)
    it drops hashing and spot AI, pauses training, and is paid for the MW it curtails."""

    accepts_contracts = True
    demand_response = True

    def offer(self, fleet, idx, s, avail, value):
        if s.grid_stress:
            avail[:, SLOT_TRAINING:] = 0.0
        return avail, value


@register("adaptive")
class Adaptive(Strategy):
    """Learns its bid shading from its own realised margins: an epsilon-greedy bandit per miner
    over multipliers applied to the value of interruptible load (hashing, spot AI). A large
    miner at a congested bus sets its own price; shading its bid can pay. One arm is held for
    a day, then scored by margin per MW of capacity."""

    accepts_contracts = True
    builds_ai = True
    ARMS = np.array([0.5, 0.7, 0.85, 1.0])
    EPSILON = 0.1
    EPOCH_H = 24

    def __init__(self, fleet, idx, rng):
        super().__init__(fleet, idx, rng)
        n, k = len(idx), len(self.ARMS)
        self.count = np.zeros((n, k))
        self.mean = np.zeros((n, k))
        self.arm = np.full(n, k - 1)  # start unshaded
        self.score = np.zeros(n)

    def offer(self, fleet, idx, s, avail, value):
        value[:, SLOT_SPOT:] *= self.ARMS[self.arm[self.pos[idx]]][:, None]
        return avail, value

    def learn(self, fleet, idx, s):
        cap = fleet.capacity_mw_at(idx)
        self.score[self.pos[idx]] += np.where(cap > 0, fleet.margin_usd_at(idx) / np.where(cap > 0, cap, 1.0), 0.0)
        if (s.hour + 1) % self.EPOCH_H:
            return
        rows = np.arange(len(self.idx))
        self.count[rows, self.arm] += 1
        self.mean[rows, self.arm] += (self.score - self.mean[rows, self.arm]) / self.count[rows, self.arm]
        self.score[:] = 0.0
        untried = self.count == 0
        greedy = np.where(untried.any(axis=1), untried.argmax(axis=1), self.mean.argmax(axis=1))
        explore = self.rng.random(len(rows)) < self.EPSILON
        self.arm = np.where(explore, self.rng.integers(0, len(self.ARMS), len(rows)), greedy)


_FIRM: dict[type, type] = {}


def firm_twin(cls: type[Strategy]) -> type[Strategy]:
    """The strategy's firm-load twin (`population.flexible = false`): the same miner in every
    weekly decision (leases, GPUs, ASIC purchases and retirements keep the strategy's flags), but
    every hour it bids all the MW each slot has at the value of lost load, self-scheduled like
    an AI site's load, so the grid can curtail it only with the consumers at its bus; it is not
    enrolled in demand response. The counterfactual of the miners' flexibility: the same sites,
    the same MW, without the response to price."""
    if cls not in _FIRM:
        def offer(self, fleet, idx, s, avail, value):
            return avail, np.full_like(avail, s.voll_usd_per_mwh)

        _FIRM[cls] = type(f"Firm{cls.__name__}", (cls,), {
            "name": cls.name, "self_schedules": True, "demand_response": False, "offer": offer,
            "bid": Strategy.bid, "__doc__": f"{cls.__name__} as firm load (firm_twin)."})
    return _FIRM[cls]


__all__ = ["firm_twin", "STRATEGIES", "Strategy", "register", "strategy_class", "AI_SLOTS", "SLOT_SPOT"]
