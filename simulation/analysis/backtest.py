"""A backtest scored against the real chain, from its logs: simulated vs real difficulty at every
retarget the run reached, the error, and the median and worst |error| after block 840,000; for a
batch of seeds, the band of simulated difficulty against the real one.

Real chain points come from the package (`simulation.bitcoin.history`, the decoded bitcoinj
checkpoints); a run is a backtest when its logged config has `[backtest] enabled = true`.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.bitcoin.history import boundary_at, compare_retargets

#: retargets after this height are out of sample (the 2024 halving) and scored
SCORED_AFTER = 840_000


def is_backtest(folder: Path) -> bool:
    """Whether the run folder's logged config is a backtest."""
    try:
        cfg = tomllib.loads((Path(folder) / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return bool(cfg.get("backtest", {}).get("enabled", False))


def retarget_table(retargets: pd.DataFrame) -> pd.DataFrame:
    """Per simulated retarget that the real chain has: height, real date, simulated and real
    difficulty (T), error (%), and whether it is scored (after block 840,000)."""
    rows = compare_retargets(list(zip(retargets["height"].astype(int), retargets["new_bits"].astype(int))))
    return pd.DataFrame({
        "height": [r.height for r in rows],
        "real_date": [pd.Timestamp(boundary_at(r.height).time, unit="s").strftime("%Y-%m-%d") for r in rows],
        "sim_difficulty_t": [r.sim_difficulty / 1e12 for r in rows],
        "real_difficulty_t": [r.real_difficulty / 1e12 for r in rows],
        "error_pct": [r.error_pct for r in rows],
        "scored": [r.height > SCORED_AFTER for r in rows],
    })


def score(table: pd.DataFrame, column: str = "error_pct") -> tuple[int, float, float]:
    """(retargets scored, median |error| %, worst |error| %) after block 840,000."""
    e = table.loc[table["scored"], column].abs().to_numpy()
    return (len(e), float(np.median(e)), float(e.max())) if len(e) else (0, math.nan, math.nan)


def format_run(name: str, table: pd.DataFrame) -> str:
    n, med, worst = score(table)
    show = table.copy()
    show["error_pct"] = show["error_pct"].map(lambda x: f"{x:+.2f}")
    show["scored"] = show["scored"].map({True: "yes", False: "calibration"})
    return (f"{name}: backtest, simulated vs real difficulty at each retarget\n{show.to_string(index=False, float_format='%.2f')}\n"
            f"after block {SCORED_AFTER:,}: {n} retargets, median |error| {med:.2f} %, worst {worst:.2f} %")


# --- batches --------------------------------------------------------------------------------
def batch_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The retarget table of every complete backtest run in a batch folder, by run id."""
    out = {}
    for run in sorted((Path(folder) / "runs").glob("*")):
        f = run / "retargets.parquet"
        if f.exists() and (run / "summary.json").exists() and is_backtest(run):
            out[run.name] = retarget_table(pd.read_parquet(f))
    return out


def band(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per real retarget: the real difficulty and the seeds' simulated median, min and max (T),
    the median's error and the band's range of errors (%), and how many seeds reached it."""
    long = pd.concat([t.assign(run=k) for k, t in tables.items()], ignore_index=True)
    g = long.groupby("height", sort=True)
    out = pd.DataFrame({
        "real_date": g["real_date"].first(),
        "real_difficulty_t": g["real_difficulty_t"].first(),
        "sim_median_t": g["sim_difficulty_t"].median(),
        "sim_min_t": g["sim_difficulty_t"].min(),
        "sim_max_t": g["sim_difficulty_t"].max(),
        "seeds": g["sim_difficulty_t"].size(),
    }).reset_index()
    out["median_error_pct"] = 100 * (out["sim_median_t"] / out["real_difficulty_t"] - 1)
    out["min_error_pct"] = 100 * (out["sim_min_t"] / out["real_difficulty_t"] - 1)
    out["max_error_pct"] = 100 * (out["sim_max_t"] / out["real_difficulty_t"] - 1)
    out["real_in_band"] = (out["sim_min_t"] <= out["real_difficulty_t"]) & (out["real_difficulty_t"] <= out["sim_max_t"])
    out["scored"] = out["height"] > SCORED_AFTER
    return out


def format_batch(name: str, tables: dict[str, pd.DataFrame]) -> str:
    b = band(tables)
    n, med, worst = score(b, "median_error_pct")
    per_seed = np.array([score(t)[1:] for t in tables.values()])
    show = b.drop(columns=["scored"]).copy()
    for c in ("median_error_pct", "min_error_pct", "max_error_pct"):
        show[c] = show[c].map(lambda x: f"{x:+.2f}")
    scored = b[b["scored"]]
    return (f"{name}: backtest over {len(tables)} seeds, simulated difficulty band vs the real chain\n"
            f"{show.to_string(index=False, float_format='%.2f')}\n"
            f"after block {SCORED_AFTER:,}, the seeds' median path: {n} retargets, median |error| {med:.2f} %, "
            f"worst {worst:.2f} %; real difficulty inside the seeds' band at "
            f"{int(scored['real_in_band'].sum())} of {len(scored)}\n"
            f"per seed: median |error| {np.median(per_seed[:, 0]):.2f} % (range {per_seed[:, 0].min():.2f}-"
            f"{per_seed[:, 0].max():.2f}), worst |error| {np.median(per_seed[:, 1]):.2f} % (range "
            f"{per_seed[:, 1].min():.2f}-{per_seed[:, 1].max():.2f})")


# --- figure ---------------------------------------------------------------------------------
def write_figure(path: Path, *, table: pd.DataFrame | None = None, band_table: pd.DataFrame | None = None,
                 title: str = "Backtest 2024") -> Path:
    """Real vs simulated difficulty per retarget (one run, or a batch's band), and the error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = band_table if band_table is not None else table
    dates = pd.to_datetime(t["real_date"])
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    a.step(dates, t["real_difficulty_t"], where="post", color="k", lw=1.6, label="real chain")
    if band_table is not None:
        a.fill_between(dates, t["sim_min_t"], t["sim_max_t"], step="post", color="tab:orange", alpha=0.3, lw=0,
                       label=f"simulated, min-max over {int(t['seeds'].max())} seeds")
        a.step(dates, t["sim_median_t"], where="post", color="tab:orange", lw=1.2, label="simulated, median")
        err, lo, hi = t["median_error_pct"], t["min_error_pct"], t["max_error_pct"]
    else:
        a.step(dates, t["sim_difficulty_t"], where="post", color="tab:orange", lw=1.2, label="simulated")
        err = lo = hi = t["error_pct"]
    halving = pd.Timestamp(1713571767, unit="s")
    for ax in (a, b):
        ax.axvline(halving, color="tab:red", ls=":", lw=1)
        ax.grid(alpha=0.3)
    a.text(halving, 0.02, " halving: scored after", color="tab:red", fontsize=8, va="bottom",
           transform=a.get_xaxis_transform())
    a.set(ylabel="difficulty (T)", title=title)
    a.legend(loc="upper left", fontsize=8)
    b.bar(dates, err, width=8, color=np.where(t["height"] > SCORED_AFTER, "tab:blue", "lightgrey"))
    if band_table is not None:
        b.vlines(dates, lo, hi, color="tab:blue", lw=1, alpha=0.6)
    for y in (5, -5):
        b.axhline(y, color="tab:green", ls="--", lw=0.8)
    for y in (10, -10):
        b.axhline(y, color="tab:red", ls="--", lw=0.8)
    b.set(ylabel="error (%)", xlabel="retarget (real date)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


__all__ = ["SCORED_AFTER", "band", "batch_tables", "format_batch", "format_run", "is_backtest", "retarget_table",
           "score", "write_figure"]
