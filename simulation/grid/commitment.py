"""Which units run, day by day: the commitment rule that lets an hourly LP keep minimum outputs.

An LP cannot say "off, or at least Pmin". So the units with a minimum output (`Grid.gen_min_mw`
> 0) are committed ahead, and each hour's LP gives a committed unit the bounds [Pmin, available]
and an uncommitted one [0, 0]. The rule (documented, deterministic, no randomness):

- Units without a minimum output (wind, solar, hydro, and every unit of a case read without
  Pmin) are always available from 0: the rule leaves them alone, so cases without Pmin clear
  exactly as before.
- Must-run: nuclear and coal (`MUST_RUN_KINDS`) are committed every hour (ERCOT runs them as
  baseload; their start-up takes a day or more).
- The rest (gas, oil, other) are committed for whole days (24-hour blocks from the series'
  first hour), in merit order of their full-load cost (c1 + c2 x cap, USD/MWh; ties by unit
  order), until the committed capacity covers the day's largest
  `demand x (1 + reserve) - available wind and solar - hydro and other always-available units -
  must-run capacity` (a day-ahead plan with a perfect forecast of inflexible demand; flexible
  loads bid into what is committed).
- Feasibility: while the floors of the committed units exceed `floor_share` of the day's
  smallest demand, the most expensive committed day-ahead unit is released (must-run units stay).
  The hourly dispatch also drops floors for an hour they make infeasible (a local export limit),
  and says so in its status.

Reliability unit commitment (RUC, `reliability_units`): the day-ahead rule above sees the system,
not the network, so a load pocket behind a binding line can be left without its local units and
the hourly LP sheds demand there at VOLL although a unit next to it stands idle. After an hour is
cleared with consumer demand shed, the operator (`simulation/model.py`) commits more units and
clears the hour again, in bounded rounds while shedding remains and candidates exist:

- candidates are the day-ahead units not committed today (`Commitment.uncommitted`) whose bus
  price in the shedding solution exceeds both their cost at minimum output (c1 + c2 Pmin,
  USD/MWh) and every unit's offer (`scarcity_price`: the dearest unit's marginal cost at full
  output): a price no generator can set comes from shed load (VOLL) or a rationed bid through
  binding lines, so an injection at that bus relieves the shortage;
- they are taken in order of that margin (the price the shortage sets at their bus less their
  cost; ties by unit order), until their capacity covers the MW still shed;
- committed units stay on for the rest of the day (`Commitment.commit`), at [Pmin, capacity].

Deterministic (no randomness, stable sorts) and silent in hours without shedding, so a run in
which nothing is shed clears exactly as without RUC. Where it departs from ERCOT's RUC (Nodal
Protocols section 5): ERCOT solves a security-constrained unit commitment over the next day's
hours (HRUC: the rest of the day) against its load forecast, with start-up and minimum-energy
costs and contingencies; here it reacts to the hour just cleared, with a perfect view of it, by
the LMPs of the shedding solution (a one-step, price-guided heuristic, no start-up costs, no
N-1), and only from hours where consumer demand was actually shed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.grid.network import Grid

#: kinds committed in every hour
MUST_RUN_KINDS = ("nuclear", "coal")
#: reserve above the day's peak demand the day-ahead commitment covers
DEFAULT_RESERVE = 0.10
#: committed floors may add up to at most this share of the day's smallest demand
DEFAULT_FLOOR_SHARE = 0.9


@dataclass(frozen=True, eq=False)
class Commitment:
    """Committed units per day: `on[day, gen]` (bool); units without a minimum are always on.
    The day-ahead plan fills it; the reliability commitment (`commit`) adds units to a day."""

    on: np.ndarray  # (days, n_gen) bool
    min_mw: np.ndarray  # (n_gen,) minimum output of a committed unit

    def available_mw(self, hour: int, avail_mw: np.ndarray) -> np.ndarray:
        """(n_gen,) MW available in `hour`: `avail_mw` for committed units, 0 for the others."""
        return np.where(self.on[hour // 24], avail_mw, 0.0)

    def floor_mw(self, hour: int) -> np.ndarray:
        """(n_gen,) minimum output in `hour`: Pmin for committed units, else 0."""
        return np.where(self.on[hour // 24], self.min_mw, 0.0)

    def uncommitted(self, hour: int) -> np.ndarray:
        """(n_gen,) bool: units with a minimum output that are off in `hour`'s day."""
        return ~self.on[hour // 24]

    def commit(self, hour: int, units) -> None:
        """Reliability commitment: `units` (indices) are on from `hour` to the end of its day."""
        self.on[hour // 24, np.asarray(units, np.int64)] = True


def scarcity_price(grid: Grid) -> float:
    """USD/MWh above which no unit of `grid` sets a price: the largest marginal cost at full
    output (c1 + 2 c2 cap) of any unit."""
    return float(np.max(grid.gen_cost_usd_per_mwh + 2 * grid.gen_cost_quad_usd_per_mw2h * grid.gen_cap_mw,
                        initial=0.0))


def reliability_units(grid: Grid, lmp_usd_per_mwh, uncommitted, shed_mw: float,
                      scarcity_usd_per_mwh: float | None = None) -> np.ndarray:
    """Units to commit for an hour that shed `shed_mw` MW (module docstring, RUC): indices of
    `uncommitted` units (bool, n_gen) whose bus price in the shedding solution
    (`lmp_usd_per_mwh`, per bus) exceeds their cost at minimum output and `scarcity_usd_per_mwh`
    (default `scarcity_price(grid)`), by decreasing margin, until their capacity covers
    `shed_mw`. Empty when none qualifies or nothing is shed."""
    lmp = np.asarray(lmp_usd_per_mwh, float)
    if lmp.shape != (grid.n_bus,):
        raise ValueError(f"lmp_usd_per_mwh: shape {lmp.shape}, expected ({grid.n_bus},); give one price per bus")
    if not shed_mw > 0:
        return np.zeros(0, np.int64)
    floor = scarcity_price(grid) if scarcity_usd_per_mwh is None else float(scarcity_usd_per_mwh)
    price = lmp[grid.gen_bus]
    cost = grid.gen_cost_usd_per_mwh + grid.gen_cost_quad_usd_per_mw2h * grid.gen_min_mw
    margin = price - cost
    ok = np.asarray(uncommitted, bool) & (grid.gen_cap_mw > 0) & (price > floor) & (margin > 0)
    cand = np.flatnonzero(ok)
    order = cand[np.argsort(-margin[cand], kind="stable")]
    n = int(np.searchsorted(np.cumsum(grid.gen_cap_mw[order]), shed_mw)) + 1
    return order[:n]


def daily_commitment(grid: Grid, demand_mw, wind_cf, solar_cf, reserve: float = DEFAULT_RESERVE,
                     floor_share: float = DEFAULT_FLOOR_SHARE, hydro_cf=None) -> Commitment:
    """The commitment of the module docstring for hourly system demand (MW) and wind and solar
    capacity factors (one value per hour, or per hour and generator: (hours, n_gen)); hydro at
    `hydro_cf` per hour when given (None: always its capacity)."""
    demand = np.asarray(demand_mw, float)
    hours = len(demand)
    if hours < 1:
        raise ValueError("demand_mw: no hours; give one system demand value per hour")
    if not 0 <= reserve <= 1:
        raise ValueError(f"reserve must be in [0, 1] (got {reserve}); e.g. 0.1")
    if not 0 < floor_share <= 1:
        raise ValueError(f"floor_share must be in (0, 1] (got {floor_share}); e.g. 0.9")
    kind, cap, pmin = grid.gen_kind, grid.gen_cap_mw, grid.gen_min_mw
    has_min = pmin > 0
    must = has_min & np.isin(kind, MUST_RUN_KINDS)
    day_ahead = has_min & ~must
    days = (hours + 23) // 24
    on = np.ones((days, grid.n_gen), bool)
    if not day_ahead.any():
        return Commitment(on=on, min_mw=np.array(pmin))
    wind, solar = (np.asarray(v, float) for v in (wind_cf, solar_cf))
    wind = wind[:, None] if wind.ndim == 1 else wind
    solar = solar[:, None] if solar.ndim == 1 else solar
    always = ~has_min
    cf = np.where(kind == "wind", wind, np.where(kind == "solar", solar, 1.0))  # (hours, n_gen)
    if hydro_cf is not None:
        cf = np.where(kind == "hydro", np.asarray(hydro_cf, float)[:, None], cf)
    free_mw = (cf * (cap * always)).sum(axis=1)  # always-available MW per hour
    need = demand * (1 + reserve) - free_mw - cap[must].sum()
    full_cost = grid.gen_cost_usd_per_mwh + grid.gen_cost_quad_usd_per_mw2h * cap
    order = np.flatnonzero(day_ahead)[np.argsort(full_cost[day_ahead], kind="stable")]
    cum = np.cumsum(cap[order])
    must_floor = pmin[must].sum()
    for day in range(days):
        h = slice(24 * day, min(24 * (day + 1), hours))
        n = int(np.searchsorted(cum, need[h].max())) + 1  # units until the need is covered
        n = min(n, len(order))
        limit = floor_share * demand[h].min() - must_floor
        floors = np.cumsum(pmin[order[:n]])
        while n > 0 and floors[n - 1] > limit:
            n -= 1
        on[day, order[n:]] = False
    return Commitment(on=on, min_mw=np.array(pmin))
