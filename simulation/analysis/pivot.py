"""The pivot by quarter, from a run's logs: the IT MW of hosting leases signed each quarter, the
cumulative IT MW and its share of the fleet, next to the real deals of the calibration window.

Reads the run folder only: `leases.parquet` (one row per signed lease: its UTC date and IT MW),
`miner_info.parquet` (the fleet's interconnect MW), `hourly.parquet` (the run's span) and
`config.toml` (whether tenants' demand drives the offers, and the facility MW per MW of IT).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

#: the end of the calibration window (exclusive): deals announced up to 2024-09-30 calibrate the
#: model; later commitments are predictions (the domain notes' "AI/HPC deal terms", calibration window)
CALIBRATION_END = pd.Timestamp("2024-10-01", tz="UTC")
#: the real deals of the calibration window, MW of critical IT load (announcements; the domain
#: notes): Core Scientific - CoreWeave 16 MW (Feb 2024), 200 MW (June 2024, 12 years, >3.5 B USD),
#: options taking the 200 MW to 382 MW (Aug 2024)
REAL_WINDOW_DEALS = (("2024-02-26", 16.0, "Core Scientific - CoreWeave, 16 MW"),
                     ("2024-06-03", 200.0, "Core Scientific - CoreWeave, 200 MW, 12 years"),
                     ("2024-08-15", 182.0, "Core Scientific - CoreWeave options, to 382 MW"))


def config_of(folder: Path) -> dict:
    try:
        return tomllib.loads((Path(folder) / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def is_pivot_run(folder: Path) -> bool:
    """Whether the run's offers came from tenants' demand (`[markets.ai.tenants] enabled`)."""
    return bool(config_of(folder).get("markets", {}).get("ai", {}).get("tenants", {}).get("enabled", False))


def real_quarterly() -> pd.Series:
    """Cumulative real IT MW signed by the end of each calibration-window quarter."""
    d = pd.DataFrame(REAL_WINDOW_DEALS, columns=["date", "it_mw", "deal"])
    q = pd.PeriodIndex(pd.to_datetime(d["date"]), freq="Q")
    return d.groupby(q)["it_mw"].sum().cumsum()


def quarterly_table(leases: pd.DataFrame | None, hourly: pd.DataFrame, fleet_mw: float) -> pd.DataFrame:
    """Per calendar quarter of the run (UTC): leases signed, IT MW signed, cumulative IT and
    facility MW, that as a share of the fleet's interconnect MW, the mean fee (USD per kW of IT
    per month, weighted by MW), whether the quarter is calibration or prediction, and the real
    deals' cumulative IT MW in the calibration window."""
    t = pd.to_datetime(hourly["unix_time"].to_numpy()[[0, -1]], unit="s", utc=True)
    quarters = pd.period_range(t[0].tz_localize(None).to_period("Q"), t[1].tz_localize(None).to_period("Q"), freq="Q")
    if leases is None or not len(leases):
        leases = pd.DataFrame({"unix_time": np.zeros(0, np.int64), "it_mw": [], "facility_mw": [],
                               "fee_usd_per_it_mw_month": []})
    q = pd.PeriodIndex(pd.to_datetime(leases["unix_time"], unit="s"), freq="Q")
    g = leases.assign(quarter=q, fee_mw=leases["fee_usd_per_it_mw_month"] * leases["it_mw"]).groupby("quarter")
    signed = g["it_mw"].sum().reindex(quarters, fill_value=0.0)
    facility = g["facility_mw"].sum().reindex(quarters, fill_value=0.0)
    fee = (g["fee_mw"].sum() / g["it_mw"].sum()).reindex(quarters) / 1000.0
    real = real_quarterly().reindex(quarters)
    ends = quarters.end_time.tz_localize("UTC")
    out = pd.DataFrame({
        "quarter": [str(x) for x in quarters],
        "leases": g.size().reindex(quarters, fill_value=0).astype(int).to_numpy(),
        "signed_it_mw": signed.to_numpy(),
        "cumulative_it_mw": signed.cumsum().to_numpy(),
        "cumulative_facility_mw": facility.cumsum().to_numpy(),
        "share_of_fleet": facility.cumsum().to_numpy() / fleet_mw if fleet_mw > 0 else np.nan,
        "fee_usd_per_kw_month": fee.to_numpy(),
        "period": np.where(ends < CALIBRATION_END, "calibration", "prediction"),
        "real_cumulative_it_mw": real.to_numpy(),
    })
    out.loc[out["period"] == "calibration", "real_cumulative_it_mw"] = (
        out.loc[out["period"] == "calibration", "real_cumulative_it_mw"].ffill().fillna(0.0))
    return out


