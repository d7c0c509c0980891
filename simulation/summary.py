"""A run's headline numbers, from its logged hourly columns alone: what `summary.json` holds and
what `analyse` starts its outcomes from (one definition for both)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def run_summary(hourly: Mapping, retargets: int, miners: int | None = None) -> dict:
    """Headline outcomes (units in the keys) from the hourly table's columns (arrays or pandas
    Series), the number of retargets logged and, when known, the number of miners."""
    h = {k: np.asarray(hourly[k]) for k in hourly.keys()}
    mean = lambda k: float(np.nanmean(h[k])) if np.isfinite(h[k]).any() else math.nan  # noqa: E731
    mwh = lambda k: float(h[k].sum())  # noqa: E731  MW over one-hour steps = MWh
    hours = len(h["hour"])
    blocks = int(h["blocks"].sum())
    out = {"hours": hours}
    if miners is not None:
        out["miners"] = int(miners)
    out |= {
        "miners_active_end": int(h["active_miners"][-1]),
        "blocks": blocks,
        "mean_block_interval_s": (hours * 3600.0 / max(blocks, 1)),
        "retargets": int(retargets),
        "difficulty_start": float(h["difficulty"][0]),
        "difficulty_end": float(h["difficulty"][-1]),
        "network_eh_s_start": float(h["network_eh_s"][0]),
        "network_eh_s_end": float(h["network_eh_s"][-1]),
        "hashprice_mean_usd_per_ph_day": mean("hashprice_usd_per_ph_day"),
        "btc_price_end_usd": float(h["btc_price_usd"][-1]),
        "mwh_hashing": mwh("mw_hashing"),
        "mwh_ai": mwh("mw_ai"),
        "mwh_curtailed": mwh("mw_curtailed"),
        "revenue_hash_usd": mwh("revenue_hash_usd"),
        "revenue_ai_usd": mwh("revenue_ai_usd"),
        "revenue_dr_usd": mwh("revenue_dr_usd"),
        "power_cost_usd": mwh("power_cost_usd"),
        "lmp_mean_usd_per_mwh": mean("lmp_mean_usd_per_mwh"),
        "lmp_peak_usd_per_mwh": float(h["lmp_max_usd_per_mwh"].max()),
        "consumer_shed_mwh": mwh("consumer_shed_mwh"),
        "miner_unserved_mwh": mwh("miner_unserved_mwh"),
        "curtailed_renewables_mwh": mwh("curtailed_renewables_mwh"),
        "emissions_t": mwh("emissions_t"),
        "emissions_hashing_t": mwh("emissions_hashing_t"),
        "emissions_ai_t": mwh("emissions_ai_t"),
        "miner_cash_end_usd": float(h["miner_cash_usd"][-1]),
        "hhi_mean": mean("hhi"),
        "nakamoto_min": int(h["nakamoto"].min()),
    }
    if "emissions_hashing_marginal_t" in h:  # logs from before marginal emissions lack these
        out |= {
            "emissions_hashing_marginal_t": mwh("emissions_hashing_marginal_t"),
            "emissions_ai_marginal_t": mwh("emissions_ai_marginal_t"),
        }
    if "mw_committed_ai" in h:  # logs from before the pivot economics lack these
        out |= {
            "ai_mw_start": float(h["mw_committed_ai"][0]),
            "ai_mw_end": float(h["mw_committed_ai"][-1]),
            "hosting_mw_end": float(h["mw_lease"][-1]),
            "own_gpu_mw_end": float(h["mw_own_gpu"][-1]),
            "asic_mw_end": float(h["mw_asic"][-1]),
            "capex_usd": float(h["capex_usd"][-1]),
            "debt_end_usd": float(h["miner_debt_usd"][-1]),
        }
    if "ruc_units" in h:  # grids with a unit commitment: what the reliability commitment did
        out |= {"ruc_units": int(h["ruc_units"].sum()), "ruc_hours": int(np.count_nonzero(h["ruc_units"]))}
    if "revenue_hash_usd" in h and "other_cost_usd" in h:  # the miners' operating margin over the run
        out["miner_margin_usd"] = (mwh("revenue_hash_usd") + mwh("revenue_ai_usd") + mwh("revenue_dr_usd")
                                   - mwh("power_cost_usd") - mwh("other_cost_usd"))
    from simulation.grid.ercot import has_ercot_zones, load_zone_summary

    if has_ercot_zones(h):  # a run on ERCOT's weather zones: prices by ERCOT load zone, price spikes
        out |= load_zone_summary(h)
    if "storage_mw" in h:  # grids with batteries: what they moved and earned
        out |= {"storage_charge_mwh": mwh("storage_charge_mw"), "storage_discharge_mwh": mwh("storage_discharge_mw"),
                "storage_revenue_usd": mwh("storage_revenue_usd")}
    if "security_budget_usd_per_day" in h:  # logs from before the security columns lack them
        out |= {
            "security_budget_usd_per_day_mean": mean("security_budget_usd_per_day"),
            "attack_rent_usd_per_h_mean": mean("attack_rent_usd_per_h"),
            "attack_build_usd_end": float(h["attack_build_usd"][-1]),
        }
    return out
