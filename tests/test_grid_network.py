"""The network: graph <-> Grid, validation messages, network matrices, the MATPOWER reader,
`load_grid` and the built-in synthetic grid."""

import math

import networkx as nx
import numpy as np
import pytest

from simulation.grid import (DEFAULT_CO2_T_PER_MWH, Dispatcher, Grid, ieee14, ieee118, load_grid, load_matpower,
                             synthetic_graph, synthetic_grid)

# every test here runs with both LP engines (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("dispatch_engine")


def three_bus(**edits) -> nx.MultiGraph:
    g = nx.MultiGraph(name="three", slack="A")
    g.add_node("A", demand_share=0.0, zone="z1")
    g.add_node("B", demand_share=2.0, zone="z1")
    g.add_node("C", demand_share=1.0, zone="z2")
    g.add_edge("A", "B", x_pu=0.1, limit_mw=100.0)
    g.add_edge("B", "C", x_pu=0.1, limit_mw=80.0)
    g.add_edge("A", "C", x_pu=0.2)
    g.graph["generators"] = [
        dict(name="cheap", bus="A", cap_mw=300.0, cost_usd_per_mwh=10.0, co2_t_per_mwh=1.0, kind="coal"),
        dict(name="dear", bus="C", cap_mw=300.0, cost_usd_per_mwh=50.0, co2_t_per_mwh=0.58, kind="gas_ct"),
    ]
    for key, value in edits.items():
        g.graph[key] = value
    return g


# ---------------------------------------------------------------------------------------------
# graph <-> Grid
# ---------------------------------------------------------------------------------------------
def test_from_graph_reads_buses_lines_generators_and_normalises_shares():
    grid = Grid.from_graph(three_bus())
    assert grid.bus_ids.tolist() == ["A", "B", "C"] and grid.slack == 0
    np.testing.assert_allclose(grid.demand_share, [0, 2 / 3, 1 / 3])
    # without `line` attributes, lines come in networkx's edge order: A-B, A-C, B-C
    assert [(grid.bus_id(f), grid.bus_id(t)) for f, t in zip(grid.line_from, grid.line_to)] == \
           [("A", "B"), ("A", "C"), ("B", "C")]
    assert grid.line_limit_mw.tolist() == [100.0, math.inf, 80.0]  # no limit_mw: unlimited
    assert grid.gen_kind.tolist() == ["coal", "gas_ct"] and grid.gen_bus.tolist() == [0, 2]
    assert grid.bus_zone.tolist() == ["z1", "z1", "z2"]
    with pytest.raises(ValueError):
        grid.gen_cap_mw[0] = 1.0  # frozen arrays


@pytest.mark.parametrize("make", [synthetic_grid, ieee14, ieee118])
def test_graph_round_trip_keeps_every_array_and_parallel_lines(make):
    grid = make()
    g = grid.graph
    assert isinstance(g, nx.MultiGraph) and g.number_of_edges() == grid.n_line
    back = Grid.from_graph(g)
    for name in ("bus_ids", "bus_zone", "demand_share", "line_from", "line_to", "line_x_pu", "line_limit_mw",
                 "gen_bus", "gen_cap_mw", "gen_cost_usd_per_mwh", "gen_co2_t_per_mwh", "gen_kind", "gen_name"):
        np.testing.assert_array_equal(getattr(back, name), getattr(grid, name), err_msg=name)
    assert (back.slack, back.base_mva, back.peak_demand_mw, back.name) == \
           (grid.slack, grid.base_mva, grid.peak_demand_mw, grid.name)


def test_parallel_lines_of_a_multigraph_are_separate_lines_sharing_flow():
    g = three_bus()
    g.add_edge("A", "B", x_pu=0.1, limit_mw=100.0)  # a second, identical circuit A-B
    grid = Grid.from_graph(g)
    assert grid.n_line == 4
    flow = grid.dc_power_flow(np.array([100.0, -100.0, 0.0]))
    ab = np.flatnonzero((grid.line_from == 0) & (grid.line_to == 1))
    assert len(ab) == 2 and flow[ab[0]] == pytest.approx(flow[ab[1]])


# ---------------------------------------------------------------------------------------------
# validation: one line naming the element and the fix
# ---------------------------------------------------------------------------------------------
def assert_one_line(exc: pytest.ExceptionInfo, *words: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_disconnected_network_is_refused():
    g = three_bus()
    g.add_node("D", demand_share=1.0, zone="z3")
    g.add_node("E", demand_share=0.0, zone="z3")
    g.add_edge("D", "E", x_pu=0.1)
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, "disconnected", "'D'", "'E'", "add lines")


