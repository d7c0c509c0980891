"""A with/without comparison in a batch: runs that differ only by one boolean switch (the halving,
`bitcoin.halving`) and share their seeds (a sweep with `common_seeds = true`). Paired by
replication, so each difference is one seed's causal effect of the switch.

Reads the batch folder only (`batch.parquet`, and each run's `hourly` and `investments` tables).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.analysis.sweeps import mean_ci

#: the switch compared, and the outcomes shown per pair
SWITCH = "bitcoin.halving"
PAIRED_OUTCOMES = ("ai_mw_end", "hosting_mw_end", "own_gpu_mw_end", "asic_mw_end", "capex_usd", "debt_end_usd",
                   "hashprice_mean_usd_per_ph_day", "network_eh_s_end", "consumer_shed_mwh", "miner_cash_end_usd")
#: facility MW by use (hourly columns) in the figure
USES = (("mw_asic", "ASICs installed (hashing)"), ("mw_lease", "hosting leases (signed)"),
        ("mw_own_gpu", "own GPUs (installed or ordered)"), ("mw_converting", "converting (not yet running)"),
        ("mw_curtailed", "curtailed"))
#: the block whose subsidy halves (the timing comparison counts commitments before it and a year after)
HALVING_HEIGHT = 840_000
COMMITMENTS = ("lease_signed", "gpu_order")


def is_counterfactual(df: pd.DataFrame) -> bool:
    return SWITCH in df and set(df[SWITCH].dropna().astype(bool)) == {True, False}


def paired(df: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One row per replication with both arms ok: the outcome with and without, and the difference."""
    ok = df[df["status"] == "ok"]
    on = ok[ok[SWITCH].astype(bool)].set_index("replication")[outcome]
    off = ok[~ok[SWITCH].astype(bool)].set_index("replication")[outcome]
    both = on.index.intersection(off.index)
    out = pd.DataFrame({"with": on[both], "without": off[both]})
    out["difference"] = out["with"] - out["without"]
    return out.sort_index()


def commitment_timing(folder: Path, df: pd.DataFrame) -> pd.DataFrame:
    """Per run with the switch on: facility MW committed to AI (leases signed, GPUs ordered) before
    block 840,000 and in the year after it, from each run's own tables."""
    from simulation.output import read_run

    rows = []
    for _, r in df[(df["status"] == "ok") & df[SWITCH].astype(bool)].iterrows():
        tables = read_run(Path(folder) / "runs" / r["run_id"])
        h, inv = tables["hourly"], tables.get("investments")
        after = h.loc[h["height"] >= HALVING_HEIGHT, "hour"]
        if inv is None or not len(after):
            continue
        t0 = int(after.iloc[0])
        committed = inv[inv["kind"].isin(COMMITMENTS)]
        before = float(committed.loc[committed["hour"] < t0, "mw"].sum())
        year = float(committed.loc[(committed["hour"] >= t0) & (committed["hour"] < t0 + 8760), "mw"].sum())
        covered = float(h["hour"].iloc[-1] - t0 + 1) / 8760.0
        rows.append({"replication": r["replication"], "halving_hour": t0, "mw_before": before, "mw_year_after": year,
                     "year_covered": min(covered, 1.0)})
    return pd.DataFrame(rows)


