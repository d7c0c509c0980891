"""The hourly market clearing: invariants every hour, the bid rule, scarcity at VOLL, firm-bid
priority, copperplate, warm start = cold solve, determinism, bad input, and the benchmark
script in miniature."""

import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.grid import (BID_PRIORITY_MARGIN_USD_PER_MWH, Dispatcher, Grid, ieee14, ieee118, synthetic_grid,
                             synthetic_series)

# every test here runs with both LP engines (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("dispatch_engine")

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-6


def check_hour(grid: Grid, d: Dispatcher, r, demand, avail, bid_mw, price) -> None:
    """Everything that must hold in any cleared hour."""
    assert r.status == "optimal"
    served = r.bid_cleared_mw.sum()
    # energy balance: generation + shed = inflexible demand + served flexible load
    assert r.gen_mw.sum() + r.shed_mw.sum() == pytest.approx(demand.sum() + served, abs=TOL)
    # bounds
    assert np.all((r.gen_mw >= 0) & (r.gen_mw <= avail + TOL))
    assert np.all((r.shed_mw >= 0) & (r.shed_mw <= demand + TOL))
    assert np.all((r.bid_cleared_mw >= 0) & (r.bid_cleared_mw <= bid_mw + TOL))
    if not d.copperplate:
        assert np.all(np.abs(r.line_flow_mw) <= grid.line_limit_mw + TOL)
    # flows are the DC flows of the nodal injections
    inj = (np.bincount(grid.gen_bus, r.gen_mw, grid.n_bus) + r.shed_mw - demand
           - np.bincount(d.bid_bus, r.bid_cleared_mw, grid.n_bus))
    np.testing.assert_allclose(r.line_flow_mw, grid.dc_power_flow(inj), atol=1e-5)
    # the bid rule: above the bus LMP fully served, below not served, at it anything
    lmp = r.lmp_usd_per_mwh[d.bid_bus]
    eff = np.minimum(price, d.bid_price_cap_usd_per_mwh)
    above, below = eff > lmp + TOL, eff < lmp - TOL
    np.testing.assert_allclose(r.bid_cleared_mw[above], bid_mw[above], atol=TOL)
    np.testing.assert_allclose(r.bid_cleared_mw[below], 0.0, atol=TOL)
    # generators: cheaper than the bus LMP run flat out, dearer stay off
    glmp = r.lmp_usd_per_mwh[grid.gen_bus]
    cheap, dear = grid.gen_cost_usd_per_mwh < glmp - TOL, grid.gen_cost_usd_per_mwh > glmp + TOL
    np.testing.assert_allclose(r.gen_mw[cheap], avail[cheap], atol=TOL)
    np.testing.assert_allclose(r.gen_mw[dear], 0.0, atol=TOL)
    # reported quantities
    ren = grid.is_renewable
    np.testing.assert_allclose(r.curtailed_mw, np.where(ren, avail - r.gen_mw, 0.0), atol=1e-9)
    assert r.emissions_t == pytest.approx(r.gen_mw @ grid.gen_co2_t_per_mwh)
    assert r.cost_usd == pytest.approx(r.gen_mw @ grid.gen_cost_usd_per_mwh + d.voll_usd_per_mwh * r.shed_mw.sum())
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(r.line_loading, np.where(np.isfinite(grid.line_limit_mw),
                                                            np.abs(r.line_flow_mw) / grid.line_limit_mw, 0.0))


@pytest.mark.parametrize("copperplate, formulation", [(False, "btheta"), (False, "ptdf"), (True, "auto")])
def test_every_hour_of_a_multi_hour_run_on_the_synthetic_grid(copperplate, formulation):
    grid = synthetic_grid()
    rng = np.random.default_rng(5)
    hours = 96
    s = synthetic_series(hours=hours, start=150, peak_mw=grid.peak_demand_mw, rng=rng,
                         heatwave_start_day=2, heatwave_days=1, heatwave_demand_factor=1.2)
    slots = 60
    bid_bus = rng.integers(0, grid.n_bus, slots)
    d = Dispatcher(grid, bid_bus, copperplate=copperplate, formulation=formulation)
    congested = split = 0
    for h in range(hours):
        demand = s.demand_mw[h] * grid.demand_share
        avail = grid.available_mw(s.wind_cf[h], s.solar_cf[h])
        bid_mw = rng.uniform(0, 40, slots)
        price = rng.uniform(0, 120, slots)
        r = d.solve(demand, avail, bid_mw, price)
        check_hour(grid, d, r, demand, avail, bid_mw, price)
        congested += r.congested.any()
        split += np.ptp(r.lmp_usd_per_mwh) > 1.0
        if copperplate:
            assert np.ptp(r.lmp_usd_per_mwh) == 0.0 and not r.congested.any()
    if not copperplate:
        assert congested > 0 and split > 0  # the west corridor binds in some hours


