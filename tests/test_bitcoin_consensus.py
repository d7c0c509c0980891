"""Consensus rules against Bitcoin Core's own test vectors and real chain history.

References: Bitcoin Core `src/test/pow_tests.cpp` (retarget vectors, CheckProofOfWork range
cases) and `src/test/arith_uint256_tests.cpp` (bignum_SetCompact); real retarget-boundary
headers in tests/data/btc_retarget_boundaries.csv (bitcoinj checkpoints, Apache-2.0).
"""

import csv
import statistics
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.bitcoin import (COIN_SAT, HALVING_2024, HALVING_INTERVAL, POW_LIMIT, POW_LIMIT_BITS,
                                RETARGET_INTERVAL, TARGET_TIMESPAN_S, bits_to_difficulty, bits_to_target,
                                block_subsidy, decode_compact, next_bits, target_to_bits)

DATA = Path(__file__).parent / "data" / "btc_retarget_boundaries.csv"
#: Core's MAX_FUTURE_BLOCK_TIME: the furthest a header's timestamp may run ahead of the network's clock
MAX_FUTURE_BLOCK_TIME_S = 2 * 60 * 60


# --- pow_tests.cpp -----------------------------------------------------------------------------
@pytest.mark.parametrize("first, last, bits, expected", [
    (1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A),  # get_next_work: no constraint applies
    (1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF),  # get_next_work_pow_limit
    (1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD),  # get_next_work_lower_limit_actual
    (1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD),  # get_next_work_upper_limit_actual
])
def test_core_retarget_vectors_bit_for_bit(first, last, bits, expected):
    assert next_bits(bits, first, last) == expected


def test_core_checkproofofwork_range_cases_are_rejected_naming_bits():
    negative = target_to_bits(POW_LIMIT, negative=True)  # UintToArith256(powLimit).GetCompact(true)
    assert negative == 0x1D80FFFF
    too_easy = target_to_bits(POW_LIMIT * 2)  # powLimit * 2, GetCompact()
    for bits, why in [(negative, "negative"), (0xFF7FFFFF, "overflow"), (too_easy, "powLimit"),
                      (target_to_bits(0), "zero")]:
        with pytest.raises(ValueError, match=rf"^bits 0x[0-9a-f]{{8}} .*{why}"):
            bits_to_target(bits)
    assert bits_to_target(POW_LIMIT_BITS) == 0xFFFF << 208


# --- arith_uint256_tests.cpp: bignum_SetCompact ----------------------------------------------
@pytest.mark.parametrize("bits, target_hex, compact, negative, overflow", [
    (0x00000000, "0", 0, False, False),
    (0x00123456, "0", 0, False, False),
    (0x01003456, "0", 0, False, False),
    (0x02000056, "0", 0, False, False),
    (0x03000000, "0", 0, False, False),
    (0x04000000, "0", 0, False, False),
    (0x00923456, "0", 0, False, False),
    (0x01803456, "0", 0, False, False),
    (0x02800056, "0", 0, False, False),
    (0x03800000, "0", 0, False, False),
    (0x04800000, "0", 0, False, False),
    (0x01123456, "12", 0x01120000, False, False),
    (0x01FEDCBA, "7e", 0x01FE0000, True, False),  # GetCompact(true)
    (0x02123456, "1234", 0x02123400, False, False),
    (0x03123456, "123456", 0x03123456, False, False),
    (0x04123456, "12345600", 0x04123456, False, False),
    (0x04923456, "12345600", 0x04923456, True, False),  # GetCompact(true)
    (0x05009234, "92340000", 0x05009234, False, False),
    (0x20123456, "1234560000000000000000000000000000000000000000000000000000000000", 0x20123456, False, False),
])
def test_core_setcompact_getcompact_vectors(bits, target_hex, compact, negative, overflow):
    target, neg, ovf = decode_compact(bits)
    assert (target, neg, ovf) == (int(target_hex, 16), negative, overflow)
    assert target_to_bits(target, negative=neg) == compact


def test_core_setcompact_overflow_and_getcompact_sign_bit_shift():
    _, neg, ovf = decode_compact(0xFF123456)
    assert (neg, ovf) == (False, True)
    assert target_to_bits(0x80) == 0x02008000  # never emit a mantissa with 0x00800000 set


