"""PNG figures of one run, each drawn from data that `figure_data` extracts from the logs (so a
test can check that what is plotted is what was logged)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FIGURES = ("hashrate_difficulty", "mw_split", "lmp_heatmap", "lmp_duration", "miner_cash", "block_intervals")
#: the columns the figures read of the per-bus and per-agent tables (a year of ACTIVSg2000 logs
#: 17.5 million bus rows: reading only these keeps `analyse` to a fraction of the memory)
COLUMNS = {"buses": ("hour", "bus", "lmp_usd_per_mwh"), "agents": ("hour", "miner", "cash_usd")}
#: the LMP heat map's most columns: the figure is ~1,000 pixels wide, so a longer run is drawn as
#: means over blocks of hours (drawn hour by hour, the renderer would silently drop hours instead)
HEATMAP_COLUMNS = 1000


def figure_data(t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """The arrays behind every figure, straight from the tables."""
    h = t["hourly"]
    days = h["hour"].to_numpy() / 24.0
    data = {
        "hashrate_difficulty": {"day": days, "network_eh_s": h["network_eh_s"].to_numpy(),
                                "local_eh_s": h["local_eh_s"].to_numpy(), "difficulty": h["difficulty"].to_numpy()},
        "mw_split": {"day": days, "hashing": h["mw_hashing"].to_numpy(), "ai": h["mw_ai"].to_numpy(),
                     "curtailed": h["mw_curtailed"].to_numpy()},
    }
    buses = t.get("buses")
    if buses is not None and len(buses):
        lmp, bus, hour = bus_by_hour(buses, "lmp_usd_per_mwh")
        k = -(-len(hour) // HEATMAP_COLUMNS)  # logged rows per drawn column
        step_h = int(np.diff(hour).max()) if len(hour) > 1 else 1  # 24: a daily bus log's means
        data["lmp_heatmap"] = {"lmp": block_means(lmp, k), "bus": bus, "hour": hour, "block_h": k * step_h}
        data["lmp_duration"] = {"mean": np.sort(h["lmp_mean_usd_per_mwh"].to_numpy())[::-1],
                                "max": np.sort(h["lmp_max_usd_per_mwh"].to_numpy())[::-1]}
    agents = t.get("agents")
    if agents is not None and len(agents):
        last = agents[agents["hour"] == agents["hour"].max()]
        data["miner_cash"] = {"cash_usd": last.sort_values("miner")["cash_usd"].to_numpy()}
    blocks = t.get("blocks")
    if blocks is not None and len(blocks):
        data["block_intervals"] = {"interval_s": blocks["interval_s"].to_numpy(),
                                   "time": blocks["time"].to_numpy()}
    return data


def bus_by_hour(buses: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`column` of the per-bus table as a bus x hour array, with its buses and hours (sorted; NaN
    where a pair is missing): what `DataFrame.pivot` gives, without its copies of the table."""
    bus_i, bus = pd.factorize(buses["bus"], sort=True)
    hour_i, hour = pd.factorize(buses["hour"], sort=True)
    grid = np.full((len(bus), len(hour)), np.nan)
    grid[bus_i, hour_i] = buses[column].to_numpy()
    return grid, np.asarray(bus), np.asarray(hour)


