"""A case's fleet brought to another year: wind and solar added to reach stated capacities,
fuel costs re-priced, line limits scaled, all by documented rules (pure: a `Grid` in, a `Grid` out).

- **Placement** (`add_plants`): the MW to add (target minus what the case has of that kind) is
  split over zones by the given shares, and in each zone into plants of `plant_mw` (the last
  one smaller). A bus can take a plant while its *headroom*, the sum of the limits of the lines
  at the bus minus the capacity already there (the case's units and the plants placed before),
  fits the plant: its own lines could carry the plant's full output away. Of those buses each
  plant goes to the one with the fewest plants added so far (wind and solar alike), then the
  most headroom, then the lowest position: the zone's plants spread over its strongest buses,
  one each before any bus takes a second, as Texas's wind and solar farms spread over the zones
  rather than sitting at one substation. A zone without a bus that fits a plant is an error
  naming it. What the lines beyond the bus can carry is the dispatch's to find (congestion,
  curtailment, prices).
- **Fuel costs** (`reprice_fuels`): a gas unit's cost is heat rate x gas price; the case's costs
  rank its units, so each unit's heat rate is its kind's (`heat_rate_mmbtu_per_mwh`) times its
  cost over its kind's median cost, and both cost terms (linear and quadratic) scale by the
  kind's factor heat rate x price / median cost. Coal and nuclear keep the case's costs.
- **Wind and solar offers** (`offer_renewables`): every wind and solar unit offers at the given
  price (< 0: the production tax credit they forgo when curtailed).
- **Lines** (`scale_lines`): every finite line limit times a factor, and times the larger of its
  two ends' zone factors (e.g. a zone's load grown since the case was built, over the case's).
"""

from __future__ import annotations

import math

import numpy as np

from simulation.grid.network import DEFAULT_CO2_T_PER_MWH, Grid


def bus_headroom_mw(grid: Grid) -> np.ndarray:
    """(n_bus,) sum of the finite limits of the lines at each bus minus the generating capacity
    already there, MW (an unlimited line counts as the bus's largest finite one)."""
    lim = np.asarray(grid.line_limit_mw, float)
    finite = np.isfinite(lim)
    big = float(lim[finite].max()) if finite.any() else 1e6
    lim = np.where(finite, lim, big)
    nb = grid.n_bus
    at_bus = np.bincount(grid.line_from, weights=lim, minlength=nb) + np.bincount(grid.line_to, weights=lim, minlength=nb)
    return at_bus - np.bincount(grid.gen_bus, weights=grid.gen_cap_mw, minlength=nb)


