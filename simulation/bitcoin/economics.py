"""Mining revenue per unit of hash rate and per unit of energy (numpy-vectorised).

A hash finds a block with probability 1 / (difficulty * 2^32), so 1 TH/s for an hour earns
reward * 10^12 * 3600 / (difficulty * 2^32) BTC in expectation. Hashprice is the same per PH/s
per day in USD; hash value per MWh follows from efficiency: 1 MW at E J/TH runs 1,000/E PH/s.
"""

from __future__ import annotations

import numpy as np

from simulation.bitcoin.consensus import COIN_SAT, HALVING_INTERVAL, HASHES_PER_DIFFICULTY, TARGET_SPACING_S

_TH_HOUR = 1e12 * 3600.0 / HASHES_PER_DIFFICULTY
_PH_DAY = 1e15 * 86400.0 / HASHES_PER_DIFFICULTY
#: hashprice (USD per PH/s per day) = BTC price x reward per block (BTC) x this / difficulty
PH_DAY_PER_DIFFICULTY = _PH_DAY
#: blocks in an average month (30.44 days) at the 600 s target spacing
BLOCKS_PER_MONTH = 365.25 / 12 * 86400 / TARGET_SPACING_S


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


def scheduled_subsidy_btc(heights, frozen_at_height: int | None = None):
    """Subsidy per block (BTC) at `heights` on the known schedule (50 BTC halved every 210,000
    blocks); with `frozen_at_height`, that height's subsidy everywhere (the no-halving
    counterfactual, frozen at the run's start)."""
    h = np.asarray(heights, dtype=np.int64)
    era = h // HALVING_INTERVAL if frozen_at_height is None else np.full(h.shape, frozen_at_height // HALVING_INTERVAL)
    return np.where(era < 64, (50 * COIN_SAT) >> np.minimum(era, 63), 0) / COIN_SAT


def expected_hashprice_path(months: int, *, btc_price_usd: float, fees_btc_per_block: float, difficulty: float,
                            height: int, difficulty_growth_per_year: float,
                            subsidy_frozen_at: int | None = None, btc_drift_per_year: float = 0.0) -> np.ndarray:
    """Expected hashprice (USD per PH/s per day) in each of the next `months` months, at mid-month.

    What a miner foresees: the subsidy schedule exactly (it knows at which height the next halving
    falls), fees per block as now, difficulty growing at `difficulty_growth_per_year` (continuous,
    1/yr; estimated from the chain seen), blocks every 600 s, and a BTC price expected to grow
    at `btc_drift_per_year` (continuous: E[P_t] = P e^(mu t), the price model's own drift; 0, the
    default, is a martingale: its expectation is today's price). `subsidy_frozen_at`: the
    counterfactual chain whose subsidy stays at that height's era (what its miners know):

        hashprice_m = P e^(mu t_m) x (subsidy(h_m) + fees) x 10^15 x 86,400 / (D e^(g t_m) x 2^32)
    """
    m = np.arange(int(months)) + 0.5
    heights = height + np.floor(m * BLOCKS_PER_MONTH).astype(np.int64)
    reward = scheduled_subsidy_btc(heights, subsidy_frozen_at) + fees_btc_per_block
    diff = difficulty * np.exp(difficulty_growth_per_year * m / 12.0)
    price = btc_price_usd * np.exp(btc_drift_per_year * m / 12.0) if btc_drift_per_year else btc_price_usd
    return price * reward * _PH_DAY / diff