@pytest.mark.parametrize("x", [0.0, float("nan"), float("inf")])
def test_zero_or_nan_reactance_is_refused(x):
    g = three_bus()
    g.edges["B", "C", 0]["x_pu"] = x
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, "line 2", "'B'", "'C'", "x_pu", "nonzero", "series reactance")


def test_a_negative_reactance_series_compensates_and_one_that_cancels_is_refused():
    """ACTIVSg10k has 193 branches with x < 0 (series compensation, star-point legs): flows still
    follow the DC equations; a negative x that cancels the only other path's leaves the angles
    undefined and is refused in one line."""
    g = three_bus()
    g.edges["A", "C", 0]["x_pu"] = -0.05  # A-C now has b = -20 against A-B-C's 5
    grid = Grid.from_graph(g)
    inj = np.array([100.0, 0.0, -100.0])
    flow = grid.dc_power_flow(inj)
    # KCL at every bus, and the angle drop around the loop A-B-C-A sums to zero
    np.testing.assert_allclose(grid.incidence.T @ flow, inj, atol=1e-9)
    drop = 0.0  # theta_A - theta_A around the loop: sum of x * flow along A -> B -> C -> A
    for u, v in (("A", "B"), ("B", "C"), ("C", "A")):
        k = next(k for k in range(grid.n_line) if {grid.bus_id(grid.line_from[k]), grid.bus_id(grid.line_to[k])} == {u, v})
        drop += grid.line_x_pu[k] * flow[k] * (1 if grid.bus_id(grid.line_from[k]) == u else -1)
    assert drop == pytest.approx(0.0, abs=1e-9) and abs(flow).max() > 100  # the negative branch draws loop flow
    two = nx.MultiGraph()
    two.add_edge("A", "B", x_pu=0.1)
    two.add_edge("A", "B", x_pu=-0.1)
    with pytest.raises(ValueError) as e:
        Grid.from_graph(two)
    assert_one_line(e, "singular", "negative reactances", "series-compensated")


def test_generator_on_an_unknown_bus_is_refused():
    g = three_bus()
    g.graph["generators"][1]["bus"] = "Z"
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, "generator dear", "bus 'Z' is not in the network")


@pytest.mark.parametrize("field, value, words", [
    ("cap_mw", float("nan"), ["generator cheap", "cap_mw", "capacity"]),
    ("cap_mw", -5.0, ["generator cheap", "cap_mw", "-5"]),
    ("co2_t_per_mwh", -1.0, ["generator cheap", "co2_t_per_mwh"]),
    ("cost_usd_per_mwh", float("inf"), ["generator cheap", "cost_usd_per_mwh"]),
    ("kind", "fusion", ["generator cheap", "'fusion'", "nuclear"]),
])
def test_bad_generator_data_is_refused(field, value, words):
    g = three_bus()
    g.graph["generators"][0][field] = value
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, *words)


def test_bad_bus_and_line_data_is_refused():
    g = three_bus()
    g.nodes["B"]["demand_share"] = -1.0
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, "'B'", "demand_share")
    g = three_bus()
    g.edges["A", "B", 0]["limit_mw"] = 0.0
    with pytest.raises(ValueError) as e:
        Grid.from_graph(g)
    assert_one_line(e, "line 0", "limit_mw", "inf for an unlimited line")
    with pytest.raises(ValueError) as e:
        Grid.from_graph(three_bus(slack="Q"))
    assert_one_line(e, "slack", "'Q'")
    with pytest.raises(ValueError) as e:
        synthetic_grid().with_changes(line_from=np.zeros(synthetic_grid().n_line, int))
    assert_one_line(e, "connects a bus to itself")


