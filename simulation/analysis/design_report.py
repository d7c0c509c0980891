"""`run.py analyse` on a designed batch: sensitivity indices per outcome (Morris or Sobol), PRIM
for a condition, the replications an outcome needs; tables as CSV and figures as PNG in the
batch folder (sensitivity.csv/.png, prim_box.csv, prim_trajectory.csv, prim.png,
replications.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulation.analysis import prim as prim_mod
from simulation.analysis import replications as reps_mod
from simulation.analysis import sensitivity
from simulation.analysis.design_outcomes import DesignBatch, load_design_batch, parse_condition

#: outcomes reported when none is asked for (those present)
DEFAULT_OUTCOMES = ("ai_mw_end", "hosting_mw_end", "network_eh_s_end")


def default_outcomes(batch: DesignBatch) -> list[str]:
    keys = batch.summary_keys()
    out = []
    if batch.n_arms == 2 and len(batch.switches) == 1 and "ai_mw_end" in keys:
        out.append(f"{batch.switches[0].split('.')[-1]}_effect_ai_mw")
    out += [k for k in DEFAULT_OUTCOMES if k in keys][: 2 if out else 3]
    return out


def analyse_design(folder: str | Path, *, outcomes: list[str] | None = None, where: str | None = None,
                   min_coverage: float = prim_mod.MIN_COVERAGE, figures: bool = True) -> str:
    folder = Path(folder)
    condition = parse_condition(where) if where else None  # a bad condition fails before any work
    batch = load_design_batch(folder)
    outcomes = list(outcomes or default_outcomes(batch))
    for o in outcomes + ([condition.outcome] if condition else []):
        batch.outcome(o)  # an unknown outcome fails before anything is written
    ok = int((batch.runs["status"] == "ok").sum())
    parts = [f"{folder.name}: design {batch.design}, {batch.n_design_points} design points x {batch.n_arms} arm(s) x "
             f"{batch.runs['replication'].max() + 1 if len(batch.runs) else 0} replication(s); {ok} of "
             f"{batch.meta.get('n_runs', '?')} runs ok; inputs: {', '.join(batch.keys)}"]
    if batch.switches:
        parts[0] += f"; paired switch: {', '.join(batch.switches)} (outcomes: first arm; <switch>_effect_<key>: first - second)"
    if batch.design in ("morris", "sobol"):
        results = {o: sensitivity.indices(batch, o) for o in outcomes}
        for o, df in results.items():
            parts.append(sensitivity.format_indices(o, df, batch.design))
        pd.concat([df.assign(outcome=o) for o, df in results.items()]).to_csv(folder / "sensitivity.csv", index=False)
        if figures:
            path = sensitivity.write_figure(folder / "sensitivity.png", results, batch.design,
                                            title=f"{folder.name}: {batch.design} sensitivity")
            parts.append(f"figure: {path}")
    else:
        parts.append(f"(sensitivity indices need design = \"morris\" or \"sobol\"; this design is {batch.design})")
    if condition is not None:
        y = batch.outcome_mean(condition.outcome)
        import numpy as np

        done = np.isfinite(y)
        res = prim_mod.run_prim(batch.values[done], condition.holds(y[done]), str(condition), min_coverage=min_coverage)
        parts.append(prim_mod.format_result(res))
        res.limits.assign(coverage=res.coverage, density=res.density).to_csv(folder / "prim_box.csv", index=False)
        res.trajectory.to_csv(folder / "prim_trajectory.csv", index_label="step")
        if figures:
            parts.append(f"figure: {prim_mod.write_figure(folder / 'prim.png', res)}")
    nrep = int(batch.runs["replication"].max()) + 1 if len(batch.runs) else 0
    if nrep >= 3:
        tabs = []
        for o in outcomes:
            table, needed = reps_mod.stability(batch.outcome(o))
            parts.append(reps_mod.format_stability(o, table, needed))
            tabs.append(table.assign(outcome=o, needed=needed))
        pd.concat(tabs).to_csv(folder / "replications.csv", index=False)
    return "\n\n".join(parts)


def grid_replications(folder: str | Path, outcomes: list[str]) -> str:
    """The replications check on a grid batch: outcome samples per point x replication."""
    from simulation.analysis.sweeps import load_batch

    df, _, _ = load_batch(folder)
    parts, tabs = [], []
    for o in outcomes:
        if o not in df:
            raise ValueError(f"outcome {o!r}: not a column of {Path(folder) / 'batch.parquet'}")
        ok = df[df["status"] == "ok"]
        table, needed = reps_mod.stability(ok.pivot_table(index="point", columns="replication", values=o, aggfunc="first"))
        parts.append(reps_mod.format_stability(o, table, needed))
        tabs.append(table.assign(outcome=o, needed=needed))
    if tabs:
        pd.concat(tabs).to_csv(Path(folder) / "replications.csv", index=False)
    return "\n\n".join(parts)