def test_uncongested_network_every_lmp_is_the_marginal_units_cost():
    base = ieee118()
    rng = np.random.default_rng(8)
    grid = base.with_changes(gen_cost_usd_per_mwh=base.gen_cost_usd_per_mwh + rng.uniform(0, 5, base.n_gen))
    bid_bus = rng.integers(0, grid.n_bus, 200)
    d = Dispatcher(grid, bid_bus)
    by_gen = by_bid = 0
    for h in range(48):
        demand = grid.demand_share * grid.peak_demand_mw * rng.uniform(0.5, 2.0)
        bid_mw = rng.uniform(0, 10, 200)
        price = rng.uniform(15, 50, 200)
        r = d.solve(demand, grid.gen_cap_mw, bid_mw, price)
        check_hour(grid, d, r, demand, grid.gen_cap_mw, bid_mw, price)
        assert np.ptp(r.lmp_usd_per_mwh) < 1e-9
        lmp = r.lmp_usd_per_mwh[0]
        units = np.flatnonzero((r.gen_mw > TOL) & (r.gen_mw < grid.gen_cap_mw - TOL))
        bids = np.flatnonzero((r.bid_cleared_mw > TOL) & (r.bid_cleared_mw < bid_mw - TOL))
        assert len(units) + len(bids) == 1  # exactly one marginal unit or bid
        if len(units):
            assert lmp == pytest.approx(grid.gen_cost_usd_per_mwh[units[0]], abs=1e-9)
            by_gen += 1
        else:
            assert lmp == pytest.approx(price[bids[0]], abs=1e-9)
            by_bid += 1
    assert by_gen > 0 and by_bid > 0


def two_bus(limit=np.inf) -> Grid:
    g = nx.MultiGraph(name="two")
    g.add_node("a", demand_share=0.5, zone="x")
    g.add_node("b", demand_share=0.5, zone="y")
    g.add_edge("a", "b", x_pu=0.1, limit_mw=limit)
    g.graph["generators"] = [
        dict(name="base", bus="a", cap_mw=100.0, cost_usd_per_mwh=10.0, co2_t_per_mwh=1.0, kind="coal"),
        dict(name="peak", bus="b", cap_mw=100.0, cost_usd_per_mwh=30.0, co2_t_per_mwh=0.5, kind="gas_ct"),
        dict(name="wind", bus="a", cap_mw=100.0, cost_usd_per_mwh=0.0, co2_t_per_mwh=0.0, kind="wind"),
    ]
    return Grid.from_graph(g)


def test_bids_above_the_lmp_served_below_not_at_it_partially():
    grid = two_bus()
    d = Dispatcher(grid, np.array([0, 1, 1]))
    demand = np.array([75.0, 75.0])
    avail = np.array([100.0, 100.0, 0.0])  # no wind: base (10) runs flat out, peak (30) is marginal
    r = d.solve(demand, avail, np.array([20.0, 10.0, 5.0]), np.array([45.0, 25.0, 30.0]))
    assert r.lmp_usd_per_mwh == pytest.approx([30.0, 30.0])
    assert r.bid_cleared_mw[0] == pytest.approx(20.0)  # 45 > 30: all of it
    assert r.bid_cleared_mw[1] == pytest.approx(0.0)  # 25 < 30: none
    assert 0.0 <= r.bid_cleared_mw[2] <= 5.0  # at the LMP: indifferent
    # a bid that sets the price: it gets what is left, partially, at its own price
    r = d.solve(demand, avail, np.array([80.0, 0.0, 0.0]), np.array([35.0, 0.0, 0.0]))
    assert r.bid_cleared_mw[0] == pytest.approx(50.0)
    assert r.lmp_usd_per_mwh == pytest.approx([35.0, 35.0])
    assert r.gen_mw[:2] == pytest.approx([100.0, 100.0])


