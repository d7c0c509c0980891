"""A compiled LP engine for the hour's dispatch: a warm-started bounded dual simplex (numba), with
HiGHS as the fallback.

`CompiledLp` holds one bounded LP at the level of its data, the way the dispatch hands it to
HiGHS (`Dispatcher`'s B-theta LP, the PTDF form's sifting working LP):

    minimise c . x   subject to   row_lo <= A x <= row_hi,   lo <= x <= hi

and answers the part of `highspy.Highs`'s interface those two use (passModel, addCols/addRows,
deleteCols/deleteRows, changeColsCost/Bounds, changeRowsBounds, run, getSolution,
getBasicVariables, getBasisTransposeSolve, ...), so the callers are the same code for both
engines and any columns (cost segments, shed, bid steps, storage) work unchanged.

The method (Koberstein, "The dual simplex method, techniques for a fast and stable
implementation", PhD thesis, Paderborn 2005, ch. 3): every row r has a logical variable r_r =
a_r x with the row's bounds, so the LP is [A -I](x, r) = 0 with bounds on every variable. A basis
B of m of the n + m columns is kept with its explicit inverse, updated by the product form
(one eta per pivot, O(m^2)), refactored from scratch every `REFACTOR_EVERY` pivots and whenever
rows change. Nonbasic boxed variables sit at the bound their reduced cost picks (so a basis from
the last hour is dual feasible again after new costs by flipping them: the warm start), the
dual simplex then restores primal feasibility: the leaving row is the most infeasible basic
variable (scaled by its row of B^-1, dual "steepest edge" by the reference framework), the
entering column by Harris's two-pass ratio test (tolerance 1e-9, the largest pivot among the
near-ties). Basis and inverse stay from one hour to the next.

Fallback (counted in `fallbacks`): an hour the compiled simplex cannot finish (a nonbasic
column with one infinite bound that new costs made dual infeasible, more than `MAX_ITERATIONS`
pivots, a pivot below `PIVOT_TOL`, a final check of primal/dual feasibility or of B^-1 failing)
is solved by HiGHS on the same LP, and HiGHS's optimal basis is taken back for the next hour.

Numba compiles the kernels with `cache=True` (on disk, next to this file's `__pycache__`): the
first run on a machine compiles (~seconds), every later process loads them.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import highspy
import numpy as np

try:
    import numba
except ImportError:  # the `fast` extra is not installed: callers use HiGHS
    numba = None

#: is numba importable (the compiled engine available)?
AVAILABLE = numba is not None

#: primal feasibility tolerance (MW; HiGHS's primal_feasibility_tolerance default)
PRIMAL_TOL = 1e-7
#: dual feasibility tolerance (USD/MWh; HiGHS's dual_feasibility_tolerance default)
DUAL_TOL = 1e-7
#: the smallest |pivot| accepted
PIVOT_TOL = 1e-9
#: pivots per solve after which the hour goes to HiGHS
MAX_ITERATIONS = 5000
#: a nonbasic column with one (or no) finite bound on the wrong side of its reduced cost gets an
#: artificial bound this far away (Koberstein sec. 4.1.2, "artificial bounds"); the hour goes to HiGHS
#: if one is still at its artificial bound at the end
ARTIFICIAL_BOX = 1e7
#: the basis inverse is refactored from scratch after this many product-form updates
REFACTOR_EVERY = 100
#: the dense engine serves LPs up to this many rows (the sifting working LP: a few dozen; IEEE 118's
#: B-theta LP: ~300); a larger one (ACTIVSg2000's B-theta LP: 5,000) is HiGHS's (`Dispatcher`)
MAX_ROWS = 1000
#: matrix entries below this are dropped (HiGHS's small_matrix_value)
SMALL_MATRIX_VALUE = 1e-9

_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_NOTSET = highspy.HighsModelStatus.kNotset
_BASIC, _LOWER, _UPPER, _FREE = 0, 1, 2, 3

# kernel return codes
_OK, _ITER_LIMIT, _DUAL_INFEASIBLE, _PRIMAL_INFEASIBLE, _SINGULAR = 0, 1, 2, 3, 4


def _jit(f):
    return numba.njit(cache=True, nogil=True)(f) if AVAILABLE else f


@_jit
def _invert(at, basic, m, n, binv):
    """binv = B^-1 for the basis `basic` (column j < n: A's column j; n + r: -e_r), by
    Gauss-Jordan with partial pivoting. False if B is singular."""
    b = np.zeros((m, m))
    for k in range(m):
        j = basic[k]
        if j < n:
            for i in range(m):
                b[i, k] = at[j, i]
        else:
            b[j - n, k] = -1.0
    for i in range(m):
        for k in range(m):
            binv[i, k] = 0.0
        binv[i, i] = 1.0
    for c in range(m):
        p, best = -1, 0.0
        for i in range(c, m):
            v = abs(b[i, c])
            if v > best:
                best, p = v, i
        if best < 1e-11:
            return False
        if p != c:
            for k in range(m):
                b[c, k], b[p, k] = b[p, k], b[c, k]
                binv[c, k], binv[p, k] = binv[p, k], binv[c, k]
        piv = b[c, c]
        for k in range(m):
            b[c, k] /= piv
            binv[c, k] /= piv
        for i in range(m):
            if i != c:
                f = b[i, c]
                if f != 0.0:
                    for k in range(m):
                        b[i, k] -= f * b[c, k]
                        binv[i, k] -= f * binv[c, k]
    return True


@_jit
def _column(at, j, n, binv, m, out):
    """out = B^-1 a_j (a_j = A's column j, or -e_r for the logical n + r)."""
    if j < n:
        for i in range(m):
            s = 0.0
            for k in range(m):
                s += binv[i, k] * at[j, k]
            out[i] = s
    else:
        r = j - n
        for i in range(m):
            out[i] = -binv[i, r]


@_jit
def _primal(at, lo, hi, status, basic, value, binv, m, n):
    """Nonbasic values from their status, basic values x_B = -B^-1 (N x_N)."""
    rhs = np.zeros(m)
    for j in range(n + m):
        s = status[j]
        if s == 0:
            continue
        v = lo[j] if s == 1 else (hi[j] if s == 2 else 0.0)
        value[j] = v
        if v != 0.0:
            if j < n:
                for i in range(m):
                    rhs[i] -= at[j, i] * v
            else:
                rhs[j - n] += v
    for i in range(m):
        s = 0.0
        for k in range(m):
            s += binv[i, k] * rhs[k]
        value[basic[i]] = s


@_jit
def _dual(at, cost, status, basic, binv, m, n, y, d):
    """y = B^-T c_B and reduced costs d = c - [A -I]^T y (0 for basic columns)."""
    for i in range(m):
        s = 0.0
        for k in range(m):
            j = basic[k]
            if j < n:
                s += binv[k, i] * cost[j]
        y[i] = s
    for j in range(n):
        if status[j] == 0:
            d[j] = 0.0
        else:
            s = cost[j]
            for i in range(m):
                s -= at[j, i] * y[i]
            d[j] = s
    for r in range(m):
        d[n + r] = 0.0 if status[n + r] == 0 else y[r]


@_jit
def _simplex(at, cost, lo, hi, status, basic, binv, m, n, value, y, d, max_iter, updates):
    """The bounded dual simplex from the given basis (module docstring). Returns (code,
    iterations, updates since the last refactor). On _OK: value, y and d are the optimum's."""
    nt = n + m
    alpha_row = np.zeros(nt)
    col = np.zeros(m)
    rho = np.zeros(m)
    rho_flip = np.zeros(m)
    boxed = np.zeros(nt, np.bool_)
    cand = np.zeros(nt, np.int64)
    ratio = np.zeros(nt)
    _dual(at, cost, status, basic, binv, m, n, y, d)
    # dual feasibility by bound flips; a one-sided or free nonbasic column on the wrong side: fail
    for j in range(nt):
        s = status[j]
        if s == 0:
            continue
        fin_lo, fin_hi = lo[j] > -1e30, hi[j] < 1e30
        if fin_lo and fin_hi:
            if lo[j] == hi[j]:
                status[j] = 1
            elif d[j] < -DUAL_TOL:
                status[j] = 2
            elif d[j] > DUAL_TOL:
                status[j] = 1
            elif s == 3:
                status[j] = 1
        elif fin_lo:
            if d[j] < -DUAL_TOL:  # dual infeasible: an artificial upper bound, at it
                hi[j] = lo[j] + ARTIFICIAL_BOX
                boxed[j] = True
                status[j] = 2
            else:
                status[j] = 1
        elif fin_hi:
            if d[j] > DUAL_TOL:
                lo[j] = hi[j] - ARTIFICIAL_BOX
                boxed[j] = True
                status[j] = 1
            else:
                status[j] = 2
        else:
            if abs(d[j]) > DUAL_TOL:
                lo[j], hi[j] = -ARTIFICIAL_BOX, ARTIFICIAL_BOX
                boxed[j] = True
                status[j] = 1 if d[j] > 0 else 2
            else:
                status[j] = 3
    _primal(at, lo, hi, status, basic, value, binv, m, n)
    it = 0
    while True:
        # leaving row: the largest infeasibility, scaled by the norm of its row of B^-1
        p, best, delta = -1, 0.0, 0.0
        for i in range(m):
            j = basic[i]
            v = value[j]
            if v < lo[j] - PRIMAL_TOL:
                inf = lo[j] - v
                dl = v - lo[j]
            elif v > hi[j] + PRIMAL_TOL:
                inf = v - hi[j]
                dl = v - hi[j]
            else:
                continue
            w = 0.0
            for k in range(m):
                w += binv[i, k] * binv[i, k]
            score = inf * inf / max(w, 1e-12)
            if score > best:
                best, p, delta = score, i, dl
        if p < 0:
            # optimal with the artificial boxes; for the LP itself only if none is at its box
            for j in range(nt):
                if boxed[j] and status[j] != 0:
                    return _DUAL_INFEASIBLE, it, updates
            return _OK, it, updates
        if it >= max_iter:
            return _ITER_LIMIT, it, updates
        it += 1
        for k in range(m):
            rho[k] = binv[p, k]
        # the pivot row alpha_j = rho . a_j over nonbasic columns
        for j in range(n):
            if status[j] != 0:
                s = 0.0
                for k in range(m):
                    s += rho[k] * at[j, k]
                alpha_row[j] = s
        for r in range(m):
            if status[n + r] != 0:
                alpha_row[n + r] = -rho[r]
        # bound-flipping ratio test ("long step", Koberstein sec. 3.2.2): x_p < lo (delta < 0) needs
        # x_p up: j at lower with alpha < 0, at upper with alpha > 0 (x_p > hi: the reverse); boxed
        # candidates are passed (flipped to their other bound) while the row's infeasibility lasts
        sgn = 1.0 if delta > 0 else -1.0
        nc = 0
        for j in range(nt):
            s = status[j]
            if s == 0 or lo[j] == hi[j]:
                continue
            a = sgn * alpha_row[j]
            if (s == 3 and abs(a) > PIVOT_TOL) or (s == 1 and a > PIVOT_TOL) or (s == 2 and a < -PIVOT_TOL):
                cand[nc] = j
                ratio[nc] = max(d[j] / a, 0.0) if s != 3 else abs(d[j]) / abs(a)
                nc += 1
        if nc == 0:
            return _PRIMAL_INFEASIBLE, it, updates
        order = np.argsort(ratio[:nc])
        slope = abs(delta)
        k0 = nc - 1
        for k in range(nc):
            j = cand[order[k]]
            width = hi[j] - lo[j]
            if status[j] == 3 or width > 1e30:
                k0 = k
                break
            slope -= abs(alpha_row[j]) * width
            if slope <= 0.0:
                k0 = k
                break
        # Harris among the candidates from k0 on: the largest pivot within the tolerance
        theta_max = 1e300
        for k in range(k0, nc):
            j = cand[order[k]]
            t = (abs(d[j]) + DUAL_TOL) / abs(alpha_row[j])
            if t < theta_max:
                theta_max = t
        q, big, kq = -1, 0.0, -1
        for k in range(k0, nc):
            j = cand[order[k]]
            if ratio[order[k]] <= theta_max and abs(alpha_row[j]) > big:
                big, q, kq = abs(alpha_row[j]), j, k
        if q < 0:
            return _PRIMAL_INFEASIBLE, it, updates
        # the passed candidates flip to their other bound (not the one chosen, if it was among them)
        nflip = 0
        for i in range(m):
            rho_flip[i] = 0.0
        for k in range(k0):
            j = cand[order[k]]
            if j == q:
                continue
            old = lo[j] if status[j] == 1 else hi[j]
            status[j] = 2 if status[j] == 1 else 1
            new = lo[j] if status[j] == 1 else hi[j]
            value[j] = new
            ch = new - old
            if j < n:
                for i in range(m):
                    rho_flip[i] += at[j, i] * ch
            else:
                rho_flip[j - n] -= ch
            nflip += 1
        if nflip:
            for i in range(m):
                s2 = 0.0
                for k in range(m):
                    s2 += binv[i, k] * rho_flip[k]
                value[basic[i]] -= s2
            lb, ub = lo[basic[p]], hi[basic[p]]
            delta = value[basic[p]] - (lb if delta < 0 else ub)
        # dual step
        theta_d = d[q] / alpha_row[q]
        for j in range(nt):
            if status[j] != 0:
                d[j] -= theta_d * alpha_row[j]
        leave = basic[p]
        d[leave] = -theta_d
        d[q] = 0.0
        # primal step: x_q moves by t so that x_p lands on its violated bound
        _column(at, q, n, binv, m, col)
        if abs(col[p]) < PIVOT_TOL:
            return _SINGULAR, it, updates
        t = delta / col[p]
        value[q] += t
        for i in range(m):
            value[basic[i]] -= t * col[i]
        if delta < 0:
            status[leave] = 1
            value[leave] = lo[leave]
        else:
            status[leave] = 2
            value[leave] = hi[leave]
        basic[p] = q
        status[q] = 0
        # product-form update of B^-1
        piv = col[p]
        for k in range(m):
            binv[p, k] /= piv
        for i in range(m):
            if i != p:
                f = col[i]
                if f != 0.0:
                    for k in range(m):
                        binv[i, k] -= f * binv[p, k]
        updates += 1
        if updates >= REFACTOR_EVERY:
            if not _invert(at, basic, m, n, binv):
                return _SINGULAR, it, updates
            updates = 0
            _primal(at, lo, hi, status, basic, value, binv, m, n)
            _dual(at, cost, status, basic, binv, m, n, y, d)


@_jit
def _check(at, cost, lo, hi, status, basic, binv, m, n, value, y, d):
    """Fresh primal and dual values from the basis; True when they are feasible (tolerance x 10)."""
    _primal(at, lo, hi, status, basic, value, binv, m, n)
    _dual(at, cost, status, basic, binv, m, n, y, d)
    for i in range(m):
        j = basic[i]
        if value[j] < lo[j] - 10 * PRIMAL_TOL or value[j] > hi[j] + 10 * PRIMAL_TOL:
            return False
    for j in range(n + m):
        s = status[j]
        if s == 1 and lo[j] != hi[j] and d[j] < -10 * DUAL_TOL:
            return False
        if s == 2 and lo[j] != hi[j] and d[j] > 10 * DUAL_TOL:
            return False
        if s == 3 and abs(d[j]) > 10 * DUAL_TOL:
            return False
    return True


class CompiledLp:
    """One LP, solved by the compiled dual simplex with HiGHS as the fallback (module docstring).

    The matrix is held dense, column by column (the LPs it serves are small: the sifting
    working LP has a few dozen rows; the B-theta LP of a few hundred buses a few hundred)."""

    def __init__(self) -> None:
        if not AVAILABLE:
            raise RuntimeError("CompiledLp needs numba (pip install -e \".[fast]\")")
        self._at = np.zeros((0, 0))  # (n_col, n_row)
        self._cost = np.zeros(0)
        self._lo = np.zeros(0)
        self._hi = np.zeros(0)
        self._row_lo = np.zeros(0)
        self._row_hi = np.zeros(0)
        self._status = np.zeros(0, np.int8)  # per column then per row: 0 basic, 1 lower, 2 upper, 3 free at 0
        self._basic = np.zeros(0, np.int64)  # per basis position: column j, or n + r for row r's logical
        self._binv = np.zeros((0, 0))
        self._fresh = False  # is _binv B^-1 of _basic?
        self._updates = 0
        self._model_status = _NOTSET
        self._options: dict = {}
        self._value = np.zeros(0)
        self._y = np.zeros(0)
        #: solves, compiled-simplex iterations, HiGHS fallbacks (and why), wall time in run() (s)
        self.solves = 0
        self.iterations = 0
        self.fallbacks = 0
        self.fallback_reasons: dict[str, int] = {}
        self.run_s = 0.0

    # -- the highspy subset ----------------------------------------------------------------------
    def setOptionValue(self, name, value):
        self._options[name] = value

    def getOptionValue(self, name):
        return None, self._options.get(name)

    def getNumRow(self) -> int:
        return len(self._row_lo)

    def getNumCol(self) -> int:
        return len(self._cost)

    def passModel(self, lp) -> None:
        n, m = lp.num_col_, lp.num_row_
        at = np.zeros((n, m))
        start = np.asarray(lp.a_matrix_.start_, np.int64)
        index = np.asarray(lp.a_matrix_.index_, np.int64)
        val = np.asarray(lp.a_matrix_.value_, float)
        for j in range(n):
            at[j, index[start[j]:start[j + 1]]] = val[start[j]:start[j + 1]]
        self._at = _clean(at)
        self._cost = np.asarray(lp.col_cost_, float).copy()
        self._lo = np.asarray(lp.col_lower_, float).copy()
        self._hi = np.asarray(lp.col_upper_, float).copy()
        self._row_lo = np.asarray(lp.row_lower_, float).copy()
        self._row_hi = np.asarray(lp.row_upper_, float).copy()
        self.clearSolver()

    def clearSolver(self) -> None:
        """Back to the slack basis (every row's logical basic)."""
        n, m = self._at.shape
        self._status = np.concatenate([np.ones(n, np.int8), np.zeros(m, np.int8)])
        self._basic = n + np.arange(m, dtype=np.int64)
        self._fresh = False
        self._model_status = _NOTSET

    def addCols(self, k, cost, lo, hi, nnz, start, index, value) -> None:
        k = int(k)
        m = len(self._row_lo)
        block = np.zeros((k, m))
        start = np.append(np.asarray(start, np.int64)[:k], nnz)
        index, value = np.asarray(index, np.int64), np.asarray(value, float)
        for c in range(k):
            block[c, index[start[c]:start[c + 1]]] = value[start[c]:start[c + 1]]
        n = self._at.shape[0]
        self._at = np.vstack([self._at, _clean(block)])
        self._cost = np.concatenate([self._cost, np.asarray(cost, float)[:k]])
        self._lo = np.concatenate([self._lo, np.asarray(lo, float)[:k]])
        self._hi = np.concatenate([self._hi, np.asarray(hi, float)[:k]])
        # new columns nonbasic; basis positions of logicals shift by k
        self._basic = np.where(self._basic >= n, self._basic + k, self._basic)
        self._status = np.concatenate([self._status[:n], np.ones(k, np.int8), self._status[n:]])

    def addRows(self, k, lo, hi, nnz, start, index, value) -> None:
        k = int(k)
        n, m = self._at.shape
        block = np.zeros((k, n))
        start = np.append(np.asarray(start, np.int64)[:k], nnz)
        index, value = np.asarray(index, np.int64), np.asarray(value, float)
        for r in range(k):
            block[r, index[start[r]:start[r + 1]]] = value[start[r]:start[r + 1]]
        self._at = np.hstack([self._at, _clean(block).T])
        self._row_lo = np.concatenate([self._row_lo, np.asarray(lo, float)[:k]])
        self._row_hi = np.concatenate([self._row_hi, np.asarray(hi, float)[:k]])
        # the new rows' logicals are basic (the basis grows by them)
        self._basic = np.concatenate([self._basic, n + m + np.arange(k)])
        self._status = np.concatenate([self._status, np.zeros(k, np.int8)])
        self._fresh = False

    def deleteCols(self, k, idx) -> None:
        idx = np.asarray(idx, np.int64)[:int(k)]
        n = self._at.shape[0]
        keep = np.ones(n, bool)
        keep[idx] = False
        if (self._status[idx] == _BASIC).any():  # the basis loses a column: back to the slack basis
            self._at, self._cost, self._lo, self._hi = self._at[keep], self._cost[keep], self._lo[keep], self._hi[keep]
            self.clearSolver()
            return
        new_index = np.cumsum(keep) - 1
        b = self._basic
        self._basic = np.where(b >= n, b - (n - int(keep.sum())), new_index[np.minimum(b, n - 1)])
        self._at, self._cost, self._lo, self._hi = self._at[keep], self._cost[keep], self._lo[keep], self._hi[keep]
        self._status = np.concatenate([self._status[:n][keep], self._status[n:]])

    def deleteRows(self, k, idx) -> None:
        idx = np.asarray(idx, np.int64)[:int(k)]
        n, m = self._at.shape
        keep = np.ones(m, bool)
        keep[idx] = False
        self._at = np.ascontiguousarray(self._at[:, keep])
        self._row_lo, self._row_hi = self._row_lo[keep], self._row_hi[keep]
        basic_logical = self._status[n + idx] == _BASIC
        if not basic_logical.all():
            self._status = np.concatenate([self._status[:n], self._status[n:][keep]])
            self.clearSolver()
            return
        # the rows' logicals leave the basis with them: the basis stays a basis of the smaller LP
        gone = n + idx
        b = self._basic[~np.isin(self._basic, gone)]
        row_new = np.cumsum(keep) - 1
        self._basic = np.where(b >= n, n + row_new[np.maximum(b - n, 0)], b)
        self._status = np.concatenate([self._status[:n], self._status[n:][keep]])
        self._fresh = False

    def changeColsCost(self, k, idx, cost) -> None:
        self._cost[np.asarray(idx, np.int64)[:int(k)]] = np.asarray(cost, float)[:int(k)]

    def changeColsBounds(self, k, idx, lo, hi) -> None:
        idx = np.asarray(idx, np.int64)[:int(k)]
        self._lo[idx] = np.asarray(lo, float)[:int(k)]
        self._hi[idx] = np.asarray(hi, float)[:int(k)]

    def changeRowsBounds(self, k, idx, lo, hi) -> None:
        idx = np.asarray(idx, np.int64)[:int(k)]
        self._row_lo[idx] = np.asarray(lo, float)[:int(k)]
        self._row_hi[idx] = np.asarray(hi, float)[:int(k)]

    def getModelStatus(self):
        return self._model_status

    def modelStatusToString(self, status) -> str:
        return str(status)

    def getSolution(self):
        n = self._at.shape[0]
        return SimpleNamespace(col_value=self._value[:n], row_value=self._value[n:], row_dual=self._y)

    def getBasicVariables(self):
        n = self._at.shape[0]
        b = self._basic
        return None, np.where(b < n, b, -1 - (b - n))

    def getBasisTransposeSolve(self, rhs):
        if not self._fresh:
            self._refactor()
        return None, self._binv.T @ np.asarray(rhs, float)

    # -- solving ---------------------------------------------------------------------------------
    def _refactor(self) -> bool:
        m = len(self._row_lo)
        self._binv = np.zeros((m, m))
        self._fresh = bool(_invert(self._at, self._basic, m, self._at.shape[0], self._binv))
        self._updates = 0
        return self._fresh

    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            self.solves += 1
            reason = self._run_compiled()
            if reason is not None:
                self.fallbacks += 1
                self.fallback_reasons[reason] = self.fallback_reasons.get(reason, 0) + 1
                self._run_highs()
        finally:
            self.run_s += time.perf_counter() - t0

    def _run_compiled(self) -> str | None:
        n, m = self._at.shape
        lo = np.concatenate([self._lo, self._row_lo])
        hi = np.concatenate([self._hi, self._row_hi])
        lo[lo <= -_INF] = -np.inf
        hi[hi >= _INF] = np.inf
        cost = np.concatenate([self._cost, np.zeros(m)])
        if not self._fresh and not self._refactor():
            self.clearSolver()
            if not self._refactor():
                return "singular basis"
        status, basic = self._status.copy(), self._basic.copy()
        binv = self._binv.copy()
        value, y, d = np.zeros(n + m), np.zeros(m), np.zeros(n + m)
        code, it, updates = _simplex(self._at, cost, lo, hi, status, basic, binv, m, n, value, y, d,
                                     MAX_ITERATIONS, self._updates)
        self.iterations += it
        if code == _OK and not _check(self._at, cost, lo, hi, status, basic, binv, m, n, value, y, d):
            # the product form drifted: a fresh inverse, the check again
            if not _invert(self._at, basic, m, n, binv):
                code = _SINGULAR
            elif not _check(self._at, cost, lo, hi, status, basic, binv, m, n, value, y, d):
                code = -1
            updates = 0
        if code != _OK:
            return {_ITER_LIMIT: "iteration limit", _DUAL_INFEASIBLE: "dual infeasible start",
                    _PRIMAL_INFEASIBLE: "primal infeasible", _SINGULAR: "small pivot",
                    -1: "final check"}[code]
        self._status, self._basic, self._binv, self._updates, self._fresh = status, basic, binv, updates, True
        self._value, self._y = value, y
        self._model_status = _OPTIMAL
        return None

    def _run_highs(self) -> None:
        """The same LP in HiGHS (warm from our basis when it is one); its basis is taken back."""
        n, m = self._at.shape
        h = highspy.Highs()
        for name, value in (("output_flag", False), ("log_to_console", False), ("presolve", "off"),
                            ("threads", 1), ("solver", "simplex"), *self._options.items()):
            h.setOptionValue(name, value)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = self._cost, self._lo, self._hi
        lp.row_lower_, lp.row_upper_ = self._row_lo, self._row_hi
        nz = self._at != 0.0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
        lp.a_matrix_.value_ = self._at[nz]
        h.passModel(lp)
        h.run()
        self._model_status = h.getModelStatus()
        if self._model_status != _OPTIMAL:
            self.clearSolver()
            return
        sol = h.getSolution()
        self._value = np.concatenate([np.asarray(sol.col_value), np.asarray(sol.row_value)])
        self._y = np.asarray(sol.row_dual).copy()
        b = np.asarray(h.getBasicVariables()[1])
        self._basic = np.where(b >= 0, b, n + (-1 - b)).astype(np.int64)
        basis = h.getBasis()
        code = {highspy.HighsBasisStatus.kBasic: _BASIC, highspy.HighsBasisStatus.kLower: _LOWER,
                highspy.HighsBasisStatus.kUpper: _UPPER, highspy.HighsBasisStatus.kZero: _FREE,
                highspy.HighsBasisStatus.kNonbasic: _LOWER}
        self._status = np.array([code[s] for s in list(basis.col_status) + list(basis.row_status)], np.int8)
        self._fresh = False


def _clean(a: np.ndarray) -> np.ndarray:
    a = np.array(a, float)
    a[np.abs(a) < SMALL_MATRIX_VALUE] = 0.0
    return a
