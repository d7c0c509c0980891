"""Hourly market clearing: a DC optimal power flow with flexible demand bids, solved by HiGHS.

The linear program (built once per `Dispatcher`, re-solved every hour from the previous basis):

    minimise   sum_g cost_g p_g  +  VOLL sum_i s_i  -  sum_k price_k q_k
    subject to, for every bus i (the balance row, whose dual is the LMP):
               sum_{g at i} p_g + s_i - sum_{k at i} q_k - sum_j B_ij phi_j = d_i
               -limit_l <= b_l (phi_from(l) - phi_to(l)) <= limit_l   for lines with a finite limit
               0 <= p_g <= avail_g,  0 <= q_k <= bid_k,  0 <= s_i <= d_i,  phi free, phi_slack = 0

p: generation (MW); q: served flexible bid (MW); s: inflexible demand shed (MW); phi = theta x
base_mva (MW-radians, so b_l phi is MW); B = bus susceptance matrix; b_l = 1/x_l. This is the
B-theta form (`formulation="btheta"`): sparse (each bid column has one entry), so HiGHS's
simplex is fast on grids of a few hundred buses.

On large grids (`formulation="auto"` from `PTDF_FROM_BUSES` buses on, or "ptdf") the same LP is
written with one balance row and a PTDF row per line, the angles eliminated, and solved by
sifting with lazily added lines (`simulation/grid/sifting.py`): a working LP of the few hundred
columns near their margin and the lines that bind, grown until it proves the whole LP optimal
and carried from hour to hour. Same optimum, same LMPs (tested against the B-theta form).

Bid columns are steps, not slots: each hour the slots bidding MW at the same bus and the same
price are summed into one column k (a step of that bus's demand curve), which is the same LP
with fewer columns (1,000 miners x 6 slots on IEEE 118: ~760 steps an hour, from a pool of
~930 columns, instead of 6,000 columns; a third of the time per hour). A step cleared in part is shared among its slots pro rata.

Copperplate mode drops phi and the line rows and keeps one balance row: one price for all.

Storage units (`storage_bus`, one entry per unit; `simulation/grid/storage.py`) add two columns
each: a charge column c_u (withdraws at the unit's bus, like a bid: objective -charge price) and
a discharge column e_u (injects, like a unit: objective +discharge price), 0 <= c_u <= charge MW,
0 <= e_u <= discharge MW, set every hour from the unit's `StorageOffers`. A discharge price above
the charge price (checked) makes charging and discharging at once never optimal. The state of
charge is the caller's (the offers are within what it allows); `cost_usd` stays the generation
and shedding cost. Without storage units the LP is exactly the one above.

Conventions:
- LMP (USD/MWh) = marginal cost of 1 MW more inflexible demand at the bus = dual of its
  balance row. Without congestion every bus has the marginal unit's cost.
- Wind/solar: `avail_mw` is an upper bound; what is left is curtailment (`curtailed_mw`).
- Scarcity never fails: demand the grid cannot serve is shed at VOLL and the LMP is VOLL.
- Priority: inflexible demand first. A bid priced at or above VOLL (firm, price-taking load
  such as contracted AI) enters the LP at VOLL - `BID_PRIORITY_MARGIN_USD_PER_MWH`: it is
  served whenever the grid can serve it without shedding inflexible demand, and it is
  curtailed before any inflexible demand is shed (as grid operators curtail large flexible
  loads before firm customers). A bid at exactly the LMP may clear partially: bids at that
  price at one bus clear the same share of their MW; between buses (any split of the same
  price is optimal) the split is the solver's, deterministic for the same inputs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from simulation.grid import compiled_lp
from simulation.grid.network import Grid
from simulation.grid.sifting import SiftingLp
from simulation.grid.storage import StorageOffers

#: firm bids (at or above VOLL) are cleared at VOLL minus this, so they never displace inflexible demand
BID_PRIORITY_MARGIN_USD_PER_MWH = 1.0
#: piecewise-linear segments of a quadratic generation cost between Pmin and capacity
DEFAULT_COST_SEGMENTS = 4
#: formulation="auto" uses the PTDF form, solved by sifting with lazy line limits, from this many buses on
PTDF_FROM_BUSES = 1000
#: a line is reported congested when its flow is within this of its limit (MW, relative to max(1, limit))
CONGESTION_TOL = 1e-6

#: the LP engines: HiGHS (the reference), or the compiled dual simplex with HiGHS as its fallback
ENGINES = ("highs", "compiled")
#: the engine of a Dispatcher made without one: HiGHS (the compiled engine's LMPs differ from HiGHS's in
#: the last bits, so the pinned logs stay HiGHS's; the tests run the grid tests under both)
DEFAULT_ENGINE = "highs"

_OPTIMAL = highspy.HighsModelStatus.kOptimal
_banner_done = False
_no_numba_said = False


@dataclass(frozen=True, eq=False)
class DispatchResult:
    """One hour's clearing. Arrays per bus, generator, line or bid slot as named."""

    lmp_usd_per_mwh: np.ndarray  # (n_bus,) locational marginal price
    gen_mw: np.ndarray  # (n_gen,) dispatch
    line_flow_mw: np.ndarray  # (n_line,) DC flow, + from -> to (copperplate: flows the dispatch would cause)
    line_loading: np.ndarray  # (n_line,) |flow| / limit (0 for unlimited lines)
    congested: np.ndarray  # (n_line,) bool: flow at its limit (never in copperplate mode)
    bid_cleared_mw: np.ndarray  # (n_slots,) flexible load served
    shed_mw: np.ndarray  # (n_bus,) inflexible demand not served (priced at VOLL)
    curtailed_mw: np.ndarray  # (n_gen,) wind/solar available but not dispatched (0 for others)
    emissions_t: float  # tCO2 in the hour
    cost_usd: float  # generation cost + VOLL x shed in the hour
    status: str  # "optimal", or "optimal_without_min" (the units' floors made the hour infeasible)
    storage_charge_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n_storage,) drawn from the grid
    storage_discharge_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n_storage,) delivered to it


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level stdout (HiGHS prints a banner when the first instance is made)."""
    try:
        sys.stdout.flush()
        fd = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


def _new_highs() -> highspy.Highs:
    global _banner_done
    if _banner_done:
        h = highspy.Highs()
    else:
        with _quiet_stdout():
            h = highspy.Highs()
        _banner_done = True
    for name, value in (("output_flag", False), ("log_to_console", False), ("presolve", "off"),
                        ("threads", 1), ("solver", "simplex")):
        h.setOptionValue(name, value)
    return h


def _new_compiled() -> compiled_lp.CompiledLp:
    return compiled_lp.CompiledLp()


def _engine_factory(engine: str):
    """The LP factory of `engine`: 'compiled' without numba installed is HiGHS (said once)."""
    global _no_numba_said
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))} (got {engine!r})")
    if engine == "compiled" and not compiled_lp.AVAILABLE:
        if not _no_numba_said:
            print("dispatch: numba is not installed (pip install -e \".[fast]\"): the compiled engine "
                  "is unavailable, HiGHS solves every hour", file=sys.stderr)
            _no_numba_said = True
        return "highs", _new_highs
    return engine, (_new_compiled if engine == "compiled" else _new_highs)


class Dispatcher:
    """Builds the hourly DC-OPF once for a grid and a fixed layout of flexible-bid slots.

    `bid_bus`: bus index of every bid slot (one entry per slot; e.g. 1,000 miners x a few
    blocks). `solve` then changes only bounds and costs and warm-starts from the last basis.

    Bids enter the LP aggregated: all slots of one hour at the same bus and the same price are
    one column (a step of the bus's demand curve), so the LP has a column per distinct (bus,
    price) rather than per slot (1,000 miners x 6 slots -> ~760 steps an hour on IEEE 118), and
    slots bidding nothing are left out. The LP and its prices are the same as with a column per slot;
    a step cleared partially (its price is the bus's LMP) is shared pro rata among its slots.
    Columns come from a pool per bus, grown when an hour has more steps at a bus than any hour
    before (`addCols` keeps the basis); unused pool columns are fixed at 0. A pool column keeps
    its identity from hour to hour, which the warm start (and the PTDF form's working LP) rely on.

    `engine`: the LP solver, "highs" (HiGHS) or "compiled" (`compiled_lp.CompiledLp`, a numba dual
    simplex warm from the last hour's basis and inverse, HiGHS for any solve it cannot finish;
    HiGHS when numba is not installed). Both solve the same LP (the B-theta LP, or the PTDF
    form's sifting working LP) through the same calls; `engine_stats` counts the fallbacks. A
    B-theta LP of more than `compiled_lp.MAX_ROWS` rows stays HiGHS's (`engine` says so).
    """

    def __init__(self, grid: Grid, bid_bus, copperplate: bool = False, voll_usd_per_mwh: float = 5000.0,
                 cost_segments: int = DEFAULT_COST_SEGMENTS, formulation: str = "auto", storage_bus=(),
                 engine: str | None = None) -> None:
        bid_bus = _bus_indices(bid_bus, grid, "bid_bus", "bid slot")
        storage_bus = _bus_indices(storage_bus, grid, "storage_bus", "storage unit")
        self.storage_bus = storage_bus.astype(np.int64)
        self._n_stor = len(storage_bus)
        voll = float(voll_usd_per_mwh)
        if not (np.isfinite(voll) and voll > BID_PRIORITY_MARGIN_USD_PER_MWH):
            raise ValueError(f"voll_usd_per_mwh must be a finite price > {BID_PRIORITY_MARGIN_USD_PER_MWH:g} "
                             f"(got {voll_usd_per_mwh}); e.g. 5000 (the ERCOT offer cap)")
        self.grid = grid
        self.bid_bus = bid_bus.astype(np.int64)
        self._bus_key = bid_bus.astype(np.int16 if grid.n_bus <= np.iinfo(np.int16).max else np.int32)
        self.copperplate = bool(copperplate)
        self.voll_usd_per_mwh = voll
        self.bid_price_cap_usd_per_mwh = voll - BID_PRIORITY_MARGIN_USD_PER_MWH
        if not (isinstance(cost_segments, (int, np.integer)) and cost_segments >= 1):
            raise ValueError(f"cost_segments must be an integer >= 1 (got {cost_segments!r}); e.g. 4")
        self.cost_segments = int(cost_segments)
        if formulation not in ("auto", "btheta", "ptdf"):
            raise ValueError(f"formulation must be 'auto', 'btheta' or 'ptdf' (got {formulation!r})")
        if formulation == "auto":
            formulation = "ptdf" if grid.n_bus >= PTDF_FROM_BUSES else "btheta"
        self.formulation = "copperplate" if self.copperplate else formulation
        self._lazy = self.formulation == "ptdf"
        #: the engine in use ("compiled" asked for without numba is "highs")
        self.engine, self._new_lp = _engine_factory(DEFAULT_ENGINE if engine is None else engine)
        self._segments()
        self._build()

    def _segments(self) -> None:
        """Generation columns: one per unit with a linear cost; for a quadratic cost c2 p^2 + c1 p,
        a block [0, Pmin] (when Pmin > 0) and `cost_segments` equal segments of [Pmin, cap], each
        priced at the cost's slope over it, c1 + c2 (a + b) USD/MWh (convex, so the LP fills them
        in order and the sum is the PWL cost)."""
        g = self.grid
        seg_gen, start, width, cost = [], [], [], []
        c1, c2, pmin, cap = g.gen_cost_usd_per_mwh, g.gen_cost_quad_usd_per_mw2h, g.gen_min_mw, g.gen_cap_mw
        for i in range(g.n_gen):
            if c2[i] == 0.0:
                seg_gen.append(i), start.append(0.0), width.append(cap[i]), cost.append(c1[i])
                continue
            points = ([0.0] if pmin[i] > 0 else []) + list(np.linspace(pmin[i], cap[i], self.cost_segments + 1))
            for a, b in zip(points[:-1], points[1:]):
                seg_gen.append(i), start.append(a), width.append(b - a), cost.append(c1[i] + c2[i] * (a + b))
        self._seg_gen = np.array(seg_gen, np.int64)
        self._seg_start = np.array(start, float)
        self._seg_width = np.array(width, float)
        self._seg_cost = np.array(cost, float)
        self._seg_co2 = g.gen_co2_t_per_mwh[self._seg_gen]
        self._n_seg = len(seg_gen)

    def segment_costs(self) -> list[list[tuple[float, float, float]]]:
        """Per generator its cost segments as (from MW, to MW, USD/MWh): the PWL cost the LP uses."""
        out: list[list[tuple[float, float, float]]] = [[] for _ in range(self.grid.n_gen)]
        for i, a, w, c in zip(self._seg_gen, self._seg_start, self._seg_width, self._seg_cost):
            out[i].append((float(a), float(a + w), float(c)))
        return out

    # -- the LP, once ----------------------------------------------------------------------------
    def _build(self) -> None:
        """Columns: generation segments [0, ns), shed [ns, ns + nb), storage charge then discharge
        (u each), angles (B-theta), then the bid pool. The PTDF form builds a working LP every
        hour instead (`SiftingLp`)."""
        g, nb = self.grid, self.grid.n_bus
        ng, u = self._n_seg, self._n_stor
        self._c_stor = ng + nb
        self._n_gen, self._n_bid = g.n_gen, len(self.bid_bus)
        self._renewable = g.is_renewable
        self._finite = np.isfinite(g.line_limit_mw)
        self._lim_finite = np.where(self._finite, g.line_limit_mw, 0.0)
        self._lim_or_inf = g.line_limit_mw  # |flow| / inf = 0 for unlimited lines
        self._fixed_lo = np.zeros(ng + nb)
        self._fixed_hi = np.zeros(ng + nb)
        # the bid pool: _pool[bus, k] = column of the bus's k-th step (highest price first), -1: none yet
        self._pool = np.full((nb, 0), -1, np.int64)
        self._pool_size = np.zeros(nb, np.int64)
        self._last_order = None  # the last hour's bidding slots in step order (`_bid_order`)
        self._last_steps = None  # the last hour's step buses and their pool columns (`_pool_columns`)
        self._n_pool = 0
        #: the PTDF form's working LP (its `lines`, `rounds_total`, `columns_total`), else None
        self.sifting: SiftingLp | None = None
        if self._lazy:  # columns [segments, shed per bus, the pool], priced in a working LP
            self.sifting = SiftingLp(g, self._new_lp)
            self._c_pool = ng + nb + 2 * u
            # per column: bus, sign (+1 injects, -1 a bid withdraws), tCO2/MWh; grown with the pool
            self._col_bus = np.concatenate([g.gen_bus[self._seg_gen], np.arange(nb), self.storage_bus,
                                            self.storage_bus])
            self._col_sign = np.concatenate([np.ones(ng + nb), -np.ones(u), np.ones(u)])
            self._col_co2 = np.concatenate([self._seg_co2, np.zeros(nb + 2 * u)])
            return
        single = self.copperplate
        if single:
            n_phi = 0
            rows = [np.zeros(ng, np.int64), np.zeros(nb, np.int64), np.zeros(2 * u, np.int64)]
            n_bal = 1
        else:
            n_phi = nb - 1
            rows = [g.gen_bus[self._seg_gen], np.arange(nb), self.storage_bus, self.storage_bus]
            n_bal = nb
        self._nonslack = np.flatnonzero(np.arange(nb) != g.slack)
        # balance rows: +gen, +shed, -charge, +discharge (and -B phi); bid columns (-1) join the pool later
        n_fix = ng + nb + 2 * u
        a = sp.csc_matrix((np.concatenate([np.ones(ng + nb), -np.ones(u), np.ones(u)]),
                           (np.concatenate(rows), np.arange(n_fix))), shape=(n_bal, n_fix))
        row_lo = np.zeros(n_bal)
        row_hi = np.zeros(n_bal)
        if not single:
            lim = np.flatnonzero(self._finite)
            b_red = -g.bbus[:, self._nonslack]  # balance: ... - B phi = d
            flow_rows = (sp.diags(g.line_b_pu[lim]) @ g.incidence[lim])[:, self._nonslack]
            left = sp.vstack([a, sp.csc_matrix((len(lim), a.shape[1]))])
            right = sp.vstack([b_red, flow_rows])
            a = sp.hstack([left, right]).tocsc()
            row_lo = np.concatenate([row_lo, -g.line_limit_mw[lim]])
            row_hi = np.concatenate([row_hi, g.line_limit_mw[lim]])
        a.sort_indices()
        self._c_phi = n_fix
        self._c_pool = n_col = n_fix + n_phi
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_ = n_col
        lp.num_row_ = a.shape[0]
        lp.col_cost_ = np.concatenate([self._seg_cost, np.full(nb, self.voll_usd_per_mwh), np.zeros(2 * u),
                                       np.zeros(n_phi)])
        lp.col_lower_ = np.concatenate([np.zeros(n_fix), np.full(n_phi, -inf)])
        lp.col_upper_ = np.concatenate([self._seg_width, np.zeros(nb + 2 * u), np.full(n_phi, inf)])
        lp.row_lower_ = row_lo
        lp.row_upper_ = row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = n_col
        lp.a_matrix_.num_row_ = a.shape[0]
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        if self.engine == "compiled" and a.shape[0] > compiled_lp.MAX_ROWS:  # too large for the dense engine
            self.engine, self._new_lp = "highs", _new_highs
        self._h = self._new_lp()
        self._h.passModel(lp)
        self._n_bal = n_bal
        # index arrays and buffers reused every hour
        self._fixed_idx = np.arange(ng + nb, dtype=np.int32)
        self._stor_idx = np.arange(ng + nb, n_fix, dtype=np.int32)
        self._pool_idx = np.zeros(0, np.int32)
        self._row_idx = np.arange(n_bal, dtype=np.int32)

    def _grow_pool(self, bus: np.ndarray, steps: np.ndarray) -> None:
        """Make sure bus `bus[i]` has at least `steps[i]` pool columns (new ones fixed at 0)."""
        short = steps > self._pool_size[bus]
        if not short.any():
            return
        bus, steps = bus[short], steps[short]
        width = int(steps.max())
        if width > self._pool.shape[1]:
            self._pool = np.hstack([self._pool, np.full((self._pool.shape[0], width - self._pool.shape[1]), -1)])
        have = self._pool_size[bus]
        n_new = int((steps - have).sum())
        new_bus = np.repeat(bus, steps - have)
        new_k = np.concatenate([np.arange(h, s) for h, s in zip(have, steps)])
        first = self._c_pool + self._n_pool
        self._pool[new_bus, new_k] = first + np.arange(n_new)
        self._pool_size[bus] = steps
        self._n_pool += n_new
        if self._lazy:
            self._col_bus = np.concatenate([self._col_bus, new_bus])
            self._col_sign = np.concatenate([self._col_sign, -np.ones(n_new)])
            self._col_co2 = np.concatenate([self._col_co2, np.zeros(n_new)])
            return
        if self.copperplate:
            self._h.addCols(n_new, np.zeros(n_new), np.zeros(n_new), np.zeros(n_new), n_new,
                            np.arange(n_new, dtype=np.int32), np.zeros(n_new, np.int32), -np.ones(n_new))
        else:
            self._h.addCols(n_new, np.zeros(n_new), np.zeros(n_new), np.zeros(n_new), n_new,
                            np.arange(n_new, dtype=np.int32), new_bus.astype(np.int32), -np.ones(n_new))
        self._pool_idx = np.arange(self._c_pool, self._c_pool + self._n_pool, dtype=np.int32)
        self._pool_hi = np.zeros(self._n_pool)
        self._pool_cost = np.zeros(self._n_pool)
        self._pool_lo = np.zeros(self._n_pool)

    def _steps(self, q: np.ndarray, price: np.ndarray):
        """Group the slots bidding MW by (bus, price), by bus and then by descending price: the
        live slots in that order, each one's step, and per step its bus, MW and price."""
        live = self._bid_order(q, price)
        bus, p = self.bid_bus[live], price[live]
        first = np.ones(len(live), bool)
        first[1:] = (bus[1:] != bus[:-1]) | (p[1:] != p[:-1])
        step_of = np.cumsum(first) - 1  # step of each live slot
        step_bus, step_price = bus[first], p[first]
        step_mw = np.bincount(step_of, weights=q[live], minlength=len(step_bus))
        return live, step_of, step_bus, step_mw, step_price

    def _bid_order(self, q: np.ndarray, price: np.ndarray) -> np.ndarray:
        """The slots bidding MW (q > 0) by bus, then by descending price, then by slot: the last
        hour's order when it still is that order (the same slots bid and no two swapped: ~9 hours
        in 10 of the Texas year; checking costs a fifth of sorting), else sorted afresh."""
        last = self._last_order
        if last is not None and np.count_nonzero(q) == len(last) and len(last) > 1 and (q[last] > 0).all():
            b, p = self._bus_key[last], price[last]
            same_bus = b[1:] == b[:-1]
            in_order = (p[1:] < p[:-1]) | ((p[1:] == p[:-1]) & (last[1:] > last[:-1]))
            if ((b[1:] > b[:-1]) | (same_bus & in_order)).all():
                return last
        live = np.flatnonzero(q > 0)
        by_price = np.argsort(-price[live], kind="stable")
        # then by bus, stably (a radix sort on the small integer bus keys)
        live = live[by_price[np.argsort(self._bus_key[live[by_price]], kind="stable")]]
        self._last_order = live
        return live

    def _pool_columns(self, step_bus: np.ndarray) -> np.ndarray:
        """Pool column of each step (steps grouped by bus, highest price first): a bus's steps take
        its pool columns in that order, so a step keeps its column while prices keep their order,
        and the basis stays warm. The last hour's columns when the steps' buses are the same."""
        if self._last_steps is not None and np.array_equal(step_bus, self._last_steps[0]):
            return self._last_steps[1]
        n = len(step_bus)
        new_bus = np.ones(n, bool)
        new_bus[1:] = step_bus[1:] != step_bus[:-1]
        starts = np.flatnonzero(new_bus)
        counts = np.diff(np.append(starts, n))
        rank = np.arange(n) - np.repeat(starts, counts)
        self._grow_pool(step_bus[starts], counts)
        col = self._pool[step_bus, rank] - self._c_pool
        self._last_steps = (step_bus, col)
        return col

    # -- every hour ------------------------------------------------------------------------------
    def solve(self, demand_mw, avail_mw, bid_mw, bid_price_usd_per_mwh, min_mw=None,
              storage: StorageOffers | None = None) -> DispatchResult:
        """Clear one hour.

        demand_mw: (n_bus,) inflexible demand; avail_mw: (n_gen,) MW available (cap for thermal
        units, cap x capacity factor for wind/solar); bid_mw: (n_slots,) flexible MW offered to
        buy; bid_price_usd_per_mwh: (n_slots,) the most each slot pays (see module docstring
        for bids at or above VOLL); min_mw: (n_gen,) optional floor on each unit's output (its
        minimum output when committed, else 0; capped at avail_mw). When floors make the hour
        infeasible (they exceed what demand and the lines can absorb), the hour is cleared again
        without them and the result's status says so. storage: the storage units' offers (None:
        every unit idle this hour).
        """
        g = self.grid
        d = _vector(demand_mw, g.n_bus, "demand_mw", "one MW value >= 0 per bus")
        avail = _vector(avail_mw, g.n_gen, "avail_mw", "one MW value >= 0 per generator")
        q = _vector(bid_mw, self._n_bid, "bid_mw", "one MW value >= 0 per bid slot")
        price = np.asarray(bid_price_usd_per_mwh, float)
        if price.shape != (self._n_bid,):
            raise ValueError(f"bid_price_usd_per_mwh: shape {price.shape}, expected ({self._n_bid},); "
                             "give one price per bid slot")
        if np.isnan(price).any():
            raise ValueError(f"bid_price_usd_per_mwh[{np.flatnonzero(np.isnan(price))[0]}] is NaN; "
                             "give every bid slot a price in USD/MWh")
        cap = self.bid_price_cap_usd_per_mwh
        price = np.clip(price, -cap, cap)

        floor = None
        if min_mw is not None:
            floor = np.minimum(_vector(min_mw, g.n_gen, "min_mw", "one MW value >= 0 per generator"), avail)
        stor_hi, stor_cost = self._storage_columns(storage)
        ns = self._n_seg
        live, step_of, step_bus, step_mw, step_price = self._steps(q, price)
        hi, lo = self._fixed_hi, self._fixed_lo
        a, w = self._seg_start, self._seg_width
        hi[:ns] = np.clip(avail[self._seg_gen] - a, 0.0, w)
        lo[:ns] = 0.0 if floor is None else np.clip(floor[self._seg_gen] - a, 0.0, w)
        hi[ns:] = d
        if self._lazy:
            x, y, step_x, flow, status = self._solve_sifting(d, lo, hi, step_bus, step_mw, step_price, stor_hi,
                                                             stor_cost)
        else:
            x, y, step_x, status = self._solve_full(d, lo, hi, floor, step_bus, step_mw, step_price, stor_hi,
                                                    stor_cost)
            flow = None
        bid = np.zeros(self._n_bid)
        if len(live):
            share = step_x / step_mw  # 1.0 exactly for a step cleared in full
            bid[live] = np.clip(q[live] * share[step_of], 0.0, q[live])
        return self._result(x, y, d, avail, bid, status, flow, stor_hi)

    def _storage_columns(self, storage: StorageOffers | None) -> tuple[np.ndarray, np.ndarray]:
        """The storage columns' upper bounds and objective coefficients, [charge, discharge],
        from the hour's offers (checked; prices clipped to the bids' cap)."""
        u = self._n_stor
        if storage is None or not u:
            if storage is not None and len(np.asarray(storage.charge_mw)):
                raise ValueError(f"storage: offers for {len(np.asarray(storage.charge_mw))} units, but the "
                                 "dispatcher has no storage_bus; build it with storage_bus")
            return np.zeros(2 * u), np.zeros(2 * u)
        cap = self.bid_price_cap_usd_per_mwh
        qc = _vector(storage.charge_mw, u, "storage.charge_mw", "one MW value >= 0 per storage unit")
        qd = _vector(storage.discharge_mw, u, "storage.discharge_mw", "one MW value >= 0 per storage unit")
        prices = []
        for name in ("charge_usd_per_mwh", "discharge_usd_per_mwh"):
            p = np.asarray(getattr(storage, name), float)
            if p.shape != (u,) or np.isnan(p).any():
                raise ValueError(f"storage.{name}: give one price (not NaN) per storage unit ({u}); got shape {p.shape}")
            prices.append(np.clip(p, -cap, cap))
        pc, pd = prices
        both = (qc > 0) & (qd > 0) & (pd <= pc)
        if both.any():
            i = int(np.flatnonzero(both)[0])
            raise ValueError(f"storage unit {i}: discharge price {pd[i]:g} <= charge price {pc[i]:g} USD/MWh with MW "
                             "offered both ways; offer to sell above the price you buy at")
        return np.concatenate([qc, qd]), np.concatenate([-pc, pd])

    def _solve_full(self, d, lo, hi, floor, step_bus, step_mw, step_price, stor_hi, stor_cost):
        """The whole LP in HiGHS, warm from the last hour: new bounds, costs and right-hand sides."""
        h = self._h
        col = self._pool_columns(step_bus)
        h.changeColsBounds(len(self._fixed_idx), self._fixed_idx, lo, hi)
        if self._n_stor:
            h.changeColsBounds(len(self._stor_idx), self._stor_idx, np.zeros(len(stor_hi)), stor_hi)
            h.changeColsCost(len(self._stor_idx), self._stor_idx, stor_cost)
        if self._n_pool:
            self._pool_hi[:] = 0.0
            self._pool_hi[col] = step_mw
            self._pool_cost[:] = 0.0
            self._pool_cost[col] = -step_price
            h.changeColsBounds(self._n_pool, self._pool_idx, self._pool_lo, self._pool_hi)
            h.changeColsCost(self._n_pool, self._pool_idx, self._pool_cost)
        rhs = np.array([d.sum()]) if self.copperplate else d
        h.changeRowsBounds(self._n_bal, self._row_idx, rhs, rhs)
        self._run(lo, hi, floor)
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        return x, np.asarray(sol.row_dual), x[self._c_pool + col], self._status_text

    def _solve_sifting(self, d, lo, hi, step_bus, step_mw, step_price, stor_hi, stor_cost):
        """The PTDF form by sifting (`SiftingLp`): columns [segments, shed per bus, storage charge
        and discharge, bid pool]; if the units' floors leave no feasible point, the hour again
        without them."""
        col = self._pool_columns(step_bus)
        n = self._n_pool
        cost = np.concatenate([self._seg_cost, np.full(self.grid.n_bus, self.voll_usd_per_mwh), stor_cost,
                               np.zeros(n)])
        cost[self._c_pool + col] = -step_price
        hi_all = np.concatenate([hi, stor_hi, np.zeros(n)])
        hi_all[self._c_pool + col] = step_mw
        lo_all = np.concatenate([lo, np.zeros(len(stor_hi) + n)])
        sol = self.sifting.solve(cost, lo_all, hi_all, self._col_bus, self._col_sign, d)
        status = "optimal"
        if not sol.feasible and lo[:self._n_seg].any():
            lo_all[:self._n_seg] = 0.0
            sol = self.sifting.solve(cost, lo_all, hi_all, self._col_bus, self._col_sign, d)
            status = "optimal_without_min"
        if not sol.feasible:
            raise RuntimeError("dispatch: the hour has no feasible dispatch even with demand shed; please report this")
        return sol.x, sol.lmp_usd_per_mwh, sol.x[self._c_pool + col], sol.line_flow_mw, status

    def _run(self, lo, hi, floor) -> None:
        """Solve from the current basis; on trouble once more from scratch, then without floors."""
        h, ns = self._h, self._n_seg
        h.run()
        self._status_text = "optimal"
        if h.getModelStatus() != _OPTIMAL:  # numerical trouble: once more from scratch
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
            if status != _OPTIMAL and floor is not None and lo[:ns].any():  # floors too high: drop them
                lo[:ns] = 0.0
                h.changeColsBounds(len(self._fixed_idx), self._fixed_idx, lo, hi)
                h.run()
                status = h.getModelStatus()
                self._status_text = "optimal_without_min"
            if status != _OPTIMAL:
                raise RuntimeError(f"dispatch: HiGHS ended with status {h.modelStatusToString(status)!r}; "
                                   "the LP should always be feasible (demand can be shed): please report this")

    @property
    def engine_stats(self) -> dict:
        """The compiled engine's solves, simplex iterations, HiGHS fallbacks (by reason) and time
        in its run() (s); zeros for HiGHS."""
        h = self.sifting._h if self._lazy else self._h
        if not isinstance(h, compiled_lp.CompiledLp):
            return {"engine": self.engine, "solves": 0, "iterations": 0, "fallbacks": 0, "reasons": {}, "run_s": 0.0}
        return {"engine": self.engine, "solves": h.solves, "iterations": h.iterations, "fallbacks": h.fallbacks,
                "reasons": dict(h.fallback_reasons), "run_s": h.run_s}

    def marginal_emissions(self) -> np.ndarray:
        """(n_bus,) locational marginal emissions of the last solved hour, tCO2/MWh: how much the
        hour's emissions change per MW more inflexible demand at each bus.

        From the optimal basis, the way LMPs come from it with costs replaced by emission rates:
        1 MW more at bus i moves the basic variables by dx_B = B^-1 e_i (the marginal units, and
        the flows through the binding lines, respond; everything at a bound stays), so the
        emissions change by co2_B . B^-1 e_i = (B^-T co2_B)_i: one transposed solve with the
        factored basis gives every bus at once. Exact for a change small enough to keep the basis
        (the marginal units stay within their segments); at a degenerate vertex it is the
        response of the basis HiGHS ended with.
        """
        if self._lazy:
            return self.sifting.marginal(self._col_co2)
        h = self._h
        basic = np.asarray(h.getBasicVariables()[1])
        rate = np.zeros(len(basic))
        is_seg = (basic >= 0) & (basic < self._n_seg)
        rate[is_seg] = self._seg_co2[basic[is_seg]]
        _, y = h.getBasisTransposeSolve(rate)
        y = np.asarray(y)
        return np.full(self.grid.n_bus, y[0] + 0.0) if self.copperplate else y[:self.grid.n_bus] + 0.0

    def _result(self, x, y, d, avail, bid, status, flow, stor_hi) -> DispatchResult:
        """x: segments, shed, storage, ...; y: LMPs (PTDF form) or row duals; flow: PTDF form's flows."""
        g = self.grid
        ns, nb, u = self._n_seg, g.n_bus, self._n_stor
        seg = np.clip(x[:ns], 0.0, self._seg_width)
        gen = np.minimum(np.bincount(self._seg_gen, seg, g.n_gen), avail)
        shed = np.clip(x[ns:ns + nb], 0.0, d)
        stor = np.clip(x[ns + nb:ns + nb + 2 * u], 0.0, stor_hi)
        charge, discharge = stor[:u], stor[u:]
        if self.copperplate:
            lmp = np.full(g.n_bus, y[0] + 0.0)
            inj = (np.bincount(g.gen_bus, gen, g.n_bus) - np.bincount(self.bid_bus, bid, g.n_bus) + shed - d)
            if u:
                inj = inj + np.bincount(self.storage_bus, discharge - charge, g.n_bus)
            flow = g.ptdf @ inj
            congested = np.zeros(g.n_line, bool)
        else:
            lmp = y if self._lazy else y[:g.n_bus] + 0.0  # (+ 0.0 turns -0.0 into 0.0)
            if flow is None:
                phi = np.zeros(g.n_bus)
                phi[self._nonslack] = x[self._c_phi:self._c_pool]
                flow = g.line_b_pu * (phi[g.line_from] - phi[g.line_to])
            congested = self._finite & (np.abs(flow) >= self._lim_finite - CONGESTION_TOL * np.maximum(1.0, self._lim_finite))
        loading = np.abs(flow) / self._lim_or_inf
        curtailed = np.where(self._renewable, avail - gen, 0.0)
        return DispatchResult(
            lmp_usd_per_mwh=lmp, gen_mw=gen, line_flow_mw=flow, line_loading=loading, congested=congested,
            bid_cleared_mw=bid, shed_mw=shed, curtailed_mw=curtailed,
            emissions_t=float(gen @ g.gen_co2_t_per_mwh),
            cost_usd=float(seg @ self._seg_cost + self.voll_usd_per_mwh * shed.sum()),
            status=status, storage_charge_mw=charge, storage_discharge_mw=discharge)


def _bus_indices(bus, grid: Grid, name: str, what: str) -> np.ndarray:
    bus = np.asarray(bus)
    if not bus.size:
        return np.zeros(0, np.int64)
    if bus.ndim != 1 or not np.issubdtype(bus.dtype, np.integer):
        raise ValueError(f"{name}: must be a 1-D array of bus indices (got shape {bus.shape}, "
                         f"dtype {bus.dtype}); give one bus index per {what}")
    bad = np.flatnonzero((bus < 0) | (bus >= grid.n_bus))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}]: bus index {bus[bad[0]]} is out of range 0..{grid.n_bus - 1}; "
                         "use bus positions in the grid")
    return bus


def _vector(v, n: int, name: str, fix: str) -> np.ndarray:
    a = np.asarray(v, float)
    if a.shape != (n,):
        raise ValueError(f"{name}: shape {a.shape}, expected ({n},); give {fix}")
    bad = ~np.isfinite(a) | (a < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] must be finite and >= 0 (got {a[i]}); give {fix}")
    return a
