"""Reliability unit commitment (RUC): an hour that sheds demand in a load pocket the day-ahead
commitment left without its local units commits them and clears again.

A small grid built here: a cheap unit at bus 0 covers the whole system on paper, so the merit-order
day-ahead commitment leaves the dearer units in the pocket (bus 2, behind a 100 MW line) off; the
hour then sheds at VOLL in the pocket until RUC commits a pocket unit, after which nothing is shed
and the pocket's LMP is that unit's cost. Then the model on ACTIVSg2000 (Texas): hour 0 of
configs/texas_synthetic.toml sheds ~310 MW in South pockets without RUC and nothing with it."""

import numpy as np
import pytest

from simulation.grid import Dispatcher, Grid
from simulation.grid.commitment import daily_commitment, reliability_units, scarcity_price

# every test here runs with both LP engines (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("dispatch_engine")

VOLL = 5000.0


def pocket_grid() -> Grid:
    """0 -- 1 -- 2 (a chain; 1 -- 2 limited to 100 MW). Units: g0 at bus 0 (20 USD/MWh, 600 MW,
    Pmin 50), g1 and g2 in the pocket at bus 2 (45 and 60 USD/MWh, 40 MW each, Pmin 10 and 5), g3 at
    bus 0 (25 USD/MWh, 100 MW, Pmin 20): all gas, all with a minimum output (committed day-ahead)."""
    return Grid(bus_ids=np.array([0, 1, 2]), bus_zone=np.array(["a", "a", "pocket"]),
                demand_share=np.array([0.5, 0.125, 0.375]),
                line_from=np.array([0, 1]), line_to=np.array([1, 2]), line_x_pu=np.array([0.1, 0.1]),
                line_limit_mw=np.array([np.inf, 100.0]),
                gen_bus=np.array([0, 2, 2, 0]), gen_cap_mw=np.array([600.0, 40.0, 40.0, 100.0]),
                gen_cost_usd_per_mwh=np.array([20.0, 45.0, 60.0, 25.0]),
                gen_co2_t_per_mwh=np.array([0.37, 0.5, 0.6, 0.37]),
                gen_kind=np.array(["gas_cc", "gas_ct", "gas_ct", "gas_cc"]),
                gen_min_mw=np.array([50.0, 10.0, 5.0, 20.0]), peak_demand_mw=400.0)


def clear(grid, commitment, demand_mw, hour=0):
    d = Dispatcher(grid, np.zeros(0, np.int64), voll_usd_per_mwh=VOLL)
    avail = commitment.available_mw(hour, grid.gen_cap_mw)
    return d.solve(demand_mw, avail, np.zeros(0), np.zeros(0), min_mw=commitment.floor_mw(hour))


@pytest.fixture
def pocket():
    g = pocket_grid()
    system = np.full(48, 400.0)  # two days; 200, 50, 150 MW at buses 0, 1, 2
    c = daily_commitment(g, system, np.zeros(48), np.zeros(48))
    return g, c, 400.0 * g.demand_share


def test_without_ruc_the_pocket_sheds_at_voll_and_with_it_the_local_unit_serves_it_at_its_cost(pocket):
    g, c, demand = pocket
    assert c.on[0].tolist() == [True, False, False, False]  # merit order: g0 alone covers 440 MW
    r = clear(g, c, demand)
    assert r.shed_mw == pytest.approx([0.0, 0.0, 50.0], abs=1e-6)  # 150 MW behind a 100 MW line
    assert r.lmp_usd_per_mwh[2] == pytest.approx(VOLL)
    assert r.lmp_usd_per_mwh[0] == pytest.approx(20.0)
    units = reliability_units(g, r.lmp_usd_per_mwh, c.uncommitted(0), float(r.shed_mw.sum()))
    # the pocket's units by margin (the cheaper first) until 50 MW are covered; g3 at bus 0 is
    # cheaper than both but its bus price (20) is no shortage price: it would not relieve the pocket
    assert units.tolist() == [1, 2]
    c.commit(3, units)  # from hour 3 to the end of day 0
    assert c.on[0].tolist() == [True, True, True, False] and c.on[1].tolist() == [True, False, False, False]
    r = clear(g, c, demand, hour=5)
    assert r.shed_mw.sum() == pytest.approx(0.0, abs=1e-6)
    assert r.gen_mw[1] == pytest.approx(40.0) and r.gen_mw[2] == pytest.approx(10.0)  # g2 marginal
    assert r.lmp_usd_per_mwh[2] == pytest.approx(60.0)  # the pocket price: g2's cost, not VOLL
    assert r.lmp_usd_per_mwh[0] == pytest.approx(20.0)


def test_ruc_rounds_stop_when_nothing_is_shed_and_leave_the_unit_outside_the_pocket_off(pocket):
    g, c, demand = pocket
    committed = []
    r = clear(g, c, demand)
    for _ in range(10):  # the model's loop (GridPivotModel.reliability_commit), on the bare mechanism
        shed = float(r.shed_mw.sum())
        units = reliability_units(g, r.lmp_usd_per_mwh, c.uncommitted(0), shed)
        if shed <= 0.01 or not len(units):
            break
        c.commit(0, units)
        committed += units.tolist()
        r = clear(g, c, demand)
    assert committed == [1, 2]
    assert r.shed_mw.sum() == pytest.approx(0.0, abs=1e-6)
    assert r.gen_mw[1] == pytest.approx(40.0) and r.gen_mw[2] == pytest.approx(10.0)  # g2 marginal
    assert r.lmp_usd_per_mwh[2] == pytest.approx(60.0)  # the pocket price: g2's cost, not VOLL
    assert r.lmp_usd_per_mwh[0] == pytest.approx(20.0)
    assert not c.on[0, 3]  # the unit outside the pocket stays off
    assert c.on[1].tolist() == [True, False, False, False]  # the next day is planned again


