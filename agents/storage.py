"""Grid-scale batteries as Mesa agents: each hour every battery offers to buy (charge) and to sell
(discharge) at its bus, into the same DC-OPF as the miners' bids, by a rule that looks a day ahead.

**The rule** (`day_schedule` once a day, `hour_offers` every hour; all batteries at once, or
`BatteryAgent.plan` / `BatteryAgent.bid` for one):

1. The forecast, each day at local midnight (and at the run's first hour): the bus's LMP for the
   day's 24 hours, each the median of the same hour of the day over the last week
   (`LmpHistory.day_ahead_profile`; the forecast price-taking miners schedule on, extended to
   the day).
2. The day's schedule from it: a full charge takes n_c = ceil(E / (P eta_c)) hours at full power
   and a full discharge n_d = ceil(E eta_d / P) (E energy, P power). Charge in the n_c cheapest
   forecast hours and discharge in the n_d dearest: the thresholds are c* (the n_c-th lowest
   forecast price) and d* (the n_d-th highest).
3. Re-bid every hour as price-quantity offers: buy up to the MW the state of charge leaves room
   for at b = min(c*, rt (d* - k)), sell up to the MW it holds at a = max(d*, c* / rt + k,
   b + 0.01), with rt = eta_c eta_d the round-trip efficiency and k the cycle cost per MWh
   delivered (degradation). A MWh bought at b and sold at a then earns rt a - b - rt k >= 0.
   When the forecast's spread pays for the losses and the cycle (rt (d* - k) >= c*), the
   offers are the schedule's thresholds; when it does not, they move apart until it does,
   and the battery trades only in hours dearer or cheaper than forecast (a scarcity spike, a
   night of negative prices).

Prices come as forecast -> the battery follows the day's schedule; they do not -> the offers
clear on the hour's real price (the LP decides), so the battery sells into an unforeseen spike
if it holds energy. The state of charge follows what cleared (`simulation/grid/storage.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mesa.discrete_space import CellAgent

from simulation.grid.storage import StorageOffers, hour_limits_mw, soc_after

#: the least a battery's sell offer exceeds its buy offer (USD/MWh): never both at once
MIN_SPREAD_USD_PER_MWH = 0.01
#: hours in the look-ahead (a day)
HORIZON_H = 24


@dataclass
class StorageFleet:
    """Every battery's numbers as arrays (row i is battery i): fixed ratings, the state of charge
    carried hour to hour, the hour's offers and what cleared."""

    bus: np.ndarray  # bus index per unit
    power_mw: np.ndarray
    energy_mwh: np.ndarray
    eta_charge: np.ndarray  # grid -> stored
    eta_discharge: np.ndarray  # stored -> grid
    soc_mwh: np.ndarray  # state of charge at the start of the hour
    cycle_cost_usd_per_mwh: float = 0.0
    day_low_usd_per_mwh: np.ndarray = field(init=False)  # c*: the day's schedule's charge threshold
    day_high_usd_per_mwh: np.ndarray = field(init=False)  # d*: its discharge threshold
    offer_charge_mw: np.ndarray = field(init=False)
    offer_charge_usd_per_mwh: np.ndarray = field(init=False)
    offer_discharge_mw: np.ndarray = field(init=False)
    offer_discharge_usd_per_mwh: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.bus)
        self.day_low_usd_per_mwh = np.zeros(n)
        self.day_high_usd_per_mwh = np.zeros(n)
        self.offer_charge_mw = np.zeros(n)
        self.offer_charge_usd_per_mwh = np.zeros(n)
        self.offer_discharge_mw = np.zeros(n)
        self.offer_discharge_usd_per_mwh = np.zeros(n)

    @property
    def n(self) -> int:
        return len(self.bus)

    @property
    def round_trip(self) -> np.ndarray:
        return self.eta_charge * self.eta_discharge

    def offers(self) -> StorageOffers:
        return StorageOffers(self.offer_charge_mw, self.offer_charge_usd_per_mwh, self.offer_discharge_mw,
                             self.offer_discharge_usd_per_mwh)

    def operate(self, charge_mw: np.ndarray, discharge_mw: np.ndarray) -> np.ndarray:
        """Carry the state of charge through the hour that cleared; returns the new one (MWh)."""
        self.soc_mwh = soc_after(self.soc_mwh, charge_mw, discharge_mw, self.energy_mwh, self.eta_charge,
                                 self.eta_discharge)
        return self.soc_mwh