def test_congestion_separates_prices_and_curtails_wind():
    grid = two_bus(limit=30.0)
    d = Dispatcher(grid, np.array([0]))
    r = d.solve(np.array([20.0, 80.0]), np.array([100.0, 100.0, 100.0]), np.array([0.0]), np.array([0.0]))
    assert r.congested.tolist() == [True] and r.line_flow_mw[0] == pytest.approx(30.0)
    assert r.lmp_usd_per_mwh == pytest.approx([0.0, 30.0])  # wind on the margin at a, gas at b
    assert r.curtailed_mw[2] == pytest.approx(50.0) and r.line_loading[0] == pytest.approx(1.0)
    # a flexible load at the cheap bus soaks up the curtailed wind at a price of 0+
    r = d.solve(np.array([20.0, 80.0]), np.array([100.0, 100.0, 100.0]), np.array([60.0]), np.array([1.0]))
    assert r.bid_cleared_mw[0] == pytest.approx(50.0) and r.curtailed_mw[2] == pytest.approx(0.0)
    assert r.lmp_usd_per_mwh[0] == pytest.approx(1.0)


@pytest.mark.parametrize("copperplate, formulation", [(False, "btheta"), (False, "ptdf"), (True, "auto")])
def test_scarcity_sheds_at_voll_and_never_fails(copperplate, formulation):
    grid = ieee118()
    d = Dispatcher(grid, np.array([3, 50]), copperplate=copperplate, voll_usd_per_mwh=5000.0, formulation=formulation)
    demand = grid.demand_share * grid.gen_cap_mw.sum() * 1.25  # demand above all capacity
    bid_mw, price = np.array([30.0, 30.0]), np.array([1e9, 80.0])  # even firm load is curtailed
    r = d.solve(demand, grid.gen_cap_mw, bid_mw, price)
    assert r.status == "optimal"
    np.testing.assert_allclose(r.gen_mw, grid.gen_cap_mw, atol=TOL)
    assert r.shed_mw.sum() == pytest.approx(demand.sum() - grid.gen_cap_mw.sum(), abs=TOL)
    np.testing.assert_allclose(r.bid_cleared_mw, 0.0, atol=TOL)
    np.testing.assert_allclose(r.lmp_usd_per_mwh, 5000.0, atol=1e-6)
    assert r.cost_usd == pytest.approx(grid.gen_cap_mw @ grid.gen_cost_usd_per_mwh + 5000.0 * r.shed_mw.sum())
    # and it recovers the next hour
    r = d.solve(demand * 0.5, grid.gen_cap_mw, bid_mw, price)
    assert r.shed_mw.sum() == pytest.approx(0.0, abs=TOL) and r.bid_cleared_mw.tolist() == pytest.approx([30.0, 30.0])


@pytest.mark.parametrize("formulation", ["btheta", "ptdf"])
def test_firm_bids_above_voll_come_after_inflexible_demand(formulation):
    grid = two_bus()
    d = Dispatcher(grid, np.array([0, 1]), voll_usd_per_mwh=5000.0, formulation=formulation)
    avail = np.array([100.0, 100.0, 50.0])  # 250 MW in all
    firm = np.array([1e12, np.inf])
    # room for everything: firm load is simply served
    r = d.solve(np.array([50.0, 50.0]), avail, np.array([40.0, 40.0]), firm)
    assert r.bid_cleared_mw.tolist() == pytest.approx([40.0, 40.0]) and r.shed_mw.sum() == 0.0
    # 200 MW of demand + 80 MW firm > 250 MW: firm load is cut back first, nobody is shed
    r = d.solve(np.array([100.0, 100.0]), avail, np.array([40.0, 40.0]), firm)
    assert r.shed_mw.sum() == pytest.approx(0.0, abs=TOL)
    assert r.bid_cleared_mw.sum() == pytest.approx(50.0)
    assert r.lmp_usd_per_mwh == pytest.approx([5000.0 - BID_PRIORITY_MARGIN_USD_PER_MWH] * 2)