def add_plants(grid: Grid, kind: str, target_mw: float, zone_shares: dict[str, float], plant_mw: float,
               cost_usd_per_mwh: float = 0.0, where: str = "fleet") -> Grid:
    """`grid` with `kind` units added until its `kind` capacity is `target_mw` (nothing when it
    already has that much), by the placement rule of the module docstring. New units are named
    `<kind>2024_<n>`."""
    if kind not in ("wind", "solar"):
        raise ValueError(f"{where}: kind {kind!r}: only wind and solar plants are added; use 'wind' or 'solar'")
    have = float(grid.gen_cap_mw[grid.gen_kind == kind].sum())
    add = float(target_mw) - have
    if add <= 0 or not zone_shares:
        return grid
    if not (math.isfinite(plant_mw) and plant_mw > 0):
        raise ValueError(f"{where}: plant_mw must be > 0 (got {plant_mw}); give the size of an added plant in MW")
    zones = set(grid.bus_zone.tolist())
    unknown = sorted(set(zone_shares) - zones)
    if unknown:
        raise ValueError(f"{where}: zone {unknown[0]!r} is not in grid {grid.name!r}; its zones are {', '.join(sorted(zones))}")
    total_share = float(sum(zone_shares.values()))
    if total_share <= 0:
        raise ValueError(f"{where}: the {kind} zone shares sum to 0; give at least one positive share")
    headroom = bus_headroom_mw(grid)
    names = grid.gen_name.astype(str)
    added_before = np.char.startswith(names, "wind2024_") | np.char.startswith(names, "solar2024_")
    plants = np.bincount(grid.gen_bus[added_before], minlength=grid.n_bus)  # plants each bus has (wind, then solar)
    new_bus, new_cap = [], []
    for zone in sorted(zone_shares):
        mw = add * zone_shares[zone] / total_share
        in_zone = np.flatnonzero(grid.bus_zone == zone)
        n = max(int(math.ceil(mw / plant_mw - 1e-9)), 1)
        for k, size in enumerate([plant_mw] * (n - 1) + [mw - plant_mw * (n - 1)]):
            fits = in_zone[headroom[in_zone] >= size]
            if not fits.size:
                raise ValueError(f"{where}: zone {zone!r} has no bus left whose lines can carry a {size:,.0f} MW "
                                 f"{kind} plant ({mw - k * plant_mw:,.0f} MW still to place); give the zone a "
                                 "smaller share")
            # the fewest plants added so far, then the most headroom, then the lowest position
            b = int(fits[np.lexsort((fits, -headroom[fits], plants[fits]))[0]])
            new_bus.append(b)
            new_cap.append(size)
            headroom[b] -= size
            plants[b] += 1
    n = len(new_bus)
    start = int(np.count_nonzero(np.char.startswith(grid.gen_name.astype(str), f"{kind}2024_")))
    names = [f"{kind}2024_{start + i + 1}" for i in range(n)]
    return grid.with_changes(
        gen_bus=np.concatenate([grid.gen_bus, new_bus]),
        gen_cap_mw=np.concatenate([grid.gen_cap_mw, new_cap]),
        gen_cost_usd_per_mwh=np.concatenate([grid.gen_cost_usd_per_mwh, np.full(n, float(cost_usd_per_mwh))]),
        gen_co2_t_per_mwh=np.concatenate([grid.gen_co2_t_per_mwh, np.full(n, DEFAULT_CO2_T_PER_MWH[kind])]),
        gen_kind=np.concatenate([grid.gen_kind.astype(str), np.full(n, kind)]),
        gen_name=np.concatenate([grid.gen_name.astype(str), names]),
        gen_min_mw=np.concatenate([grid.gen_min_mw, np.zeros(n)]),
        gen_cost_quad_usd_per_mw2h=np.concatenate([grid.gen_cost_quad_usd_per_mw2h, np.zeros(n)]))


def reprice_fuels(grid: Grid, gas_usd_per_mmbtu: float, heat_rate_mmbtu_per_mwh: dict[str, float]) -> Grid:
    """`grid` with its gas units' costs at `gas_usd_per_mmbtu` (module docstring's rule) for
    the kinds in `heat_rate_mmbtu_per_mwh` (e.g. gas_cc, gas_ct); other units unchanged."""
    c1 = np.array(grid.gen_cost_usd_per_mwh, float)
    c2 = np.array(grid.gen_cost_quad_usd_per_mw2h, float)
    for kind, hr in heat_rate_mmbtu_per_mwh.items():
        units = grid.gen_kind == kind
        if not units.any():
            continue
        median = float(np.median(c1[units]))
        if median <= 0:
            raise ValueError(f"fleet: the case's {kind} units have a median cost {median:g} <= 0 USD/MWh, so their "
                             "heat rates cannot be read from it; leave gas_usd_per_mmbtu at 0 (the case's costs)")
        factor = hr * gas_usd_per_mmbtu / median
        c1[units] *= factor
        c2[units] *= factor
    return grid.with_changes(gen_cost_usd_per_mwh=c1, gen_cost_quad_usd_per_mw2h=c2)


def offer_renewables(grid: Grid, offer_usd_per_mwh: float) -> Grid:
    """`grid` with every wind and solar unit offering at `offer_usd_per_mwh` (linear, no quadratic term)."""
    ren = np.isin(grid.gen_kind, ("wind", "solar"))
    return grid.with_changes(gen_cost_usd_per_mwh=np.where(ren, float(offer_usd_per_mwh), grid.gen_cost_usd_per_mwh),
                             gen_cost_quad_usd_per_mw2h=np.where(ren, 0.0, grid.gen_cost_quad_usd_per_mw2h))


def scale_lines(grid: Grid, factor: float, zone_factor: dict[str, float] | None = None) -> Grid:
    """`grid` with every finite line limit times `factor` and times the larger of its two end
    buses' zone factors (`zone_factor`; zones not in it: 1)."""
    zone_factor = zone_factor or {}
    if factor == 1.0 and not zone_factor:
        return grid
    z = np.array([float(zone_factor.get(str(name), 1.0)) for name in grid.bus_zone.tolist()])
    per_line = np.maximum(z[grid.line_from], z[grid.line_to]) * float(factor)
    return grid.with_changes(line_limit_mw=np.asarray(grid.line_limit_mw, float) * per_line)
