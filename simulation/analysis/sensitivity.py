"""Global sensitivity of a designed batch's outcomes to its uncertain inputs, by SALib's
estimators on the design the batch ran (never re-sampled):

- `design = "morris"`: elementary effects (Morris 1991; Campolongo et al. 2007's mu*): per input,
  mu* (the mean absolute effect of moving it one grid step, scaled to its whole range, in the
  outcome's unit), sigma (their spread: non-linearity or interactions) and a bootstrap 95 %
  interval of mu* (`SALib.analyze.morris.analyze`, 1,000 resamples);
- `design = "sobol"`: first-order S1 and total-order ST indices (Saltelli 2010 / Jansen
  estimators) with bootstrap 95 % intervals (`SALib.analyze.sobol.analyze`).

Effects are measured in the unit coordinates the design sampled (each input's quantile), so mu*
is "the outcome's change for a move across the input's range", comparable across inputs of
different units. An outcome per design point is the mean over its replications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulation.analysis.design_outcomes import DesignBatch

#: bootstrap resamples of the intervals, and their seed (the intervals are reproducible)
RESAMPLES = 1000
SEED = 20240420


def indices(batch: DesignBatch, outcome: str) -> pd.DataFrame:
    """One row per input, ranked (most influential first): Morris mu*, mu*_ci, mu, sigma; or
    Sobol S1, S1_ci, ST, ST_ci."""
    y = batch.outcome_mean(outcome)
    x = batch.unit
    if batch.design == "morris":  # a batch under way: the trajectories complete so far
        d1 = len(batch.keys) + 1
        whole = np.isfinite(y).reshape(-1, d1).all(axis=1)
        if 2 <= whole.sum() < len(whole):
            keep = np.repeat(whole, d1)
            x, y = x[keep], y[keep]
    missing = np.flatnonzero(~np.isfinite(y))
    if len(missing):
        raise ValueError(f"{batch.folder.name}: outcome {outcome} is missing at design points "
                         f"{', '.join(map(str, missing[:8]))}{' ...' if len(missing) > 8 else ''} (failed or unfinished "
                         "runs); resume the batch (run.py batch ... --out this folder) first")
    problem = {"num_vars": len(batch.keys), "names": list(batch.keys), "bounds": [[0.0, 1.0]] * len(batch.keys)}
    if batch.design == "morris":
        from SALib.analyze import morris

        r = morris.analyze(problem, x, y, num_resamples=RESAMPLES, conf_level=0.95,
                           num_levels=batch.levels or 4, seed=SEED)
        df = pd.DataFrame({"input": batch.keys, "mu_star": r["mu_star"], "mu_star_ci": r["mu_star_conf"],
                           "mu": r["mu"], "sigma": r["sigma"]})
        df.attrs["trajectories"] = (len(y) // (len(batch.keys) + 1), len(batch.unit) // (len(batch.keys) + 1))
        return df.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    if batch.design == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES, conf_level=0.95, seed=SEED)
        df = pd.DataFrame({"input": batch.keys, "S1": r["S1"], "S1_ci": r["S1_conf"], "ST": r["ST"], "ST_ci": r["ST_conf"]})
        return df.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    raise ValueError(f"{batch.folder.name}: sensitivity indices need design = \"morris\" or \"sobol\" (this batch's "
                     f"is {batch.design!r}); PRIM (--where) works on any design")


def short_name(key: str) -> str:
    """`markets.ai.hosting.build_usd_per_it_mw` -> `hosting.build_usd_per_it_mw` (figure labels)."""
    parts = key.split(".")
    return ".".join(parts[-2:])


def format_indices(outcome: str, df: pd.DataFrame, design: str) -> str:
    used, total = df.attrs.get("trajectories", (0, 0))
    note = f", {used} of {total} trajectories complete" if used < total else ""
    lines = [f"sensitivity of {outcome} ({design}{note}; ranked):"]
    w = max(len(s) for s in df["input"])
    for _, r in df.iterrows():
        if design == "morris":
            lines.append(f"  {r['input']:<{w}}  mu* {r['mu_star']:10.4g} +/- {r['mu_star_ci']:<9.3g} "
                         f"mu {r['mu']:10.4g}  sigma {r['sigma']:10.4g}")
        else:
            lines.append(f"  {r['input']:<{w}}  S1 {r['S1']:7.3f} +/- {r['S1_ci']:<6.3f}  ST {r['ST']:7.3f} +/- {r['ST_ci']:.3f}")
    return "\n".join(lines)


def write_figure(path: Path, results: dict[str, pd.DataFrame], design: str, title: str = "") -> Path:
    """Ranked horizontal bars per outcome: mu* (Morris) or ST with S1 (Sobol), 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    k = max(len(df) for df in results.values())
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 0.45 * k + 1.8), squeeze=False)
    for ax, (outcome, df) in zip(axes[0], results.items()):
        d = df.iloc[::-1]
        ypos = np.arange(len(d))
        if design == "morris":
            lo = np.minimum(d["mu_star_ci"], d["mu_star"])  # mu* >= 0: the interval is drawn from 0 up
            ax.barh(ypos, d["mu_star"], xerr=[lo, d["mu_star_ci"]], color="#4472c4", capsize=3,
                    label="mu* (95 % bootstrap interval)")
            ax.plot(d["sigma"], ypos, "o", color="#c55a11", label="sigma")
            ax.set_xlabel(f"mu* (mean |effect| over the input's range)\n{outcome}")
        else:
            ax.barh(ypos + 0.2, d["ST"], height=0.4, xerr=d["ST_ci"], color="#4472c4", capsize=3, label="ST (total)")
            ax.barh(ypos - 0.2, d["S1"], height=0.4, xerr=d["S1_ci"], color="#a5c8e4", capsize=3, label="S1 (first order)")
            ax.set_xlabel(f"Sobol' index\n{outcome}")
        ax.set_yticks(ypos)
        ax.set_yticklabels([short_name(k) for k in d["input"]], fontsize=8)
        ax.axvline(0, color="k", lw=0.5)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
