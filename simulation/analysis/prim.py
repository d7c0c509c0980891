"""Scenario discovery: in which region of the uncertain inputs does a claim hold? PRIM (the
Patient Rule Induction Method, Friedman & Fisher 1999; Bryant & Lempert 2010's use for
scenario discovery) by the EMA Workbench (`ema_workbench.analysis.prim`, the `ema` extra).

The cases are the batch's design points (inputs as the design table gives them; an outcome per
point is the mean over its replications); a case is "of interest" where the condition holds.
PRIM peels the box of all cases, one input's edge at a time (5 % of the cases per peel), keeping
the peel that raises the density most, down to 5 % of the cases; each step of that peeling
trajectory is a box with

- coverage: the share of all cases of interest that lie inside the box;
- density:  the share of the cases inside the box that are of interest.

The box reported is, of those with coverage >= `min_coverage` (default 0.5), the one with the
highest density (the widest such box when tied); its limits are printed only for the inputs it
restricts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: default lowest coverage of the reported box
MIN_COVERAGE = 0.5


@dataclass
class PrimResult:
    condition: str
    n_cases: int
    n_interest: int
    trajectory: pd.DataFrame  # coverage, density, mass, res_dim per peeling step
    chosen: int  # step of the reported box
    limits: pd.DataFrame  # the reported box: input, low, high (restricted inputs only), or categories
    initial: pd.DataFrame  # the unrestricted box's limits

    @property
    def coverage(self) -> float:
        return float(self.trajectory["coverage"].iloc[self.chosen])

    @property
    def density(self) -> float:
        return float(self.trajectory["density"].iloc[self.chosen])


def _import_prim():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise ValueError("PRIM (--where) needs the EMA Workbench: pip install 'gridpivot[ema]'") from None
    return prim


def run_prim(x: pd.DataFrame, interest: np.ndarray, condition: str = "", *, min_coverage: float = MIN_COVERAGE,
             peel_alpha: float = 0.05) -> PrimResult:
    """PRIM of the boolean `interest` over the inputs `x` (numeric, or category dtype)."""
    interest = np.asarray(interest, bool)
    if len(interest) != len(x):
        raise ValueError("PRIM: one case of interest flag per row of inputs")
    if not interest.any():
        raise ValueError(f"PRIM: the condition {condition!r} holds at no design point; nothing to find")
    prim = _import_prim()
    x = x.reset_index(drop=True).copy()
    for c in x.columns:
        if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]):
            x[c] = x[c].astype(str).astype("category")
        else:
            x[c] = x[c].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, interest, peel_alpha=peel_alpha)
        box = p.find_box()
    traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].reset_index(drop=True)
    ok = traj.index[traj["coverage"] >= min_coverage]
    if len(ok):
        chosen = int(traj.loc[ok, "density"].idxmax())  # idxmax: the first (widest) box of the top density
    else:
        chosen = 0
    limits = box_limits(box.box_lims[0], box.box_lims[chosen])
    initial = box.box_lims[0]
    return PrimResult(condition=condition, n_cases=len(x), n_interest=int(interest.sum()), trajectory=traj,
                      chosen=chosen, limits=limits, initial=initial)


def box_limits(initial: pd.DataFrame, lims: pd.DataFrame) -> pd.DataFrame:
    """The inputs a box restricts: numeric (low, high) or the categories it keeps."""
    rows = []
    for c in lims.columns:
        a, b = initial[c], lims[c]
        if isinstance(b.iloc[0], set):
            if b.iloc[0] != a.iloc[0]:
                rows.append({"input": c, "low": np.nan, "high": np.nan, "categories": ", ".join(sorted(map(str, b.iloc[0])))})
        elif float(b.iloc[0]) > float(a.iloc[0]) or float(b.iloc[1]) < float(a.iloc[1]):
            rows.append({"input": c, "low": float(b.iloc[0]), "high": float(b.iloc[1]), "categories": ""})
    return pd.DataFrame(rows, columns=["input", "low", "high", "categories"])


def format_result(r: PrimResult) -> str:
    lines = [f"PRIM: where {r.condition}: {r.n_interest} of {r.n_cases} design points "
             f"({100 * r.n_interest / r.n_cases:.0f} %)",
             f"  box (step {r.chosen} of {len(r.trajectory) - 1}): coverage {r.coverage:.2f}, density {r.density:.2f}, "
             f"mass {r.trajectory['mass'].iloc[r.chosen]:.2f}"]
    if not len(r.limits):
        lines.append("  (the box restricts no input: the condition is spread over the whole design)")
    for _, row in r.limits.iterrows():
        if row["categories"]:
            lines.append(f"    {row['input']} in {{{row['categories']}}}")
        else:
            full = r.initial[row["input"]]
            lines.append(f"    {row['low']:.4g} <= {row['input']} <= {row['high']:.4g}   (of {float(full.iloc[0]):.4g} .. "
                         f"{float(full.iloc[1]):.4g})")
    steps = sorted({0, r.chosen, len(r.trajectory) - 1, *range(0, len(r.trajectory), max(1, len(r.trajectory) // 6))})
    lines.append("  peeling trajectory: step coverage density mass restricted-inputs")
    for i in steps:
        t = r.trajectory.iloc[i]
        mark = "  <- reported" if i == r.chosen else ""
        lines.append(f"    {i:4d}  {t['coverage']:.2f}  {t['density']:.2f}  {t['mass']:.2f}  {int(t['res_dim'])}{mark}")
    return "\n".join(lines)


def write_figure(path: Path, r: PrimResult, title: str = "") -> Path:
    """The peeling trajectory: density against coverage, coloured by restricted inputs; the
    reported box circled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = r.trajectory
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=22, zorder=3)
    ax.plot(t["coverage"], t["density"], color="0.6", lw=0.8, zorder=2)
    ax.scatter([r.coverage], [r.density], s=160, facecolors="none", edgecolors="#c00000", lw=1.6, zorder=4,
               label=f"reported box: coverage {r.coverage:.2f}, density {r.density:.2f}")
    fig.colorbar(sc, ax=ax, label="inputs restricted")
    ax.set_xlabel("coverage (share of the cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's cases of interest)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title or f"PRIM peeling trajectory: {r.condition}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