def test_a_smaller_shortage_commits_only_the_cheapest_pocket_unit(pocket):
    g, c, demand = pocket
    demand = demand.copy()
    demand[2] = 125.0  # 25 MW short: g1 (40 MW) covers it
    r = clear(g, c, demand)
    assert r.shed_mw[2] == pytest.approx(25.0, abs=1e-6)
    units = reliability_units(g, r.lmp_usd_per_mwh, c.uncommitted(0), float(r.shed_mw.sum()))
    assert units.tolist() == [1]
    c.commit(0, units)
    r = clear(g, c, demand)
    assert r.shed_mw.sum() == pytest.approx(0.0, abs=1e-6)
    assert r.lmp_usd_per_mwh[2] == pytest.approx(45.0)


def test_no_shedding_or_no_shortage_price_commits_nothing(pocket):
    g, c, demand = pocket
    assert scarcity_price(g) == pytest.approx(60.0)
    lmp = np.array([20.0, 20.0, 5000.0])
    assert reliability_units(g, lmp, c.uncommitted(0), 0.0).size == 0  # nothing shed
    # prices no unit's offer exceeds: no unit relieves anything
    assert reliability_units(g, np.array([20.0, 20.0, 59.0]), c.uncommitted(0), 50.0).size == 0
    # committed units are not candidates
    assert reliability_units(g, lmp, np.zeros(g.n_gen, bool), 50.0).size == 0
    with pytest.raises(ValueError, match="lmp_usd_per_mwh"):
        reliability_units(g, lmp[:2], c.uncommitted(0), 50.0)


# ---------------------------------------------------------------------------------------------
# the model on ACTIVSg2000
# ---------------------------------------------------------------------------------------------
def texas_model(monkeypatch, rounds=None, storage=True):
    import simulation.model as model

    if rounds is not None:
        monkeypatch.setattr(model, "RUC_MAX_ROUNDS", rounds)
    return model.GridPivotModel("configs/texas_synthetic.toml", overrides=[f"storage.enabled={str(storage).lower()}"],
                                collect_mesa=False)


@pytest.mark.parametrize("storage", [False, True])
def test_texas_hour_0_sheds_in_south_pockets_without_ruc_and_nothing_with_it(monkeypatch, storage):
    """Hour 0 of the Texas config sheds in South pockets under the day-ahead commitment alone; the
    reliability commitment (re-clearing with the batteries' offers, when there are batteries)
    ends it. The batteries discharging there make the shortage smaller (~79 MW, not > 100), and
    part of it falls in South Central."""
    m = texas_model(monkeypatch, rounds=0, storage=storage)
    m.step()
    before = m.last_hour
    shed_zones = set(m.grid.bus_zone[before.consumer_shed_mw > 0.01].tolist())
    assert before.consumer_shed_mw.sum() > (50 if storage else 100)
    assert shed_zones == {"South"} if not storage else "South" in shed_zones <= {"South", "South Central"}
    assert before.ruc_units == 0 and m.recorder.last["ruc_units"] == 0
    on_before = m.drivers.commitment.on[0].copy()

    m = texas_model(monkeypatch, rounds=10, storage=storage)
    m.step()
    after = m.last_hour
    assert after.consumer_shed_mw.sum() == 0.0
    assert after.dispatch.shed_mw.sum() <= 0.01
    assert after.ruc_units > 0 and m.recorder.last["ruc_units"] == after.ruc_units
    added = np.flatnonzero(m.drivers.commitment.on[0] & ~on_before)
    assert len(added) == after.ruc_units
    assert set(m.grid.bus_zone[m.grid.gen_bus[added]].tolist()) <= {"South", "South Central", "Coast"}
    # the committed units run at least at their minimum, and the hour's inputs say they are on
    assert np.all(after.dispatch.gen_mw[added] >= m.grid.gen_min_mw[added] - 1e-6)
    assert np.all(after.inputs.gen_available_mw[added] > 0)
    assert np.array_equal(after.inputs.gen_min_mw[added], m.grid.gen_min_mw[added])


def test_texas_hours_without_shedding_are_left_as_cleared(monkeypatch):
    """The reliability commitment returns an hour that shed nothing as it came, and commits nothing."""
    m = texas_model(monkeypatch)
    m.step()
    inputs = m.drivers.advance(1)
    demand = inputs.bus_demand_mw * 0.8  # a light hour: nothing shed
    bid = price = np.zeros(len(m.dispatcher.bid_bus))
    dispatch = m.dispatcher.solve(demand, inputs.gen_available_mw, bid, price, min_mw=inputs.gen_min_mw)
    assert dispatch.shed_mw.sum() == 0.0
    on = m.drivers.commitment.on.copy()
    got_inputs, got, added = m.reliability_commit(inputs, demand, bid, price, dispatch)
    assert got is dispatch and got_inputs is inputs and added == 0
    assert np.array_equal(m.drivers.commitment.on, on)