# ---------------------------------------------------------------------------------------------
# network matrices
# ---------------------------------------------------------------------------------------------
def test_bbus_and_ptdf_are_consistent_on_a_textbook_three_bus_case():
    grid = Grid.from_graph(three_bus())
    b = grid.bbus.toarray()
    np.testing.assert_allclose(b, b.T)
    np.testing.assert_allclose(b.sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(b, [[15, -10, -5], [-10, 20, -10], [-5, -10, 15]])
    # 1 MW from B to the slack A: paths B-A (x 0.1) and B-C-A (x 0.3) share it 3:1
    # (lines A-B, A-C, B-C; + = from -> to)
    np.testing.assert_allclose(grid.ptdf[:, 1], [-0.75, -0.25, 0.25])
    np.testing.assert_allclose(grid.ptdf[:, 0], 0)  # slack column


@pytest.mark.parametrize("make", [synthetic_grid, ieee118])
def test_ptdf_flows_of_a_balanced_injection_do_not_depend_on_the_slack(make):
    grid = make()
    rng = np.random.default_rng(0)
    p = rng.normal(size=grid.n_bus)
    p -= p.mean()
    other = grid.with_changes(slack=grid.n_bus - 1)
    np.testing.assert_allclose(grid.dc_power_flow(p), other.dc_power_flow(p), atol=1e-9)
    # and they satisfy Kirchhoff: A^T f = p
    np.testing.assert_allclose(grid.incidence.T @ grid.dc_power_flow(p), p, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# MATPOWER reader and load_grid
# ---------------------------------------------------------------------------------------------
def test_ieee_cases_summary_and_documented_rules():
    g14, g118 = ieee14(), ieee118()
    assert (g14.n_bus, g14.n_line, g14.n_gen, g14.peak_demand_mw) == (14, 20, 5, pytest.approx(259.0))
    assert (g118.n_bus, g118.n_line, g118.n_gen, g118.peak_demand_mw) == (118, 186, 54, pytest.approx(4242.0))
    assert g118.bus_id(g118.slack) == 69 and g14.bus_id(g14.slack) == 1
    assert np.all(np.isinf(g118.line_limit_mw))  # rateA = 0: unlimited
    assert set(g118.gen_cost_usd_per_mwh) == {20.0, 40.0}  # the linear terms of the polynomials
    assert set(g118.gen_kind) == {"other"} and set(g118.gen_co2_t_per_mwh) == {DEFAULT_CO2_T_PER_MWH["other"]}
    k = [k for k in range(g14.n_line) if (g14.bus_id(g14.line_from[k]), g14.bus_id(g14.line_to[k])) == (4, 7)][0]
    assert g14.line_x_pu[k] == pytest.approx(0.20912 * 0.978)  # x x tap ratio
    assert g118.gen_cap_mw.sum() == pytest.approx(9966.2)


CASE = """function mpc = tiny
mpc.version = '2';
mpc.baseMVA = 100;
%% bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin
mpc.bus = [
  1 3 0   0 0 0 1 1 0 230 1 1.1 0.9;
  2 1 60  0 5 0 2 1 0 230 1 1.1 0.9;   % Gs counts as load
  3 1 35  0 0 0 2 1 0 230 1 1.1 0.9;
  4 4 10  0 0 0 2 1 0 230 1 1.1 0.9;   % isolated: dropped
];
mpc.gen = [
  1 0 0 0 0 1 100 1 200 10 0 0 0 0 0 0 0 0 0 0 0;
  3 0 0 0 0 1 100 1 50  0  0 0 0 0 0 0 0 0 0 0 0;
  2 0 0 0 0 1 100 0 90  0  0 0 0 0 0 0 0 0 0 0 0;   % out of service
  3 0 0 0 0 1 100 1 40  0  0 0 0 0 0 0 0 0 0 0 0;   % no cost row: default
];
mpc.branch = [
  1 2 0.01 0.1  0 0   0 0 0    0 1 -360 360;
  2 3 0.01 0.1  0 50  0 0 0.95 0 1 -360 360;
  1 3 0.01 0.2  0 0   0 0 0    0 1 -360 360;
  1 3 0.01 0.2  0 0   0 0 0    0 0 -360 360;   % out of service
];
mpc.gencost = [
  2 0 0 3 0.02 12 100 0  0  0;
  1 0 0 3 0    0  10  150 50 650;
  2 0 0 2 30   0  0   0  0  0;
];
mpc.genfuel = {'coal'; 'ng'; 'wind'; 'nuclear'};
"""


def test_matpower_reader_rules_on_a_small_case(tmp_path):
    path = tmp_path / "tiny.m"
    path.write_text(CASE)
    grid = load_matpower(path)
    assert grid.bus_ids.tolist() == [1, 2, 3] and grid.bus_zone.tolist() == ["1", "2", "2"]
    assert grid.peak_demand_mw == pytest.approx(100.0)  # 60 + 5 (Gs) + 35
    np.testing.assert_allclose(grid.demand_share, [0, 0.65, 0.35])
    assert grid.n_line == 3 and grid.line_x_pu.tolist() == pytest.approx([0.1, 0.095, 0.2])
    assert grid.line_limit_mw.tolist() == [math.inf, 50.0, math.inf]
    assert grid.gen_name.tolist() == ["gen1", "gen2", "gen4"]
    assert grid.gen_cap_mw.tolist() == [200.0, 50.0, 40.0]  # Pmin ignored
    assert grid.gen_cost_usd_per_mwh.tolist() == pytest.approx([12.0, 13.0, 35.0])  # c1; pwl mean slope; default
    assert grid.gen_kind.tolist() == ["coal", "gas_cc", "nuclear"]
    assert load_grid(str(path)).n_bus == 3


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("mpc.branch = [", "mpc.branchx = ["), ["no mpc.branch"]),
    (lambda t: t.replace("  3 1 35  0 0 0 2 1 0 230 1 1.1 0.9;", "  3 1 35 0 0 0 2 1;"), ["mpc.bus row 3", "values"]),
    (lambda t: t.replace("  3 0 0 0 0 1 100 1 50 ", "  9 0 0 0 0 1 100 1 50 "), ["mpc.gen row 2", "bus 9"]),
    (lambda t: t.replace("1 2 0.01 0.1  0 0", "1 2 0.01 NaN  0 0"), ["mpc.branch row 1", "BR_X"]),
    (lambda t: t.replace("2 3 0.01 0.1  0 50", "2 3 0.01 0  0 50"), ["bus 2 - bus 3", "x_pu"]),
    (lambda t: t.replace("  2 1 60  0 5", "  2 1 -60  0 5"), ["bus 2", "negative demand"]),
    (lambda t: t.replace("0.95 0 1 -360", "0.95 0 0 -360").replace("  1 3 0.01 0.2  0 0   0 0 0    0 1 -360 360;\n", "", 1),
     ["disconnected", "(3)"]),
])
def test_matpower_reader_errors_name_file_table_and_row(tmp_path, edit, words):
    path = tmp_path / "bad.m"
    path.write_text(edit(CASE))
    with pytest.raises(ValueError) as e:
        load_matpower(path)
    assert_one_line(e, "bad.m", *words)