def format_table(name: str, table: pd.DataFrame, fleet_mw: float) -> str:
    show = table.copy()
    show["share_of_fleet"] = show["share_of_fleet"].map(lambda x: f"{100 * x:.1f} %")
    show["real_cumulative_it_mw"] = show["real_cumulative_it_mw"].map(lambda x: "" if not np.isfinite(x) else f"{x:,.0f}")
    show["fee_usd_per_kw_month"] = show["fee_usd_per_kw_month"].map(lambda x: "" if not np.isfinite(x) else f"{x:,.0f}")
    calib = table[table["period"] == "calibration"]
    pred = table[table["period"] == "prediction"]
    lines = [f"{name}: hosting leases signed by quarter (IT MW; share = cumulative facility MW / the fleet's "
             f"{fleet_mw:,.0f} MW of interconnect; real = the calibration window's deals)",
             show.to_string(index=False, float_format=lambda x: f"{x:,.1f}")]
    if len(calib):
        last = calib.iloc[-1]
        lines.append(f"calibration window (to 2024-09-30): model {last['cumulative_it_mw']:,.0f} MW of IT signed, "
                     f"real {last['real_cumulative_it_mw']:,.0f} MW")
    if len(pred):
        first = calib["cumulative_it_mw"].iloc[-1] if len(calib) else 0.0
        lines.append(f"prediction ({pred['quarter'].iloc[0]}-{pred['quarter'].iloc[-1]}): "
                     f"{pred['signed_it_mw'].sum():,.0f} MW of IT more, {pred['cumulative_it_mw'].iloc[-1]:,.0f} MW in all "
                     f"({100 * pred['share_of_fleet'].iloc[-1]:.1f} % of the fleet; x{pred['cumulative_it_mw'].iloc[-1] / first:,.2f} "
                     f"the window's)" if first > 0 else
                     f"prediction: {pred['signed_it_mw'].sum():,.0f} MW of IT")
    return "\n".join(lines)


def write_figure(path: Path, table: pd.DataFrame, title: str) -> Path:
    """Bars: IT MW signed per quarter; line: cumulative IT MW (left axis) and its share of the
    fleet (right axis); crosses: the real calibration-window deals, cumulative; dashed: the end of
    the calibration window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    ax.bar(x, table["signed_it_mw"], color="tab:blue", alpha=0.45, label="model: IT MW signed in the quarter")
    ax.plot(x, table["cumulative_it_mw"], color="tab:blue", marker="o", ms=3, lw=1.4, label="model: cumulative IT MW")
    real = table["real_cumulative_it_mw"].to_numpy(float)
    ok = np.isfinite(real)
    ax.plot(x[ok], real[ok], "x", color="k", ms=7, mew=1.6, label="real deals (calibration window), cumulative")
    n_cal = int((table["period"] == "calibration").sum())
    if 0 < n_cal < len(table):
        ax.axvline(n_cal - 0.5, color="0.3", ls="--", lw=0.9)
        ax.text(n_cal - 0.4, ax.get_ylim()[1] * 0.95, "prediction", fontsize=7, va="top")
    ax.set_xticks(x, table["quarter"], rotation=45, fontsize=7)
    ax.set_ylabel("MW of IT", fontsize=8)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(x, 100 * table["share_of_fleet"], color="tab:red", lw=1.0, ls=":", label="share of the fleet (right)")
    ax2.set_ylabel("cumulative facility MW, % of the fleet", fontsize=8, color="tab:red")
    ax2.set_ylim(bottom=0)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def analyse_run(folder: Path, figures: bool = True) -> list[str]:
    """A run whose offers came from tenants' demand: the quarterly table (`pivot.csv`) and figure
    (`pivot.png`)."""
    from simulation.output import read_run

    folder = Path(folder)
    if not is_pivot_run(folder):
        return []
    t = read_run(folder, columns={"hourly": ["unix_time"]})
    info = t.get("miner_info")
    fleet_mw = float(info["interconnect_mw"].sum()) if info is not None else float("nan")
    table = quarterly_table(t.get("leases"), t["hourly"], fleet_mw)
    table.to_csv(folder / "pivot.csv", index=False)
    text = format_table(folder.name, table, fleet_mw)
    if figures:
        p = write_figure(folder / "pivot.png", table, f"{folder.name}: hosting leases signed (IT MW) by quarter")
        text += f"\n{folder.name}: figure {p}"
    return [text]
