"""Miners as load balancers, measured: a batch over `population.flexible` (the miners' response
to price, or the same MW as firm load) and, when swept, `storage.enabled` (batteries or none),
as one table and one figure of grid and miner outcomes (means over the point's replications).

Reads `batch.parquet` only (each run's summary keys, `simulation.summary`), never the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FLEX, STORAGE = "population.flexible", "storage.enabled"
#: (row label, summary key or derived name, divisor)
ROWS = (
    ("renewables curtailed, TWh", "curtailed_renewables_mwh", 1e6),
    ("consumer load shed, GWh", "consumer_shed_mwh", 1e3),
    ("hours above 1,000 USD/MWh (ERCOT load-weighted)", "hours_price_above_1000", 1),
    ("price ERCOT mean / peak, USD/MWh", ("price_ercot_mean_usd_per_mwh", "price_ercot_peak_usd_per_mwh"), 1),
    ("price LZ_WEST mean / peak", ("price_lz_west_mean_usd_per_mwh", "price_lz_west_peak_usd_per_mwh"), 1),
    ("price LZ_NORTH mean / peak", ("price_lz_north_mean_usd_per_mwh", "price_lz_north_peak_usd_per_mwh"), 1),
    ("price LZ_HOUSTON mean / peak", ("price_lz_houston_mean_usd_per_mwh", "price_lz_houston_peak_usd_per_mwh"), 1),
    ("price LZ_SOUTH mean / peak", ("price_lz_south_mean_usd_per_mwh", "price_lz_south_peak_usd_per_mwh"), 1),
    ("system emissions, Mt CO2", "emissions_t", 1e6),
    ("miners' energy, TWh", "miner_mwh", 1e6),
    ("miners' CO2 at average rates, t/MWh", "miner_co2_average_t_per_mwh", 1),
    ("miners' CO2 at marginal rates, t/MWh", "miner_co2_marginal_t_per_mwh", 1),
    ("miners' operating margin, M USD", "miner_margin_usd", 1e6),
    ("demand-response revenue, M USD", "revenue_dr_usd", 1e6),
)
FIGURE = (("renewables curtailed, TWh", "curtailed_renewables_mwh", 1e6),
          ("consumer load shed, GWh", "consumer_shed_mwh", 1e3),
          ("hours above 1,000 USD/MWh", "hours_price_above_1000", 1),
          ("LZ_WEST mean price, USD/MWh", "price_lz_west_mean_usd_per_mwh", 1),
          ("miners' operating margin, M USD", "miner_margin_usd", 1e6),
          ("demand-response revenue, M USD", "revenue_dr_usd", 1e6))


def is_load_balancer(df: pd.DataFrame) -> bool:
    return FLEX in df.columns and df[FLEX].nunique() > 1


def _derived(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["miner_mwh"] = df["mwh_hashing"] + df["mwh_ai"]
    mwh = df["miner_mwh"].where(df["miner_mwh"] > 0)
    df["miner_co2_average_t_per_mwh"] = (df["emissions_hashing_t"] + df["emissions_ai_t"]) / mwh
    df["miner_co2_marginal_t_per_mwh"] = (df["emissions_hashing_marginal_t"] + df["emissions_ai_marginal_t"]) / mwh
    return df


def arms(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, runs) per arm: flexible / firm miners, with / without batteries when swept."""
    ok = _derived(df[df["status"] == "ok"])
    keys = [FLEX] + ([STORAGE] if STORAGE in ok.columns and ok[STORAGE].nunique() > 1 else [])
    out = []
    for values, g in ok.groupby(keys, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        label = "miners flexible" if bool(values[0]) else "miners firm"
        if len(values) > 1:
            label += ", batteries" if bool(values[1]) else ", no batteries"
        out.append((label, g))
    order = {"miners flexible": 0, "miners firm": 1}
    return sorted(out, key=lambda a: (order.get(a[0].split(",")[0], 2), "no batteries" in a[0]))


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of `ROWS`, a column per arm (means over its replications; 'mean / peak' pairs as text)."""
    cols = {}
    for label, g in arms(df):
        col = {}
        for name, key, div in ROWS:
            if isinstance(key, tuple):
                if all(k in g for k in key):
                    col[name] = " / ".join(f"{g[k].mean() / div:,.1f}" for k in key)
            elif key in g:
                v = g[key].mean() / div
                col[name] = f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        col["runs"] = str(len(g))
        cols[label] = col
    return pd.DataFrame(cols)


def report(folder: Path, df: pd.DataFrame, figures: bool = True) -> str:
    t = table(df)
    t.to_csv(folder / "load_balancer.csv")
    text = "miners as load balancers (means over replications; load_balancer.csv)\n" + t.to_string()
    if figures:
        text += f"\nfigure: {write_figure(folder / 'load_balancer.png', df)}"
    return text


def write_figure(path: Path, df: pd.DataFrame) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = arms(df)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    colours = ["#2b8cbe", "#e34a33", "#7bccc4", "#fdbb84"]
    for ax, (name, key, div) in zip(axes.ravel(), FIGURE):
        vals = [g[key].mean() / div if key in g else np.nan for _, g in a]
        ax.bar(range(len(a)), vals, color=colours[:len(a)])
        ax.set_xticks(range(len(a)), [lbl.replace(", ", "\n") for lbl, _ in a], fontsize=8)
        ax.set_title(name, fontsize=10)
        for i, v in enumerate(vals):
            if np.isfinite(v):
                ax.annotate(f"{v:,.3g}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.suptitle("Miners as load balancers on ERCOT's 2024 hours: flexible vs the same MW as firm load")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
