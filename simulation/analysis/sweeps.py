"""Batch (sweep) folders: key outcomes per parameter point, mean and 95 % confidence interval
across seeds, and outcome-vs-parameter figures with confidence bands.

Reads only `batch.parquet` and `batch.json` (written by `simulation.batch`), never the model.
The interval is mean +/- t(0.975, n-1) * s / sqrt(n) over the point's successful replications
(s the sample standard deviation); a point with one replication has no interval.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

#: outcomes reported when present (summary keys, plus the derived ones below)
KEY_OUTCOMES = ("network_eh_s_end", "hashrate_change_pct", "difficulty_change_pct", "hashprice_mean_usd_per_ph_day",
                "mwh_hashing", "mwh_ai", "share_ai_of_drawn", "lmp_mean_usd_per_mwh", "consumer_shed_mwh", "ai_mw_end",
                "emissions_t", "miner_cash_end_usd", "miners_active_end", "security_budget_usd_per_day_mean",
                "attack_rent_usd_per_h_mean", "backtest_median_abs_error_pct", "backtest_worst_abs_error_pct")
#: bookkeeping columns of a batch row (never outcomes)
BOOKKEEPING = ("run_id", "point", "replication", "seed", "status", "error", "wall_s", "overrides", "command")
#: at most this many lines per panel; beyond, the panel shows the marginal mean over the other dimensions
MAX_LINES = 6

def t975(df: int) -> float:
    """t(0.975, df): the two-sided 95 % quantile of Student's t (scipy.stats)."""
    if df < 1:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def mean_ci(values) -> tuple[float, float, float, int]:
    """(mean, ci_low, ci_high, n) of the finite values; the interval is NaN below two values."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(v.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    hw = t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return m, m - hw, m + hw, n


# ------------------------------------------------------------------------------------------------
def load_batch(folder: str | Path) -> tuple[pd.DataFrame, list[list[str]], dict]:
    """The batch table (with derived outcomes), its dimensions (lists of keys varying together)
    and batch.json."""
    folder = Path(folder)
    df = pd.read_parquet(folder / "batch.parquet")
    try:
        meta = json.loads((folder / "batch.json").read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    if "dimensions" in meta:
        dims = [list(d["keys"]) for d in meta["dimensions"]]
    else:  # an old or hand-made table: every column between the bookkeeping ones is a dimension
        cols = list(df.columns)
        lo = cols.index("wall_s") + 1 if "wall_s" in cols else 0
        hi = cols.index("overrides") if "overrides" in cols else lo
        dims = [[c] for c in cols[lo:hi]]
    return _derive(df), dims, meta


def _derive(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    pairs = {"hashrate_change_pct": ("network_eh_s_start", "network_eh_s_end"),
             "difficulty_change_pct": ("difficulty_start", "difficulty_end")}
    for name, (a, b) in pairs.items():
        if name not in df and a in df and b in df:
            df[name] = 100.0 * (df[b] / df[a] - 1.0)
    if "share_ai_of_drawn" not in df and "mwh_ai" in df and "mwh_hashing" in df:
        drawn = df["mwh_ai"] + df["mwh_hashing"]
        df["share_ai_of_drawn"] = (df["mwh_ai"] / drawn.where(drawn > 0)).astype(float)
    return df


def outcome_columns(df: pd.DataFrame, dims: list[list[str]]) -> list[str]:
    """The key outcomes present, else every numeric non-parameter column (network-only runs)."""
    keys = {k for d in dims for k in d}
    numeric = [c for c in df.columns if c not in BOOKKEEPING and c not in keys
               and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    key = [c for c in KEY_OUTCOMES if c in numeric]
    return key or numeric[:12]


def point_stats(df: pd.DataFrame, dims: list[list[str]], outcomes: list[str]) -> pd.DataFrame:
    """One row per parameter point: its parameters, runs ok / failed, and per outcome the mean and
    95 % CI across its replications (columns `<outcome>`, `<outcome>_ci_low`, `<outcome>_ci_high`)."""
    keys = [k for d in dims for k in d]
    rows = []
    for point, g in df.groupby("point", sort=True):
        ok = g[g["status"] == "ok"]
        row = {"point": int(point), **{k: g[k].iloc[0] for k in keys}, "runs_ok": len(ok),
               "runs_failed": int((g["status"] != "ok").sum())}
        for o in outcomes:
            m, lo, hi, _ = mean_ci(ok[o]) if len(ok) else (math.nan, math.nan, math.nan, 0)
            row |= {o: m, f"{o}_ci_low": lo, f"{o}_ci_high": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def panel_data(df: pd.DataFrame, dims: list[list[str]], dim: int, outcome: str) -> dict[str, dict[str, np.ndarray]]:
    """The lines of one panel (outcome against dimension `dim`): one line per combination of the
    other dimensions, or their marginal mean when there are more than MAX_LINES combinations.
    Returns {label: {"x", "mean", "ci_low", "ci_high", "n"}} with x the position of each value."""
    x_key = dims[dim][0]
    others = [d[0] for i, d in enumerate(dims) if i != dim]
    ok = df[df["status"] == "ok"]
    x_values = _ordered(df[x_key])
    combos = list(ok.groupby(others, sort=True).groups) if others else [()]
    marginal = len(combos) > MAX_LINES
    lines: dict[str, dict[str, np.ndarray]] = {}
    if marginal:  # per replication, mean over the other dimensions; then across replications
        per_rep = ok.groupby([x_key, "replication"], sort=False)[outcome].mean().reset_index()
        groups = {"mean over other parameters": per_rep}
    elif others:
        groups = {}
        for combo in combos:
            combo = combo if isinstance(combo, tuple) else (combo,)
            sel = np.logical_and.reduce([ok[k] == v for k, v in zip(others, combo)])
            groups[", ".join(f"{_short(k)}={_fmt(v)}" for k, v in zip(others, combo))] = ok[sel]
    else:
        groups = {outcome: ok}
    for label, g in groups.items():
        stats = [mean_ci(g.loc[g[x_key] == xv, outcome]) for xv in x_values]
        lines[label] = {"x": np.arange(len(x_values), dtype=float) if not _numeric(x_values) else np.asarray(x_values, float),
                        "mean": np.array([s[0] for s in stats]), "ci_low": np.array([s[1] for s in stats]),
                        "ci_high": np.array([s[2] for s in stats]), "n": np.array([s[3] for s in stats])}
    return lines


def _ordered(col: pd.Series) -> list:
    return list(dict.fromkeys(col.tolist()))


def _numeric(values: list) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in values)


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


# ------------------------------------------------------------------------------------------------
def analyse_batch(folder: Path, figures: bool = True) -> str:
    """Text report of a batch folder (per point: mean [95 % CI] of the key outcomes across seeds);
    writes `sweep_stats.csv` and, with `figures`, one `sweep_<outcome>.png` per outcome."""
    folder = Path(folder)
    df, dims, meta = load_batch(folder)
    n_ok = int((df["status"] == "ok").sum()) if len(df) else 0
    n_failed = len(df) - n_ok
    expected = meta.get("n_runs")
    head = (f"batch {meta.get('name', folder.name)}: {len(df)} runs recorded"
            + (f" of {expected}" if expected is not None else "") + f", {n_ok} ok, {n_failed} failed; "
            f"{meta.get('n_points', df['point'].nunique() if len(df) else 0)} points x "
            f"{meta.get('replications', '?')} replications")
    if not n_ok:
        return head + "\nno successful runs to analyse"
    outcomes = outcome_columns(df, dims)
    stats = point_stats(df, dims, outcomes)
    stats.to_csv(folder / "sweep_stats.csv", index=False)
    parts = [head, f"mean [95 % CI across seeds] per parameter point; all numbers in {folder / 'sweep_stats.csv'}"]
    keys = [k for d in dims for k in d]
    for i in range(0, len(outcomes), 3):
        chunk = outcomes[i:i + 3]
        table = stats[["point", *keys, "runs_ok"]].copy()
        table.columns = ["point", *[_short(k) for k in keys], "n"]
        for o in chunk:
            table[o] = [_cell(m, lo, hi) for m, lo, hi in zip(stats[o], stats[f"{o}_ci_low"], stats[f"{o}_ci_high"])]
        parts.append(table.to_string(index=False))
    failed = df[df["status"] != "ok"]
    if len(failed):
        parts.append("failed runs:\n" + "\n".join(f"  {r.run_id}: {r.error}" for r in failed.itertuples()))
    if figures:
        written = write_sweep_figures(df, dims, outcomes, folder)
        parts.append(f"{len(written)} figures in {folder}/" + (f" ({', '.join(p.stem for p in written)})" if written else
                                                               " (no parameter with more than one value)"))
    from simulation.analysis import causes, counterfactual, load_balancer

    if load_balancer.is_load_balancer(df):
        parts.append(load_balancer.report(folder, df, figures))

    if causes.is_factorial(df) and (folder / "runs").is_dir():
        parts.append(causes.report(folder, df))
    elif counterfactual.is_counterfactual(df) and (folder / "runs").is_dir():
        parts.append(counterfactual.report(folder, df))
        if figures:
            parts.append(f"figure: {counterfactual.write_figure(folder, df)}")
    return "\n\n".join(parts)


def _cell(m: float, lo: float, hi: float) -> str:
    def f(x):
        return f"{x:,.4g}" if abs(x) < 1e5 else f"{x:,.0f}"

    if not math.isfinite(m):
        return "-"
    return f(m) if not math.isfinite(lo) else f"{f(m)} [{f(lo)}, {f(hi)}]"


def write_sweep_figures(df: pd.DataFrame, dims: list[list[str]], outcomes: list[str], folder: Path) -> list[Path]:
    """One PNG per outcome: a panel per swept dimension (outcome against its values), lines with
    95 % confidence bands across seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    swept = [i for i, d in enumerate(dims) if df[d[0]].nunique() > 1]
    if not swept:
        return []
    written = []
    for o in outcomes:
        fig, axes = plt.subplots(1, len(swept), figsize=(5.2 * len(swept), 3.8), squeeze=False)
        for ax, i in zip(axes[0], swept):
            x_values = _ordered(df[dims[i][0]])
            for label, line in panel_data(df, dims, i, o).items():
                (h,) = ax.plot(line["x"], line["mean"], marker="o", ms=3, label=label)
                ax.fill_between(line["x"], line["ci_low"], line["ci_high"], color=h.get_color(), alpha=0.2, lw=0)
            if not _numeric(x_values):
                ax.set_xticks(np.arange(len(x_values)), [_fmt(v) for v in x_values], rotation=30)
            xlabel = dims[i][0] + (f"\n(with {', '.join(dims[i][1:])})" if len(dims[i]) > 1 else "")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(o, fontsize=8)
            ax.grid(alpha=0.3)
            if len(dims) > 1:
                ax.legend(fontsize=7)
        fig.suptitle(f"{o}: mean and 95 % CI across seeds", fontsize=9)
        fig.tight_layout()
        path = folder / f"sweep_{o}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


__all__ = ["analyse_batch", "load_batch", "mean_ci", "outcome_columns", "panel_data", "point_stats", "t975",
           "write_sweep_figures"]
