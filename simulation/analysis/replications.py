"""How many replications an outcome needs: the variance-stability method (Lorscheid, Heine &
Meyer 2012, "Opening the 'black box' of simulations", Comput. Math. Organ. Theory 18).

At each parameter point, take the first n replications (n = 2 .. R, in replication order) and
compute the coefficient of variation c_n = s_n / |mean_n| (s the sample standard deviation)
and the relative half-width of the mean's 95 % interval h_n = t(0.975, n - 1) s_n / sqrt(n) /
|mean_n|. The spread of the outcome itself is a property of the model, so c_n settles as n grows;
the count at which it stops moving, |c_m - c_(m-1)| < E for every m > n (E = 0.01 by default,
the method's usual criterion), is the count the outcome needs: more replications narrow the
interval (h_n falls as 1/sqrt(n)) but no longer change what the runs say about the spread.
With several points the criterion is applied to the median of c_n over the points (each point
with all its replications); h_n is reported the same way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: the stability criterion on the coefficient of variation
CRITERION = 0.01


def stability(samples: pd.DataFrame, criterion: float = CRITERION) -> tuple[pd.DataFrame, int | None]:
    """`samples`: one row per point, one column per replication (in order). Returns the table
    (n, median cv, median relative half-width, points) and the replications needed (None when it
    never stabilises within the batch's replications)."""
    from scipy.stats import t

    v = samples.to_numpy(float)
    r = v.shape[1]
    if r < 3:
        raise ValueError(f"replications needed: the batch has {r} replication(s) per point; the variance-stability "
                         "method needs >= 3 (set replications = 10 or more in the sweep file)")
    v = v[np.isfinite(v).all(axis=1)]  # points with every replication
    if not len(v):
        raise ValueError("replications needed: no point has all its replications finished")
    rows, cvs = [], []
    for n in range(2, r + 1):
        x = v[:, :n]
        m = x.mean(axis=1)
        s = x.std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = np.where(np.abs(m) > 0, s / np.abs(m), np.where(s > 0, np.inf, 0.0))
        hw = float(t.ppf(0.975, n - 1)) / math.sqrt(n) * cv
        cvs.append(cv)
        rows.append({"n": n, "cv_median": float(np.median(cv)), "rel_halfwidth_median": float(np.median(hw)),
                     "points": len(v)})
    table = pd.DataFrame(rows)
    med = table["cv_median"].to_numpy(float)
    steps = np.abs(np.diff(med))  # steps[k]: change from n = k + 2 to n = k + 3
    small = np.where(np.isfinite(steps), steps < criterion, False)
    if not small.size or not small[-1]:
        return table, None  # still moving at the last replication
    later_ok = np.flip(np.cumprod(np.flip(small))).astype(bool)  # later_ok[k]: steps k.. all small
    return table, int(np.argmax(later_ok)) + 2


def format_stability(outcome: str, table: pd.DataFrame, needed: int | None, criterion: float = CRITERION) -> str:
    lines = [f"replications for {outcome} (variance stability, criterion |delta cv| < {criterion:g}):",
             "     n  cv (median over points)  95 % half-width / |mean|"]
    for _, r in table.iterrows():
        lines.append(f"  {int(r['n']):4d}  {r['cv_median']:22.3f}  {r['rel_halfwidth_median']:24.3f}")
    r_max = int(table["n"].max())
    lines.append(f"  needed: {needed} replications (the median cv moves by less than {criterion:g} from there on)"
                 if needed is not None
                 else f"  needed: more than {r_max}: the cv is still moving at {r_max} replications")
    return "\n".join(lines)
