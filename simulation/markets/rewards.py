"""Who gets the block rewards, and how concentrated the hash rate is."""

from __future__ import annotations

import numpy as np


def expected_rewards(total_btc: float, shares: np.ndarray) -> np.ndarray:
    """Expected value: every entity earns its hash-rate share of what was mined (BTC)."""
    return total_btc * np.asarray(shares, float)


def sampled_rewards(block_rewards_btc: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One winner per block, drawn with probability equal to hash-rate share (BTC per entity)."""
    shares = np.asarray(shares, float)
    won = np.zeros(shares.size)
    if len(block_rewards_btc) == 0 or shares.sum() <= 0:
        return won
    p = shares / shares.sum()
    winners = rng.choice(shares.size, size=len(block_rewards_btc), p=p)
    np.add.at(won, winners, np.asarray(block_rewards_btc, float))
    return won


def hhi_and_nakamoto(shares: np.ndarray) -> tuple[float, int]:
    """Herfindahl-Hirschman index (0-10,000 points, US DoJ convention) and the Nakamoto
    coefficient: the fewest entities that together hold more than half the hash rate."""
    s = np.asarray(shares, float)
    total = s.sum()
    if total <= 0:
        return 0.0, 0
    s = np.sort(s / total)[::-1]
    hhi = float(10_000.0 * np.sum(s * s))
    above = np.cumsum(s) > 0.5 + 1e-12          # strictly more than half, robust to rounding
    nakamoto = int(np.argmax(above)) + 1 if above.any() else s.size
    return hhi, nakamoto
