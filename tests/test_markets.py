"""The markets: BTC price paths, the AI compute market, the rest of the world's hash supply,
reward sharing and concentration metrics."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from simulation.markets import (DEFAULT_POOL_SHARES, AiSpotMarket, HostingOffers, GbmJumpPrice, HashrateShock,
                                RestOfWorldFleet, SeriesPrice, breakeven_hashprice_usd_per_ph_day,
                                expected_rewards, hhi_and_nakamoto, load_price_csv, sampled_rewards)
from simulation.bitcoin.economics import expected_hashprice_path
from simulation.markets.btc_price import log_drift_per_year


def test_gbm_log_returns_have_the_configured_drift_and_volatility():
    rng = np.random.default_rng(1)
    p = GbmJumpPrice(64_000, 0.3, 0.6, 0.0, 0.0, 0.0, rng)
    path = np.array([p.step() for _ in range(8760 * 20)])
    r = np.diff(np.log(np.concatenate([[64_000], path])))
    # the log price drifts by mu - sigma^2/2 = 0.3 - 0.18 (20 years: SE ~0.13)
    assert r.mean() * 8760 == pytest.approx(0.12, abs=0.3)
    assert r.std() * math.sqrt(8760) == pytest.approx(0.6, rel=0.01)
    assert log_drift_per_year(0.3, 0.6) == pytest.approx(0.12)
    # jumps of mean log 0 and std 0.1 at 4 a year add e^0.005 - 1 to the price's mean each
    assert log_drift_per_year(0.0, 0.0, 4.0, 0.0, 0.1) == pytest.approx(-4 * math.expm1(0.005))


@functools.lru_cache
def _mean_z(drift, vol, stated_growth, years=1.0, paths=4000, seed=11, jumps=(4.0, 0.0, 0.06)):
    """(simulated mean of S_T / s0 over `paths` paths of the project's own class, its standard
    error, z of the mean against the stated expectation e^(stated_growth T))."""
    p = GbmJumpPrice(1.0, drift, vol, *jumps, np.random.default_rng(seed), n_paths=paths)
    for _ in range(int(8760 * years)):
        s = p.step()
    mean, se = float(s.mean()), float(s.std(ddof=1) / math.sqrt(paths))
    return mean, se, (mean - math.exp(stated_growth * years)) / se


@pytest.mark.parametrize("drift", [0.0, 0.3, -0.4])
def test_gbm_price_expectation_is_what_its_drift_says(drift):
    """E[S_T] = s0 e^(mu T): the mean of 4,000 simulated one-year paths (volatility 0.55, the
    default jumps) lies within 4 standard errors of it; drift 0 is a martingale."""
    mean, se, z = _mean_z(drift, 0.55, drift)
    assert abs(z) < 4, (mean, se)
    assert se < 0.015  # the check can see a few per cent


def test_the_expectation_check_rejects_a_log_price_that_drifts_by_zero():
    """The old process (log price drifting by 0 at volatility 0.55, called a martingale) has a
    mean ~16 % above s0 after a year: the same check fails it by more than 10 standard errors."""
    log_zero = 0.5 * 0.55 ** 2 + 4.0 * math.expm1(0.5 * 0.06 ** 2)  # the drift whose log drift is 0
    assert log_drift_per_year(log_zero, 0.55, 4.0, 0.0, 0.06) == pytest.approx(0.0, abs=1e-15)
    mean, se, z = _mean_z(log_zero, 0.55, 0.0)
    assert z > 10 and mean == pytest.approx(math.exp(log_zero), rel=0.03)


def test_miners_expect_the_price_models_drift():
    """`expected_hashprice_path` grows with the price model's expected drift, e^(mu t) at mid-month."""
    kw = dict(btc_price_usd=60_000.0, fees_btc_per_block=0.1, difficulty=80e12, height=850_000,
              difficulty_growth_per_year=0.0)
    flat = expected_hashprice_path(24, **kw)
    up = expected_hashprice_path(24, **kw, btc_drift_per_year=0.3)
    assert np.allclose(flat, flat[0])
    assert up / flat == pytest.approx(np.exp(0.3 * (np.arange(24) + 0.5) / 12))
    # and a model of drift mu: the miners' expectation is the simulated mean (one year ahead)
    mean, se, _ = _mean_z(0.3, 0.55, 0.3)
    assert abs(mean - float(up[11] / flat[11]) * math.exp(0.3 * 0.5 / 12)) < 4 * se


