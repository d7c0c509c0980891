"""Key outcomes of a run, from its log folder alone (never the model).

`outcomes(tables)` reduces a run's tables to named numbers (units in the names); `compare`
lays several runs side by side.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _per(a: float, b: float) -> float:
    return a / b if b else math.nan


def outcomes(t: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Headline outcomes: revenue per MWh by activity, hash rate, retargets, block intervals,
    grid stress, emissions."""
    h = t["hourly"]
    out: dict[str, float] = {"hours": len(h)}
    mwh = {k: float(h[f"mw_{k}"].sum()) for k in ("hashing", "ai", "curtailed")}
    out |= {f"mwh_{k}": v for k, v in mwh.items()}
    out["revenue_hash_usd_per_mwh"] = _per(h["revenue_hash_usd"].sum(), mwh["hashing"])
    out["revenue_ai_usd_per_mwh"] = _per(h["revenue_ai_usd"].sum(), mwh["ai"])
    out["revenue_dr_usd_per_mwh_curtailed"] = _per(h["revenue_dr_usd"].sum(), mwh["curtailed"])
    drawn = mwh["hashing"] + mwh["ai"]
    out["power_cost_usd_per_mwh"] = _per(h["power_cost_usd"].sum(), drawn)
    out["margin_usd"] = float((h["revenue_hash_usd"] + h["revenue_ai_usd"] + h["revenue_dr_usd"]
                               - h["power_cost_usd"] - h["other_cost_usd"]).sum())
    out["share_ai_of_drawn"] = _per(mwh["ai"], drawn)
    out["network_eh_s_start"] = float(h["network_eh_s"].iloc[0])
    out["network_eh_s_end"] = float(h["network_eh_s"].iloc[-1])
    out["hashrate_change_pct"] = 100 * (out["network_eh_s_end"] / out["network_eh_s_start"] - 1)
    out["local_eh_s_mean"] = float(h["local_eh_s"].mean())
    out["difficulty_change_pct"] = 100 * (float(h["difficulty"].iloc[-1]) / float(h["difficulty"].iloc[0]) - 1)
    out["hashprice_mean_usd_per_ph_day"] = float(h["hashprice_usd_per_ph_day"].mean())
    r = t.get("retargets")
    out["retargets"] = 0 if r is None else len(r)
    out["retarget_changes_pct"] = "" if r is None or not len(r) else " ".join(f"{100 * (x - 1):+.1f}" for x in r["ratio"])
    b = t.get("blocks")
    iv = b["interval_s"].to_numpy() if b is not None and len(b) else np.array([])
    out["blocks"] = int(h["blocks"].sum())
    out["block_interval_mean_s"] = float(iv.mean()) if len(iv) else math.nan
    out["block_interval_median_s"] = float(np.median(iv)) if len(iv) else math.nan
    out["block_interval_p95_s"] = float(np.percentile(iv, 95)) if len(iv) else math.nan
    out["lmp_mean_usd_per_mwh"] = float(h["lmp_mean_usd_per_mwh"].mean())
    out["lmp_peak_usd_per_mwh"] = float(h["lmp_max_usd_per_mwh"].max())
    out["hours_congested"] = int((h["congested_lines"] > 0).sum())
    out["consumer_shed_mwh"] = float(h["consumer_shed_mwh"].sum())
    out["miner_unserved_mwh"] = float(h["miner_unserved_mwh"].sum())
    out["curtailed_renewables_mwh"] = float(h["curtailed_renewables_mwh"].sum())
    out["grid_stress_hours"] = int(h["grid_stress"].sum())
    out["dr_mwh"] = float(h["dr_mw"].sum())
    out["emissions_t"] = float(h["emissions_t"].sum())
    out["emissions_hashing_t"] = float(h["emissions_hashing_t"].sum())
    out["emissions_ai_t"] = float(h["emissions_ai_t"].sum())
    out["hhi_mean"] = float(h["hhi"].mean())
    out["nakamoto_min"] = int(h["nakamoto"].min())
    out["miners_active_end"] = int(h["active_miners"].iloc[-1])
    out["miner_cash_end_usd"] = float(h["miner_cash_usd"].iloc[-1])
    if "mw_committed_ai" in h:
        out["ai_mw_start"] = float(h["mw_committed_ai"].iloc[0])
        out["ai_mw_end"] = float(h["mw_committed_ai"].iloc[-1])
        out["hosting_mw_end"] = float(h["mw_lease"].iloc[-1])
        out["own_gpu_mw_end"] = float(h["mw_own_gpu"].iloc[-1])
        out["asic_mw_end"] = float(h["mw_asic"].iloc[-1])
        out["capex_usd"] = float(h["capex_usd"].iloc[-1])
        out["debt_end_usd"] = float(h["miner_debt_usd"].iloc[-1])
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
