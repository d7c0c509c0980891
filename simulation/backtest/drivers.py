"""The historical drivers of the 2024 backtest, built from published approximate figures and
written as the CSV files `configs/backtest_2024.toml` replays.

- **BTC price**: approximate month-end closes, rounded (USD, to the nearest 100; within a few %
  of any exchange's close), interpolated per hour linearly in log price between month ends
  (a month's close taken at 00:00 UTC of the next month's first day). A finer series (exchange
  candles) replaces it through the CSV price model: same columns, `time_unix` and `btc_usd`.
- **Fees per block**, from the fees' share of block rewards (subsidy + fees): ~11 % before the
  halving; block 840,000 itself paid ~37.6 BTC (the Runes launch); >75 % of rewards on halving
  day (its first 144 blocks); ~2.4 % in late December 2024 ("a few %" typical for 2024-25).
  Between the halving day and two weeks later the share falls linearly from the pre-halving
  11 % to 2.4 %, then stays there. fees = share / (1 - share) x subsidy.

`python -m simulation.backtest.drivers [FOLDER]` rewrites the files (default
configs/backtest_2024/); `... --pivot [FOLDER]` writes the 2024-25 pivot backtest's (default
configs/pivot_backtest/: from 2024-01-06 through 2025, with 2025's monthly means and the fee share
implied by 2025's hashprice and hash rate); the tests check the shipped files are exactly what this
writes.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np

from simulation.bitcoin.consensus import COIN_SAT, block_subsidy

#: approximate month-end closes, rounded (USD)
MONTH_END_CLOSES_USD: dict[tuple[int, int], float] = {
    (2023, 12): 42_300, (2024, 1): 42_600, (2024, 2): 61_100, (2024, 3): 71_300, (2024, 4): 60_600,
    (2024, 5): 67_500, (2024, 6): 62_700, (2024, 7): 64_600, (2024, 8): 59_000, (2024, 9): 63_300,
    (2024, 10): 70_200, (2024, 11): 96_400, (2024, 12): 93_400, (2025, 1): 102_400,
}

#: the backtest's chain point: the real retarget at block 834,624 (2024-03-14 06:28:09 UTC)
START_HEIGHT = 834_624
START_TIME = 1_710_397_689
#: the fee series runs to here (the backtest ends at 878,976; spare blocks for fast chains)
FEES_END_HEIGHT = 884_000

HALVING_HEIGHT = 840_000
HALVING_BLOCK_FEES_BTC = 37.6
FEE_SHARE_BEFORE = 0.11
FEE_SHARE_HALVING_DAY = 0.75
HALVING_DAY_BLOCKS = 144
FEE_SHARE_AFTER = 0.024
FEE_DECAY_BLOCKS = 2016


def month_end_unix(year: int, month: int) -> int:
    """00:00 UTC of the first day after the month (when its close is taken)."""
    y, m = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.timegm((y, m, 1, 0, 0, 0))


def hourly_price_usd(start_time: int = START_TIME, closes: dict[tuple[int, int], float] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(time_unix, btc_usd) every hour from `start_time` to the last month end, log-linear
    between the month-end closes."""
    closes = MONTH_END_CLOSES_USD if closes is None else closes
    knots_t = np.array([month_end_unix(y, m) for (y, m) in sorted(closes)], float)
    knots_p = np.log(np.array([closes[k] for k in sorted(closes)], float))
    if not knots_t[0] <= start_time < knots_t[-1]:
        raise ValueError(f"start_time {start_time} is outside the closes' span")
    t = np.arange(start_time, knots_t[-1] + 1, 3600, dtype=np.int64)
    return t, np.exp(np.interp(t.astype(float), knots_t, knots_p))


def fee_share(height: int) -> float:
    """Fees' share of the block reward at `height` (see the module docstring)."""
    if height < HALVING_HEIGHT:
        return FEE_SHARE_BEFORE
    k = height - HALVING_HEIGHT - HALVING_DAY_BLOCKS
    if k < 0:
        return FEE_SHARE_HALVING_DAY
    if k < FEE_DECAY_BLOCKS:
        return FEE_SHARE_BEFORE + (FEE_SHARE_AFTER - FEE_SHARE_BEFORE) * k / FEE_DECAY_BLOCKS
    return FEE_SHARE_AFTER


def fee_btc_per_block(height: int) -> float:
    """Fees of block `height` in BTC: share / (1 - share) x subsidy (block 840,000: its own)."""
    if height == HALVING_HEIGHT:
        return HALVING_BLOCK_FEES_BTC
    s = fee_share(height)
    return s / (1.0 - s) * block_subsidy(height) / COIN_SAT