def report(folder: Path, df: pd.DataFrame) -> str:
    """Text: each outcome's paired differences (seeds where with > without, mean difference and its
    95 % CI), then the timing of commitments."""
    lines = [f"counterfactual: {SWITCH} = true vs false, paired by seed (difference = with - without)"]
    rows = []
    for o in PAIRED_OUTCOMES:
        if o not in df:
            continue
        p = paired(df, o)
        if not len(p):
            continue
        m, lo, hi, n = mean_ci(p["difference"])
        rows.append({"outcome": o, "with (mean)": p["with"].mean(), "without (mean)": p["without"].mean(),
                     "seeds with > without": f"{int((p['difference'] > 0).sum())}/{n}",
                     "mean difference [95 % CI]": _ci(m, lo, hi)})
    if rows:
        lines.append(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
    if "ai_mw_end" in df:
        p = paired(df, "ai_mw_end")
        lines.append("ai_mw_end per seed (MW):\n" + p.to_string(float_format=lambda x: f"{x:,.2f}"))
    timing = commitment_timing(folder, df)
    if len(timing):
        b, y = timing["mw_before"].sum(), timing["mw_year_after"].sum()
        months_before = timing["halving_hour"].mean() / 730.0
        lines.append(
            f"AI commitments (leases signed, GPUs ordered; facility MW, with the halving), over {len(timing)} seeds: "
            f"{b:,.1f} MW in the {months_before:.1f} months before block {HALVING_HEIGHT:,} "
            f"({b / max(months_before, 1e-9) / len(timing):,.2f} MW/month per run), {y:,.1f} MW in the year after "
            f"({y / 12 / len(timing):,.2f} MW/month per run; {timing['year_covered'].min():.0%} of that year simulated); "
            f"before / year after = {b / y if y else math.nan:.2f}")
    return "\n\n".join(lines)


def _ci(m, lo, hi) -> str:
    f = lambda x: f"{x:,.4g}" if abs(x) < 1e5 else f"{x:,.0f}"  # noqa: E731
    return "-" if not math.isfinite(m) else (f(m) if not math.isfinite(lo) else f"{f(m)} [{f(lo)}, {f(hi)}]")


def use_series(folder: Path, df: pd.DataFrame, every_hours: int = 168) -> dict[bool, dict[str, np.ndarray]]:
    """Per arm: day (x) and per use an (n_seeds, n_periods) array of the facility MW, means over
    `every_hours` (a week); "halving_day": the day block 840,000 falls on in the first run."""
    from simulation.output import read_run

    out: dict[bool, dict[str, list]] = {}
    for _, r in df[df["status"] == "ok"].iterrows():
        arm = bool(r[SWITCH])
        h = read_run(Path(folder) / "runs" / r["run_id"])["hourly"]
        day = (h["hour"] // every_hours).to_numpy()
        d = out.setdefault(arm, {"x": None})
        if arm and "halving_day" not in d and (h["height"] >= HALVING_HEIGHT).any():
            d["halving_day"] = float(h.loc[h["height"] >= HALVING_HEIGHT, "hour"].iloc[0]) / 24.0
        for col, _ in USES:
            if col in h:
                means = pd.Series(h[col].to_numpy()).groupby(day).mean().to_numpy()
                d.setdefault(col, []).append(means)
        d["x"] = np.unique(day) * every_hours / 24.0
    res = {}
    for arm, d in out.items():
        halving_day = d.pop("halving_day", None)
        n = min(len(v) for k, v in d.items() if k != "x" for v in v)
        res[arm] = {"x": d["x"][:n], **{k: np.array([v[:n] for v in vs]) for k, vs in d.items() if k != "x"}}
        if halving_day is not None:
            res[arm]["halving_day"] = halving_day
    return res


def write_figure(folder: Path, df: pd.DataFrame) -> Path:
    """`counterfactual_mw_by_use.png`: facility MW by use over time, with and without the switch
    (mean over seeds, band = 95 % CI of the mean)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = use_series(folder, df)
    cols = [(c, label) for c, label in USES if any(c in s and np.any(s[c] != 0) for s in series.values())]
    halving_day = series.get(True, {}).get("halving_day")
    fig, axes = plt.subplots(1, len(cols), figsize=(3.6 * len(cols), 3.4), squeeze=False)
    style = {True: ("tab:red", "with the halving"), False: ("tab:blue", "without (subsidy stays 6.25 BTC)")}
    for ax, (col, label) in zip(axes[0], cols):
        for arm in (True, False):
            s = series.get(arm)
            if s is None or col not in s:
                continue
            v = s[col]
            mean = v.mean(axis=0)
            half = (_t975(len(v) - 1) * v.std(axis=0, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else np.zeros_like(mean)
            color, name = style[arm]
            ax.plot(s["x"], mean, color=color, lw=1.2, label=name)
            ax.fill_between(s["x"], mean - half, mean + half, color=color, alpha=0.2, lw=0)
        if halving_day is not None:
            ax.axvline(halving_day, color="0.3", ls="--", lw=0.8)
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("days from the start", fontsize=8)
        ax.set_ylabel("facility MW", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    n = df["replication"].nunique()
    fig.suptitle(f"Facility MW by use (weekly means), with and without the halving (dashed: block 840,000): "
                 f"mean over {n} seeds, 95 % band", fontsize=9)
    fig.tight_layout()
    path = Path(folder) / "counterfactual_mw_by_use.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _t975(df: int) -> float:
    from simulation.analysis.sweeps import t975

    return t975(df)
