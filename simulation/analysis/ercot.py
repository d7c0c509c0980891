"""A Texas run read as ERCOT's market reads itself, from the run's hourly log alone: prices by
ERCOT load zone and the energy by fuel beside ERCOT's own over the same hours.

**Load zones** (`simulation.grid.ercot.LOAD_ZONES`): ERCOT settles load at load-zone prices, each the load-weighted
average of its buses' prices. The model's buses carry ERCOT's weather zones (ACTIVSg2000's
areas); a load zone here is the weather zones it mostly covers, its hourly price the
demand-weighted mean of their logged prices (`lmp_zone_<zone>_usd_per_mwh`, weighted by
`demand_zone_<zone>_mw`):
- LZ_HOUSTON: Coast (CenterPoint's Houston area);
- LZ_NORTH: North Central, North, East (Dallas-Fort Worth, Oncor's and the north-east's load);
- LZ_SOUTH: South Central, South (Austin-San Antonio, Corpus Christi, the Valley);
- LZ_WEST: West, Far West (Abilene-San Angelo, the Permian).
ERCOT's load zones follow utility territories, not weather zones, so the match is approximate
(parts of the North weather zone settle in LZ_WEST); the municipal zones (LZ_AEN Austin, LZ_CPS
San Antonio, LZ_LCRA, LZ_RAYBN) are folded into the zones around them.

**Fuel mix** (`energy_by_fuel`): the model's generation by kind against ERCOT's "Fuel Mix"
report (shipped: `simulation.grid.ercot`) over the run's hours (each run hour's ERCOT hour,
as the drivers map it). ERCOT's prices are not shipped: nothing here compares or calibrates on
them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.grid.ercot import LOAD_ZONES, SPIKE_USD_PER_MWH, has_ercot_zones, load_zone_prices

#: the model's kinds -> the report's fuel rows, and ERCOT's fuel columns -> the same rows
MODEL_FUEL = {"wind": "wind", "solar": "solar", "gas_cc": "gas", "gas_ct": "gas", "oil": "other", "coal": "coal",
              "nuclear": "nuclear", "hydro": "hydro", "other": "other"}
ERCOT_FUEL = {"wind": "wind", "solar": "solar", "gas_cc": "gas", "gas": "gas", "coal": "coal", "nuclear": "nuclear",
              "hydro": "hydro", "biomass": "other", "other": "other"}
FUEL_ROWS = ("wind", "solar", "gas", "coal", "nuclear", "hydro", "other")
__all__ = ["LOAD_ZONES", "has_ercot_zones", "load_zone_table", "energy_by_fuel", "ercot_report"]


def load_zone_table(hourly: pd.DataFrame) -> pd.DataFrame:
    """Per load zone: mean, P50/P90/P99 and peak of the hourly price (USD/MWh), the share of
    hours below zero and the hours above `SPIKE_USD_PER_MWH`."""
    rows = []
    for lz, p in load_zone_prices(hourly).items():
        p = p[np.isfinite(p)]
        rows.append({"load_zone": lz, "mean": p.mean(), "p50": np.percentile(p, 50), "p90": np.percentile(p, 90),
                     "p99": np.percentile(p, 99), "max": p.max(), "negative_share": float((p < 0).mean()),
                     "hours_above_1000": int((p > SPIKE_USD_PER_MWH).sum())})
    return pd.DataFrame(rows).set_index("load_zone")


def energy_by_fuel(hourly: pd.DataFrame) -> pd.DataFrame:
    """TWh by fuel over the run's hours: the model's (`gen_<kind>_mwh`) and ERCOT's (its fuel-mix
    report at the same hours), with the model's wind and solar curtailed beside them."""
    from simulation.grid.ercot import load_ercot_2024

    year = load_ercot_2024()
    t = hourly["unix_time"].to_numpy(float)
    rows = year.rows(t[0], len(t))
    model = dict.fromkeys(FUEL_ROWS, 0.0)
    for kind, fuel in MODEL_FUEL.items():
        col = f"gen_{kind}_mwh"
        if col in hourly:
            model[fuel] += float(hourly[col].sum()) / 1e6
    ercot = dict.fromkeys(FUEL_ROWS, 0.0)
    for col, fuel in ERCOT_FUEL.items():
        ercot[fuel] += float(year.generation_mw[col][rows].sum()) / 1e6
    cut = {k: float(hourly[f"curtailed_{k}_mwh"].sum()) / 1e6 if f"curtailed_{k}_mwh" in hourly else 0.0
           for k in ("wind", "solar")}
    df = pd.DataFrame({"model_twh": model, "ercot_twh": ercot})
    df["model_share"] = df["model_twh"] / df["model_twh"].sum()
    df["ercot_share"] = df["ercot_twh"] / df["ercot_twh"].sum()
    df["model_curtailed_twh"] = [cut.get(f, 0.0) for f in df.index]
    df.loc["total"] = [df["model_twh"].sum(), df["ercot_twh"].sum(), 1.0, 1.0, sum(cut.values())]
    storage = float(year.generation_mw["wsl"][rows].sum()) / 1e6
    df.attrs["ercot_storage_charging_twh"] = storage
    df.attrs["ercot_native_load_twh"] = float(year.zone_load_mw[rows].sum()) / 1e6
    return df


def ercot_report(hourly: pd.DataFrame, name: str) -> str | None:
    """The two tables as text, or None for a run without ERCOT's weather zones."""
    if not has_ercot_zones(hourly):
        return None
    lz = load_zone_table(hourly)
    lz_text = lz.to_string(float_format=lambda v: f"{v:,.1f}", formatters={"negative_share": "{:.1%}".format})
    fuel = energy_by_fuel(hourly)
    fuel_text = fuel.to_string(float_format=lambda v: f"{v:,.2f}",
                               formatters={"model_share": "{:.1%}".format, "ercot_share": "{:.1%}".format})
    served = (hourly["demand_mw"].sum() - hourly["consumer_shed_mwh"].sum()) / 1e6
    miners = (hourly["mw_hashing"].sum() + hourly["mw_ai"].sum()) / 1e6
    return (f"{name}: prices by ERCOT load zone (model, USD/MWh; hourly, demand-weighted over each zone's weather "
            f"zones; {len(hourly):,} h)\n{lz_text}\n\n"
            f"{name}: energy by fuel, model vs ERCOT's fuel mix over the same hours (TWh)\n{fuel_text}\n"
            f"model: consumers served {served:,.1f} TWh + miners {miners:,.1f} TWh; ERCOT native load "
            f"{fuel.attrs['ercot_native_load_twh']:,.1f} TWh; ERCOT storage charging "
            f"{fuel.attrs['ercot_storage_charging_twh']:,.2f} TWh (discharge is in 'other')")
