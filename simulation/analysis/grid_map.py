"""A map of one hour of a run on its grid: where the miners draw, the LMPs and the locational
marginal emissions (LME) per bus, from the run's logs (`buses` table) and the grid case named
in its resolved config.

MATPOWER cases carry no coordinates, so the map is schematic: each bus starts at its zone's
approximate position (for ACTIVSg2000, the ERCOT weather zones' centres, `ZONE_LONLAT`; other
grids: a circle of zones) and a force-directed layout (networkx `spring_layout`, fixed seed)
spreads the buses along their lines from there. Draws nothing the logs do not hold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: approximate (longitude, latitude) of the ERCOT weather zones (ACTIVSg2000's areas)
ZONE_LONLAT = {"Far West": (-102.6, 31.2), "West": (-100.2, 32.2), "North": (-98.8, 33.9),
               "North Central": (-97.1, 32.6), "East": (-95.1, 31.9), "South Central": (-98.1, 29.9),
               "Coast": (-95.3, 29.5), "South": (-98.6, 27.4)}


def bus_positions(grid, seed: int = 7) -> np.ndarray:
    """(n_bus, 2) schematic positions (see the module docstring)."""
    zones = sorted(set(grid.bus_zone.tolist()))
    if all(z in ZONE_LONLAT for z in zones):
        anchor = {z: np.array(ZONE_LONLAT[z]) for z in zones}
        scale = 0.9
    else:
        angle = {z: 2 * np.pi * k / len(zones) for k, z in enumerate(zones)}
        anchor = {z: 3 * np.array([np.cos(a), np.sin(a)]) for z, a in angle.items()}
        scale = 1.2
    rng = np.random.default_rng(seed)
    start = np.array([anchor[z] for z in grid.bus_zone.tolist()]) + rng.normal(0, 0.35, (grid.n_bus, 2))
    g = nx.Graph()
    g.add_nodes_from(range(grid.n_bus))
    g.add_edges_from(zip(grid.line_from.tolist(), grid.line_to.tolist()))
    pos = nx.spring_layout(g, pos={i: start[i] for i in range(grid.n_bus)}, k=0.08, iterations=40, seed=seed,
                           scale=None)
    out = np.array([pos[i] for i in range(grid.n_bus)])
    # keep each zone near its anchor (the layout only arranges buses within a zone)
    for z in zones:
        at = grid.bus_zone == z
        out[at] = anchor[z] + scale * (out[at] - out[at].mean(axis=0)) / max(out[at].std(), 1e-9) * 0.35
    return out


def hour_map_data(buses: pd.DataFrame, hour: int) -> dict[str, np.ndarray]:
    """Per bus at `hour`: LMP, LME, miners' MW, demand (from the `buses` table)."""
    b = buses[buses["hour"] == hour].sort_values("bus")
    return {k: b[k].to_numpy() for k in ("bus", "lmp_usd_per_mwh", "lme_t_per_mwh", "miner_mw", "demand_mw")}


def draw_hour_map(grid, buses: pd.DataFrame, hour: int, title: str = "") -> plt.Figure:
    """Three panels at one hour: miners (MW), LMP (USD/MWh), LME (tCO2/MWh), on the lines."""
    d = hour_map_data(buses, hour)
    pos = bus_positions(grid)
    seg = np.stack([pos[grid.line_from], pos[grid.line_to]], axis=1)
    fig, axes = plt.subplots(1, 3, figsize=(17, 6))
    from matplotlib.collections import LineCollection

    panels = (("miners' draw (MW)", d["miner_mw"], None),
              ("LMP (USD/MWh)", d["lmp_usd_per_mwh"], "viridis"),
              ("marginal emissions (tCO2/MWh)", d["lme_t_per_mwh"], "magma_r"))
    for ax, (name, v, cmap) in zip(axes, panels):
        ax.add_collection(LineCollection(seg, colors="0.8", linewidths=0.4, zorder=1))
        if cmap is None:
            ax.scatter(pos[:, 0], pos[:, 1], s=2, c="0.6", zorder=2)
            on = v > 0
            sc = ax.scatter(pos[on, 0], pos[on, 1], s=4 + 3 * np.sqrt(v[on]), c="tab:orange", alpha=0.7,
                            edgecolors="k", linewidths=0.3, zorder=3)
            ax.set_title(f"{name}\n{v.sum():,.0f} MW at {int(on.sum())} buses", fontsize=10)
        else:
            lo, hi = np.percentile(v, [2, 98])
            sc = ax.scatter(pos[:, 0], pos[:, 1], s=6, c=np.clip(v, lo, hi), cmap=cmap, zorder=2)
            fig.colorbar(sc, ax=ax, shrink=0.8, label=f"{name} (2nd-98th percentile)")
            ax.set_title(f"{name}\nmedian {np.median(v):,.2f}, range {v.min():,.2f} .. {v.max():,.2f}", fontsize=10)
        for z, (x, y) in ZONE_LONLAT.items():
            if z in set(grid.bus_zone.tolist()):
                ax.annotate(z, (x, y + 0.9), ha="center", fontsize=8, color="0.25")
        ax.set_aspect("equal")
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title or f"{grid.name}, hour {hour} (schematic: buses around their zone's position)")
    fig.tight_layout()
    return fig


def write_hour_map(run_dir: str | Path, out: str | Path, hour: int | None = None) -> Path:
    """The map of a run's hour (default: its highest-demand hour) as a PNG."""
    import tomllib

    from simulation.grid import load_grid

    run_dir = Path(run_dir)
    cfg = tomllib.loads((run_dir / "config.toml").read_text())  # the run's resolved config: every key present
    grid = load_grid(cfg["grid"]["case"])
    hourly = pd.read_parquet(run_dir / "hourly.parquet", columns=["hour", "demand_mw"])
    if hour is None:
        hour = int(hourly.loc[hourly["demand_mw"].idxmax(), "hour"])
    bus_log = cfg["run"].get("bus_log", "hourly")
    if not (run_dir / "buses.parquet").exists():
        raise ValueError(f"{run_dir}: the run logged no per-bus table (run.bus_log = {bus_log!r}); run it again "
                         "with --set run.bus_log=hourly to draw its map")
    buses = pd.read_parquet(run_dir / "buses.parquet", filters=[("hour", "==", hour)])
    if buses.empty:
        raise ValueError(f"{run_dir / 'buses.parquet'}: no rows for hour {hour} (run.bus_log = {bus_log!r}"
                         + ("; a daily log keeps each day's last hour, as means" if bus_log == "daily" else "")
                         + "); pass an hour it holds, or run it again with --set run.bus_log=hourly")
    when = pd.Timestamp(cfg["bitcoin"]["time"] + 3600 * hour, unit="s", tz="UTC").tz_convert(
        f"Etc/GMT{-cfg['run']['utc_offset_h']:+d}")
    texas = bool(set(grid.bus_zone.tolist()) & set(ZONE_LONLAT))
    fig = draw_hour_map(grid, buses, hour, title=f"{grid.name}: hour {hour} ({when:%Y-%m-%d %H:00} local), "
                        f"demand {float(hourly.loc[hourly['hour'] == hour, 'demand_mw'].iloc[0]):,.0f} MW "
                        + ("(schematic layout: buses around their ERCOT weather zone)" if texas
                           else "(schematic layout: buses around their zone)"))
    out = Path(out)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return out


if __name__ == "__main__":
    import sys

    try:
        print(write_hour_map(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None))
    except ValueError as e:
        raise SystemExit(f"grid_map: {e}") from None
