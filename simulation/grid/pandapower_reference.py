"""The grid's market as a pandapower net: the reference our DC-OPF (`Dispatcher`) is checked and
timed against (tests/test_grid_reference.py, tests/test_grid_texas.py, benchmarks/grid_dispatch.py,
benchmarks/year_ieee118.py, benchmarks/year_texas.py). pandapower is optional (the `test` extra);
nothing in a run uses this. `PandapowerMarket` is built once for linear costs;
`segmented_net` builds one hour of a case read in full (minimum outputs, cost segments).

The net has exactly the grid's DC data: every branch a line (x = our x_pu, with the tap ratio
folded in; r = 0), a limit of 100 % loading at the line's MW limit (none where it is infinite),
the first unit on the slack bus as the external grid (a zero one when the slack bus has no unit)
and the others as controllable gens with linear costs (our marginal cost as `cp1_eur_per_mw`).
Each bus has an inflexible load; with `voll_usd_per_mwh` it may be shed (a static generator per
bus at that cost, up to the bus's demand). Flexible bids are controllable loads costed at minus
their price (capped at VOLL - `BID_PRIORITY_MARGIN_USD_PER_MWH`, as ours are, when VOLL is given).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from simulation.grid.dispatch import BID_PRIORITY_MARGIN_USD_PER_MWH, DispatchResult
from simulation.grid.network import Grid

#: base voltage of every bus (kV); only the per-unit reactance matters in a DC model
VN_KV = 100.0
#: PIPS options of the second try when pandapower's `rundcopp` stops unconverged: its
#: step-controlled interior point (`OPF_ALG_DC=250`), more iterations, 1e-8 tolerances (still far
#: inside the tests' 1e-6 MW and 1e-4 USD/MWh)
RETRY_PIPS = dict(OPF_ALG_DC=250, PDIPM_MAX_IT=500, PDIPM_GRADTOL=1e-8, PDIPM_COMPTOL=1e-8, PDIPM_COSTTOL=1e-8,
                  PDIPM_FEASTOL=1e-8)


class ReferenceNotConverged(RuntimeError):
    """pandapower's DC-OPF stopped unconverged with the first options and with `RETRY_PIPS`."""


