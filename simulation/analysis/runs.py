"""Key outcomes of a run, from its log folder alone (never the model).

`outcomes(tables)` reduces a run's tables to named numbers (units in the names), starting from
the same summary the runner writes (`simulation.summary`); `format_table` lays several runs side
by side.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.summary import run_summary


def _per(a: float, b: float) -> float:
    return a / b if b else math.nan


def outcomes(t: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Headline outcomes: the run's summary (`simulation.summary.run_summary`, what the runner
    writes to summary.json) and, from the tables, revenue per MWh by activity, hash-rate and
    difficulty changes, block intervals, grid stress and concentration."""
    h = t["hourly"]
    r = t.get("retargets")
    out: dict[str, float] = run_summary(h, 0 if r is None else len(r))
    mwh = {k: out[f"mwh_{k}"] for k in ("hashing", "ai", "curtailed")}
    out["revenue_hash_usd_per_mwh"] = _per(out["revenue_hash_usd"], mwh["hashing"])
    out["revenue_ai_usd_per_mwh"] = _per(out["revenue_ai_usd"], mwh["ai"])
    out["revenue_dr_usd_per_mwh_curtailed"] = _per(out["revenue_dr_usd"], mwh["curtailed"])
    drawn = mwh["hashing"] + mwh["ai"]
    out["power_cost_usd_per_mwh"] = _per(out["power_cost_usd"], drawn)
    out["margin_usd"] = float((h["revenue_hash_usd"] + h["revenue_ai_usd"] + h["revenue_dr_usd"]
                               - h["power_cost_usd"] - h["other_cost_usd"]).sum())
    out["share_ai_of_drawn"] = _per(mwh["ai"], drawn)
    out["hashrate_change_pct"] = 100 * (out["network_eh_s_end"] / out["network_eh_s_start"] - 1)
    out["local_eh_s_mean"] = float(h["local_eh_s"].mean())
    out["difficulty_change_pct"] = 100 * (out["difficulty_end"] / out["difficulty_start"] - 1)
    out["retarget_changes_pct"] = "" if r is None or not len(r) else " ".join(f"{100 * (x - 1):+.1f}" for x in r["ratio"])
    b = t.get("blocks")
    iv = b["interval_s"].to_numpy() if b is not None and len(b) else np.array([])
    out["block_interval_mean_s"] = float(iv.mean()) if len(iv) else math.nan
    out["block_interval_median_s"] = float(np.median(iv)) if len(iv) else math.nan
    out["block_interval_p95_s"] = float(np.percentile(iv, 95)) if len(iv) else math.nan
    out["hours_congested"] = int((h["congested_lines"] > 0).sum())
    out["grid_stress_hours"] = int(h["grid_stress"].sum())
    out["dr_mwh"] = float(h["dr_mw"].sum())
    if "emissions_hashing_marginal_t" in out:  # logs from before marginal emissions lack these
        out["co2_hashing_average_t_per_mwh"] = _per(out["emissions_hashing_t"], mwh["hashing"])
        out["co2_hashing_marginal_t_per_mwh"] = _per(out["emissions_hashing_marginal_t"], mwh["hashing"])
        out["co2_ai_average_t_per_mwh"] = _per(out["emissions_ai_t"], mwh["ai"])
        out["co2_ai_marginal_t_per_mwh"] = _per(out["emissions_ai_marginal_t"], mwh["ai"])
    return out


def format_table(columns: dict[str, dict[str, float]]) -> str:
    """Aligned text table: one row per outcome, one column per run."""
    names = list(columns)
    keys = list(dict.fromkeys(k for c in columns.values() for k in c))
    cell = lambda v: (f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}") if isinstance(v, float) else str(v)  # noqa: E731
    rows = [[k] + [cell(columns[n].get(k, "")) for n in names] for k in keys]
    head = ["outcome"] + names
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
