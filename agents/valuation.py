"""What each MW of a miner's facility is worth this hour, and how a bid fits its interconnect.

Pure numpy over a group of miners (rows `idx` of a `Fleet`); strategies build on these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.fleet import SLOT_FIRM, SLOT_HASH0, SLOT_SPOT, SLOT_TRAINING, Fleet, running_sum
from simulation.markets.valuation import hash_value_usd_per_mwh, spot_value_usd_per_mwh


@dataclass(frozen=True)
class MarketSignals:
    """What every miner knows when it bids for an hour (prices before the hour clears)."""

    hour: int  # hours since the start of the run
    hour_of_day: int  # 0-23, local
    month: int  # 1-12
    btc_price_usd: float
    hashprice_usd_per_ph_day: float  # from the current difficulty, subsidy and expected fees
    ai_price_usd_per_gpu_hour: float
    ai_demand_fraction: float  # share of idle GPUs that find spot jobs this hour
    lmp_forecast_usd_per_mwh: np.ndarray  # per miner: day-ahead forecast of the LMP at its bus
    grid_stress: bool  # a likely system peak (4CP window) or scarcity hour
    voll_usd_per_mwh: float  # bids at this price are price-taking (firm) load
    checkpoint_usd_per_mw: float  # cost of pausing 1 MW of training
    _values: dict = field(default_factory=dict, compare=False, repr=False)

    def hash_values_usd_per_mwh(self, fleet: Fleet) -> np.ndarray:
        """(miners, cohorts): what a MWh hashing earns on each ASIC cohort of `fleet` at the
        hashprice; computed once an hour (bids and settlement both use it; a fleet's ASICs do
        not change within an hour)."""
        key = ("hash", id(fleet), self.hashprice_usd_per_ph_day)
        if key not in self._values:
            self._values[key] = hash_value_usd_per_mwh(self.hashprice_usd_per_ph_day, fleet.asic_j_per_th)
        return self._values[key]

    def spot_values_usd_per_mwh(self, fleet: Fleet) -> np.ndarray:
        """Per miner of `fleet`: what a MWh of own GPUs earns selling GPU-hours at the spot
        price; computed once an hour."""
        key = ("spot", id(fleet), self.ai_price_usd_per_gpu_hour)
        if key not in self._values:
            self._values[key] = spot_value_usd_per_mwh(self.ai_price_usd_per_gpu_hour, fleet.gpu_kw)
        return self._values[key]


def slot_values(fleet: Fleet, idx: np.ndarray, s: MarketSignals) -> tuple[np.ndarray, np.ndarray]:
    """(available MW, value USD/MWh) of every bid slot of miners `idx` (an index array or a slice
    of rows), shapes (len(idx), S).

    Hashing is worth the hashprice converted at each cohort's J/TH; own-GPU AI the GPU-hour price
    over each GPU's all-in kW; hosted inference is the tenant's firm load (the value of lost load);
    hosted training is deferrable, worth its lease fee per MWh plus the penalty it avoids.
    """
    active = fleet.active[idx]
    n, S = len(active), fleet.n_slots
    avail = np.empty((n, S))  # (every slot is written below)
    value = np.empty((n, S))
    avail[:, SLOT_FIRM] = fleet.firm_mw[idx]
    avail[:, SLOT_TRAINING] = fleet.training_mw[idx]
    value[:, SLOT_FIRM] = s.voll_usd_per_mwh
    value[:, SLOT_TRAINING] = fleet.lease_value_usd_per_mwh[idx] + fleet.penalty_usd_per_mwh[idx]
    avail[:, SLOT_SPOT] = fleet.gpu_mw[idx] * s.ai_demand_fraction
    value[:, SLOT_SPOT] = s.spot_values_usd_per_mwh(fleet)[idx]
    avail[:, SLOT_HASH0:] = fleet.asic_mw[idx]
    value[:, SLOT_HASH0:] = s.hash_values_usd_per_mwh(fleet)[idx]
    if not active.all():  # (with every miner active this would multiply by 1)
        avail *= active[:, None]
    return avail, value


def fit_to_interconnect(mw: np.ndarray, price: np.ndarray, interconnect_mw: np.ndarray) -> np.ndarray:
    """Cut bids to the interconnect, keeping the highest-priced blocks (ties: slot order).

    Returns the MW per slot whose running total, in descending price order, stays within each
    miner's interconnect capacity. Most rows already stand in that order (slots are laid out
    best first) and are cut as they are; the others are sorted first.
    """
    fitted = _cut(mw, interconnect_mw)
    unsorted = np.flatnonzero(~_in_price_order(mw, price))
    if len(unsorted):
        order = np.argsort(-price[unsorted], axis=1, kind="stable")
        cut = _cut(np.take_along_axis(mw[unsorted], order, axis=1), interconnect_mw[unsorted])
        back = np.empty_like(cut)
        np.put_along_axis(back, order, cut, axis=1)
        fitted[unsorted] = back
    return fitted


def _cut(mw: np.ndarray, interconnect_mw: np.ndarray) -> np.ndarray:
    """MW per slot of bids taken in slot order (left to right) while the interconnect has room."""
    before = running_sum(mw)
    before -= mw  # MW taken by the slots before
    room = np.subtract(interconnect_mw[:, None], before, out=before)
    return np.clip(np.minimum(mw, room, out=room), 0.0, None, out=room)


def _in_price_order(mw: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Rows whose bidding slots stand in descending price order (ties in slot order), bidding
    no negative MW. A slot bidding +0 MW adds nothing to a running total wherever it stands, so
    it is left out: such a row is cut the same in slot order as in price order."""
    bidding = mw != 0
    key = np.where(bidding, price, np.inf).T.copy()  # slot by slot, each contiguous
    idle = ~bidding.T
    lowest = key[0].copy()  # the lowest bidding price so far
    ok = np.ones(len(mw), bool)
    for j in range(1, len(key)):
        ok &= (key[j] <= lowest) | idle[j]
        np.minimum(lowest, key[j], out=lowest)
    negative = np.signbit(mw)  # (or -0)
    if negative.any():
        ok &= ~negative.any(axis=1)
    return ok
