"""AI tenants' demand for energised capacity, and their choice between a miner's site and a
greenfield one. Pure: imports nothing of agents, the model, logs or visualisation.

The demand is an exogenous path: tenants (the large cloud firms and the AI firms they back) want
new critical IT load at a rate tied to the large cloud firms' capital spending,

    demand_it_mw_per_month(t) = capex_busd_per_year(t) x it_mw_per_busd x reach_share / 12

(`it_mw_per_busd`: MW of IT load a billion USD of that spending equips; `reach_share`: the share
of it that looks at the modelled miners' sites). It arrives as requests (campuses) of random size.

A request of S MW of IT compares two ways to power (`site_fee_usd_per_mw_month`):

- **greenfield**: a new site at the rent that recovers its build cost over the term
  (`greenfield_rent_usd_per_mw_month`), powered after the years a new large load waits for a grid
  connection (`grid_wait_years`, growing with S);
- **a miner's energised site**: powered after the miner's retrofit (the lease's lead time).

A tenant earns `margin` per MW of IT per month once powered (rising with the demand path: a month
of delay costs more in a boom), so it is indifferent between greenfield at rent f_g from year W
and the miner's site at f_max from year L < W when

    (margin - f_max) (1 + r)^-L = (margin - f_g) (1 + r)^-W,  i.e.
    f_max = margin - (margin - f_g) (1 + r)^-(W - L),

and it offers the miner f_g + miner_share x (f_max - f_g): the greenfield rent plus a share of the
value of the time the energised site saves (as level rents; the lease's first-year rent is the one
worth as much with the lease's yearly escalator, `first_year_rent_usd_per_mw_month`). When a greenfield site is as fast (W <= L) the tenant
goes greenfield and the miners get no offer. How much of the request a miner's site gets is the
tenant's choice too (`split_request`): the largest free sites first, each up to its room; the
rest goes greenfield.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass

import numpy as np

from simulation.markets.ai_compute import HostingOffer
from simulation.markets.finance import HOURS_PER_MONTH

SECONDS_PER_YEAR = 365.25 * 86400.0


def _mid_year_unix(year: int) -> float:
    """2 July 00:00 UTC of `year`: where a year's total is placed on the time axis."""
    return float(calendar.timegm((int(year), 7, 2, 0, 0, 0)))


def capex_busd_per_year(unix_time, years, busd) -> np.ndarray | float:
    """The cloud firms' capital spending (B USD per year) at `unix_time` (s; scalar or array):
    each year's figure at mid-year, linear in between, flat before the first and after the last."""
    years, busd = np.asarray(years, float), np.asarray(busd, float)
    if len(years) == 0 or len(years) != len(busd):
        raise ValueError("capex path: give as many years as values (at least one)")
    if np.any(np.diff(years) <= 0):
        raise ValueError(f"capex path: years must increase (got {years.tolist()})")
    knots = np.array([_mid_year_unix(int(y)) for y in years])
    out = np.interp(np.asarray(unix_time, float), knots, busd)
    return float(out) if np.ndim(out) == 0 else out


def demand_it_mw_per_month(capex_busd: float, it_mw_per_busd: float, reach_share: float) -> float:
    """Tenants' demand for new IT load reaching the modelled sites (MW of IT per month)."""
    return capex_busd * it_mw_per_busd * reach_share / 12.0


def grid_wait_years(it_mw, wait_1gw_years: float, size_exponent: float):
    """Years a new load of `it_mw` of IT waits for a grid connection: `wait_1gw_years` at 1 GW,
    scaled by (it_mw / 1,000)^size_exponent."""
    it_mw = np.asarray(it_mw, float)
    if np.any(it_mw <= 0):
        raise ValueError("it_mw must be > 0: give the request's IT load in MW")
    out = wait_1gw_years * (it_mw / 1000.0) ** size_exponent
    return float(out) if np.ndim(out) == 0 else out


