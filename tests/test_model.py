"""The coupled hourly model on small cases: the issue's "must show" behaviours."""

import numpy as np
import pytest

from agents.fleet import SLOT_HASH0
from simulation.bitcoin import hashvalue_usd_per_mwh, next_bits
from simulation.model import GridPivotModel

SMALL = ["population.counts={profit_max=3, hodl_hasher=3, ai_host=2, grid_responsive=3, adaptive=2}"]


def run(hours, overrides=(), **kw):
    m = GridPivotModel(None, overrides=[f"run.hours={hours}", *SMALL, *overrides], collect_mesa=False, **kw)
    return m


def test_energy_balance_and_capacity_bounds_every_hour_for_every_agent():
    m = run(96)
    f = m.fleet
    while m.running:
        m.step()
        r = m.last_hour
        d = r.dispatch
        tol = 1e-6
        # grid: generation + shed = inflexible demand + miners' draw
        assert d.gen_mw.sum() + d.shed_mw.sum() == pytest.approx(r.inputs.bus_demand_mw.sum() + f.drawn_mw.sum(), abs=1e-5)
        assert np.all(np.abs(d.line_flow_mw) <= m.grid.line_limit_mw + tol)
        # miners: cleared <= bid, within the interconnect, split adds up to capacity
        assert np.all(f.cleared_mw <= f.bid_mw + tol) and np.all(f.cleared_mw >= -tol)
        assert np.all(f.drawn_mw <= f.interconnect_mw + tol)
        assert np.all(f.hash_mw[f.active] + f.ai_mw[f.active] + f.curtailed_mw[f.active]
                      >= f.capacity_mw[f.active] - tol)
        assert np.allclose((f.hash_mw + f.ai_mw + f.curtailed_mw)[f.active], f.capacity_mw[f.active], atol=1e-6)
        # hashing never exceeds installed cohorts
        assert np.all(f.cleared_mw[:, SLOT_HASH0:] <= f.asic_mw + tol)
        # network hash rate = rest of world + ours
        assert r.mined.network_hs == pytest.approx((r.mined.row_th_s + f.hashing_th_s.sum()) * 1e12)


def test_same_seed_same_numbers_and_vectorised_equals_per_agent_loop():
    a, b, c = run(48), run(48), run(48, decisions="agents")
    for m in (a, b, c):
        m.run_hours()
    ta, tb, tc = (m.recorder.drain() for m in (a, b, c))
    for name in ta:
        for col in ta[name]:
            np.testing.assert_array_equal(ta[name][col], tb[name][col], err_msg=f"{name}.{col}")
            np.testing.assert_array_equal(ta[name][col], tc[name][col], err_msg=f"{name}.{col}")


def test_heatwave_miners_back_off_at_peak_prices_and_only_price_takers_shed_consumer_load():
    hw = ["grid.heatwave.start_day=3", "grid.heatwave.days=3", "grid.heatwave.demand_factor=1.3",
          "grid.heatwave.renewable_factor=0.3", "population.interconnect_mw_median=150"]
    out = {}
    for strategy in ("grid_responsive", "hodl_hasher", "profit_max"):
        m = GridPivotModel(None, overrides=["run.hours=216", f"population.counts={{{strategy}=12}}", *hw],
                           collect_mesa=False)
        draw, lmp, value, cleared = [], [], [], []
        while m.running:
            m.step()
            f = m.fleet
            draw.append(f.hash_mw.sum())
            lmp.append(m.lmp_history.latest[f.bus])
            value.append(hashvalue_usd_per_mwh(m.last_hour.signals.hashprice_usd_per_ph_day, np.where(f.asic_j_per_th > 0, f.asic_j_per_th, 1e9)))
            cleared.append(f.cleared_mw[:, SLOT_HASH0:].copy())
        hourly = m.recorder.drain()["hourly"]
        out[strategy] = dict(shed=hourly["consumer_shed_mwh"].sum(), draw=np.array(draw),
                             lmp=np.array(lmp), value=np.array(value), cleared=np.array(cleared))
    r = out["grid_responsive"]
    before, during, after = r["draw"][24:72].mean(), r["draw"][72:144].mean(), r["draw"][168:].mean()
    assert during < 0.9 * before and after > 0.9 * before
    # price-bidding miners: a cohort never hashes in an hour whose local price beats its value,
    # and the heat wave does produce such hours
    p = out["profit_max"]
    priced_out = (p["lmp"][:, :, None] > p["value"] * 1.0001) & (p["cleared"] > 0)
    assert not priced_out.any()
    assert (p["lmp"][:, :, None] > p["value"])[72:144].any()
    assert p["draw"][72:144].min() < 0.8 * p["draw"][24:72].mean()
    # price-takers self-schedule from the day-ahead forecast and the grid sheds consumers at the
    # peak; responsive miners step aside and no consumer load is shed
    assert out["hodl_hasher"]["shed"] > 0
    assert r["shed"] == 0 and p["shed"] == 0
    # no cobweb: the price-takers' day-ahead forecast does not flip prices between scarcity and
    # normal hour after hour (scarce, normal, scarce in three consecutive hours)
    peak = out["hodl_hasher"]["lmp"].max(axis=1)
    scarce = peak >= 1000.0
    assert scarce.any()
    flips = scarce[:-2] & ~scarce[1:-1] & scarce[2:]
    assert flips.sum() == 0, np.flatnonzero(flips)


