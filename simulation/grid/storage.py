"""Grid-scale batteries as the grid sees them: where they sit, what one hour can take or give,
and how the state of charge follows what cleared. Pure (numpy only); the bidding rule lives in
`agents/storage.py`.

Conventions (those of PyPSA's `StorageUnit`; one hour per step, so MW and MWh per hour coincide):

    soc_(t+1) = soc_t + eta_c x charge_t - discharge_t / eta_d          (MWh stored)
    0 <= soc_t <= energy_mwh,  0 <= charge_t, discharge_t <= power_mw      (MW at the grid)

`charge` is what the unit draws from the grid and `discharge` what it delivers to it; eta_c
eta_d is the round-trip efficiency (split evenly: eta_c = eta_d = sqrt(round trip)). An hour's
offers never exceed what the state of charge allows (`hour_limits_mw`), so any cleared amount
keeps the bounds. No self-discharge (a few % a month for lithium-ion: below an hour's rounding).

Placement (`place_sites`): a zone's MW in sites of `site_mw` (the last one smaller), one site per
bus, at the zone's buses with the most line capacity (the sum of the ratings of the lines that
end there: where the transmission can carry a site's MW in and out), ties by bus order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.grid.network import Grid


@dataclass(frozen=True, eq=False)
class StorageOffers:
    """One hour's offers of every storage unit (arrays per unit): buy up to `charge_mw` when the
    bus price is at most `charge_usd_per_mwh`, sell up to `discharge_mw` when it is at least
    `discharge_usd_per_mwh` (which must be above the charge price wherever both MW are > 0, or
    the LP would charge and discharge at once)."""

    charge_mw: np.ndarray
    charge_usd_per_mwh: np.ndarray
    discharge_mw: np.ndarray
    discharge_usd_per_mwh: np.ndarray


def hour_limits_mw(soc_mwh, power_mw, energy_mwh, eta_charge, eta_discharge) -> tuple[np.ndarray, np.ndarray]:
    """The most each unit can charge and discharge this hour (MW at the grid) from its state of
    charge: min(power, room / eta_c) and min(power, soc x eta_d)."""
    soc = np.asarray(soc_mwh, float)
    charge = np.minimum(power_mw, np.maximum(energy_mwh - soc, 0.0) / eta_charge)
    discharge = np.minimum(power_mw, np.maximum(soc, 0.0) * eta_discharge)
    return charge, discharge


def soc_after(soc_mwh, charge_mw, discharge_mw, energy_mwh, eta_charge, eta_discharge) -> np.ndarray:
    """State of charge (MWh) after an hour of `charge_mw` in and `discharge_mw` out, clipped to
    [0, energy] (the clip only removes rounding: offers within `hour_limits_mw` keep the bounds)."""
    soc = np.asarray(soc_mwh, float) + eta_charge * np.asarray(charge_mw) - np.asarray(discharge_mw) / eta_discharge
    return np.clip(soc, 0.0, energy_mwh)


def bus_line_capacity_mw(grid: Grid) -> np.ndarray:
    """(n_bus,) the sum of the finite ratings of the lines ending at each bus (MW)."""
    lim = np.where(np.isfinite(grid.line_limit_mw), grid.line_limit_mw, 0.0)
    return np.bincount(grid.line_from, lim, grid.n_bus) + np.bincount(grid.line_to, lim, grid.n_bus)


def place_sites(grid: Grid, power_mw: float, site_mw: float, zone_share: dict[str, float] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Buses and MW of storage sites: `power_mw` split over zones by `zone_share` (normalised; empty
    or None: the whole grid as one zone), each zone's MW in sites of at most `site_mw` at its buses
    with the most line capacity (`bus_line_capacity_mw`), one site per bus. Returns (bus index per
    site, MW per site), zone by zone in the shares' order."""
    if not (power_mw > 0 and site_mw > 0):
        raise ValueError(f"storage power ({power_mw}) and site size ({site_mw}) must be > 0 MW")
    zones = np.asarray(grid.bus_zone).astype(str)
    share = dict(zone_share or {})
    if not share:
        share = {"": 1.0}
        zones = np.full(grid.n_bus, "")
    total = sum(share.values())
    if total <= 0:
        raise ValueError("storage.zone_share: the shares sum to 0; give at least one zone a share > 0")
    capacity = bus_line_capacity_mw(grid)
    buses, mw = [], []
    for zone, s in share.items():
        zone_mw = power_mw * s / total
        if zone_mw <= 0:
            continue
        at = np.flatnonzero(zones == zone)
        if not at.size:
            raise ValueError(f"storage.zone_share: zone {zone!r} has no bus in grid {grid.name!r}; its zones are "
                             f"{', '.join(sorted(set(zones.tolist())))}")
        n = int(np.ceil(zone_mw / site_mw - 1e-9))
        if n > at.size:
            raise ValueError(f"storage.site_mw: zone {zone!r} needs {n} sites of {site_mw:g} MW but has {at.size} "
                             "buses; use larger sites")
        ranked = at[np.argsort(-capacity[at], kind="stable")][:n]
        sizes = np.full(n, float(site_mw))
        sizes[-1] = zone_mw - site_mw * (n - 1)
        buses.append(ranked), mw.append(sizes)
    return np.concatenate(buses), np.concatenate(mw)


def site_durations_h(n_sites: int, mean_h: float, short_h: float, long_h: float, site_mw: np.ndarray) -> np.ndarray:
    """Each site's duration (energy / power, h): `short_h` or `long_h`, the long ones spread evenly
    through the sites (an error-diffusion pick) so that the MW-weighted mean is `mean_h` to within
    one site."""
    if not short_h <= mean_h <= long_h:
        raise ValueError(f"storage.mean_duration_h ({mean_h:g}) must lie within storage.durations_h "
                         f"[{short_h:g}, {long_h:g}]; widen the durations or change the mean")
    if long_h == short_h:
        return np.full(n_sites, float(short_h))
    want = (mean_h - short_h) / (long_h - short_h)  # share of MW in long sites
    w = np.asarray(site_mw, float) / np.sum(site_mw)
    out = np.empty(n_sites)
    owed = 0.0
    for i in range(n_sites):  # at most a few hundred sites, once per run
        owed += want * w[i]
        is_long = owed >= 0.5 * w[i]
        out[i] = long_h if is_long else short_h
        owed -= w[i] if is_long else 0.0
    return out
