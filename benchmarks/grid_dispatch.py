"""Hourly market clearing speed: our warm-started HiGHS DC-OPF against pandapower's `rundcopp`.

IEEE 118 with 1,000 flexible bid slots on random buses; every hour the system demand (synthetic
series, the case's 4,242 MW as peak), the bids' MW and their prices change. With `--limits
tight` (default) the 10 most loaded lines get thermal limits at 85-100 % of their flow at the
case's base demand, so peak hours congest and prices split (the shipped case has no limits).

Timed in this process, one core: our `Dispatcher` (network, and copperplate) over `--hours`
hours; pandapower `rundcopp` on the same net (bids as controllable loads with cost -price, its
default tolerances, and PDIPM_MAX_IT raised from 150 to 1,000: with 1,000 controllable loads
its interior-point solver does not converge in 150 iterations) over the first `--pp-hours`
hours only, timed and extrapolated per hour (it needs seconds per hour here: a full year would
take it hours). The objective values of both on those hours are compared as a sanity check.

    .venv/bin/python benchmarks/grid_dispatch.py [--hours 8760] [--pp-hours 100] [--slots 1000] [--limits tight|none]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from simulation.grid import Dispatcher, ieee118, synthetic_series  # noqa: E402


def hourly_inputs(grid, hours: int, slots: int, seed: int):
    rng = np.random.default_rng(seed)
    series = synthetic_series(hours=hours, start=1, peak_mw=grid.peak_demand_mw, rng=rng)
    bid_bus = rng.integers(0, grid.n_bus, slots)
    size = rng.uniform(0.5, 3.0, slots)  # MW per slot at full offer
    value = rng.uniform(15.0, 70.0, slots)  # each slot's typical willingness to pay
    demand = series.demand_mw[:, None] * grid.demand_share[None, :]
    bid_mw = size[None, :] * rng.uniform(0.0, 1.0, (hours, slots))
    price = value[None, :] * rng.uniform(0.8, 1.2, (hours, slots))
    return demand, bid_bus, bid_mw, price


def with_limits(grid, demand_mw, mode: str):
    if mode == "none":
        return grid
    r = Dispatcher(grid, np.zeros(0, np.int64)).solve(demand_mw, grid.gen_cap_mw, np.zeros(0), np.zeros(0))
    a = np.abs(r.line_flow_mw)
    top = np.argsort(-a)[:10]
    lim = np.full(grid.n_line, np.inf)
    lim[top] = np.round(a[top] * np.linspace(0.85, 1.0, 10), 1)
    return grid.with_changes(line_limit_mw=lim)


def time_ours(grid, bid_bus, demand, bid_mw, price, copperplate: bool):
    t0 = time.perf_counter()
    d = Dispatcher(grid, bid_bus, copperplate=copperplate)
    build = time.perf_counter() - t0
    objective, congested = [], 0
    t0 = time.perf_counter()
    for h in range(len(demand)):
        r = d.solve(demand[h], grid.gen_cap_mw, bid_mw[h], price[h])
        objective.append(r.cost_usd - float(price[h] @ r.bid_cleared_mw))
        congested += bool(r.congested.any())
    return (time.perf_counter() - t0) / len(demand), build, np.array(objective), congested


def time_pandapower(grid, bid_bus, demand, bid_mw, price, hours: int):
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=grid.base_mva)
    vn = 100.0
    for i in range(grid.n_bus):
        pp.create_bus(net, vn_kv=vn, index=i)
    for k in range(grid.n_line):
        lim = grid.line_limit_mw[k]
        pp.create_line_from_parameters(net, int(grid.line_from[k]), int(grid.line_to[k]), length_km=1.0,
                                       r_ohm_per_km=0.0, x_ohm_per_km=grid.line_x_pu[k] * vn ** 2 / grid.base_mva,
                                       c_nf_per_km=0.0, max_i_ka=lim / (math.sqrt(3) * vn) if np.isfinite(lim) else 1e5,
                                       # without it rundcopp ignores line limits (an easier problem than ours)
                                       max_loading_percent=100.0 if np.isfinite(lim) else np.nan)
    loads = [pp.create_load(net, int(i), p_mw=0.0, controllable=False) for i in range(grid.n_bus)]
    slack_unit = int(np.flatnonzero(grid.gen_bus == grid.slack)[0])
    for g in range(grid.n_gen):
        if g == slack_unit:
            e, et = pp.create_ext_grid(net, grid.slack, min_p_mw=0.0, max_p_mw=float(grid.gen_cap_mw[g])), "ext_grid"
        else:
            e, et = pp.create_gen(net, int(grid.gen_bus[g]), p_mw=0.0, min_p_mw=0.0,
                                  max_p_mw=float(grid.gen_cap_mw[g]), controllable=True), "gen"
        pp.create_poly_cost(net, e, et, cp1_eur_per_mw=float(grid.gen_cost_usd_per_mwh[g]))
    flex = [pp.create_load(net, int(b), p_mw=0.0, min_p_mw=0.0, max_p_mw=0.0, controllable=True) for b in bid_bus]
    costs = [pp.create_poly_cost(net, e, "load", cp1_eur_per_mw=0.0) for e in flex]
    objective = []
    t0 = time.perf_counter()
    for h in range(hours):
        net.load.loc[loads, "p_mw"] = demand[h]
        net.load.loc[flex, "max_p_mw"] = bid_mw[h]
        net.poly_cost.loc[costs, "cp1_eur_per_mw"] = -price[h]
        pp.rundcopp(net, PDIPM_MAX_IT=1000)
        objective.append(float(net.res_cost))
    return (time.perf_counter() - t0) / hours, np.array(objective)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=int, default=8760, help="hours solved by our dispatcher")
    ap.add_argument("--pp-hours", type=int, default=100, help="hours solved by pandapower (timed, extrapolated)")
    ap.add_argument("--slots", type=int, default=1000, help="flexible bid slots")
    ap.add_argument("--limits", choices=["tight", "none"], default="tight")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    if args.hours < 1 or args.pp_hours < 0 or args.slots < 0:
        ap.error("--hours must be >= 1, --pp-hours and --slots >= 0")

    base = ieee118()
    demand, bid_bus, bid_mw, price = hourly_inputs(base, args.hours, args.slots, args.seed)
    grid = with_limits(base, base.demand_share * base.peak_demand_mw, args.limits)
    print(f"IEEE 118: {grid.n_bus} buses, {grid.n_line} lines ({np.isfinite(grid.line_limit_mw).sum()} limited), "
          f"{grid.n_gen} units, {args.slots} bid slots, {args.hours} hours")

    ms, build, obj, congested = time_ours(grid, bid_bus, demand, bid_mw, price, copperplate=False)
    print(f"ours, network:     {ms * 1e3:8.3f} ms/hour (build {build * 1e3:.1f} ms once; "
          f"{congested / args.hours:.0%} of hours congested)")
    ms_cp, build_cp, _, _ = time_ours(grid, bid_bus, demand, bid_mw, price, copperplate=True)
    print(f"ours, copperplate: {ms_cp * 1e3:8.3f} ms/hour (build {build_cp * 1e3:.1f} ms once)")

    n_pp = min(args.pp_hours, args.hours)
    if n_pp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ms_pp, obj_pp = time_pandapower(grid, bid_bus, demand, bid_mw, price, n_pp)
        gap = np.max(np.abs(obj_pp - obj[:n_pp]) / np.maximum(1.0, np.abs(obj[:n_pp])))
        print(f"pandapower rundcopp: {ms_pp * 1e3:8.3f} ms/hour (timed on the first {n_pp} hours, extrapolated: "
              f"~{ms_pp * args.hours / 60:.1f} min for {args.hours} hours); objective max rel. gap {gap:.1e}")
        print(f"speed-up: {ms_pp / ms:.1f}x (network), {ms_pp / ms_cp:.1f}x (copperplate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