@pytest.mark.parametrize("formulation", ["btheta", "ptdf"])
def test_floors_above_what_the_grid_can_absorb_clear_the_hour_without_them(formulation):
    """Units' minimum outputs (1.5 x demand) leave no feasible point: the hour is cleared again
    without them, says so, and the next hour with feasible floors is optimal again."""
    grid = ieee118()
    d = Dispatcher(grid, np.array([3, 50]), formulation=formulation)
    demand = grid.demand_share * grid.peak_demand_mw * 0.5
    floor = np.minimum(grid.gen_cap_mw, grid.gen_cap_mw / grid.gen_cap_mw.sum() * demand.sum() * 1.5)
    r = d.solve(demand, grid.gen_cap_mw, np.array([10.0, 10.0]), np.array([40.0, 1.0]), min_mw=floor)
    ref = Dispatcher(grid, np.array([3, 50]), formulation="btheta").solve(demand, grid.gen_cap_mw, np.array([10.0, 10.0]),
                                                                         np.array([40.0, 1.0]))
    assert r.status == "optimal_without_min"
    assert r.cost_usd == pytest.approx(ref.cost_usd, rel=1e-9)
    np.testing.assert_allclose(r.lmp_usd_per_mwh, ref.lmp_usd_per_mwh, atol=1e-6)
    r = d.solve(demand, grid.gen_cap_mw, np.array([10.0, 10.0]), np.array([40.0, 1.0]), min_mw=floor * 0.1)
    assert r.status == "optimal" and np.all(r.gen_mw >= floor * 0.1 - TOL)


def test_copperplate_ignores_line_limits_and_reports_the_overload():
    grid = two_bus(limit=30.0)
    demand, avail = np.array([20.0, 80.0]), np.array([100.0, 100.0, 100.0])
    net = Dispatcher(grid, np.zeros(0, np.int64)).solve(demand, avail, np.zeros(0), np.zeros(0))
    cp = Dispatcher(grid, np.zeros(0, np.int64), copperplate=True).solve(demand, avail, np.zeros(0), np.zeros(0))
    assert cp.lmp_usd_per_mwh.tolist() == pytest.approx([0.0, 0.0])  # wind is marginal everywhere
    assert cp.line_flow_mw[0] == pytest.approx(80.0) and cp.line_loading[0] == pytest.approx(80 / 30)
    assert not cp.congested.any() and cp.cost_usd < net.cost_usd


@pytest.mark.parametrize("formulation", ["btheta", "ptdf"])
def test_warm_start_gives_the_cold_answer_and_runs_are_bit_for_bit_repeatable(formulation):
    base = ieee118()
    rng = np.random.default_rng(21)
    grid = base.with_changes(gen_cost_usd_per_mwh=base.gen_cost_usd_per_mwh + rng.uniform(0, 5, base.n_gen),
                             line_limit_mw=np.where(np.arange(base.n_line) % 9 == 0, 150.0, np.inf))
    bid_bus = rng.integers(0, grid.n_bus, 300)
    hours = [(grid.demand_share * grid.peak_demand_mw * rng.uniform(0.6, 1.3), rng.uniform(0, 5, 300),
              rng.uniform(10, 60, 300)) for _ in range(20)]
    warm_a, warm_b = Dispatcher(grid, bid_bus, formulation=formulation), Dispatcher(grid, bid_bus, formulation=formulation)
    split = 0
    for demand, bid_mw, price in hours:
        a = warm_a.solve(demand, grid.gen_cap_mw, bid_mw, price)
        b = warm_b.solve(demand, grid.gen_cap_mw, bid_mw, price)
        cold = Dispatcher(grid, bid_bus, formulation="btheta").solve(demand, grid.gen_cap_mw, bid_mw, price)
        for name in ("lmp_usd_per_mwh", "gen_mw", "line_flow_mw", "bid_cleared_mw", "shed_mw"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        np.testing.assert_allclose(a.gen_mw, cold.gen_mw, atol=TOL)
        np.testing.assert_allclose(a.bid_cleared_mw, cold.bid_cleared_mw, atol=TOL)
        np.testing.assert_allclose(a.lmp_usd_per_mwh, cold.lmp_usd_per_mwh, atol=1e-6)
        split += np.ptp(a.lmp_usd_per_mwh) > 1.0
    assert split > 0


def test_bid_steps_reusing_the_last_hours_order_equal_steps_sorted_afresh():
    """The dispatcher reuses the last hour's bid order when it still holds: the steps (their
    slots, buses, MW and prices) must be exactly those of a dispatcher that sorts afresh, through
    hours that keep the order, swap two prices, create and break ties, and stop or start slots."""
    grid = ieee14()
    rng = np.random.default_rng(5)
    bid_bus = rng.integers(0, grid.n_bus, 60)
    warm = Dispatcher(grid, bid_bus)
    q, price = rng.uniform(1, 5, 60), np.round(rng.uniform(10, 60, 60), 1)
    hours = []
    for k in range(12):
        price = price * 1.01 if k % 3 else price.copy()  # the same order, new prices
        if k == 4:
            price[[3, 7]] = price[[7, 3]]  # two swap
        if k == 6:
            price[bid_bus == bid_bus[0]] = price[0]  # ties at one bus
        if k == 8:
            q = q.copy()
            q[:5] = 0.0  # slots stop bidding
        if k == 10:
            q[:5] = 2.0
        hours.append((q.copy(), price.copy()))
    reused = 0
    for q, price in hours:
        before = warm._last_order
        got = warm._steps(q, price)
        reused += got[0] is before
        fresh = Dispatcher(grid, bid_bus)._steps(q, price)
        for a, b in zip(got, fresh):
            np.testing.assert_array_equal(a, b)
    assert 0 < reused < len(hours) - 1  # both paths ran


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.floats(0.2, 3.0), seed=st.integers(0, 2 ** 32 - 1), form=st.sampled_from(["btheta", "ptdf", "copperplate"]))
def test_invariants_hold_for_any_demand_and_bids_on_a_congested_ieee14(scale, seed, form):
    copperplate = form == "copperplate"
    base = ieee14()
    grid = base.with_changes(line_limit_mw=np.where(np.arange(base.n_line) < 4, 60.0, np.inf))
    rng = np.random.default_rng(seed)
    bid_bus = rng.integers(0, grid.n_bus, 8)
    demand = grid.demand_share * grid.peak_demand_mw * scale * rng.uniform(0.5, 1.5, grid.n_bus)
    avail = grid.gen_cap_mw * rng.uniform(0, 1, grid.n_gen)
    bid_mw = rng.uniform(0, 50, 8)
    price = rng.choice([5.0, 25.0, 45.0, 300.0, 6000.0], 8) + rng.uniform(0, 1, 8)
    d = Dispatcher(grid, bid_bus, copperplate=copperplate, formulation="auto" if copperplate else form)
    r = d.solve(demand, avail, bid_mw, price)
    check_hour(grid, d, r, demand, avail, bid_mw, price)
    # where demand could still be shed, serving it never costs more than VOLL
    sheddable = (demand > r.shed_mw + TOL) if not copperplate else np.full(grid.n_bus, demand.sum() > r.shed_mw.sum())
    assert np.all(r.lmp_usd_per_mwh[sheddable] <= d.voll_usd_per_mwh + 1e-6)


