"""The real chain: every retarget boundary from block 2,016 to 878,976 (2025-01), bundled with
the package (decoded from bitcoinj's checkpoint file; see `data/`); the difficulty-growth
expectation a miner estimates from it; and what a backtest needs from it: a check that a start
is a real retarget point, the hash rate each real epoch measured, and simulated vs real
difficulty at each retarget."""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulation.bitcoin.consensus import HASHES_PER_DIFFICULTY, RETARGET_INTERVAL, bits_to_difficulty

SECONDS_PER_YEAR = 365.25 * 86400.0
BOUNDARIES_CSV = Path(__file__).with_name("data") / "retarget_boundaries.csv"
#: the bundled chain data, as users see its name in messages
CHAIN_FILE = BOUNDARIES_CSV
CHAIN_FILE_NAME = "simulation/bitcoin/data/retarget_boundaries.csv"


@dataclass(frozen=True, eq=False)
class ChainHistory:
    """Retarget boundaries: height, header time (unix s), nBits and difficulty, by height."""

    height: np.ndarray
    time_unix: np.ndarray
    bits: np.ndarray
    difficulty: np.ndarray

    def at(self, height: int) -> int:
        """Row of `height`; a one-line error when it is not a boundary in the history."""
        i = int(np.searchsorted(self.height, height))
        if i >= len(self.height) or self.height[i] != height:
            raise ValueError(f"height {height} is not a retarget boundary in the bundled history "
                             f"({int(self.height[0])}..{int(self.height[-1])}, every 2016 blocks)")
        return i


@functools.lru_cache(maxsize=1)
def load_chain_history(path: str | Path = BOUNDARIES_CSV) -> ChainHistory:
    """The bundled boundaries (or another CSV with columns height, time_unix, bits as hex)."""
    with Path(path).open(newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    height = np.array([int(r["height"]) for r in rows], np.int64)
    time_unix = np.array([int(r["time_unix"]) for r in rows], np.int64)
    bits = np.array([int(r["bits"], 16) for r in rows], np.int64)
    order = np.argsort(height)
    diff = np.array([bits_to_difficulty(int(b)) for b in bits[order]])
    return ChainHistory(height[order], time_unix[order], bits[order], diff)


def difficulty_growth_per_year(time_unix, difficulty, until_unix: float, window_days: float) -> float:
    """Continuous growth rate of difficulty (1/yr: ln D rises this much a year), by least squares
    of ln D on time over the epochs seen in the `window_days` before `until_unix`.

    What a miner extrapolates: the trailing year to 2024-03-14 gives 0.595 (+81 %/yr).
    Needs at least two epochs in the window."""
    t = np.asarray(time_unix, float)
    d = np.asarray(difficulty, float)
    seen = (t <= until_unix) & (t > until_unix - window_days * 86400.0)
    if seen.sum() < 2:
        raise ValueError(f"expectations.difficulty_window_days: {window_days:g} days before unix time "
                         f"{until_unix:.0f} hold {int(seen.sum())} retargets; widen the window (two are needed)")
    years = (t[seen] - until_unix) / SECONDS_PER_YEAR
    slope = np.polyfit(years, np.log(d[seen]), 1)[0]
    return float(slope) if math.isfinite(slope) else 0.0


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


@functools.lru_cache(maxsize=4)
def load_boundaries(path: str | Path | None = None) -> tuple[Boundary, ...]:
    """Real retarget boundaries in height order (default: the bundled file), as records."""
    h = load_chain_history() if path is None else load_chain_history(path)
    return tuple(Boundary(int(a), int(t), int(b)) for a, t, b in zip(h.height, h.time_unix, h.bits))


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


__all__ = ["BOUNDARIES_CSV", "CHAIN_FILE", "CHAIN_FILE_NAME", "Boundary", "ChainHistory", "EpochRate", "RetargetError",
           "RetargetScore", "boundary_at", "check_retarget_point", "compare_retargets", "difficulty_growth_per_year",
           "epoch_rates", "load_boundaries", "load_chain_history", "score_retargets"]
