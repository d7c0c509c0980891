"""Two causes crossed: the halving (`bitcoin.halving`) and AI tenants' demand
(`markets.ai.tenants.demand`: "capex", the 2024-25 path, vs "flat"), in a 2 x 2 batch with common
random numbers (`common_seeds = true`). Per replication the four arms share a seed, so each
contrast below is one seed's causal effect; over seeds, mean and Student t 95 % CI.

With y(h, d) an outcome at halving h in {on, off} and demand d in {2024-25, flat}:

    halving effect     = [y(on, 2024-25) - y(off, 2024-25) + y(on, flat) - y(off, flat)] / 2
    demand effect      = [y(on, 2024-25) - y(on, flat) + y(off, 2024-25) - y(off, flat)] / 2
    interaction        = [y(on, 2024-25) - y(off, 2024-25)] - [y(on, flat) - y(off, flat)]

plus the simple effects (the halving at 2024-25 demand, the demand with the halving). Reads the batch
folder only: `batch.parquet`, and each run's `leases` and `hourly` tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.analysis.sweeps import mean_ci

HALVING = "bitcoin.halving"
DEMAND = "markets.ai.tenants.demand"
#: outcomes per run: IT MW of leases signed (all, and after the calibration window), facility MW
#: committed to AI at the end, ASIC MW at the end, mean hashprice
OUTCOMES = ("signed_it_mw", "signed_it_mw_after_window", "ai_mw_end", "asic_mw_end", "hashprice_mean_usd_per_ph_day")
CONTRASTS = ("halving effect (mean over demand)", "demand effect (mean over halving)",
             "halving effect at 2024-25 demand", "halving effect at flat demand",
             "demand effect with the halving", "interaction (halving x demand)")


def is_factorial(df: pd.DataFrame) -> bool:
    """A batch crossing the halving with tenants' demand (both values of each)."""
    return (HALVING in df and DEMAND in df and set(df[HALVING].dropna().astype(bool)) == {True, False}
            and set(df[DEMAND].dropna()) == {"capex", "flat"})


def run_outcomes(folder: Path, df: pd.DataFrame, quarterly: dict | None = None) -> pd.DataFrame:
    """One row per ok run: replication, arm and the OUTCOMES (from its tables and batch row);
    `quarterly`, if given, receives each run's `pivot.quarterly_table` by (halving, demand, replication)."""
    from simulation.analysis.pivot import CALIBRATION_END, quarterly_table
    from simulation.output import read_run

    cut = CALIBRATION_END.timestamp()
    rows = []
    for _, r in df[df["status"] == "ok"].iterrows():
        t = read_run(Path(folder) / "runs" / r["run_id"], columns={"hourly": ["hour", "unix_time"]})
        leases = t.get("leases")
        if quarterly is not None:
            fleet = float(t["miner_info"]["interconnect_mw"].sum()) if "miner_info" in t else float("nan")
            quarterly[(bool(r[HALVING]), str(r[DEMAND]), int(r["replication"]))] = quarterly_table(leases, t["hourly"], fleet)
        it = leases["it_mw"].to_numpy() if leases is not None else np.zeros(0)
        when = leases["unix_time"].to_numpy() if leases is not None else np.zeros(0)
        rows.append({"replication": int(r["replication"]), "halving": bool(r[HALVING]), "demand": str(r[DEMAND]),
                     "signed_it_mw": float(it.sum()), "signed_it_mw_after_window": float(it[when >= cut].sum()),
                     **{o: float(r[o]) for o in OUTCOMES[2:] if o in r}})
    return pd.DataFrame(rows)