@pytest.mark.parametrize("args, words", [
    (dict(demand_mw=np.ones(3)), ["demand_mw", "shape (3,)", "per bus"]),
    (dict(demand_mw=np.full(2, np.nan)), ["demand_mw[0]", "nan"]),
    (dict(avail_mw=-np.ones(3)), ["avail_mw[0]", ">= 0"]),
    (dict(bid_mw=np.array([1.0, -1.0])), ["bid_mw[1]"]),
    (dict(bid_price_usd_per_mwh=np.array([np.nan, 1.0])), ["bid_price_usd_per_mwh[0]", "NaN"]),
    (dict(bid_price_usd_per_mwh=np.ones(3)), ["bid_price_usd_per_mwh", "one price per bid slot"]),
])
def test_bad_solve_input_is_refused_with_one_line(args, words):
    d = Dispatcher(two_bus(), np.array([0, 1]))
    kw = dict(demand_mw=np.ones(2), avail_mw=np.ones(3), bid_mw=np.ones(2), bid_price_usd_per_mwh=np.ones(2))
    kw.update(args)
    with pytest.raises(ValueError) as e:
        d.solve(**kw)
    assert "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_bad_dispatcher_arguments_are_refused():
    with pytest.raises(ValueError, match=r"bid_bus\[1\]: bus index 7 is out of range 0\.\.1"):
        Dispatcher(two_bus(), np.array([0, 7]))
    with pytest.raises(ValueError, match="bid_bus: must be a 1-D array of bus indices"):
        Dispatcher(two_bus(), np.array([0.5]))
    with pytest.raises(ValueError, match="voll_usd_per_mwh"):
        Dispatcher(two_bus(), np.array([0]), voll_usd_per_mwh=float("nan"))


def test_benchmark_script_runs_tiny():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grid_dispatch.py"), "--hours", "4",
                          "--pp-hours", "1", "--slots", "50"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    for words in ("ours, network:", "ours, copperplate:", "pandapower rundcopp:", "speed-up:"):
        assert words in out.stdout
