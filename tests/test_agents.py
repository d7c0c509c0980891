"""Miner decisions on hand-built fleets: valuation, interconnect fitting, strategies."""

import numpy as np
import pytest

from agents.fleet import SLOT_FIRM, SLOT_HASH0, SLOT_SPOT, SLOT_TRAINING, Fleet
from agents.strategies import STRATEGIES, strategy_class
from agents.valuation import MarketSignals, fit_to_interconnect, slot_values
from simulation.bitcoin import hashvalue_usd_per_mwh

VOLL = 5000.0


def make_fleet(n=3, j_per_th=(17.5, 29.5)):
    c = len(j_per_th)
    f = Fleet(
        n=n, n_cohorts=c, bus=np.zeros(n, int), interconnect_mw=np.full(n, 50.0),
        asic_units=np.full((n, c), 5000.0), asic_th_per_unit=np.full((n, c), 200.0),
        asic_j_per_th=np.tile(np.array(j_per_th, float), (n, 1)), asic_age_h=np.zeros((n, c)),
        gpu_units=np.full(n, 5000.0), gpu_kw=np.full(n, 1.7), cash_usd=np.full(n, 1e6), btc=np.zeros(n),
        sell_fraction=np.ones(n), active=np.ones(n, bool))
    return f


def signals(n, lmp=40.0, stress=False, hashprice=50.0, ai=2.2, demand=0.5):
    return MarketSignals(hour=0, hour_of_day=12, month=7, btc_price_usd=64000.0, hashprice_usd_per_ph_day=hashprice,
                         ai_price_usd_per_gpu_hour=ai, ai_demand_fraction=demand,
                         lmp_forecast_usd_per_mwh=np.full(n, lmp), grid_stress=stress, voll_usd_per_mwh=VOLL,
                         checkpoint_usd_per_mw=50.0)


def test_slot_values_follow_hashprice_and_gpu_hour():
    f = make_fleet()
    avail, value = slot_values(f, np.arange(3), signals(3, hashprice=50.0))
    # domain notes: 50 USD/PH/day at 17.5 J/TH is ~119 USD/MWh, at 29.5 J/TH ~71
    assert value[0, SLOT_HASH0] == pytest.approx(50 / 24 * 1000 / 17.5)
    assert value[0, SLOT_HASH0 + 1] == pytest.approx(50 / 24 * 1000 / 29.5)
    assert avail[0, SLOT_HASH0] == pytest.approx(5000 * 200 * 17.5 / 1e6)  # 17.5 MW
    assert value[0, SLOT_SPOT] == pytest.approx(2.2 * 1000 / 1.7)
    assert avail[0, SLOT_SPOT] == pytest.approx(5000 * 1.7 / 1e3 * 0.5)
    # hosted load: the tenant's inference is firm (the value of lost load); training is worth its
    # fee per MWh plus the SLA penalty it avoids
    f.firm_mw[:], f.training_mw[:] = 2.0, 1.0
    f.lease_value_usd_per_mwh[:], f.penalty_usd_per_mwh[:] = 93.2, 500.0
    avail, value = slot_values(f, np.arange(3), signals(3))
    assert value[0, SLOT_FIRM] == VOLL and avail[0, SLOT_FIRM] == 2.0
    assert value[0, SLOT_TRAINING] == pytest.approx(593.2) and avail[0, SLOT_TRAINING] == 1.0
    assert avail[0, SLOT_SPOT] == pytest.approx(5000 * 1.7 / 1e3 * 0.5)  # own GPUs: not the tenant's


def test_fit_to_interconnect_keeps_best_blocks_within_capacity():
    rng = np.random.default_rng(1)
    mw = rng.uniform(0, 30, (200, 6))
    price = rng.uniform(0, 200, (200, 6))
    cap = rng.uniform(0, 100, 200)
    fitted = fit_to_interconnect(mw, price, cap)
    assert np.all(fitted <= mw + 1e-12) and np.all(fitted >= 0)
    assert np.all(fitted.sum(axis=1) <= np.minimum(cap, mw.sum(axis=1)) + 1e-9)
    # everything that fits is taken, and a cut block is never pricier than a kept one
    assert np.allclose(fitted.sum(axis=1), np.minimum(cap, mw.sum(axis=1)))
    for i in range(200):
        cut = fitted[i] < mw[i] - 1e-12
        kept = fitted[i] > 1e-12
        if cut.any() and kept.any():
            assert price[i][cut].max() <= price[i][kept & ~cut].min() if (kept & ~cut).any() else True