def test_load_grid_names_and_errors(tmp_path):
    assert load_grid("ieee14").name == "ieee14" and load_grid("synthetic").n_bus == 30
    with pytest.raises(ValueError) as e:
        load_grid("ieee9000")
    assert_one_line(e, "'ieee9000'", "synthetic", "ieee118")
    with pytest.raises(ValueError) as e:
        load_grid(str(tmp_path / "missing.m"))
    assert_one_line(e, "missing.m", "no such file")


# ---------------------------------------------------------------------------------------------
# the synthetic grid
# ---------------------------------------------------------------------------------------------
def test_synthetic_grid_summary():
    grid = synthetic_grid()
    assert (grid.n_bus, grid.peak_demand_mw) == (30, 9000.0)
    assert sorted(set(grid.bus_zone)) == ["metro", "north", "south", "west"]
    assert grid.capacity_by_kind_mw() == {"nuclear": 1200.0, "coal": 2000.0, "gas_cc": 4400.0, "gas_ct": 1800.0,
                                          "oil": 200.0, "hydro": 400.0, "wind": 5300.0, "solar": 2000.0}
    assert grid.demand_share.sum() == pytest.approx(1.0)
    west = grid.bus_zone == "west"
    assert grid.cheap_capacity_mw()[west].sum() == 4700.0
    assert Grid.from_graph(synthetic_graph()).n_line == grid.n_line


def test_synthetic_corridor_congests_at_high_wind_and_west_prices_fall_to_zero():
    grid = synthetic_grid()
    west = grid.bus_zone == "west"
    corridor = west[grid.line_from] != west[grid.line_to]
    assert corridor.sum() == 2
    d = Dispatcher(grid, np.zeros(0, np.int64))
    demand = 6000.0 * grid.demand_share
    calm = d.solve(demand, grid.available_mw(wind_cf=0.2, solar_cf=0.0), np.zeros(0), np.zeros(0))
    assert not calm.congested.any() and np.ptp(calm.lmp_usd_per_mwh) < 1e-6
    windy = d.solve(demand, grid.available_mw(wind_cf=0.9, solar_cf=0.0), np.zeros(0), np.zeros(0))
    assert windy.congested[corridor].all() and windy.congested.sum() == 2
    np.testing.assert_allclose(windy.lmp_usd_per_mwh[west], 0.0, atol=1e-9)
    assert windy.lmp_usd_per_mwh[~west].min() > 20.0  # a thermal unit sets the price elsewhere
    is_west_wind = (grid.gen_kind == "wind") & west[grid.gen_bus]
    assert windy.curtailed_mw[is_west_wind].sum() > 1000.0