def test_difficulty_is_relative_to_0x1d00ffff_exactly():
    assert bits_to_difficulty(0x1D00FFFF) == 1.0
    assert round(bits_to_difficulty(0x17034219), 2) == 86_388_558_925_171.02  # the 2024 halving
    assert bits_to_difficulty(0x1D00D86A) == float(Fraction(0xFFFF, 0xD86A))


def test_bad_compact_inputs_name_the_field():
    for bad in (-1, 1 << 32, 1.5, "0x1d00ffff"):
        with pytest.raises(ValueError, match=r"^bits "):
            decode_compact(bad)
    with pytest.raises(ValueError, match=r"^target "):
        target_to_bits(-1)
    with pytest.raises(ValueError, match=r"^target "):
        target_to_bits(1 << 256)
    with pytest.raises(ValueError, match=r"^bits .*zero"):
        next_bits(0x1D000000, 0, 1)
    with pytest.raises(ValueError, match=r"^window_last_time "):
        next_bits(0x1D00FFFF, 0, 1.5)


# --- subsidy (validation.cpp GetBlockSubsidy) --------------------------------------------------
def test_subsidy_schedule_and_total_supply():
    assert block_subsidy(0) == block_subsidy(209_999) == 50 * COIN_SAT
    assert block_subsidy(210_000) == 25 * COIN_SAT
    assert block_subsidy(839_999) == 625_000_000 and block_subsidy(840_000) == 312_500_000
    assert block_subsidy(64 * HALVING_INTERVAL - 1) == 0  # 5e9 >> 63 == 0 already
    assert block_subsidy(64 * HALVING_INTERVAL) == 0 and block_subsidy(10**12) == 0
    # every height in an era pays the same (checked by hypothesis below), so the sum over all
    # heights is 210,000 x each era's subsidy
    total = sum(HALVING_INTERVAL * block_subsidy(era * HALVING_INTERVAL) for era in range(70))
    assert total == 2_099_999_997_690_000
    with pytest.raises(ValueError, match=r"^height "):
        block_subsidy(-1)


@given(st.integers(0, 70 * HALVING_INTERVAL))
def test_subsidy_constant_within_era_and_cumulative_supply_below_21m(height):
    era, offset = divmod(height, HALVING_INTERVAL)
    assert block_subsidy(height) == block_subsidy(era * HALVING_INTERVAL)
    mined = sum(HALVING_INTERVAL * block_subsidy(e * HALVING_INTERVAL) for e in range(era))
    mined += (offset + 1) * block_subsidy(height)
    assert mined <= 21_000_000 * COIN_SAT


# --- compact round trips and the retarget clamp -------------------------------------------------
@given(st.integers(1, (1 << 256) - 1))
def test_compact_round_trip_for_normalised_targets(target):
    bits = target_to_bits(target)
    rounded, neg, ovf = decode_compact(bits)
    assert not neg and not ovf
    assert rounded <= target
    # normalised: GetCompact(SetCompact(x)) is the identity, both ways
    assert target_to_bits(rounded) == bits
    assert decode_compact(target_to_bits(rounded))[0] == rounded
    # at most the bits below the top 16 significant bits are lost
    if target >= 1 << 16:
        assert target - rounded < 1 << (target.bit_length() - 16)


valid_bits = st.integers(1, POW_LIMIT).map(target_to_bits)


