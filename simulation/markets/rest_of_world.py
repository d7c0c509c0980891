"""The hash rate outside our grid as an aggregate supply curve.

The rest of the world is a fleet of ASIC cohorts spread over efficiency (J/TH) and power cost
(USD/MWh), both log-normal. A cohort hashes when hashprice covers its power:

    breakeven hashprice (USD per PH/s per day) = J/TH x USD/MWh x 0.024

(1 PH/s at e J/TH draws e kW, i.e. 0.024 e MWh a day). The online hash rate relaxes toward the
profitable capacity with a time constant (miners do not switch a fleet in an hour), new ASICs
ship every hour, and scheduled shocks take a share of the fleet offline at once (as China's
ban did in 2021); after a shock the fleet returns at the same relaxation pace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulation.markets.finance import HOURS_PER_MONTH

MWH_PER_PH_DAY_PER_J_TH = 0.024

#: Approximate shares of the public mining pools in 2024 (mempool.space, one-year window,
#: rounded; "other" lumps the long tail). The rest of the world's hash rate is split among them
#: as entities for concentration metrics (HHI, Nakamoto coefficient).
DEFAULT_POOL_SHARES: dict[str, float] = {
    "Foundry USA": 0.30, "AntPool": 0.24, "ViaBTC": 0.13, "F2Pool": 0.10, "SpiderPool": 0.07,
    "MARA Pool": 0.045, "Binance Pool": 0.035, "Luxor": 0.025, "SECPOOL": 0.02, "other": 0.035,
}


def breakeven_hashprice_usd_per_ph_day(j_per_th, power_cost_usd_per_mwh):
    """Hashprice at which a machine's revenue just pays its power (USD per PH/s per day)."""
    return np.asarray(j_per_th) * np.asarray(power_cost_usd_per_mwh) * MWH_PER_PH_DAY_PER_J_TH


@dataclass(frozen=True)
class HashrateShock:
    """`fraction` of the rest-of-world fleet offline from `start_hour` until `end_hour`."""
    start_hour: int
    end_hour: int
    fraction: float


class RestOfWorldFleet:
    """Installed capacity by cohort (EH/s) and the share of it online."""

    #: quantile grid resolution per dimension (efficiency x power cost)
    GRID = 24

    def __init__(self, capacity_eh_s: np.ndarray, breakeven_usd_per_ph_day: np.ndarray, *, online_eh_s: float,
                 response_hours: float, growth_eh_s_per_month: float, new_breakeven_usd_per_ph_day: np.ndarray,
                 shocks: list[HashrateShock] = ()) -> None:
        order = np.argsort(breakeven_usd_per_ph_day, kind="stable")
        self.capacity_eh_s = np.asarray(capacity_eh_s, float)[order]
        self.breakeven = np.asarray(breakeven_usd_per_ph_day, float)[order]
        self.online_eh_s_now = float(online_eh_s)
        self._alpha = 1.0 - math.exp(-1.0 / response_hours)
        self._growth_per_hour = growth_eh_s_per_month / HOURS_PER_MONTH
        self._new_breakeven = np.sort(np.asarray(new_breakeven_usd_per_ph_day, float))
        self.shocks = list(shocks)
        self._shipped = 0.0                  # EH/s shipped since the start
        self._avail = 1.0                    # share of the fleet not held offline by a shock

    @classmethod
    def calibrated(cls, *, target_eh_s: float, hashprice_usd_per_ph_day: float, mean_j_per_th: float,
                   median_power_cost_usd_per_mwh: float, response_hours: float, growth_eh_s_per_month: float,
                   new_j_per_th: float, shocks: list[HashrateShock] = (), sigma_j: float = 0.3,
                   sigma_cost: float = 0.5) -> "RestOfWorldFleet":
        """A fleet sized so that `target_eh_s` is online at today's hashprice (in equilibrium)."""
        q = (np.arange(cls.GRID) + 0.5) / cls.GRID
        z = np.sqrt(2.0) * _erfinv(2 * q - 1)                   # standard normal quantiles
        eff = mean_j_per_th * np.exp(sigma_j * z - sigma_j ** 2 / 2)    # log-normal with that mean
        cost = median_power_cost_usd_per_mwh * np.exp(sigma_cost * z)
        be = breakeven_hashprice_usd_per_ph_day(eff[:, None], cost[None, :]).ravel()
        profitable = max(float(np.mean(be <= hashprice_usd_per_ph_day)), 0.05)
        cap = np.full(be.size, target_eh_s / profitable / be.size)
        new_be = breakeven_hashprice_usd_per_ph_day(new_j_per_th, cost)
        return cls(cap, be, online_eh_s=target_eh_s, response_hours=response_hours,
                   growth_eh_s_per_month=growth_eh_s_per_month, new_breakeven_usd_per_ph_day=new_be, shocks=shocks)

    @property
    def installed_eh_s(self) -> float:
        return float(self.capacity_eh_s.sum()) + self._shipped

    def available_fraction(self, hour: int) -> float:
        """Share of the fleet not taken offline by a shock at `hour`."""
        f = 1.0
        for s in self.shocks:
            if s.start_hour <= hour < s.end_hour:
                f *= 1.0 - s.fraction
        return f

    def profitable_eh_s(self, hashprice_usd_per_ph_day: float) -> float:
        """Installed capacity whose breakeven is at or below the hashprice (EH/s)."""
        k = np.searchsorted(self.breakeven, hashprice_usd_per_ph_day, side="right")
        shipped = self._shipped * np.searchsorted(self._new_breakeven, hashprice_usd_per_ph_day,
                                                  side="right") / self._new_breakeven.size
        return float(self.capacity_eh_s[:k].sum()) + shipped

    def step(self, hashprice_usd_per_ph_day: float, hour: int) -> float:
        """Advance one hour: new ASICs ship, the fleet moves toward what pays; online EH/s."""
        self._shipped += self._growth_per_hour
        avail = self.available_fraction(hour)
        online = self.online_eh_s_now
        if avail < self._avail:                       # a shock takes its share of running machines at once
            online *= avail / self._avail
        self._avail = avail
        target = self.profitable_eh_s(hashprice_usd_per_ph_day) * avail
        self.online_eh_s_now = online + self._alpha * (target - online)
        return self.online_eh_s_now


def _erfinv(y: np.ndarray) -> np.ndarray:
    """Inverse error function (Giles 2010 single-precision approximation, refined by two Newton
    steps to double precision); numpy has no erfinv and scipy is not a core dependency."""
    y = np.asarray(y, float)
    w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * wl
    x = np.where(small, p1, p2) * y
    erf = np.vectorize(math.erf)
    for _ in range(2):
        x = x - (erf(x) - y) / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
    return x