def day_schedule(fleet: StorageFleet, rows, forecast_usd_per_mwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 of the module's rule for batteries `rows` (an index array or slice): from each one's
    forecast (HORIZON_H, len(rows)) of its bus's LMP over the day, the schedule's thresholds
    (c*, d*) in USD/MWh."""
    p, e = fleet.power_mw[rows], fleet.energy_mwh[rows]
    eta_c, eta_d = fleet.eta_charge[rows], fleet.eta_discharge[rows]
    f = np.sort(np.asarray(forecast_usd_per_mwh, float), axis=0)
    half = HORIZON_H // 2
    n_c = np.clip(np.ceil(e / (p * eta_c) - 1e-9), 1, half).astype(np.int64)
    n_d = np.clip(np.ceil(e * eta_d / p - 1e-9), 1, half).astype(np.int64)
    cols = np.arange(f.shape[1])
    return f[n_c - 1, cols], f[HORIZON_H - n_d, cols]


def hour_offers(fleet: StorageFleet, rows, c_star: np.ndarray, d_star: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 3: the hour's offers of batteries `rows` from the day's thresholds and their state of
    charge (charge MW, charge USD/MWh, discharge MW, discharge USD/MWh)."""
    p, e = fleet.power_mw[rows], fleet.energy_mwh[rows]
    eta_c, eta_d = fleet.eta_charge[rows], fleet.eta_discharge[rows]
    k = fleet.cycle_cost_usd_per_mwh
    rt = eta_c * eta_d
    buy = np.minimum(c_star, rt * (d_star - k))
    sell = np.maximum(np.maximum(d_star, c_star / rt + k), buy + MIN_SPREAD_USD_PER_MWH)
    charge_mw, discharge_mw = hour_limits_mw(fleet.soc_mwh[rows], p, e, eta_c, eta_d)
    return charge_mw, buy, discharge_mw, sell


def arbitrage_offers(fleet: StorageFleet, rows, forecast_usd_per_mwh: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The whole rule at once for batteries `rows`: the offers the day's schedule from
    `forecast_usd_per_mwh` (HORIZON_H, len(rows)) gives at their current state of charge."""
    return hour_offers(fleet, rows, *day_schedule(fleet, rows, forecast_usd_per_mwh))


class BatteryAgent(CellAgent):
    """A battery at a grid bus: row `row` of the shared `StorageFleet`. The model decides for all
    batteries at once (`day_schedule`, `hour_offers`); `plan` and `bid` are the same decisions for
    this battery alone
    (the `decisions="agents"` path, checked to give the same run)."""

    def __init__(self, model, cell, fleet: StorageFleet, row: int, name: str) -> None:
        super().__init__(model)
        self.cell = cell
        self.fleet = fleet
        self.row = row
        self.name = name

    @property
    def soc_mwh(self) -> float:
        return float(self.fleet.soc_mwh[self.row])

    def plan(self, forecast_usd_per_mwh: np.ndarray) -> None:
        """This battery's schedule for the day from the forecast at every battery's bus (HORIZON_H,
        n units)."""
        f, r = self.fleet, self.row
        rows = np.array([r])
        c, d = day_schedule(f, rows, forecast_usd_per_mwh[:, rows])
        f.day_low_usd_per_mwh[r], f.day_high_usd_per_mwh[r] = c[0], d[0]

    def bid(self) -> None:
        """This battery's offers for the hour, from its day's schedule and its state of charge."""
        f, r = self.fleet, self.row
        rows = np.array([r])
        qc, pc, qd, pd = hour_offers(f, rows, f.day_low_usd_per_mwh[rows], f.day_high_usd_per_mwh[rows])
        f.offer_charge_mw[r], f.offer_charge_usd_per_mwh[r] = qc[0], pc[0]
        f.offer_discharge_mw[r], f.offer_discharge_usd_per_mwh[r] = qd[0], pd[0]