@settings(max_examples=300)
@given(valid_bits, st.integers(-10**7, 10**8), st.integers(0, 2**31))
def test_retarget_never_exceeds_the_clamp_bounds(bits, span, first):
    """Core's PermittedDifficultyTransition: the new target lies within the rounded x4 / x1/4 bounds."""
    old = bits_to_target(bits)
    new = decode_compact(next_bits(bits, first, first + span))[0]  # a tiny target can round down to 0
    largest = decode_compact(target_to_bits(min(old * 4, POW_LIMIT)))[0]
    smallest = decode_compact(target_to_bits(old // 4))[0]
    assert smallest <= new <= largest
    assert new <= POW_LIMIT


@given(valid_bits, st.integers(0, 5_000_000), st.integers(0, 5_000_000))
def test_retarget_is_monotone_in_the_timespan(bits, a, b):
    lo, hi = sorted((a, b))
    assert decode_compact(next_bits(bits, 0, lo))[0] <= decode_compact(next_bits(bits, 0, hi))[0]


# --- replaying real chain history ---------------------------------------------------------------
def _boundaries():
    with open(DATA, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return [(int(r["height"]), int(r["time_unix"]), int(r["bits"], 16)) for r in rows]


def test_replay_of_real_retarget_boundaries():
    """next_bits(bits[h], time[h], time[h+2016]) vs the real bits[h+2016].

    The file has block h+2016's time where Core uses block h+2015's, one interval later: a
    longer timespan, so the prediction is a little easier (median ~0.03 %), never off by more
    than one header's legitimate timestamp spread (2 h, Core's MAX_FUTURE_BLOCK_TIME).
    """
    rows = _boundaries()
    assert len(rows) == 347 and rows[0][0] == 2016 and rows[-1][0] == 699_552
    rel, seconds, easier = [], [], 0
    for (h0, t0, b0), (h1, t1, b1) in zip(rows, rows[1:]):
        assert h1 == h0 + RETARGET_INTERVAL
        predicted, real = bits_to_target(next_bits(b0, t0, t1)), bits_to_target(b1)
        r = predicted / real - 1
        rel.append(abs(r))
        span = min(max(t1 - t0, TARGET_TIMESPAN_S // 4), TARGET_TIMESPAN_S * 4)
        seconds.append(r * span)  # the timestamp shift that would explain the difference
        easier += predicted >= real
    assert statistics.median(rel) < 0.0005  # ~0.03 %
    assert max(rel) < 0.005  # README: rarely above 0.5 %
    assert all(abs(s) <= MAX_FUTURE_BLOCK_TIME_S for s in seconds)
    assert easier >= 0.95 * len(rel)


def test_replay_reproduces_the_x4_clamp_and_the_record_drop():
    by_height = {h: (t, b) for h, t, b in _boundaries()}
    # July 2010: the only x4 clamp (epoch 66,528 -> 68,544), bit for bit
    (t0, b0), (t1, b1) = by_height[66_528], by_height[68_544]
    assert next_bits(b0, t0, t1) == b1 == 0x1C0168FD
    assert bits_to_difficulty(b1) / bits_to_difficulty(b0) == pytest.approx(4.0, rel=1e-4)
    # 2021-07-03: -27.9 % at 689,472 after the China mining ban
    (t0, b0), (t1, b1) = by_height[687_456], by_height[689_472]
    real_pct = (bits_to_difficulty(b1) / bits_to_difficulty(b0) - 1) * 100
    predicted_pct = (bits_to_difficulty(next_bits(b0, t0, t1)) / bits_to_difficulty(b0) - 1) * 100
    assert round(real_pct, 1) == -27.9
    assert abs(predicted_pct - real_pct) < 0.05  # one interval of offset (see the replay test)


def test_default_chain_point_window_predicts_the_real_next_retarget():
    """From HALVING_2024's window start (block 838,656) to block 840,672's time (1713970312, nBits
    0x170331db; same bitcoinj checkpoint file), the retarget matches to within one interval."""
    assert HALVING_2024.height - HALVING_2024.height % RETARGET_INTERVAL == 838_656
    predicted = bits_to_target(next_bits(HALVING_2024.bits, HALVING_2024.window_first_time, 1_713_970_312))
    assert abs(predicted / bits_to_target(0x170331DB) - 1) < 0.0005


def test_replay_through_the_2024_halving_and_into_2025():
    """The same replay on the 25 epochs around and after the 2024 halving (bitcoinj's newer
    checkpoints): every retarget within 0.5 %, most within 0.05 %, and the halving chain point
    of configs/halving_2024.toml (block 834,624) is a real boundary."""
    path = DATA.parent / "btc_retarget_boundaries_2024.csv"
    with open(path, newline="") as fh:
        rows = [(int(r["height"]), int(r["time_unix"]), int(r["bits"], 16))
                for r in csv.DictReader(line for line in fh if not line.startswith("#"))]
    assert rows[0][0] == 830_592 and len(rows) >= 25
    assert (834_624, 1_710_397_689, 0x17035A59) in rows and (838_656, HALVING_2024.window_first_time, HALVING_2024.bits) in rows
    rel = []
    for (h0, t0, b0), (h1, t1, b1) in zip(rows, rows[1:]):
        assert h1 == h0 + RETARGET_INTERVAL
        rel.append(abs(bits_to_target(next_bits(b0, t0, t1)) / bits_to_target(b1) - 1))
    assert statistics.median(rel) < 0.0005 and max(rel) < 0.005
