"""The Bitcoin network as a continuous-time block-discovery process under the consensus rules.

Block discovery is a Poisson process in *work*: the hashes needed for the next block are an
exponential draw with mean difficulty * 2^32; hash rate spends that work. Leftover work carries
over between calls, so a step of hours with piecewise-constant hash rate is exact (memoryless),
and the result does not depend on how time is cut into steps. When a block completes a
retarget window, the new nBits apply from the very next block's draw, even inside a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from simulation.bitcoin.consensus import (DIFF1_TARGET, HASHES_PER_DIFFICULTY, MAX_TIMESPAN_S, MIN_TIMESPAN_S,
                                          RETARGET_INTERVAL, TARGET_SPACING_S, _as_int, bits_to_target,
                                          block_subsidy, next_bits, target_to_difficulty)
from simulation.bitcoin.fees import FeeModel

_INF = math.inf
_LAST_IN_WINDOW = RETARGET_INTERVAL - 1
_FEE_BATCH = 1024
#: a step finding more blocks than this is a units mistake, not a simulation
_MAX_BLOCKS_PER_STEP = 1e7


class Block(NamedTuple):
    """One simulated block: its height, header time (unix s), reward parts (sat) and nBits."""

    height: int
    time: int
    subsidy_sat: int
    fees_sat: int
    bits: int


@dataclass(frozen=True, slots=True)
class Retarget:
    """A difficulty adjustment: block `height` (height % 2016 == 0) is the first with `new_bits`.

    `time` is when it took effect: the time of the window's last block (`window_last_time`).
    `actual_timespan_s` is that window's measured timespan before the clamp; `clamped` says the
    clamp bound; `ratio` is new difficulty / old difficulty (< 1: easier).
    """

    height: int
    time: int
    old_bits: int
    new_bits: int
    actual_timespan_s: int
    clamped: bool
    ratio: float
    window_first_time: int
    window_last_time: int


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """A real chain tip: block `height` found at unix `time` with nBits `bits`; its retarget
    window began at the block height - height % 2016, found at `window_first_time`."""

    height: int
    time: int
    bits: int
    window_first_time: int


#: The 2024 halving: block 840,000 (2024-04-20 00:09:27 UTC). Its window began at block 838,656,
#: whose header time 1712783853 (2024-04-10 21:17:33 UTC; nBits 0x17034219; hash 000...01f2fa38c0
#: 36edc385487c0226fbffc8bfe72c5a655899, proof of work checked) was decoded from bitcoinj's bundled
#: checkpoints (github.com/bitcoinj/bitcoinj, core/src/main/resources/
#: org.bitcoin.production.checkpoints.txt, commit 4c70646ab75de6b56bfb57330029de350343464b,
#: Apache-2.0).
HALVING_2024 = ChainPoint(height=840_000, time=1_713_571_767, bits=0x17034219, window_first_time=1_712_783_853)


class BitcoinNetwork:
    """Bitcoin mainnet from a real chain point onwards, driven by a given network hash rate.

    `height`/`time`/`bits` describe the tip block; `window_first_time` is the time of the first
    block of the tip's retarget window (height - height % 2016). `fees` draws fees per block;
    `rng` drives block discovery (a child stream derived from it drives fees). `halving=False` is
    the counterfactual chain whose subsidy stays at the start height's era (nothing else changes).
    """

    def __init__(self, height: int, time: int, bits: int, window_first_time: int, fees: FeeModel,
                 rng: np.random.Generator, halving: bool = True) -> None:
        height = _as_int("height", height, 0)
        time = _as_int("time", time, 0)
        window_first_time = _as_int("window_first_time", window_first_time, 0)
        if window_first_time > time:
            raise ValueError(f"window_first_time ({window_first_time}) must be <= time ({time}): the window's "
                             "first block cannot come after the tip")
        if height % RETARGET_INTERVAL == 0 and window_first_time != time:
            raise ValueError(f"window_first_time ({window_first_time}) must equal time ({time}) when height "
                             f"{height} starts a retarget window (height % 2016 == 0)")
        bits_to_target(bits)  # validates, naming `bits`
        if not callable(getattr(fees, "sample_sat", None)):
            raise ValueError(f"fees must be a fee model with sample_sat(n, rng) (got {fees!r}): see make_fee_model")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator (got {type(rng).__name__}): "
                             "pass np.random.default_rng(seed)")
        self.height = height
        self.start_height = height
        self.halving = bool(halving)
        self.time = time
        self.window_first_time = window_first_time
        self.fees = fees
        self.rng = rng
        self._fee_rng = np.random.default_rng(int(rng.integers(0, 2**63)))
        self._fee_buf: list[int] = []  # fees drawn ahead in batches: the k-th block gets the k-th draw
        self._fee_next = 0
        self.retargets: list[Retarget] = []
        self._set_bits(bits)
        self._clock = float(time)
        if height % RETARGET_INTERVAL == _LAST_IN_WINDOW:  # the tip closes its window
            self._retarget(time)
        self._work_left = rng.standard_exponential() * self._work_per_block

    # --- state ------------------------------------------------------------------------------
    def _set_bits(self, bits: int) -> None:
        self.bits = bits
        self.target = bits_to_target(bits)
        self.difficulty = target_to_difficulty(self.target)
        #: expected hashes per block at the current difficulty (difficulty * 2^32)
        self._work_per_block = float(Fraction(DIFF1_TARGET * HASHES_PER_DIFFICULTY, self.target))

    def _retarget(self, window_last_time: int) -> None:
        old_bits, first = self.bits, self.window_first_time
        new_bits = next_bits(old_bits, first, window_last_time)
        span = window_last_time - first
        old_target = self.target
        self._set_bits(new_bits)
        self.retargets.append(Retarget(
            height=self.height + 1, time=window_last_time, old_bits=old_bits, new_bits=new_bits,
            actual_timespan_s=span, clamped=not (MIN_TIMESPAN_S <= span <= MAX_TIMESPAN_S),
            ratio=float(Fraction(old_target, self.target)), window_first_time=first,
            window_last_time=window_last_time))

    @property
    def clock_s(self) -> float:
        """The simulated time now (unix s, float): the end of the last `advance`."""
        return self._clock

    @property
    def blocks_until_retarget(self) -> int:
        """Blocks still to be found at the current nBits before the next retarget takes effect."""
        return RETARGET_INTERVAL - (self.height + 1) % RETARGET_INTERVAL

    def implied_hashrate_hs(self) -> float:
        """Hash rate that finds blocks every 600 s at the current difficulty: D * 2^32 / 600."""
        return self._work_per_block / TARGET_SPACING_S

    def expected_block_time_s(self, hashrate_hs: float) -> float:
        """Mean time to a block at `hashrate_hs` and the current difficulty (inf at zero)."""
        if not (0.0 <= hashrate_hs < _INF):
            raise ValueError(f"hashrate_hs must be a finite number >= 0 H/s (got {hashrate_hs!r})")
        return self._work_per_block / hashrate_hs if hashrate_hs > 0 else _INF

    # --- dynamics -----------------------------------------------------------------------------
    def advance(self, seconds: float, hashrate_hs: float) -> list[Block]:
        """Run the network for `seconds` at a constant `hashrate_hs` (H/s); return the blocks found."""
        if not (0.0 <= hashrate_hs < _INF):
            raise ValueError(f"hashrate_hs must be a finite number >= 0 (got {hashrate_hs!r}): "
                             "pass a non-negative hash rate in H/s")
        if not (0.0 <= seconds < _INF):
            raise ValueError(f"seconds must be a finite number >= 0 (got {seconds!r})")
        start = self._clock
        end = start + seconds
        avail = hashrate_hs * seconds
        left = self._work_left
        if left > avail:  # the common case: no block this step
            self._work_left = left - avail
            self._clock = end
            return []
        if avail > _MAX_BLOCKS_PER_STEP * self._work_per_block:
            raise ValueError(f"hashrate_hs x seconds ({hashrate_hs:.3g} H/s x {seconds:.3g} s) is over "
                             f"{_MAX_BLOCKS_PER_STEP:.0e} blocks' work at the current difficulty: "
                             "check the units (H/s)")
        found = []
        rng = self.rng
        spent = 0.0
        while left <= avail - spent:
            spent += left
            clock = start + spent / hashrate_hs
            t = int(clock if clock < end else end)
            h = self.height + 1
            found.append((h, t, self.bits))
            self.height, self.time = h, t
            phase = h % RETARGET_INTERVAL
            if phase == 0:
                self.window_first_time = t
            elif phase == _LAST_IN_WINDOW:
                self._retarget(t)
            left = rng.standard_exponential() * self._work_per_block
        self._work_left = left - (avail - spent)
        self._clock = end
        n, i = len(found), self._fee_next
        if i + n > len(self._fee_buf):
            self._fee_buf = self._fee_buf[i:] + list(self.fees.sample_sat(max(n, _FEE_BATCH), self._fee_rng))
            i = 0
        fees = self._fee_buf[i:i + n]
        self._fee_next = i + n
        return [Block(h, t, self.subsidy_sat(h), f, b) for (h, t, b), f in zip(found, fees)]

    def subsidy_sat(self, height: int) -> int:
        """The subsidy of the block at `height` (sat): Core's schedule, or with `halving=False` the
        start height's era."""
        return block_subsidy(height if self.halving else self.start_height)

    def __repr__(self) -> str:
        return (f"BitcoinNetwork(height={self.height}, time={self.time}, bits={self.bits:#010x}, "
                f"difficulty={self.difficulty:.6g}, retargets={len(self.retargets)})")