def test_hashrate_shock_stretches_blocks_then_retarget_lowers_difficulty_by_the_rule():
    m = GridPivotModel("configs/hashrate_shock.toml", overrides=[*SMALL, "run.hours=1400"], collect_mesa=False)
    intervals, hashprice = [], []
    while m.running:
        m.step()
        intervals.append(m.recorder.last["mean_block_interval_s"])
        hashprice.append(m.recorder.last["hashprice_usd_per_ph_day"])
    iv = np.array(intervals)
    assert np.nanmean(iv[400:700]) > 1.3 * np.nanmean(iv[:300])
    drops = [r for r in m.bitcoin.network.retargets if r.ratio < 1]
    assert drops, "the shock should trigger a downward retarget"
    for r in m.bitcoin.network.retargets:
        assert r.new_bits == next_bits(r.old_bits, r.window_first_time, r.window_last_time)
    first_drop = drops[0]
    hour = int((first_drop.time - m.start_time) // 3600)
    hp = np.array(hashprice)
    assert hp[hour + 1: hour + 25].mean() > hp[hour - 24: hour].mean()


def test_bad_entries_fail_at_load_time_naming_the_entry():
    with pytest.raises(ValueError, match=r"miners\[0\]\.bus"):
        GridPivotModel(None, overrides=['miners=[{bus="no-such-bus"}]'])
    with pytest.raises(ValueError, match=r"strategy"):
        GridPivotModel(None, overrides=['miners=[{bus="M1", strategy="hodler"}]'])
    with pytest.raises(ValueError, match=r"miners\[0\]\.leases"):
        GridPivotModel(None, overrides=['miners=[{bus="M1", interconnect_mw=5, leases=[{mw=5.0}]}]'])


def test_after_the_halving_an_s9_cohort_is_priced_out_and_stops():
    """Block 840,000 halves the subsidy: an S9 cohort that paid its power before no longer does and
    stops hashing, hour by hour, while the S19 XP cohort runs on."""
    ov = ["run.hours=600", "bitcoin.height=838656", "bitcoin.time=1712783853", "bitcoin.bits=0x17034219",
          "bitcoin.window_first_time=1712783853", "population.counts={}", "grid.copperplate=true",
          "markets.ai.hosting.offers_per_month=0",
          'miners=[{name="old", bus="M1", strategy="profit_max", interconnect_mw=60, cash_usd=5e9, '
          'asics=[{model="S9", units=20000}, {model="S19 XP", units=10000}]}]']
    m = GridPivotModel(None, overrides=ov, collect_mesa=False)
    s9_mw, s9_value, xp_mw, lmp, height = [], [], [], [], []
    while m.running:
        m.step()
        f = m.fleet
        s9_mw.append(f.cleared_mw[0, SLOT_HASH0])
        xp_mw.append(f.cleared_mw[0, SLOT_HASH0 + 1])
        s9_value.append(hashvalue_usd_per_mwh(m.last_hour.signals.hashprice_usd_per_ph_day, f.asic_j_per_th[0, 0]))
        lmp.append(m.lmp_history.latest[f.bus[0]])
        height.append(m.bitcoin.network.height)
    s9_mw, s9_value, xp_mw, lmp = map(np.array, (s9_mw, s9_value, xp_mw, lmp))
    halving_hour = int(np.argmax(np.array(height) >= 840_000))
    assert 150 < halving_hour < 300
    pre, post = slice(0, halving_hour - 1), slice(halving_hour + 2, None)
    priced_out = s9_value < lmp
    assert priced_out[pre].mean() < 0.1 and s9_mw[pre].mean() > 20
    assert priced_out[post].mean() > 0.5 and s9_mw[post].mean() < 0.5 * s9_mw[pre].mean()
    assert s9_mw[priced_out].max() == 0.0
    assert xp_mw[post].mean() > 0.9 * xp_mw[pre].mean()


def test_day_ahead_forecast_is_the_median_of_the_same_hour_over_the_last_week():
    from simulation.grid.history import LmpHistory

    rng = np.random.default_rng(4)
    h = LmpHistory(50, 200)
    pushed = []
    for hour in range(230):  # past the ring buffer's end
        pushed.append(np.round(rng.normal(40, 30, 50), 1))
        h.push(pushed[-1])
        if hour >= 23:
            same_hour = np.array(pushed[-24::-24][:7])  # the last week's days, this hour
            assert np.array_equal(h.day_ahead(), np.median(same_hour, axis=0))
            buses = rng.choice(50, 9, replace=False)
            assert h.day_ahead(buses).tobytes() == h.day_ahead()[buses].tobytes()


def test_daily_agent_and_bus_logs_are_the_hourly_rows_averaged_and_summed_per_day(tmp_path):
    """The same run logged hour by hour and day by day: the daily rows are the hourly rows' means
    (MW, prices, tCO2/MWh) and sums (USD, BTC) per day, snapshots (cash) at the day's last hour,
    and a last day cut short (60 h: 12 hours into day 3) is logged over the hours it has."""
    import pandas as pd

    from simulation.config import load_scenario
    from simulation.output import read_run
    from simulation.runner import run_scenario

    def logged(agent_log, bus_log, hours=60):
        sc = load_scenario(None, [f"run.hours={hours + 24}", *SMALL, f"run.agent_log=\"{agent_log}\"",
                                  f"run.bus_log=\"{bus_log}\""])
        out = tmp_path / f"{agent_log}-{bus_log}"
        run_scenario(sc, out, progress=False, hours=hours)  # stopped before the scenario's end
        return read_run(out)

    hourly, daily = logged("hourly", "hourly"), logged("daily", "daily")
    pd.testing.assert_frame_equal(hourly["hourly"], daily["hourly"])  # logging leaves the run alone
    day = lambda t: t.assign(day=t["hour"] // 24)  # noqa: E731
    for table, key, sums in (("agents", "miner", {"revenue_hash_usd", "power_cost_usd", "btc_mined"}),
                             ("buses", "bus", set())):
        h, d = day(hourly[table]), day(daily[table])
        assert sorted(d["hour"].unique()) == [23, 47, 59], table  # each day's last hour; the cut day's 59
        g = h.groupby(["day", key])
        for col in [c for c in d.columns if c.startswith("mw_") or c.endswith("_mw") or "per_mwh" in c] + sorted(sums):
            if col not in h.columns or col == "lmp_usd_per_mwh" and table == "agents":
                continue  # the agents' LMP is the last hour's, a snapshot
            want = (g[col].sum() if col in sums else g[col].mean()).to_numpy()
            np.testing.assert_allclose(d.sort_values(["day", key])[col].to_numpy(), want, rtol=1e-12, atol=1e-9,
                                       err_msg=f"{table}.{col}")
    last = hourly["agents"][hourly["agents"]["hour"].isin([23, 47, 59])]
    np.testing.assert_array_equal(daily["agents"]["cash_usd"].to_numpy(), last["cash_usd"].to_numpy())
    assert len(daily["buses"]) == 3 * len(hourly["buses"]) // 60
    from simulation.analysis.figures import figure_data

    assert figure_data(daily)["lmp_heatmap"]["block_h"] == 24  # the heat map's colour bar: daily means
    assert figure_data(hourly)["lmp_heatmap"]["block_h"] == 1

    none = logged("none", "none", hours=30)
    assert "agents" not in none and "buses" not in none and len(none["hourly"]) == 30