def test_fit_to_interconnect_is_the_greedy_cut_in_price_order_bit_for_bit():
    """Rows already in price order are cut as they stand, the others after sorting: both give,
    to the last bit, a per-row greedy cut in descending price order (ties in slot order), with
    idle slots (0 MW) anywhere, rows exactly at their limit, and -0 or negative MW."""
    def greedy(mw, price, cap):
        out, taken = [0.0] * len(mw), None
        for j in sorted(range(len(mw)), key=lambda j: -price[j]):  # stable
            taken = mw[j] if taken is None else taken + mw[j]
            fit = min(mw[j], cap - (taken - mw[j]))
            out[j] = fit if fit > 0.0 else 0.0  # (-0 too)
        return out

    rng = np.random.default_rng(7)
    for trial in range(300):
        n, s = int(rng.integers(1, 30)), int(rng.integers(1, 8))
        mw = rng.choice([0.0, 0.0, 0.1, 1.0, 2.5, 7.3, 1e-9], (n, s)) * rng.choice([1.0, rng.random()], (n, s))
        mw[rng.random((n, s)) < (0.05 if trial % 5 == 0 else 0.0)] = -0.0
        mw[rng.random((n, s)) < (0.05 if trial % 7 == 0 else 0.0)] = -1.0
        price = rng.choice([5000.0, 3470.0, 100.0, 99.0, 72.1, 0.0], (n, s)) * rng.choice([1.0, rng.random()], (n, 1))
        if trial % 2:
            price = -np.sort(-price, axis=1)  # the usual case: slots best first
        cap = rng.choice([0.0, 1.0, 5.0, 100.0], n) * rng.choice([1.0, rng.random()], n)
        at_limit = rng.random(n) < 0.3
        cap[at_limit] = [sum(m) for m in mw[at_limit].tolist()]
        want = np.array([greedy(m, p, c) for m, p, c in zip(mw.tolist(), price.tolist(), cap.tolist())])
        assert fit_to_interconnect(mw, price, cap).tobytes() == want.reshape(n, s).tobytes()


def test_hodl_hasher_hashes_only_cohorts_that_beat_the_forecast_price():
    f = make_fleet()
    idx = np.arange(3)
    s = strategy_class("hodl_hasher")(f, idx, np.random.default_rng(0))
    # 50 USD/PH/day: S21 (17.5 J/TH) worth ~119 USD/MWh, S19 Pro (29.5) ~71: at 90 only the S21 runs
    mw, price = s.bid(f, idx, signals(3, lmp=90.0))
    assert np.all(mw[:, SLOT_HASH0] > 0) and np.all(mw[:, SLOT_HASH0 + 1] == 0)
    assert np.all(mw[:, SLOT_SPOT] == 0)  # no spot AI for a hodler
    assert np.all(price[mw > 0] == VOLL)  # self-scheduled, price-taking
    mw, _ = s.bid(f, idx, signals(3, lmp=150.0))
    assert np.all(mw[:, SLOT_HASH0:] == 0)


def test_profit_max_bids_values_best_first_within_interconnect():
    f = make_fleet()
    idx = np.arange(3)
    s = strategy_class("profit_max")(f, idx, np.random.default_rng(0))
    mw, price = s.bid(f, idx, signals(3))
    _, value = slot_values(f, idx, signals(3))
    assert np.allclose(price, value)
    # spot AI (~1,294 USD/MWh) beats hashing: 4.25 MW AI first, then S21s, within 50 MW
    assert mw[0, SLOT_SPOT] == pytest.approx(4.25)
    assert mw[0].sum() == pytest.approx(50.0)
    assert mw[0, SLOT_HASH0] == pytest.approx(17.5)


def test_grid_responsive_curtails_interruptible_load_in_stress_hours_only():
    f = make_fleet()
    f.firm_mw[:] = 2.0
    f.training_mw[:] = 1.0
    f.lease_value_usd_per_mwh[:] = 166.0
    idx = np.arange(3)
    s = strategy_class("grid_responsive")(f, idx, np.random.default_rng(0))
    calm, _ = s.bid(f, idx, signals(3, stress=False))
    stress, _ = s.bid(f, idx, signals(3, stress=True))
    assert np.all(calm[:, SLOT_HASH0] > 0)
    assert np.all(stress[:, SLOT_TRAINING:] == 0)
    assert np.all(stress[:, SLOT_FIRM] == 2.0)  # firm inference load stays


