"""Block discovery, fees, hashprice and the scripted network-only run.

Statistical tolerances are 4 standard errors of the sample at hand (false-alarm rate ~6e-5 per
check), with fixed seeds so runs are reproducible.
"""

import math
import tomllib
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simulation.bitcoin import (COIN_SAT, HALVING_2024, RETARGET_INTERVAL, BitcoinNetwork, ChainPoint,
                                ConstantFees, HashratePath, HashrateSegment, NoisyFees, SeriesFees,
                                bits_to_difficulty, bits_to_target, block_subsidy, expected_btc_per_th_hour,
                                format_epochs, hashprice_usd_per_ph_day, hashvalue_usd_per_mwh, make_fee_model,
                                next_bits, simulate_scripted)

ROOT = Path(__file__).resolve().parents[1]


def network(point=HALVING_2024, seed=1, fees=None):
    return BitcoinNetwork(point.height, point.time, point.bits, point.window_first_time,
                          fees=fees or ConstantFees(0.1), rng=np.random.default_rng(seed))


def run_until(net, hashrate_hs, height, step_s=3600):
    blocks = []
    while net.height < height:
        blocks += net.advance(step_s, hashrate_hs)
    return blocks


# --- block discovery -----------------------------------------------------------------------------
def test_default_chain_point_matches_the_2024_halving():
    net = network()
    assert (net.height, net.time, net.bits) == (840_000, 1_713_571_767, 0x17034219)
    assert round(net.difficulty, 2) == 86_388_558_925_171.02
    assert round(net.implied_hashrate_hs() / 1e18) == 618  # domain notes: ~618 EH/s
    assert net.expected_block_time_s(net.implied_hashrate_hs()) == pytest.approx(600.0, rel=1e-12)
    assert net.blocks_until_retarget == 671  # blocks 840,001..840,671 at these bits


def test_implied_hash_rate_gives_600_s_blocks_and_exponential_intervals():
    """50 windows x 2015 blocks at one difficulty: ~100,750 intervals, standard error of the
    mean 600/sqrt(100750) = 1.9 s, so +-7.6 s is 4 SE; the coefficient of variation of an
    exponential is 1 with SE ~1/sqrt(n) = 0.003, checked to +-0.015."""
    start = ChainPoint(838_656, 1_712_783_853, 0x17034219, 1_712_783_853)  # a window's first block
    intervals = []
    for seed in range(50):
        net = network(start, seed)
        hs = net.implied_hashrate_hs()
        last = start.height + 2015  # the window's last block: all at one difficulty
        times = [start.time] + [b.time for b in run_until(net, hs, last) if b.height <= last]
        assert len(times) == 2016
        intervals.append(np.diff(times))
    iv = np.concatenate(intervals).astype(float)
    assert abs(iv.mean() - 600.0) < 4 * 600.0 / math.sqrt(iv.size)
    assert abs(iv.std() / iv.mean() - 1.0) < 0.015
    assert iv.min() >= 0  # timestamps never go backwards


def test_half_the_hash_rate_doubles_block_time_then_retarget_follows_the_rule():
    net = network(seed=3)
    old_bits, old_target = net.bits, net.target
    blocks = run_until(net, 0.5 * net.implied_hashrate_hs(), 840_671)
    last = next(b for b in blocks if b.height == 840_671)
    n = last.height - HALVING_2024.height
    mean = (last.time - HALVING_2024.time) / n
    assert abs(mean - 1200.0) < 4 * 1200.0 / math.sqrt(n)  # SE of the mean of 671 exponentials
    [r] = net.retargets
    assert (r.height, r.time, r.old_bits) == (840_672, last.time, old_bits)
    assert r.new_bits == next_bits(old_bits, HALVING_2024.window_first_time, last.time) == net.bits
    assert r.actual_timespan_s == last.time - HALVING_2024.window_first_time and not r.clamped
    assert r.ratio == float(Fraction(old_target, bits_to_target(r.new_bits))) < 0.8
    assert net.difficulty == bits_to_difficulty(r.new_bits)
    # the ratio is the realised window's 1,209,600 / timespan, up to compact rounding
    assert r.ratio == pytest.approx(1_209_600 / r.actual_timespan_s, rel=2e-5)
    after = run_until(net, 0.5 * net.implied_hashrate_hs(), 840_673)
    assert all(b.bits == old_bits for b in blocks if b.height <= 840_671)
    assert all(b.bits == r.new_bits for b in blocks + after if b.height >= 840_672)