def contrasts(runs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Per replication with all four arms: the arms' values and the CONTRASTS."""
    w = runs.pivot_table(index="replication", columns=["halving", "demand"], values=outcome, aggfunc="first")
    need = [(True, "capex"), (False, "capex"), (True, "flat"), (False, "flat")]
    w = w.dropna(subset=[c for c in need if c in w.columns])
    if not all(c in w.columns for c in need):
        return pd.DataFrame()
    on_d, off_d, on_f, off_f = (w[c] for c in need)
    return pd.DataFrame({
        "on, 2024-25": on_d, "off, 2024-25": off_d, "on, flat": on_f, "off, flat": off_f,
        CONTRASTS[0]: ((on_d - off_d) + (on_f - off_f)) / 2,
        CONTRASTS[1]: ((on_d - on_f) + (off_d - off_f)) / 2,
        CONTRASTS[2]: on_d - off_d,
        CONTRASTS[3]: on_f - off_f,
        CONTRASTS[4]: on_d - on_f,
        CONTRASTS[5]: (on_d - off_d) - (on_f - off_f),
    })


def effects_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per outcome and contrast: mean [95 % CI] over seeds, and seeds with a positive effect."""
    rows = []
    for o in OUTCOMES:
        if o not in runs:
            continue
        c = contrasts(runs, o)
        if not len(c):
            continue
        arms = {k: c[k].mean() for k in ("on, 2024-25", "off, 2024-25", "on, flat", "off, flat")}
        for name in CONTRASTS:
            m, lo, hi, n = mean_ci(c[name])
            rows.append({"outcome": o, "contrast": name, "mean": m, "ci_low": lo, "ci_high": hi, "n": n,
                         "seeds_positive": int((c[name] > 0).sum()), **{f"mean {k}": v for k, v in arms.items()}})
    return pd.DataFrame(rows)


def _cell(m, lo, hi) -> str:
    f = lambda x: f"{x:+,.1f}"  # noqa: E731
    return "-" if not math.isfinite(m) else (f(m) if not math.isfinite(lo) else f"{f(m)} [{f(lo)}, {f(hi)}]")


def quarterly_band(quarterly: dict, halving: bool, demand: str) -> pd.DataFrame:
    """Per quarter, over one arm's seeds: cumulative IT MW signed (mean, min, max) and its share of
    the fleet (mean), next to the real calibration-window deals."""
    tables = [t for (h, d, _), t in quarterly.items() if h == halving and d == demand]
    if not tables:
        return pd.DataFrame()
    long = pd.concat(tables)
    g = long.groupby("quarter", sort=True)
    return pd.DataFrame({"seeds": g.size(), "cumulative_it_mw_mean": g["cumulative_it_mw"].mean(),
                         "min": g["cumulative_it_mw"].min(), "max": g["cumulative_it_mw"].max(),
                         "share_of_fleet_mean": g["share_of_fleet"].mean(), "period": g["period"].first(),
                         "real_cumulative_it_mw": g["real_cumulative_it_mw"].first()}).reset_index()


def report(folder: Path, df: pd.DataFrame) -> str:
    quarterly: dict = {}
    runs = run_outcomes(folder, df, quarterly)
    if not len(runs):
        return "causes: no successful runs"
    table = effects_table(runs)
    table.to_csv(Path(folder) / "causes.csv", index=False)
    parts = ["causes: halving (on/off) x tenants' demand (2024-25 capex path / flat), paired by seed; "
             f"mean [95 % CI] over seeds; all numbers in {Path(folder) / 'causes.csv'}"]
    for o, g in table.groupby("outcome", sort=False):
        arms = g.iloc[0]
        head = (f"{o}: arm means (halving, demand): on/2024-25 {arms['mean on, 2024-25']:,.1f}, off/2024-25 "
                f"{arms['mean off, 2024-25']:,.1f}, on/flat {arms['mean on, flat']:,.1f}, off/flat {arms['mean off, flat']:,.1f}")
        show = pd.DataFrame({"contrast": g["contrast"], "mean [95 % CI]": [_cell(*x) for x in zip(g["mean"], g["ci_low"], g["ci_high"])],
                             "seeds > 0": [f"{p}/{n}" for p, n in zip(g["seeds_positive"], g["n"])]})
        parts.append(head + "\n" + show.to_string(index=False))
    for arm in ((True, "capex"), (True, "flat"), (False, "capex"), (False, "flat")):
        band = quarterly_band(quarterly, *arm)
        if len(band):
            band.to_csv(Path(folder) / f"quarterly_{'halving' if arm[0] else 'no_halving'}_{arm[1]}.csv", index=False)
            if arm == (True, "capex"):
                show = band.copy()
                show["share_of_fleet_mean"] = show["share_of_fleet_mean"].map(lambda x: f"{100 * x:.1f} %")
                show["real_cumulative_it_mw"] = show["real_cumulative_it_mw"].map(
                    lambda x: "" if not np.isfinite(x) else f"{x:,.0f}")
                parts.append("cumulative IT MW signed by quarter, halving on and 2024-25 demand (the backtest's arm), "
                             "over seeds:\n" + show.to_string(index=False, float_format=lambda x: f"{x:,.0f}"))
    per_seed = contrasts(runs, "signed_it_mw")
    if len(per_seed):
        parts.append("signed IT MW per seed:\n" + per_seed.to_string(float_format=lambda x: f"{x:,.1f}"))
    return "\n\n".join(parts)