def greenfield_rent_usd_per_mw_month(build_usd_per_it_mw: float, rate_per_year: float, term_months: int,
                                     noi_margin: float) -> float:
    """Rent per MW of IT per month that recovers a new site's build cost over the term at the
    developer's rate (a level monthly annuity), grossed up for the operating costs the rent
    also covers (rent x `noi_margin` is what repays the build)."""
    if not 0 < noi_margin <= 1:
        raise ValueError(f"noi_margin must be in (0, 1] (got {noi_margin}); e.g. 0.85")
    if term_months < 1:
        raise ValueError(f"term_months must be >= 1 (got {term_months})")
    m = (1.0 + rate_per_year) ** (1.0 / 12.0) - 1.0
    n = int(term_months)
    annuity = build_usd_per_it_mw / n if abs(m) < 1e-15 else build_usd_per_it_mw * m / (1.0 - (1.0 + m) ** -n)
    return annuity / noi_margin


def first_year_rent_usd_per_mw_month(level_rent: float, rate_per_year: float, escalator_per_year: float,
                                     term_months: int) -> float:
    """The first-year rent of a lease escalating by `escalator_per_year` at each anniversary that
    is worth as much, at `rate_per_year`, as a level rent of `level_rent` over the same term."""
    m = np.arange(1, int(term_months) + 1)
    d = (1.0 + rate_per_year) ** (-m / 12.0)
    return float(level_rent * d.sum() / (d * (1.0 + escalator_per_year) ** ((m - 1) // 12)).sum())


def tenant_margin_usd_per_mw_month(margin_ref: float, capex_busd: float, capex_ref_busd: float,
                                   elasticity: float) -> float:
    """What a tenant earns per MW of IT per month once powered: `margin_ref` at the reference
    capital spending, scaled by (capex / capex_ref)^elasticity."""
    return margin_ref * (capex_busd / capex_ref_busd) ** elasticity


def site_fee_usd_per_mw_month(greenfield_rent: float, margin: float, wait_years: float, lead_years: float,
                              rate_per_year: float, miner_share: float) -> float:
    """The fee (USD per MW of IT per month) a tenant offers for a miner's energised site powered
    after `lead_years`, against greenfield at `greenfield_rent` after `wait_years` (module
    docstring); NaN when greenfield is as fast (the tenant builds greenfield: no offer)."""
    if wait_years <= lead_years:
        return math.nan
    f_max = margin - (margin - greenfield_rent) * (1.0 + rate_per_year) ** -(wait_years - lead_years)
    return greenfield_rent + miner_share * max(f_max - greenfield_rent, 0.0)


def split_request(it_mw: float, free_it_mw, max_sites: int, min_it_mw: float) -> list[float]:
    """The parts of a request of `it_mw` the tenant places at miners' sites: the largest free
    sites first (`free_it_mw`: each site's free room in MW of IT), each part up to the site's
    room, at most `max_sites` parts, none below `min_it_mw`; the rest goes greenfield."""
    left, parts = float(it_mw), []
    for room in sorted((float(x) for x in np.asarray(free_it_mw, float)), reverse=True):
        if len(parts) >= max_sites or left < min_it_mw - 1e-9:
            break
        part = math.floor(min(left, room) * 10.0) / 10.0  # whole tenths of a MW
        if part < min_it_mw - 1e-9:
            break
        parts.append(part)
        left -= part
    return parts


@dataclass(frozen=True)
class TenantRequest:
    """One tenant's request: `it_mw` of IT load; the fee it offers for an energised site; when
    it arrived (hours from the start); the greenfield wait it compared with (years)."""

    hour: int
    it_mw: float
    fee_usd_per_mw_month: float
    wait_years: float
    kind: str


class TenantDemand:
    """Requests arriving along the demand path. Arrivals are a unit-rate Poisson process run on
    the path's cumulative intensity (an exponential threshold per arrival), so two paths with
    the same random stream (say, 2024-25 demand and flat demand) see the same requests in the
    same order, earlier or later: common random numbers. Sizes are log-normal (median
    `size_median_it_mw`, `size_sigma`)."""

    def __init__(self, *, start_unix: int, years, capex_busd, flat: bool, it_mw_per_busd: float, reach_share: float,
                 size_median_it_mw: float, size_sigma: float, wait_1gw_years: float, wait_size_exponent: float,
                 greenfield_build_usd_per_it_mw: float, developer_rate_per_year: float, noi_margin: float,
                 margin_ref_usd_per_mw_month: float, capex_ref_busd: float, margin_elasticity: float,
                 miner_share: float, term_months: int, lead_months: int, training_share: float,
                 escalator_per_year: float,
                 sla_uptime: float, penalty_usd_per_mwh: float, min_part_it_mw: float,
                 rng: np.random.Generator) -> None:
        self.start_unix = int(start_unix)
        self.years, self.busd = tuple(years), tuple(capex_busd)
        self.flat = bool(flat)
        self._capex0 = capex_busd_per_year(self.start_unix, self.years, self.busd)
        self.it_mw_per_busd, self.reach_share = it_mw_per_busd, reach_share
        self.size_median, self.size_sigma = size_median_it_mw, size_sigma
        self.wait_1gw, self.wait_exp = wait_1gw_years, wait_size_exponent
        self.greenfield_rent = greenfield_rent_usd_per_mw_month(greenfield_build_usd_per_it_mw, developer_rate_per_year,
                                                                term_months, noi_margin)
        self.rate = developer_rate_per_year
        self.margin_ref, self.capex_ref, self.elasticity = margin_ref_usd_per_mw_month, capex_ref_busd, margin_elasticity
        self.miner_share = miner_share
        self.escalator = escalator_per_year
        self.term_months, self.lead_months = int(term_months), int(lead_months)
        self.training_share, self.sla_uptime, self.penalty = training_share, sla_uptime, penalty_usd_per_mwh
        self.min_part_it_mw = min_part_it_mw
        self.mean_size = size_median_it_mw * math.exp(size_sigma ** 2 / 2)
        self._rng = rng
        self._hour = 0
        self._acc = 0.0                          # cumulative intensity since the last arrival
        self._threshold = float(rng.exponential())
        self.requests: list[TenantRequest] = []  # every request so far (greenfield ones included)

    def capex_busd_at(self, hour: int) -> float:
        """Capital spending (B USD/yr) the demand follows at `hour` (the start's level when flat)."""
        if self.flat:
            return self._capex0
        return capex_busd_per_year(self.start_unix + 3600 * hour, self.years, self.busd)

    def demand_it_mw_per_month_at(self, hour: int) -> float:
        return demand_it_mw_per_month(self.capex_busd_at(hour), self.it_mw_per_busd, self.reach_share)

    def fee_for(self, it_mw: float, hour: int) -> tuple[float, float]:
        """(fee USD per MW of IT per month, greenfield wait in years) a request of `it_mw` at `hour`
        offers an energised site (NaN fee: greenfield is as fast). The fee is the first year's
        rent of a lease escalating at `escalator_per_year`, worth the level fee of
        `site_fee_usd_per_mw_month` at the developer's rate."""
        wait = grid_wait_years(it_mw, self.wait_1gw, self.wait_exp)
        margin = tenant_margin_usd_per_mw_month(self.margin_ref, self.capex_busd_at(hour), self.capex_ref,
                                                self.elasticity)
        level = site_fee_usd_per_mw_month(self.greenfield_rent, margin, wait, self.lead_months / 12.0, self.rate,
                                          self.miner_share)
        if not math.isfinite(level):
            return level, wait
        return first_year_rent_usd_per_mw_month(level, self.rate, self.escalator, self.term_months), wait

    def step(self) -> list[HostingOffer]:
        """Advance one hour: the offers of the requests that arrive (one offer per request, for
        its whole IT load; `split_request` cuts it to the sites' room when it is placed)."""
        hour = self._hour
        self._hour += 1
        rate = self.demand_it_mw_per_month_at(hour) / self.mean_size / HOURS_PER_MONTH  # requests per hour
        self._acc += rate
        out = []
        r = self._rng
        while self._acc >= self._threshold:
            self._acc -= self._threshold
            self._threshold = float(r.exponential())
            it_mw = round(float(self.size_median * math.exp(self.size_sigma * r.standard_normal())), 1)
            kind = "training" if r.random() < self.training_share else "inference"
            it_mw = max(it_mw, 0.1)
            fee, wait = self.fee_for(it_mw, hour)
            self.requests.append(TenantRequest(hour, it_mw, fee, wait, kind))
            if not math.isfinite(fee):
                continue
            firm = kind == "inference"
            out.append(HostingOffer(it_mw=it_mw, fee_usd_per_mw_month=fee, kind=kind,
                                    sla_uptime=self.sla_uptime if firm else 0.0,
                                    penalty_usd_per_mwh=self.penalty if firm else 0.0,
                                    term_months=self.term_months, lead_months=self.lead_months,
                                    request_it_mw=it_mw))
        return out
