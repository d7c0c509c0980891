"""The real chain at its retarget boundaries (mainnet headers shipped with the package), and what
follows from them: the difficulty each epoch ran at and the hash rate it measured.

`data/retarget_boundaries.csv` holds block height, header time and nBits of every retarget
boundary from 2,016 to 878,976 (2025-01), decoded from bitcoinj's bundled checkpoints (see the
file's header). Backtests start from one of these rows and are scored
against the later ones.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulation.bitcoin.consensus import HASHES_PER_DIFFICULTY, RETARGET_INTERVAL, bits_to_difficulty

#: the shipped chain data (package data)
CHAIN_FILE = Path(__file__).parent / "data" / "retarget_boundaries.csv"
#: the name users see in messages (relative to the project)
CHAIN_FILE_NAME = "simulation/bitcoin/data/retarget_boundaries.csv"


@dataclass(frozen=True, slots=True)
class Boundary:
    """A real retarget boundary: block `height` (height % 2016 == 0), its header `time` (unix s) and
    `bits`, the nBits of the epoch it opens."""

    height: int
    time: int
    bits: int

    @property
    def difficulty(self) -> float:
        return bits_to_difficulty(self.bits)


@dataclass(frozen=True, slots=True)
class EpochRate:
    """An epoch between two consecutive real boundaries: it ran at `difficulty` for `span_s`
    seconds (2016 blocks), so the network measured `eh_s` = difficulty x 2^32 x 2016 / span."""

    height: int
    end_height: int
    start_time: int
    end_time: int
    difficulty: float
    eh_s: float

    @property
    def mid_time(self) -> float:
        return 0.5 * (self.start_time + self.end_time)


@lru_cache(maxsize=4)
def load_boundaries(path: str | Path | None = None) -> tuple[Boundary, ...]:
    """Real retarget boundaries in height order (default: the shipped file)."""
    path = Path(path) if path is not None else CHAIN_FILE
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    out = tuple(Boundary(int(r["height"]), int(r["time_unix"]), int(r["bits"], 16)) for r in rows)
    for b in out:
        if b.height % RETARGET_INTERVAL:
            raise ValueError(f"{path}: height {b.height} is not a retarget boundary (height % 2016 != 0)")
    return out


def boundary_at(height: int, path: str | Path | None = None) -> Boundary | None:
    """The real boundary at `height`, or None when the chain data has no such row."""
    for b in load_boundaries(path):
        if b.height == height:
            return b
    return None


def check_retarget_point(height: int, time: int, bits: int, window_first_time: int) -> None:
    """Raise a one-line ValueError naming the key unless (height, time, bits) is a real retarget
    boundary in the shipped chain data (a backtest must start where history did)."""
    known = load_boundaries()
    b = boundary_at(height)
    if b is None:
        near = min(known, key=lambda k: abs(k.height - height))
        raise ValueError(f"bitcoin.height: block {height:,} is not a real retarget point in {CHAIN_FILE_NAME} "
                         f"({known[0].height:,}..{known[-1].height:,}); start the backtest at a row of that file, "
                         f"e.g. height = {near.height}, time = {near.time}, bits = {near.bits:#010x}")
    for key, got, want in (("bitcoin.time", time, b.time), ("bitcoin.bits", bits, b.bits),
                           ("bitcoin.window_first_time", window_first_time, b.time)):
        if got != want:
            show = (lambda v: f"{v:#010x}") if key == "bitcoin.bits" else str
            raise ValueError(f"{key}: {show(got)} does not match the real block {height:,} in {CHAIN_FILE_NAME} "
                             f"({show(want)}); set {key} = {show(want)}")


def epoch_rates(boundaries: tuple[Boundary, ...] | None = None) -> list[EpochRate]:
    """Measured hash rate of every epoch whose both ends are in the data (consecutive boundaries)."""
    bs = load_boundaries() if boundaries is None else boundaries
    out = []
    for a, b in zip(bs, bs[1:]):
        if b.height - a.height != RETARGET_INTERVAL:
            continue  # a gap in the data: the epoch's length is unknown
        d = a.difficulty
        out.append(EpochRate(a.height, b.height, a.time, b.time, d,
                             d * HASHES_PER_DIFFICULTY * RETARGET_INTERVAL / (b.time - a.time) / 1e18))
    return out


@dataclass(frozen=True, slots=True)
class RetargetError:
    """Simulated vs real difficulty of the epoch opening at `height` (error in %, + = too hard)."""

    height: int
    sim_difficulty: float
    real_difficulty: float

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.sim_difficulty / self.real_difficulty - 1.0)


@dataclass(frozen=True, slots=True)
class RetargetScore:
    """|error| over the scored retargets: how many, the median and the worst (%)."""

    rows: tuple[RetargetError, ...]
    n: int
    median_abs_pct: float
    worst_abs_pct: float


def compare_retargets(sim: list[tuple[int, int]], path: str | Path | None = None) -> list[RetargetError]:
    """Each simulated retarget (height, new nBits) that the real chain data has, with both difficulties."""
    real = {b.height: b for b in load_boundaries(path)}
    return [RetargetError(h, bits_to_difficulty(bits), real[h].difficulty) for h, bits in sim if h in real]


def score_retargets(sim: list[tuple[int, int]], after_height: int = 840_000,
                    path: str | Path | None = None) -> RetargetScore:
    """Median and worst |error| of simulated difficulty at the real retargets after `after_height`
    (NaN when the run reached none)."""
    rows = tuple(r for r in compare_retargets(sim, path) if r.height > after_height)
    errs = np.abs([r.error_pct for r in rows])
    if not len(errs):
        return RetargetScore(rows, 0, math.nan, math.nan)
    return RetargetScore(rows, len(errs), float(np.median(errs)), float(errs.max()))


__all__ = ["RetargetError", "RetargetScore", "compare_retargets", "score_retargets", "CHAIN_FILE", "CHAIN_FILE_NAME", "Boundary", "EpochRate", "boundary_at", "check_retarget_point",
           "epoch_rates", "load_boundaries"]