def test_gbm_jumps_add_fat_tails_at_the_configured_rate():
    rng = np.random.default_rng(2)
    p = GbmJumpPrice(64_000, 0.0, 0.0, 50.0, -0.1, 0.02, rng)
    path = np.array([p.step() for _ in range(8760 * 4)])
    # without volatility the log price moves by its (compensating) drift alone between jumps
    r = np.diff(np.log(np.concatenate([[64_000], path]))) - log_drift_per_year(0.0, 0.0, 50.0, -0.1, 0.02) / 8760
    jumps = r[np.abs(r) > 1e-9]
    assert len(jumps) / 4 == pytest.approx(50, rel=0.15)
    assert jumps.mean() == pytest.approx(-0.1, abs=0.01)


def test_same_seed_same_price_path():
    a = GbmJumpPrice(1.0, 0.1, 0.5, 4, 0, 0.1, np.random.default_rng(7))
    b = GbmJumpPrice(1.0, 0.1, 0.5, 4, 0, 0.1, np.random.default_rng(7))
    assert [a.step() for _ in range(500)] == [b.step() for _ in range(500)]


def test_price_series_replays_in_order_and_says_when_it_runs_out(tmp_path):
    f = tmp_path / "btc.csv"
    f.write_text("# hourly closes\nhour,btc_usd\n0,64000\n1,64100.5\n2,63900\n")
    s = SeriesPrice(load_price_csv(f, "btc_usd"))
    assert [s.step(), s.step(), s.step()] == [64000.0, 64100.5, 63900.0]
    with pytest.raises(ValueError, match="markets.btc_price.csv: the series has 3 hours"):
        s.step()


@pytest.mark.parametrize("text,problem", [
    ("hour,btc_usd\n0,64000\n1,nan\n", "row 3 has btc_usd='nan'"),
    ("hour,btc_usd\n0,64000\n1,\n", "row 3 has btc_usd=''"),
    ("hour,btc_usd\n0,-1\n", "row 2 has btc_usd='-1'"),
    ("hour,price\n0,64000\n", "no column 'btc_usd'"),
])
def test_bad_price_series_is_one_line_naming_the_row(tmp_path, text, problem):
    f = tmp_path / "btc.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match="btc.csv") as e:
        load_price_csv(f, "btc_usd")
    assert problem in str(e.value) and "\n" not in str(e.value)


def test_ai_spot_price_reverts_to_its_trend_and_demand_peaks_in_the_afternoon():
    m = AiSpotMarket(2.0, -0.5, 0.05, 0.02, 0.6, 0.2, 0.02, np.random.default_rng(3))
    out = np.array([m.step(h % 24) for h in range(8760)])
    price, demand = out[:, 0], out[:, 1]
    trend = 2.0 * np.exp(-0.5 * np.arange(8760) / 8760)
    dev = np.log(price / trend)
    assert abs(dev.mean()) < 0.02 and dev.std() < 0.1      # OU around the trend: sd = vol/sqrt(2 kappa) ~ 0.064
    assert price[-24:].mean() == pytest.approx(2.0 * math.exp(-0.5), rel=0.1)
    by_hour = demand.reshape(-1, 24).mean(axis=0)
    assert by_hour.argmax() == 14 and by_hour.argmin() == 2
    assert demand.min() >= 0 and demand.max() <= 1


def test_hosting_offers_arrive_at_the_configured_rate_and_mix():
    c = HostingOffers(rate_per_month=3.0, mw_mean=20.0, fee_usd_per_mw_month=121_180.0, fee_cv=0.1,
                      fee_trend_per_year=0.0, term_months=144, lead_months=18, sla_uptime=0.999,
                      penalty_usd_per_mwh=400.0, training_share=0.25, rng=np.random.default_rng(4))
    offers = [o for _ in range(730 * 200) for o in c.step()]
    assert len(offers) / 200 == pytest.approx(3.0, rel=0.1)
    assert np.mean([o.kind == "training" for o in offers]) == pytest.approx(0.25, abs=0.05)
    assert np.mean([o.it_mw for o in offers]) == pytest.approx(20.0, rel=0.1)
    fees = np.array([o.fee_usd_per_mw_month for o in offers])
    assert fees.mean() == pytest.approx(121_180.0, rel=0.02) and fees.std() / fees.mean() == pytest.approx(0.1, rel=0.15)
    assert all((o.term_months, o.lead_months) == (144, 18) for o in offers)
    assert all((o.sla_uptime, o.penalty_usd_per_mwh) == (0.0, 0.0) for o in offers if o.kind == "training")