def rundcopp(net, **pips) -> dict:
    """pandapower's DC-OPF (`rundcopp`) on `net` with the PIPS options `pips`; once more with
    `RETRY_PIPS` if it stops unconverged. Returns the options that converged; raises
    `ReferenceNotConverged`, naming pandapower's version, when neither did (a reference release
    that cannot solve a case is a fact about the reference, which tests report, not hide)."""
    import pandapower as pp

    for opts in (pips, {**pips, **RETRY_PIPS}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pp.rundcopp(net, **opts)
            except pp.OPFNotConverged:
                continue
        if net.OPF_converged:
            return opts
    raise ReferenceNotConverged(f"pandapower {pp.__version__} rundcopp did not converge (PIPS with {pips or 'its defaults'}, "
                                f"then step-controlled with {RETRY_PIPS})")


class PandapowerMarket:
    """A pandapower net built once from `grid`, with flexible bids at `bid_bus`; `solve` sets an
    hour's inputs and runs `rundcopp`."""

    def __init__(self, grid: Grid, bid_bus=(), voll_usd_per_mwh: float | None = None) -> None:
        import pandapower as pp

        self.pp, self.grid, self.bid_bus = pp, grid, np.asarray(bid_bus, np.int64)
        self.voll = None if voll_usd_per_mwh is None else float(voll_usd_per_mwh)
        g = grid
        net = pp.create_empty_network(sn_mva=g.base_mva)
        pp.create_buses(net, g.n_bus, vn_kv=VN_KV, index=np.arange(g.n_bus))
        lim = np.asarray(g.line_limit_mw, float)
        pp.create_lines_from_parameters(
            net, g.line_from, g.line_to, length_km=1.0, r_ohm_per_km=0.0,
            x_ohm_per_km=g.line_x_pu * (VN_KV ** 2 / g.base_mva), c_nf_per_km=0.0,
            max_i_ka=np.where(np.isfinite(lim), lim / (math.sqrt(3) * VN_KV), 1e5), max_loading_percent=100.0,
            index=np.arange(g.n_line))
        self.demand = pp.create_loads(net, np.arange(g.n_bus), p_mw=0.0, controllable=False)
        at_slack = np.flatnonzero(g.gen_bus == g.slack)
        self.ext = int(at_slack[0]) if at_slack.size else None
        self.units = np.array([u for u in range(g.n_gen) if u != self.ext], int)
        if self.ext is None:  # the reference bus needs an external grid: one that cannot inject
            self.ext_el = pp.create_ext_grid(net, g.slack, min_p_mw=0.0, max_p_mw=0.0)
        else:
            self.ext_el = pp.create_ext_grid(net, g.slack, min_p_mw=0.0, max_p_mw=float(g.gen_cap_mw[self.ext]))
            pp.create_poly_cost(net, self.ext_el, "ext_grid", cp1_eur_per_mw=float(g.gen_cost_usd_per_mwh[self.ext]))
        self.gens = pp.create_gens(net, g.gen_bus[self.units], p_mw=0.0, min_p_mw=0.0,
                                   max_p_mw=g.gen_cap_mw[self.units], controllable=True)
        pp.create_poly_costs(net, self.gens, "gen", cp1_eur_per_mw=g.gen_cost_usd_per_mwh[self.units])
        self.shed = None
        if self.voll is not None:
            self.shed = pp.create_sgens(net, np.arange(g.n_bus), p_mw=0.0, min_p_mw=0.0, max_p_mw=0.0,
                                        controllable=True)
            pp.create_poly_costs(net, self.shed, "sgen", cp1_eur_per_mw=self.voll)
        self.flex = self.flex_cost = np.zeros(0, int)
        if self.bid_bus.size:
            self.flex = pp.create_loads(net, self.bid_bus, p_mw=0.0, min_p_mw=0.0, max_p_mw=0.0, controllable=True)
            self.flex_cost = pp.create_poly_costs(net, self.flex, "load", cp1_eur_per_mw=0.0)
        self.net = net

    def set_hour(self, demand_mw, avail_mw, bid_mw=(), bid_price_usd_per_mwh=()) -> None:
        """Write an hour's inflexible demand per bus, available MW per unit and bids into the net."""
        net = self.net
        net.load.loc[self.demand, "p_mw"] = demand_mw
        if self.shed is not None:
            net.sgen.loc[self.shed, "max_p_mw"] = demand_mw
        net.gen.loc[self.gens, "max_p_mw"] = np.asarray(avail_mw)[self.units]
        if self.ext is not None:
            net.ext_grid.loc[self.ext_el, "max_p_mw"] = avail_mw[self.ext]
        if self.flex.size:
            price = np.asarray(bid_price_usd_per_mwh, float)
            if self.voll is not None:
                cap = self.voll - BID_PRIORITY_MARGIN_USD_PER_MWH
                price = np.clip(price, -cap, cap)
            net.load.loc[self.flex, "max_p_mw"] = bid_mw
            net.poly_cost.loc[self.flex_cost, "cp1_eur_per_mw"] = -price

    def gen_mw(self) -> np.ndarray:
        """Each unit's output in the last solved net (MW, our unit order)."""
        gen = np.zeros(self.grid.n_gen)
        gen[self.units] = self.net.res_gen.p_mw.loc[self.gens].to_numpy()
        if self.ext is not None:
            gen[self.ext] = self.net.res_ext_grid.p_mw.at[self.ext_el]
        return gen

    def set_gen_mw(self, gen_mw) -> None:
        """Fix the units' output (for a power flow, `rundcpp`; the slack unit balances)."""
        self.net.gen.loc[self.gens, "p_mw"] = np.asarray(gen_mw)[self.units]

    def solve(self, demand_mw, avail_mw, bid_mw=(), bid_price_usd_per_mwh=(), **pips) -> DispatchResult:
        """The hour cleared by pandapower's DC-OPF (`rundcopp` above, PIPS options as `pips`), in
        our result's terms (outputs clipped to their bounds)."""
        self.set_hour(demand_mw, avail_mw, bid_mw, bid_price_usd_per_mwh)
        net, g = self.net, self.grid
        self.converged_with = rundcopp(net, **pips)
        avail_mw, demand_mw = np.asarray(avail_mw, float), np.asarray(demand_mw, float)
        gen = np.clip(self.gen_mw(), 0.0, avail_mw)
        shed = (np.zeros(g.n_bus) if self.shed is None
                else np.clip(net.res_sgen.p_mw.loc[self.shed].to_numpy(), 0.0, demand_mw))
        bid = (np.clip(np.nan_to_num(net.res_load.p_mw.loc[self.flex].to_numpy()), 0.0, bid_mw)
               if self.flex.size else np.zeros(0))
        flow = net.res_line.p_from_mw.to_numpy()
        finite = np.isfinite(g.line_limit_mw)
        return DispatchResult(
            lmp_usd_per_mwh=net.res_bus.lam_p.to_numpy().copy(), gen_mw=gen, line_flow_mw=flow,
            line_loading=np.abs(flow) / g.line_limit_mw,
            congested=finite & (np.abs(flow) >= np.where(finite, g.line_limit_mw, 0.0) - 1e-6),
            bid_cleared_mw=bid, shed_mw=shed, curtailed_mw=np.where(g.is_renewable, avail_mw - gen, 0.0),
            emissions_t=float(gen @ g.gen_co2_t_per_mwh),
            cost_usd=float(gen @ g.gen_cost_usd_per_mwh + (self.voll or 0.0) * shed.sum()), status="optimal")

    @property
    def objective_usd(self) -> float:
        """pandapower's objective of the last solve (generation cost + shedding - bids' value)."""
        return float(self.net.res_cost)


def segmented_net(grid: Grid, demand_mw, avail_mw, floor_mw, segments, voll_usd_per_mwh: float | None = None,
                  bid_steps=None, offer_steps=None, fixed_injection_mw=None):
    """One hour of our LP as a new pandapower net, for a case read in full: the lines as in
    `PandapowerMarket`; an inflexible load per bus with demand; a zero external grid at the slack
    (the angle reference only); each unit with MW available as a controllable gen in [min(floor,
    avail), avail] with its piecewise-linear cost (`Dispatcher.segment_costs()`, cut at avail;
    uncommitted units, avail 0, are left out). With `voll_usd_per_mwh`, a shed gen per load bus
    at that cost up to its demand; `bid_steps` = (bus, MW, USD/MWh) arrays become controllable
    loads costed at minus their price, `offer_steps` (the same arrays; storage discharging)
    controllable static generators costed at their price; `fixed_injection_mw` (per bus; e.g.
    storage at its cleared MW) fixed static generators where > 0 and fixed loads where < 0."""
    import pandapower as pp

    demand, avail, floor = (np.asarray(v, float) for v in (demand_mw, avail_mw, floor_mw))
    g = grid
    net = pp.create_empty_network(sn_mva=g.base_mva)
    pp.create_buses(net, g.n_bus, vn_kv=VN_KV, index=np.arange(g.n_bus))
    lim = np.asarray(g.line_limit_mw, float)
    finite = np.isfinite(lim)
    pp.create_lines_from_parameters(
        net, g.line_from, g.line_to, length_km=1.0, r_ohm_per_km=0.0,
        x_ohm_per_km=g.line_x_pu * (VN_KV ** 2 / g.base_mva), c_nf_per_km=0.0,
        max_i_ka=np.where(finite, lim, 1e9) / (math.sqrt(3) * VN_KV),
        max_loading_percent=np.where(finite, 100.0, np.nan))
    at = np.flatnonzero(demand > 0)
    pp.create_loads(net, buses=at, p_mw=demand[at], controllable=False)
    e = pp.create_ext_grid(net, bus=g.slack, min_p_mw=0.0, max_p_mw=0.0)
    pp.create_poly_cost(net, e, "ext_grid", cp1_eur_per_mw=0.0)
    if voll_usd_per_mwh is not None:
        shed = pp.create_gens(net, buses=at, p_mw=np.zeros(len(at)), min_p_mw=np.zeros(len(at)),
                              max_p_mw=demand[at], controllable=True)
        pp.create_poly_costs(net, shed, "gen", cp1_eur_per_mw=np.full(len(at), float(voll_usd_per_mwh)))
    on = np.flatnonzero(avail > 0)
    units = pp.create_gens(net, buses=g.gen_bus[on], p_mw=np.zeros(len(on)),
                           min_p_mw=np.minimum(floor[on], avail[on]), max_p_mw=avail[on], controllable=True)
    linear, linear_cost, pwl, pwl_points = [], [], [], []
    for el, u in zip(units, on):
        pts = [[a, min(b, avail[u]), c] for a, b, c in segments[u] if a < avail[u]]
        pts[-1][1] = float(avail[u])
        if len(pts) == 1:
            linear.append(el), linear_cost.append(pts[0][2])
        else:
            pwl.append(el), pwl_points.append(pts)
    pp.create_poly_costs(net, linear, "gen", cp1_eur_per_mw=np.array(linear_cost))
    if pwl:
        pp.create_pwl_costs(net, pwl, "gen", pwl_points)
    if bid_steps is not None and len(bid_steps[0]):
        bus, mw, price = bid_steps
        flex = pp.create_loads(net, buses=bus, p_mw=np.zeros(len(bus)), min_p_mw=np.zeros(len(bus)), max_p_mw=mw,
                               controllable=np.ones(len(bus), bool))
        pp.create_poly_costs(net, flex, "load", cp1_eur_per_mw=-np.asarray(price, float))
    if offer_steps is not None and len(offer_steps[0]):
        bus, mw, price = offer_steps
        sell = pp.create_sgens(net, buses=bus, p_mw=np.zeros(len(bus)), min_p_mw=np.zeros(len(bus)), max_p_mw=mw,
                               controllable=np.ones(len(bus), bool))
        pp.create_poly_costs(net, sell, "sgen", cp1_eur_per_mw=np.asarray(price, float))
    if fixed_injection_mw is not None:
        inj = np.asarray(fixed_injection_mw, float)
        out, into = np.flatnonzero(inj > 0), np.flatnonzero(inj < 0)
        if out.size:
            pp.create_sgens(net, buses=out, p_mw=inj[out], controllable=np.zeros(out.size, bool))
        if into.size:
            pp.create_loads(net, buses=into, p_mw=-inj[into], controllable=np.zeros(into.size, bool))
    return net
