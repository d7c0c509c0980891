"""The AI compute market a miner can sell to: an hourly spot market for GPU-hours (on its own
GPUs), and a stream of multi-year hosting lease offers from AI tenants who bring their own GPUs
(inference is firm, training deferrable)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulation.markets.finance import HOURS_PER_MONTH, HOURS_PER_YEAR


class AiSpotMarket:
    """Spot price of a GPU-hour (USD) and the share of idle GPUs that find jobs this hour.

    The log price reverts (Ornstein-Uhlenbeck, `reversion_per_hour`) to a trend
    `price0 * exp(trend_per_year * t)`, so a falling trend models GPU-hour deflation and a
    rising one an AI boom. Demand has a day/night shape (busy in working hours) plus noise,
    clipped to [0, 1].
    """

    def __init__(self, price0_usd_per_gpu_hour: float, trend_per_year: float, reversion_per_hour: float,
                 vol_per_hour: float, demand_mean: float, demand_diurnal_amplitude: float, demand_noise: float,
                 rng: np.random.Generator) -> None:
        self.price0 = float(price0_usd_per_gpu_hour)
        self.trend_per_hour = trend_per_year / HOURS_PER_YEAR
        self.kappa, self.vol = reversion_per_hour, vol_per_hour
        self.demand_mean, self.amplitude, self.noise = demand_mean, demand_diurnal_amplitude, demand_noise
        self._rng = rng
        self._dev = 0.0          # log price minus log trend
        self._hours = 0

    def step(self, local_hour: int) -> tuple[float, float]:
        """Advance one hour: (spot price USD per GPU-hour, demand share in [0, 1])."""
        r = self._rng
        if self._hours:
            self._dev += -self.kappa * self._dev + self.vol * r.standard_normal()
        price = self.price0 * math.exp(self.trend_per_hour * self._hours + self._dev)
        self._hours += 1
        shape = math.cos(2 * math.pi * (local_hour - 14) / 24.0)     # peak mid-afternoon
        demand = self.demand_mean + self.amplitude * shape + self.noise * r.standard_normal()
        return price, min(max(demand, 0.0), 1.0)


@dataclass(frozen=True)
class HostingOffer:
    """An AI tenant's lease offer: `it_mw` of critical IT load hosted for `term_months` at a
    take-or-pay fee per MW-month, operating `lead_months` after signing (the retrofit)."""
    it_mw: float
    fee_usd_per_mw_month: float
    kind: str                       # "inference" (firm up to the SLA) or "training" (deferrable)
    sla_uptime: float
    penalty_usd_per_mwh: float      # per MWh short beyond the SLA allowance
    term_months: int
    lead_months: int
    request_it_mw: float = 0.0      # a tenant's whole request (`simulation.markets.tenant_demand`); 0: a fixed-size offer


class HostingOffers:
    """Poisson arrivals of lease offers (`rate_per_month`), IT load exponential around `mw_mean`
    (at least 1 MW), fees log-normal around a mean that drifts with `fee_trend_per_year`."""

    def __init__(self, *, rate_per_month: float, mw_mean: float, fee_usd_per_mw_month: float, fee_cv: float,
                 fee_trend_per_year: float, term_months: int, lead_months: int, sla_uptime: float,
                 penalty_usd_per_mwh: float, training_share: float, rng: np.random.Generator) -> None:
        self.rate_per_hour = rate_per_month / HOURS_PER_MONTH
        self.mw_mean, self.fee0, self.fee_cv, self.trend = mw_mean, fee_usd_per_mw_month, fee_cv, fee_trend_per_year
        self.term_months, self.lead_months = int(term_months), int(lead_months)
        self.sla_uptime, self.penalty = sla_uptime, penalty_usd_per_mwh
        self.training_share = training_share
        self._sigma = math.sqrt(math.log1p(fee_cv ** 2))
        self._rng = rng
        self._hours = 0

    def step(self) -> list[HostingOffer]:
        """The offers that arrive this hour (usually none)."""
        r = self._rng
        n = int(r.poisson(self.rate_per_hour))
        mean_fee = self.fee0 * math.exp(self.trend * self._hours / HOURS_PER_YEAR)
        self._hours += 1
        offers = []
        for _ in range(n):
            kind = "training" if r.random() < self.training_share else "inference"
            fee = mean_fee * math.exp(self._sigma * r.standard_normal() - self._sigma ** 2 / 2)
            offers.append(HostingOffer(
                it_mw=max(1.0, round(float(r.exponential(self.mw_mean)), 1)), fee_usd_per_mw_month=float(fee),
                kind=kind, sla_uptime=self.sla_uptime if kind == "inference" else 0.0,
                penalty_usd_per_mwh=self.penalty if kind == "inference" else 0.0,
                term_months=self.term_months, lead_months=self.lead_months))
        return offers