def fleet(**kw) -> RestOfWorldFleet:
    args = dict(target_eh_s=600.0, hashprice_usd_per_ph_day=50.0, mean_j_per_th=24.0,
                median_power_cost_usd_per_mwh=45.0, response_hours=72.0, growth_eh_s_per_month=0.0,
                new_j_per_th=16.0)
    return RestOfWorldFleet.calibrated(**(args | kw))


def test_breakeven_hashprice_matches_the_domain_arithmetic():
    # 1 PH/s at 20 J/TH draws 20 kW = 0.48 MWh/day; at 50 USD/MWh that is 24 USD per PH/s per day
    assert breakeven_hashprice_usd_per_ph_day(20.0, 50.0) == pytest.approx(24.0)


def test_rest_of_world_is_in_equilibrium_at_calibration_and_follows_hashprice():
    f = fleet()
    assert f.online_eh_s_now == pytest.approx(600.0)
    assert f.profitable_eh_s(50.0) == pytest.approx(600.0)
    steady = [f.step(50.0, h) for h in range(100)]
    assert steady[-1] == pytest.approx(600.0)
    lower = fleet().profitable_eh_s(30.0)
    assert lower < 600.0
    g = fleet()
    path = [g.step(30.0, h) for h in range(72 * 6)]
    # first-order response: ~63 % of the way after one time constant, nearly there after six
    assert (600 - path[71]) / (600 - lower) == pytest.approx(1 - math.exp(-1), abs=0.01)
    assert path[-1] == pytest.approx(lower, rel=0.01)


def test_a_shock_removes_its_share_at_once_and_the_fleet_returns_afterwards():
    f = fleet(shocks=[HashrateShock(10, 100, 0.5)])
    online = np.array([f.step(50.0, h) for h in range(600)])
    assert online[9] == pytest.approx(600.0) and online[10] == pytest.approx(300.0, rel=0.01)
    assert online[99] == pytest.approx(300.0, rel=0.01)
    assert 300 < online[150] < online[300] < 600 and online[-1] == pytest.approx(600.0, rel=0.01)


def test_shipped_asics_grow_the_fleet():
    f = fleet(growth_eh_s_per_month=20.0)
    for h in range(730):
        f.step(50.0, h)
    assert f.installed_eh_s - fleet().installed_eh_s == pytest.approx(20.0)
    assert f.online_eh_s_now > 610.0


def test_expected_rewards_are_pro_rata_and_sampled_rewards_unbiased_and_conserved():
    shares = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(expected_rewards(10.0, shares), [5.0, 3.0, 2.0])
    rng = np.random.default_rng(5)
    blocks = np.full(100_000, 3.125)
    won = sampled_rewards(blocks, shares, rng)
    assert won.sum() == pytest.approx(blocks.sum())
    np.testing.assert_allclose(won / blocks.sum(), shares, atol=0.005)
    assert sampled_rewards(np.array([]), shares, rng).sum() == 0


def test_hhi_and_nakamoto_coefficient():
    assert hhi_and_nakamoto(np.array([0.3, 0.3, 0.2, 0.2])) == (pytest.approx(2600.0), 2)
    assert hhi_and_nakamoto(np.array([1.0])) == (pytest.approx(10_000.0), 1)
    assert hhi_and_nakamoto(np.full(100, 0.01)) == (pytest.approx(100.0), 51)
    # the 2024 pool landscape: two pools held a majority (Foundry + AntPool)
    shares = np.array(list(DEFAULT_POOL_SHARES.values()))
    assert shares.sum() == pytest.approx(1.0)
    assert hhi_and_nakamoto(shares)[1] == 2