def test_ai_host_makes_hosted_load_firm():
    f = make_fleet()
    f.firm_mw[:] = 3.0
    f.training_mw[:] = 1.0
    f.lease_value_usd_per_mwh[:] = 166.0
    idx = np.arange(3)
    s = strategy_class("ai_host")(f, idx, np.random.default_rng(0))
    mw, price = s.bid(f, idx, signals(3))
    assert np.all(price[:, SLOT_FIRM] == VOLL) and np.all(mw[:, SLOT_FIRM] == 3.0)
    assert np.all(price[:, SLOT_TRAINING] == VOLL) and np.all(mw[:, SLOT_TRAINING] == 1.0)


def test_adaptive_learns_the_arm_with_the_best_margin():
    f = make_fleet(n=2)
    idx = np.arange(2)
    s = strategy_class("adaptive")(f, idx, np.random.default_rng(0))
    s.EPSILON = 0.0
    # reward = the arm's multiplier: after trying all arms it settles on the best (1.0) and stays
    for day in range(8):
        for h in range(24):
            sig = signals(2)
            sig = MarketSignals(**{**sig.__dict__, "hour": day * 24 + h})
            f.revenue_hash_usd[:] = s.ARMS[s.arm] * 1000.0
            s.learn(f, idx, sig)
    assert np.all(s.arm == len(s.ARMS) - 1)
    assert np.all(s.count > 0)


def test_fleet_quantities_of_some_rows_are_the_whole_fleets_at_those_rows_bit_for_bit():
    """`capacity_mw_at` / `margin_usd_at` (a group's rows, as an index array or a slice) give
    exactly the numbers `capacity_mw` / `margin_usd` give at those rows."""
    rng = np.random.default_rng(5)
    f = make_fleet(n=7, j_per_th=(17.5, 29.5, 0.0))
    f.asic_units[:] = rng.integers(0, 9000, f.asic_units.shape)
    f.gpu_units[:] = rng.integers(0, 3000, f.n)
    f.firm_mw[:], f.training_mw[:] = rng.uniform(0, 5, f.n), rng.uniform(0, 5, f.n)
    f.interconnect_mw[:] = rng.uniform(5, 60, f.n)
    f.active[2] = False
    for name in ("revenue_hash_usd", "revenue_ai_usd", "revenue_dr_usd", "power_cost_usd", "other_cost_usd"):
        getattr(f, name)[:] = rng.normal(0, 1e4, f.n)
    for rows in (slice(2, 6), np.array([0, 3, 6])):
        assert f.capacity_mw_at(rows).tobytes() == f.capacity_mw[rows].tobytes()
        assert f.margin_usd_at(rows).tobytes() == f.margin_usd[rows].tobytes()


def test_adaptive_learns_the_same_from_a_slice_of_its_rows_as_from_their_indices():
    f = make_fleet(n=4)
    by_index, by_slice = (strategy_class("adaptive")(f, np.arange(1, 4), np.random.default_rng(0)) for _ in range(2))
    for h in range(120):
        f.revenue_hash_usd[:] = np.arange(4.0) * (h % 5)
        sig = MarketSignals(**{**signals(4).__dict__, "hour": h})
        by_index.learn(f, np.arange(1, 4), sig)
        by_slice.learn(f, slice(1, 4), sig)
    assert by_index.mean.tobytes() == by_slice.mean.tobytes() and np.array_equal(by_index.arm, by_slice.arm)
    assert by_index.count.sum() == 3 * 5  # five days scored for each of the three miners


def test_every_registered_strategy_respects_the_interconnect_and_bids():
    f = make_fleet(n=4)
    idx = np.arange(4)
    for name, cls in STRATEGIES.items():
        mw, price = cls(f, idx, np.random.default_rng(0)).bid(f, idx, signals(4))
        assert mw.shape == price.shape == (4, f.n_slots), name
        assert np.all(mw >= 0) and np.all(mw.sum(axis=1) <= f.interconnect_mw + 1e-9), name


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match=r"miners\[0\].strategy: unknown strategy 'hodler'"):
        strategy_class("hodler", "miners[0].strategy")


def test_hashvalue_matches_the_domain_notes_example():
    assert hashvalue_usd_per_mwh(50.0, 17.5) == pytest.approx(119.05, abs=0.01)