def test_retarget_inside_an_hour_applies_to_the_very_next_block():
    """Tip one block before the window closes, window so slow the difficulty falls 4x (clamped).
    At the old implied rate, the first block takes Exp(600 s) and the rest of the hour runs at
    a quarter of the difficulty: E[blocks] = (1 - e^-6) + (3600 - 600 (1 - e^-6)) / (600 r),
    r = new / old difficulty (~21 blocks; ~6 if the new difficulty waited for the next step)."""
    t = 1_713_000_000
    point = ChainPoint(840_670, t, 0x17034219, t - 5_000_000)
    counts = []
    for seed in range(200):
        net = network(point, seed)
        blocks = net.advance(3600, net.implied_hashrate_hs())
        counts.append(len(blocks))
        if blocks:
            assert blocks[0].bits == 0x17034219 and blocks[0].height == 840_671
            [rt] = net.retargets
            assert rt.clamped and t <= rt.time < t + 3600 and rt.height == 840_672
            assert all(b.bits == rt.new_bits for b in blocks[1:])
    r = float(Fraction(bits_to_target(0x17034219), bits_to_target(next_bits(0x17034219, t - 5_000_000, t))))
    assert r == pytest.approx(0.25, rel=1e-4)
    p = 1 - math.exp(-6)
    expected = p + (3600 - 600 * p) / (600 * r)
    c = np.array(counts, float)
    assert abs(c.mean() - expected) < 4 * c.std(ddof=1) / math.sqrt(c.size)


def test_tip_that_closes_its_window_retargets_at_once_core_vector():
    """Core's get_next_work vector as a chain point: block 32,255 closes the window started by
    block 30,240, so the network starts at 0x1d00d86a."""
    net = network(ChainPoint(32_255, 1_262_152_739, 0x1D00FFFF, 1_261_130_161))
    assert net.bits == 0x1D00D86A and net.retargets[0].height == 32_256
    assert net.advance(3600 * 24, net.implied_hashrate_hs())[0].bits == 0x1D00D86A


