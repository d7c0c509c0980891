"""The 2024-25 pivot backtest (configs/pivot_backtest.toml): its drivers against the shipped files
and the figures they come from, the config's calibration, and the leases table it logs."""

from __future__ import annotations

import calendar
import csv
from pathlib import Path

import numpy as np
import pytest

from simulation.backtest import drivers
from simulation.bitcoin import block_subsidy
from simulation.config import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "pivot_backtest.toml"
SHIPPED = ROOT / "configs" / "pivot_backtest"


def _csv(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_shipped_pivot_driver_files_are_what_the_driver_builder_writes():
    assert (SHIPPED / drivers.PRICE_FILE).read_text() == drivers.pivot_price_csv_text()
    assert (SHIPPED / drivers.FEES_FILE).read_text() == drivers.pivot_fees_csv_text()


def test_pivot_price_passes_through_closes_and_2025_monthly_means():
    rows = _csv(SHIPPED / drivers.PRICE_FILE)
    t = np.array([int(r["time_unix"]) for r in rows])
    p = np.array([float(r["btc_usd"]) for r in rows])
    assert t[0] == 1_704_501_692 and np.all(np.diff(t) == 3600) and t[-1] <= calendar.timegm((2026, 1, 1, 0, 0, 0))
    for (y, m), close in drivers.MONTH_END_CLOSES_USD.items():
        at = drivers.month_end_unix(y, m)
        if t[0] <= at <= t[-1]:
            assert p[np.argmin(np.abs(t - at))] == pytest.approx(close, rel=0.005), (y, m)
    for m, mean in drivers.MONTHLY_MEANS_2025_USD.items():
        at = calendar.timegm((2025, m, 15, 0, 0, 0))
        assert p[np.argmin(np.abs(t - at))] == pytest.approx(mean, rel=0.005), m
    # covers the whole run
    assert len(p) >= load_scenario(CONFIG).run.hours


def test_2025_fee_share_is_implied_by_hashprice_hash_rate_and_price():
    # February 2025 by hand: 54 USD/PH/day x 810,000 PH/s / 96,000 USD = 455.6 BTC a day; 450 of it subsidy
    assert drivers.implied_fee_share(54.0, 810.0, 96_000) == pytest.approx(1 - 450 / (54 * 810_000 / 96_000))
    rows = {int(r["height"]): float(r["fees_btc"]) for r in _csv(SHIPPED / drivers.FEES_FILE)}
    assert min(rows) == 824_545 and max(rows) >= 935_000
    share = lambda h: rows[h] / (rows[h] + block_subsidy(h) / 1e8)  # noqa: E731
    assert share(830_000) == pytest.approx(0.11, abs=1e-6)         # before the halving, as the 2024 backtest
    assert rows[840_000] == 37.6
    assert share(870_000) == pytest.approx(0.024, abs=1e-6)        # late 2024
    assert 0.01 < share(900_000) < 0.025 and 0.01 < share(925_000) < 0.025    # 2025: 1.2-2.2 %
    assert share(935_000) == pytest.approx(drivers.implied_fee_share(*drivers.HASHPRICE_2025[12]), abs=1e-6)


def test_pivot_backtest_config_starts_at_a_real_retarget_with_tenants_calibrated_on_the_window():
    sc = load_scenario(CONFIG)
    assert (sc.bitcoin.height, sc.bitcoin.time) == (824_544, 1_704_501_692)
    t = sc.markets.ai.tenants
    assert t.enabled and t.demand == "capex"
    # reach share = the window's 398 MW of IT / the demand the path generates from the start to 2024-09-30
    from simulation.markets.tenant_demand import capex_busd_per_year, grid_wait_years

    hours = np.arange(sc.bitcoin.time, calendar.timegm((2024, 10, 1, 0, 0, 0)), 3600)
    demand = (capex_busd_per_year(hours, t.capex_years, t.capex_busd_per_year) * t.it_mw_per_busd / 12 / 730).sum()
    assert demand == pytest.approx(4_278, rel=1e-3)
    lead = sc.markets.ai.hosting.lead_months / 12
    threshold = 1000 * (lead / t.wait_1gw_years) ** (1 / t.wait_size_exponent)   # smallest request a site wins
    assert grid_wait_years(threshold, t.wait_1gw_years, t.wait_size_exponent) == pytest.approx(lead)
    assert t.reach_share == pytest.approx(398 / (demand * 0.996), rel=0.01)
