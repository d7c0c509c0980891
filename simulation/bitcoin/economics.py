"""Mining revenue per unit of hash rate and per unit of energy (numpy-vectorised).

A hash finds a block with probability 1 / (difficulty * 2^32), so 1 TH/s for an hour earns
reward * 10^12 * 3600 / (difficulty * 2^32) BTC in expectation. Hashprice is the same per PH/s
per day in USD; hash value per MWh follows from efficiency: 1 MW at E J/TH runs 1,000/E PH/s.
"""

from __future__ import annotations

import numpy as np

from simulation.bitcoin.consensus import HASHES_PER_DIFFICULTY

_TH_HOUR = 1e12 * 3600.0 / HASHES_PER_DIFFICULTY
_PH_DAY = 1e15 * 86400.0 / HASHES_PER_DIFFICULTY


def _nonneg(name: str, x):
    a = np.asarray(x, dtype=float)
    if not np.all(a >= 0) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite and >= 0 (got {x!r})")
    return a


def _positive(name: str, x):
    a = np.asarray(x, dtype=float)
    if not np.all(a > 0) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite and > 0 (got {x!r})")
    return a


def expected_btc_per_th_hour(reward_btc_per_block, difficulty):
    """Expected BTC earned by 1 TH/s over one hour, for a block reward (subsidy + fees, BTC)."""
    return _nonneg("reward_btc_per_block", reward_btc_per_block) * _TH_HOUR / _positive("difficulty", difficulty)


def hashprice_usd_per_ph_day(btc_price_usd, reward_btc_per_block, difficulty):
    """Hashprice: expected USD earned by 1 PH/s over one day (reward = subsidy + fees, BTC)."""
    return (_nonneg("btc_price_usd", btc_price_usd) * _nonneg("reward_btc_per_block", reward_btc_per_block)
            * _PH_DAY / _positive("difficulty", difficulty))


def hashvalue_usd_per_mwh(hashprice_usd_per_ph_day, j_per_th):
    """Revenue per MWh spent hashing: hashprice / 24 * 1,000 / (J/TH); the break-even power price.

    50 USD/PH/day at 17.5 J/TH (an S21) -> ~119 USD/MWh.
    """
    return np.asarray(hashprice_usd_per_ph_day, dtype=float) * (1000.0 / 24.0) / _positive("j_per_th", j_per_th)