def test_same_seed_same_blocks_and_step_size_does_not_matter():
    def blocks(steps):
        net = network(seed=11, fees=NoisyFees(0.1, 0.5))
        hs = 0.8 * net.implied_hashrate_hs()  # constant across the retarget
        out = []
        for s in steps:
            out += net.advance(s, hs)
        return net, out

    day = 86_400 * 20
    a_net, a = blocks([3600] * (day // 3600))
    b_net, b = blocks([day])
    cuts = np.sort(np.random.default_rng(0).uniform(0, day, 300))
    c_net, c = blocks(np.diff(np.concatenate([[0.0], cuts, [day]])))
    assert len(a) > 2000 and len(a_net.retargets) == 1
    for other in (b, c):
        assert [(x.height, x.bits, x.fees_sat) for x in other] == [(x.height, x.bits, x.fees_sat) for x in a]
        assert max(abs(x.time - y.time) for x, y in zip(a, other)) <= 1
    assert a == blocks([3600] * (day // 3600))[1]  # bit for bit under the same seed
    assert a[0].time >= HALVING_2024.time and all(x.time <= y.time for x, y in zip(a, a[1:]))


def test_zero_hash_rate_finds_nothing_but_time_passes():
    net = network()
    assert net.advance(3600 * 24 * 30, 0.0) == [] and net.height == 840_000
    assert net.clock_s == HALVING_2024.time + 3600 * 24 * 30
    assert net.expected_block_time_s(0.0) == math.inf
    assert net.advance(3600 * 24, net.implied_hashrate_hs())[0].time >= HALVING_2024.time + 3600 * 24 * 30
    with pytest.raises(ValueError, match="^hashrate_hs .*units"):
        net.advance(3600, 1e30)  # EH/s passed as H/s twice over: would be ~10^10 blocks


def test_blocks_carry_subsidy_and_fees():
    net = network(fees=ConstantFees(0.15))
    blocks = net.advance(3600 * 24, net.implied_hashrate_hs())
    assert blocks and all(b.subsidy_sat == block_subsidy(b.height) == 312_500_000 for b in blocks)
    assert all(b.fees_sat == 15_000_000 for b in blocks)


@pytest.mark.parametrize("kwargs, field", [
    (dict(height=-1), "height"),
    (dict(bits=0), "bits"),
    (dict(bits=0x1D000000), "bits"),  # zero target
    (dict(bits=0x1D80FFFF), "bits"),  # sign bit
    (dict(bits=0xFF7FFFFF), "bits"),  # overflow
    (dict(bits=0x1D01FFFE), "bits"),  # above powLimit
    (dict(window_first_time=HALVING_2024.time + 1), "window_first_time"),
    (dict(height=838_656), "window_first_time"),  # a window start must be its own first block
    (dict(time=1.5), "time"),
    (dict(fees=0.1), "fees"),
    (dict(rng=42), "rng"),
])
def test_bad_chain_point_raises_naming_the_field(kwargs, field):
    args = dict(height=HALVING_2024.height, time=HALVING_2024.time, bits=HALVING_2024.bits,
                window_first_time=HALVING_2024.window_first_time, fees=ConstantFees(0.1),
                rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=rf"^{field} "):
        BitcoinNetwork(**{**args, **kwargs})


@pytest.mark.parametrize("seconds, hashrate, field", [
    (3600, -1.0, "hashrate_hs"), (3600, math.nan, "hashrate_hs"), (3600, math.inf, "hashrate_hs"),
    (-1, 1e18, "seconds"), (math.nan, 1e18, "seconds"),
])
def test_bad_step_raises_naming_the_field(seconds, hashrate, field):
    net = network()
    with pytest.raises(ValueError, match=rf"^{field} "):
        net.advance(seconds, hashrate)
    assert net.height == HALVING_2024.height and net.clock_s == HALVING_2024.time


# --- fees ------------------------------------------------------------------------------------------
def test_fee_models():
    rng = np.random.default_rng(5)
    assert ConstantFees(0.15).sample_sat(3, rng) == [15_000_000] * 3
    noisy = NoisyFees(0.2, 0.5).sample_sat(20_000, rng)
    assert all(isinstance(x, int) and x >= 0 for x in noisy)
    m, cv = np.mean(noisy) / COIN_SAT, np.std(noisy) / np.mean(noisy)
    assert abs(m / 0.2 - 1) < 4 * 0.5 / math.sqrt(20_000) and abs(cv - 0.5) < 0.02
    assert NoisyFees(0.2, 0.0).sample_sat(2, rng) == [20_000_000] * 2
    series = SeriesFees([0.1, 0.2, 0.3])
    replay = series.sample_sat(4, rng) + series.sample_sat(3, rng)
    assert replay == [10_000_000, 20_000_000, 30_000_000] * 2 + [10_000_000]  # in order, starting over
    assert series.mean_btc == pytest.approx(0.2)
    cfg = SimpleNamespace(model="noisy", btc_per_block=0.15, cv=0.5, series_csv=None)
    assert isinstance(make_fee_model(cfg), NoisyFees) and make_fee_model(cfg).mean_btc == 0.15
    assert isinstance(make_fee_model(model="constant", btc_per_block=0.1), ConstantFees)
    for bad, field in [(dict(model="auction"), "fees.model"), (dict(model="series"), "fees.series_csv"),
                       (dict(model="noisy", cv=-1.0), "cv"),
                       (dict(model="constant", btc_per_block=-0.1), "btc_per_block")]:
        with pytest.raises(ValueError, match=rf"^{field}"):
            make_fee_model(**bad)


def test_series_fees_from_csv(tmp_path):
    p = tmp_path / "fees.csv"
    p.write_text("# fees per block\nheight,fees_btc\n1,0.5\n2,0.25\n")
    assert SeriesFees.from_csv(p).sample_sat(3, None) == [50_000_000, 25_000_000, 50_000_000]
    with pytest.raises(ValueError, match="series_csv"):
        SeriesFees.from_csv(p, column="fee")


# --- economics -------------------------------------------------------------------------------------
def test_hashvalue_matches_domain_notes_example():
    # 50 USD/PH/day: S21 (17.5 J/TH) ~119 USD/MWh, S19 Pro (29.5 J/TH) ~71 USD/MWh
    v = hashvalue_usd_per_mwh(50.0, np.array([17.5, 29.5]))
    assert v.shape == (2,) and round(float(v[0])) == 119 and round(float(v[1])) == 71
    with pytest.raises(ValueError, match="^j_per_th"):
        hashvalue_usd_per_mwh(50.0, [17.5, 0.0])


def test_hashprice_after_the_halving_and_its_units():
    d = bits_to_difficulty(0x17034219)
    hp = hashprice_usd_per_ph_day(64_000.0, 3.125 + 0.1, d)
    assert 40 <= hp <= 60  # domain notes: ~40-60 USD/PH/day after the 2024 halving
    # 1 PH/s-day = 1,000 TH/s x 24 h
    assert hp == pytest.approx(64_000.0 * 1000 * 24 * expected_btc_per_th_hour(3.225, d), rel=1e-12)
    # expected blocks: 1 PH/s over a day at the implied rate's share of 144 blocks
    share = 1e15 / (d * 2**32 / 600)
    assert hp == pytest.approx(144 * share * 3.225 * 64_000.0, rel=1e-12)
    arr = hashprice_usd_per_ph_day(np.array([50_000.0, 100_000.0]), 3.225, d)
    assert arr[1] == pytest.approx(2 * arr[0])
    for args, field in [((64_000.0, 3.1, 0.0), "difficulty"), ((-1.0, 3.1, d), "btc_price_usd"),
                        ((64_000.0, -3.1, d), "reward_btc_per_block")]:
        with pytest.raises(ValueError, match=rf"^{field}"):
            hashprice_usd_per_ph_day(*args)


# --- scripted network-only run ----------------------------------------------------------------
def test_bitcoin_shock_config_runs_and_epochs_follow_the_rule():
    cfg = tomllib.loads((ROOT / "configs" / "bitcoin_shock.toml").read_text())
    b = cfg["bitcoin"]
    assert (b["height"], b["time"], b["bits"], b["window_first_time"]) == (
        HALVING_2024.height, HALVING_2024.time, HALVING_2024.bits, HALVING_2024.window_first_time)
    net = BitcoinNetwork(b["height"], b["time"], b["bits"], b["window_first_time"], fees=make_fee_model(**b["fees"]),
                         rng=np.random.default_rng(cfg["run"]["seed"]))
    path = HashratePath(cfg["hashrate"]["segments"], baseline=cfg["hashrate"]["baseline"])
    res = simulate_scripted(net, path, cfg["run"]["hours"], cfg["markets"]["btc_price"]["s0_usd"])
    ep = res.epochs
    assert sum(e.blocks for e in ep) == len(res.blocks) == net.height - 840_000
    assert [e.epoch_start_height for e in ep] == [838_656 + i * RETARGET_INTERVAL for i in range(len(ep))]
    assert all(e.blocks == RETARGET_INTERVAL for e in ep[1:-1])
    assert len(res.retargets) == len(ep) - 1 and math.isnan(ep[-1].next_change_pct)
    for e, nxt, r in zip(ep, ep[1:], res.retargets):
        assert r.new_bits == nxt.bits == next_bits(e.bits, r.window_first_time, r.window_last_time)
        assert e.next_change_pct == pytest.approx((nxt.difficulty / e.difficulty - 1) * 100, rel=1e-9)
        assert e.end_time == nxt.start_time == r.time
    # the epoch spanning the drop (hours 336-672) is slow and ends in the run's largest cut
    slow = max(ep, key=lambda e: e.mean_block_interval_s)
    assert slow.mean_block_interval_s > 700 and slow.next_change_pct == min(e.next_change_pct for e in ep[:-1]) < -15
    assert res.hourly["hashrate_eh_s"][400] == pytest.approx(0.5 * res.hourly["hashrate_eh_s"][0])
    table = format_epochs(res).splitlines()
    assert len(table) == 2 + len(ep) and len({len(line) for line in table}) == 1
    assert "838,656" in table[2] and "0x17034219" in table[2]


def test_hashrate_path_segments():
    path = HashratePath([HashrateSegment(2, 4, factor=0.5), {"start_hour": 5, "end_hour": 6, "eh_s": 300.0}])
    assert path.hourly_hs(7, 1e20).tolist() == [1e20, 1e20, 5e19, 5e19, 1e20, 3e20, 1e20]
    assert HashratePath(baseline="300").hourly_hs(2, 1e20).tolist() == [3e20, 3e20]
    with pytest.raises(ValueError, match="overlap"):
        HashratePath([HashrateSegment(0, 4, factor=1.0), HashrateSegment(3, 5, factor=1.0)])
    with pytest.raises(ValueError, match="baseline"):
        HashratePath(baseline="lots")