PRICE_HEADER = """\
# BTC price per hour for the 2024 backtest (configs/backtest_2024.toml), from {start} to {end}.
# Source: approximate month-end closes, rounded (USD, to the nearest 100; within a few % of any
# exchange's close), interpolated linearly in log price between month ends (each close at 00:00
# UTC of the next month's first day). Written by `python -m simulation.backtest.drivers`; replace
# it with a finer series (same columns) for a sharper backtest.
# Columns: time_unix (start of the hour, unix s), btc_usd (USD).
"""

FEES_HEADER = """\
# Transaction fees per block for the 2024 backtest (configs/backtest_2024.toml): row k is block
# {first:,} + k. Source: the fees' share of block rewards (subsidy + fees), approximate public
# figures: ~11 % before the 2024 halving; block 840,000 paid ~37.6 BTC; >75 % of rewards on
# halving day (its first 144 blocks); ~2.4 % in late December 2024. The share falls linearly from
# 11 % to 2.4 % over the 2,016 blocks after halving day, then stays at 2.4 %. Fees = share /
# (1 - share) x subsidy. Written by `python -m simulation.backtest.drivers`.
# Columns: height, fees_btc (BTC).
"""


def price_csv_text(start_time: int = START_TIME) -> str:
    t, p = hourly_price_usd(start_time)
    iso = lambda x: dt.datetime.fromtimestamp(int(x), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
    lines = [PRICE_HEADER.format(start=iso(t[0]), end=iso(t[-1])), "time_unix,btc_usd\n"]
    lines += [f"{int(a)},{b:.2f}\n" for a, b in zip(t, p)]
    return "".join(lines)


def fees_csv_text(first_height: int = START_HEIGHT + 1, end_height: int = FEES_END_HEIGHT) -> str:
    lines = [FEES_HEADER.format(first=first_height), "height,fees_btc\n"]
    for h in range(first_height, end_height + 1):
        f = fee_btc_per_block(h)
        assert math.isfinite(f) and f >= 0
        lines.append(f"{h},{f:.6f}\n")
    return "".join(lines)


PRICE_FILE = "btc_usd_hourly.csv"
FEES_FILE = "fees_per_block.csv"


def write_driver_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in ((PRICE_FILE, price_csv_text()), (FEES_FILE, fees_csv_text())):
        path = folder / name
        path.write_text(text)
        out.append(path)
    return out


# --- the 2024-25 pivot backtest (configs/pivot_backtest.toml): the same series through 2025 -----
#: approximate monthly mean prices of 2025 (USD, within ~5 %), each placed at the 15th 00:00 UTC;
#: February on (January's close, 102,400 on 2025-02-01, is already a knot)
MONTHLY_MEANS_2025_USD: dict[int, float] = {
    2: 96_000, 3: 84_000, 4: 86_000, 5: 102_000, 6: 106_000, 7: 114_000, 8: 114_000, 9: 112_000, 10: 113_000,
    11: 97_000, 12: 89_000,
}
#: the pivot backtest's chain point: the first retarget of 2024, block 824,544 (2024-01-06 00:41:32 UTC)
PIVOT_START_HEIGHT = 824_544
PIVOT_START_TIME = 1_704_501_692
PIVOT_END_TIME = calendar.timegm((2026, 1, 1, 0, 0, 0))
PIVOT_FEES_END_HEIGHT = 940_000
#: 2025 monthly (hashprice USD/PH/s/day, network EH/s, BTC USD): the months where all three are known
HASHPRICE_2025 = {2: (54.0, 810.0, 96_000), 5: (52.0, 897.0, 102_000), 9: (50.0, 1031.0, 112_000),
                  12: (39.0, 1045.0, 89_000)}
#: where 2025 starts on the chain: the real retarget at block 878,976 (2025-01-12 20:01:51 UTC),
#: minus 12 days of 144 blocks (blocks after it are placed at 600 s)
ANCHOR_HEIGHT, ANCHOR_TIME = 878_976, 1_736_712_111


def implied_fee_share(hashprice_usd_per_ph_day: float, network_eh_s: float, btc_usd: float,
                      subsidy_btc: float = 3.125) -> float:
    """Fees' share of block rewards implied by a month's hashprice, hash rate and price: the
    network earns hashprice x PH/s a day = (subsidy + fees) x 144 blocks x the price."""
    btc_per_day = hashprice_usd_per_ph_day * network_eh_s * 1e3 / btc_usd
    return max(1.0 - 144.0 * subsidy_btc / btc_per_day, 0.0)


def _mid_month_unix(year: int, month: int) -> int:
    return calendar.timegm((year, month, 15, 0, 0, 0))


def pivot_price_knots() -> tuple[np.ndarray, np.ndarray]:
    """(unix s, log USD): month-end closes Dec 2023 - Jan 2025, then 2025's monthly means at
    mid-month, held at December's mean to 2026-01-01."""
    t = [month_end_unix(y, m) for (y, m) in sorted(MONTH_END_CLOSES_USD)]
    p = [MONTH_END_CLOSES_USD[k] for k in sorted(MONTH_END_CLOSES_USD)]
    t += [_mid_month_unix(2025, m) for m in sorted(MONTHLY_MEANS_2025_USD)] + [PIVOT_END_TIME]
    p += [MONTHLY_MEANS_2025_USD[m] for m in sorted(MONTHLY_MEANS_2025_USD)] + [MONTHLY_MEANS_2025_USD[12]]
    return np.array(t, float), np.log(np.array(p, float))


def pivot_hourly_price_usd(start_time: int = PIVOT_START_TIME) -> tuple[np.ndarray, np.ndarray]:
    """(time_unix, btc_usd) every hour from `start_time` to 2026-01-01, log-linear between knots."""
    kt, kp = pivot_price_knots()
    t = np.arange(start_time, kt[-1] + 1, 3600, dtype=np.int64)
    return t, np.exp(np.interp(t.astype(float), kt, kp))


def pivot_fee_share(height: int) -> float:
    """Fees' share of rewards at `height`: the 2024 backtest's schedule to 2025-01-01 (2.4 % after
    the halving's fees decay), then linear in time between 2025's implied shares (mid-month of
    February, May, September, December; flat after December)."""
    time = ANCHOR_TIME + 600.0 * (height - ANCHOR_HEIGHT)
    jan1 = calendar.timegm((2025, 1, 1, 0, 0, 0))
    if time < jan1:
        return fee_share(height)
    kt = [jan1] + [_mid_month_unix(2025, m) for m in sorted(HASHPRICE_2025)]
    ks = [FEE_SHARE_AFTER] + [implied_fee_share(*HASHPRICE_2025[m]) for m in sorted(HASHPRICE_2025)]
    return float(np.interp(time, kt, ks))


def pivot_fee_btc_per_block(height: int) -> float:
    if height == HALVING_HEIGHT:
        return HALVING_BLOCK_FEES_BTC
    s = pivot_fee_share(height)
    return s / (1.0 - s) * block_subsidy(height) / COIN_SAT


PIVOT_PRICE_HEADER = """\
# BTC price per hour for the 2024-25 pivot backtest (configs/pivot_backtest.toml), from {start} to {end}.
# Source: approximate month-end closes, rounded (USD, to the nearest 100), Dec 2023 - Jan 2025, each at
# 00:00 UTC of the next month's first day; then approximate monthly mean prices of 2025 (within ~5 %),
# Feb - Dec, each at the 15th 00:00 UTC, held at December's mean to 2026-01-01; log-linear in between.
# Written by `python -m simulation.backtest.drivers --pivot`. Columns: time_unix (unix s), btc_usd (USD).
"""

PIVOT_FEES_HEADER = """\
# Transaction fees per block for the 2024-25 pivot backtest (configs/pivot_backtest.toml): row k is
# block {first:,} + k. To 2025-01-01 as the 2024 backtest's fees (~11 % of rewards before the halving,
# 37.6 BTC in block 840,000, >75 % on halving day, falling to ~2.4 %); in 2025 the share implied by
# monthly hashprice, network hash rate and mean BTC price (hashprice x PH/s = (3.125 + fees) x 144 x price):
# {shares}; linear in time between them (blocks at 600 s from block 878,976's real time), flat after
# December. Fees = share / (1 - share) x subsidy. Written by `python -m simulation.backtest.drivers --pivot`.
# Columns: height, fees_btc (BTC).
"""


def pivot_price_csv_text() -> str:
    t, p = pivot_hourly_price_usd()
    iso = lambda x: dt.datetime.fromtimestamp(int(x), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
    lines = [PIVOT_PRICE_HEADER.format(start=iso(t[0]), end=iso(t[-1])), "time_unix,btc_usd\n"]
    lines += [f"{int(a)},{b:.2f}\n" for a, b in zip(t, p)]
    return "".join(lines)


def pivot_fees_csv_text(first_height: int = PIVOT_START_HEIGHT + 1, end_height: int = PIVOT_FEES_END_HEIGHT) -> str:
    shares = ", ".join(f"2025-{m:02d} {100 * implied_fee_share(*HASHPRICE_2025[m]):.2f} %" for m in sorted(HASHPRICE_2025))
    lines = [PIVOT_FEES_HEADER.format(first=first_height, shares=shares), "height,fees_btc\n"]
    for h in range(first_height, end_height + 1):
        f = pivot_fee_btc_per_block(h)
        assert math.isfinite(f) and f >= 0
        lines.append(f"{h},{f:.6f}\n")
    return "".join(lines)


def write_pivot_driver_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in ((PRICE_FILE, pivot_price_csv_text()), (FEES_FILE, pivot_fees_csv_text())):
        path = folder / name
        path.write_text(text)
        out.append(path)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--pivot"]:
        for p in write_pivot_driver_files(args[1] if len(args) > 1 else "configs/pivot_backtest"):
            print(p)
    else:
        for p in write_driver_files(args[0] if args else "configs/backtest_2024"):
            print(p)