def block_means(grid: np.ndarray, k: int) -> np.ndarray:
    """Means of `grid`'s columns in consecutive blocks of `k` (the last block may be shorter)."""
    if k <= 1:
        return grid
    n = grid.shape[1]
    padded = np.full((grid.shape[0], -(-n // k) * k), np.nan)
    padded[:, :n] = grid
    blocks = padded.reshape(grid.shape[0], -1, k)
    counts = np.isfinite(blocks).sum(axis=2)
    sums = np.where(np.isfinite(blocks), blocks, 0.0).sum(axis=2)
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)


def draw_figures(t: dict[str, pd.DataFrame]) -> dict[str, plt.Figure]:
    """Every figure the run's logs allow, as matplotlib figures (name -> figure)."""
    data = figure_data(t)
    return {name: draw(data[name]) for name, draw in DRAW.items() if name in data}


def write_figures(t: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Draw every figure the run's logs allow into `folder` as PNG; returns the files written."""
    written = []
    for name, fig in draw_figures(t).items():
        path = Path(folder) / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def write_network_figure(t: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Network-only run: scripted hash rate, difficulty, and block intervals over time."""
    h, blocks = t["hourly"], t.get("blocks")
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    days = h["hour"].to_numpy() / 24.0
    a.plot(days, h["hashrate_eh_s"], color="tab:orange", label="hash rate (scripted)")
    a.set(ylabel="EH/s", title="Bitcoin network under a scripted hash rate")
    a2 = a.twinx()
    a2.step(days, h["difficulty"] / 1e12, where="post", color="k", lw=1, label="difficulty")
    a2.set_ylabel("difficulty (T)")
    lines = a.get_legend_handles_labels()[0] + a2.get_legend_handles_labels()[0]
    a.legend(lines, [ln.get_label() for ln in lines], loc="lower left")
    if blocks is not None and len(blocks) > 1:
        t_blk = blocks["time"].to_numpy()
        iv = np.diff(t_blk)
        bday = (t_blk[1:] - int(h["time"].iloc[0]) + 3600) / 86400
        b.plot(bday, pd.Series(iv).rolling(144, min_periods=1).mean(), color="tab:purple")
    b.axhline(600, color="tab:red", ls="--", label="600 s target")
    b.set(xlabel="day", ylabel="mean interval, last 144 blocks (s)")
    b.legend(loc="upper left")
    path = Path(folder) / "network.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _hashrate(d):
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(d["day"], d["network_eh_s"], label="network", color="tab:orange")
    ax.plot(d["day"], d["local_eh_s"], label="our grid's miners", color="tab:red")
    ax.set(xlabel="day", ylabel="hash rate (EH/s)", title="Hash rate and difficulty")
    ax2 = ax.twinx()
    ax2.step(d["day"], d["difficulty"] / 1e12, where="post", color="k", lw=1, label="difficulty")
    ax2.set_ylabel("difficulty (T)")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [ln.get_label() for ln in lines], loc="lower left")
    return fig


def _mw_split(d):
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.stackplot(d["day"], d["hashing"], d["ai"], d["curtailed"], labels=["hashing", "AI", "curtailed"],
                 colors=["tab:orange", "tab:blue", "lightgrey"], step="post")
    ax.set(xlabel="day", ylabel="MW", title="Miners' power: hashing / AI / curtailed")
    ax.legend(loc="upper left")
    return fig


def _lmp_heatmap(d):
    fig, ax = plt.subplots(figsize=(10, 5))
    lmp = d["lmp"]
    lo, hi = np.nanpercentile(lmp, [1, 99])  # a few buses' extremes would wash out the rest
    im = ax.imshow(lmp, aspect="auto", cmap="magma", vmin=min(0.0, float(lo)), vmax=max(float(hi), 1.0),
                   extent=(d["hour"][0] / 24, (d["hour"][-1] + 1) / 24, len(d["bus"]) - 0.5, -0.5),
                   interpolation="nearest")
    what = "LMP" if d["block_h"] == 1 else f"LMP, mean over {d['block_h']} h"
    fig.colorbar(im, ax=ax, label=f"{what} (USD/MWh, 1st-99th percentile)")
    ax.set(xlabel="day", ylabel="bus index", title="Locational marginal prices")
    return fig


def _lmp_duration(d):
    fig, ax = plt.subplots(figsize=(8, 4))
    for key, label in (("max", "max over buses"), ("mean", "mean over buses")):
        ax.plot(np.arange(len(d[key])), d[key], label=label)
    ax.set(xlabel="hours (sorted)", ylabel="LMP (USD/MWh)", title="LMP duration curve", yscale="symlog")
    ax.legend()
    return fig


def _cash(d):
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(d["cash_usd"] / 1e6, bins=min(30, max(5, len(d["cash_usd"]) // 2)), color="tab:green")
    ax.axvline(0, color="k", lw=1)
    ax.set(xlabel="cash at the end (million USD)", ylabel="miners", title="Miner cash distribution")
    return fig


def _intervals(d):
    iv = d["interval_s"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.hist(iv, bins=60, density=True, color="tab:purple", alpha=0.7, label="simulated")
    x = np.linspace(0, max(float(iv.max()), 1.0), 200)
    mean = float(iv.mean()) if len(iv) else 600.0
    a.plot(x, np.exp(-x / mean) / mean, "k", lw=1, label=f"exponential, mean {mean:.0f} s")
    a.axvline(600, color="tab:red", ls="--", label="600 s target")
    a.set(xlabel="block interval (s)", ylabel="density", title="Block intervals")
    a.legend()
    days = (d["time"] - d["time"][0]) / 86400
    roll = pd.Series(iv).rolling(144, min_periods=1).mean()
    b.plot(days, roll, color="tab:purple")
    b.axhline(600, color="tab:red", ls="--")
    b.set(xlabel="day", ylabel="mean interval, last 144 blocks (s)", title="Block interval over time")
    return fig


DRAW = {"hashrate_difficulty": _hashrate, "mw_split": _mw_split, "lmp_heatmap": _lmp_heatmap,
        "lmp_duration": _lmp_duration, "miner_cash": _cash, "block_intervals": _intervals}
