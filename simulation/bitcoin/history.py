"""The real chain a miner has seen: every retarget boundary from block 2,016 to 878,976 (2025-01),
bundled with the package (decoded from bitcoinj's checkpoint file; see `data/`), and the
difficulty-growth expectation a miner estimates from it."""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulation.bitcoin.consensus import bits_to_difficulty

SECONDS_PER_YEAR = 365.25 * 86400.0
BOUNDARIES_CSV = Path(__file__).with_name("data") / "retarget_boundaries.csv"


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
