"""The 2024 backtest: its drivers against the shipped files, the real chain data it is scored on,
the calibration window (before block 840,000 only), the security outcomes, and one-line errors
for a price series that does not cover the run or a start that is not a real retarget point."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.analysis import backtest as bt_analysis
from simulation.backtest import calibration, drivers
from simulation.bitcoin import (attack_build_usd, attack_rent_usd_per_h, bits_to_difficulty, block_subsidy,
                                security_budget_usd_per_day)
from simulation.bitcoin.history import (check_retarget_point, compare_retargets, epoch_rates, load_boundaries,
                                        score_retargets)
from simulation.config import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "backtest_2024.toml"
SHIPPED = ROOT / "configs" / "backtest_2024"
TESTS_2024 = Path(__file__).parent / "data" / "btc_retarget_boundaries_2024.csv"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def _csv(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


# --- drivers ----------------------------------------------------------------------------------
def test_shipped_driver_files_are_what_the_driver_builder_writes():
    assert (SHIPPED / drivers.PRICE_FILE).read_text() == drivers.price_csv_text()
    assert (SHIPPED / drivers.FEES_FILE).read_text() == drivers.fees_csv_text()


def test_price_series_passes_through_the_month_end_closes_and_starts_at_the_chain_point():
    rows = _csv(SHIPPED / drivers.PRICE_FILE)
    t = np.array([int(r["time_unix"]) for r in rows])
    p = np.array([float(r["btc_usd"]) for r in rows])
    assert t[0] == 1_710_397_689 and np.all(np.diff(t) == 3600)
    for (y, m), close in drivers.MONTH_END_CLOSES_USD.items():
        at = drivers.month_end_unix(y, m)
        if t[0] <= at <= t[-1]:
            i = int(np.argmin(np.abs(t - at)))  # the hour nearest the close: within its hour's drift
            assert p[i] == pytest.approx(close, rel=0.005), (y, m)
    # between two closes the path is monotone (log-linear), never overshooting either
    assert p.min() >= 59_000 * 0.999 and p.max() <= 102_400 * 1.001


def test_fee_series_follows_the_fee_shares_of_rewards():
    rows = {int(r["height"]): float(r["fees_btc"]) for r in _csv(SHIPPED / drivers.FEES_FILE)}
    assert min(rows) == 834_625 and max(rows) >= 878_976
    share = lambda h: rows[h] / (rows[h] + block_subsidy(h) / 1e8)  # noqa: E731
    assert share(835_000) == pytest.approx(0.11, abs=1e-6)
    assert rows[840_000] == 37.6
    assert share(840_001) == pytest.approx(0.75, abs=1e-6)
    assert share(870_000) == pytest.approx(0.024, abs=1e-6)
    assert all(share(h) <= share(h - 1) + 1e-9 for h in range(840_145, 843_000, 97))  # the decay falls


def test_backtest_model_loads_the_shipped_drivers():
    from simulation.model import GridPivotModel

    sc = load_scenario(CONFIG, ["run.hours=48"])
    m = GridPivotModel(sc, collect_mesa=False)
    rows = _csv(SHIPPED / drivers.PRICE_FILE)
    assert np.allclose(m.drivers.btc.values, [float(r["btc_usd"]) for r in rows[:48]])
    fees = [round(float(r["fees_btc"]) * 1e8) for r in _csv(SHIPPED / drivers.FEES_FILE)[:5000]]
    assert m.bitcoin.network.fees.sample_sat(5000, np.random.default_rng(0)) == fees
    assert (m.bitcoin.network.height, m.bitcoin.network.bits) == (834_624, 0x17035A59)
    m.run_hours(48)
    blocks = pd.DataFrame(m.recorder.drain()["blocks"])
    # the k-th simulated block pays the fee of row k, i.e. of its own height
    fee_by_height = {int(r["height"]): float(r["fees_btc"]) for r in _csv(SHIPPED / drivers.FEES_FILE)[:1000]}
    assert len(blocks) > 100
    assert all(math.isclose(f, fee_by_height[h]) for h, f in zip(blocks["height"], blocks["fees_btc"]))


# --- the real chain ---------------------------------------------------------------------------
def test_shipped_chain_data_agrees_with_the_test_copy_and_every_row_is_a_valid_start():
    shipped = {b.height: b for b in load_boundaries()}
    for r in _csv(TESTS_2024):
        b = shipped[int(r["height"])]
        assert (b.time, b.bits) == (int(r["time_unix"]), int(r["bits"], 16))
    for b in shipped.values():
        check_retarget_point(b.height, b.time, b.bits, b.time)
    # consecutive boundaries replay Core's rule to within one block interval (see tests/data/README)
    bs = load_boundaries()
    from simulation.bitcoin import next_bits
    for a, b in zip(bs, bs[1:]):
        if b.height >= 741_888:  # (the whole history is replayed in test_bitcoin_consensus)
            assert bits_to_difficulty(next_bits(a.bits, a.time, b.time)) == pytest.approx(b.difficulty, rel=0.006)


def test_a_simulated_chain_equal_to_the_real_one_scores_zero_and_errors_have_their_sign():
    real = [(b.height, b.bits) for b in load_boundaries() if b.height > 834_624]
    s = score_retargets(real)
    assert s.n == 20 and s.median_abs_pct == 0 and s.worst_abs_pct == 0
    harder = [(h, bits - 0x100 if h == 850_752 else bits) for h, bits in real]  # smaller target = harder
    row = [r for r in compare_retargets(harder) if r.height == 850_752][0]
    assert row.error_pct > 0
    assert score_retargets(harder).worst_abs_pct == pytest.approx(row.error_pct)
    table = bt_analysis.retarget_table(pd.DataFrame({"height": [h for h, _ in harder],
                                                     "new_bits": [b for _, b in harder]}))
    assert bt_analysis.score(table) == (20, 0.0, pytest.approx(row.error_pct))
    assert not table.loc[table["height"] < 840_000, "scored"].any()


# --- calibration ------------------------------------------------------------------------------
def test_calibration_uses_only_epochs_before_block_840000_and_the_config_carries_its_figures():
    c = calibration.calibrate_fleet()
    assert c.epochs and all(e.end_height < 840_000 for e in c.epochs)
    assert len(c.epochs) >= 15
    with pytest.raises(ValueError, match="before the halving"):
        calibration.calibration_epochs(end_height=850_000)
    sc = load_scenario(CONFIG)
    rw = sc.rest_of_world
    assert rw.growth_eh_s_per_month == pytest.approx(round(c.growth_eh_s_per_month, 1))
    assert (rw.mean_j_per_th, rw.new_j_per_th, rw.power_cost_usd_per_mwh, rw.response_hours) == (
        c.mean_j_per_th, c.new_j_per_th, c.power_cost_usd_per_mwh, c.response_hours)
    # the slope is a real least-squares fit: the measured rates scatter around it
    rates = np.array([e.eh_s for e in c.epochs])
    assert 300 < rates.min() < rates.max() < 700 and 5 < c.growth_eh_s_per_month < 60


def test_measured_epoch_hash_rate_is_difficulty_times_work_over_timespan():
    e = [r for r in epoch_rates() if r.height == 838_656][0]
    d = bits_to_difficulty(0x17034219)
    assert e.eh_s == pytest.approx(d * 2**32 * 2016 / (1_713_970_312 - 1_712_783_853) / 1e18)
    assert 600 < e.eh_s < 650


# --- security -----------------------------------------------------------------------------------
def test_security_budget_of_a_hand_computed_hour():
    # an hour with 7 blocks after the halving (3.125 BTC each) and 0.70 BTC of fees in all, at 60,000 USD
    subsidy = block_subsidy(850_000) / 1e8
    assert subsidy == 3.125
    fees = [0.05, 0.1, 0.15, 0.05, 0.1, 0.2, 0.05]
    reward = sum(subsidy + f for f in fees)                 # 21.875 + 0.70 = 22.575 BTC
    assert reward == pytest.approx(22.575)
    assert float(security_budget_usd_per_day(reward, 60_000.0)) == pytest.approx(22.575 * 60_000 * 24)
    assert float(security_budget_usd_per_day(reward, 60_000.0)) == pytest.approx(32_508_000.0)
    assert float(security_budget_usd_per_day(0.0, 60_000.0)) == 0.0


def test_attack_cost_doubles_when_the_network_hash_rate_doubles_at_fixed_hashprice():
    hp = 47.5
    rent = attack_rent_usd_per_h(600.0, hp)
    assert float(rent) == pytest.approx(600_000 * 47.5 / 24)   # 600 EH/s = 600,000 PH/s at 47.5 USD/PH/day
    assert float(attack_rent_usd_per_h(1200.0, hp)) == pytest.approx(2 * float(rent))
    build = attack_build_usd(600.0, 20.0, 16.0, 45.0)
    assert float(build) == pytest.approx(600e6 * 20 + 600e6 * 16 / 1e6 * 45)  # ASICs + 9,600 MW for an hour
    assert float(attack_build_usd(1200.0, 20.0, 16.0, 45.0)) == pytest.approx(2 * float(build))
    with pytest.raises(ValueError, match="network_eh_s"):
        attack_rent_usd_per_h(-1.0, hp)


def test_hourly_security_columns_follow_the_hour_blocks_and_price(tmp_path):
    from simulation.output import read_run

    out = tmp_path / "bt"
    r = cli("run", str(CONFIG), "--hours", "400", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    t = read_run(out)
    h, blocks = t["hourly"], t["blocks"].set_index("height")
    prev = 834_624
    for row in h.itertuples():
        got = blocks.loc[prev + 1:row.height]
        assert len(got) == row.blocks
        reward = float((got["subsidy_btc"] + got["fees_btc"]).sum())
        assert row.security_budget_usd_per_day == pytest.approx(reward * row.btc_price_usd * 24)
        assert row.attack_rent_usd_per_h == pytest.approx(row.network_eh_s * 1000 * row.hashprice_usd_per_ph_day / 24)
        prev = row.height
    assert h["attack_build_usd"].min() > 5e9
    # analyse scores the retargets the run reached against the real chain and draws them
    r = cli("analyse", str(out))
    assert r.returncode == 0, r.stderr
    assert "simulated vs real difficulty" in r.stdout and "836640" in r.stdout
    assert (out / "backtest.png").stat().st_size > 10_000
    table = pd.read_csv(out / "backtest.csv")
    assert list(table["height"]) == [836_640]
    assert table["real_difficulty_t"].iloc[0] == pytest.approx(bits_to_difficulty(0x170362D3) / 1e12)


# --- bad input ----------------------------------------------------------------------------------
def _one_line_error(r: subprocess.CompletedProcess, out: Path, *mentions: str) -> str:
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for m in mentions:
        assert m in err, (m, err)
    assert not out.exists()
    return err


def test_price_csv_not_covering_the_run_is_one_line_naming_file_and_key(tmp_path):
    out = tmp_path / "out"
    r = cli("run", str(CONFIG), "--hours", "9000", "--out", str(out), "--quiet")
    _one_line_error(r, out, "markets.btc_price.csv", "btc_usd_hourly.csv", "run.hours")
    # a series that starts after the run does
    late = tmp_path / "late.csv"
    rows = (SHIPPED / drivers.PRICE_FILE).read_text().splitlines()
    late.write_text("\n".join([rows[6]] + rows[30:]) + "\n")
    r = cli("run", str(CONFIG), "--set", f"markets.btc_price.csv='{late}'", "--out", str(out), "--quiet")
    _one_line_error(r, out, "markets.btc_price.csv", "late.csv", "bitcoin.time")


def test_backtest_start_that_is_not_a_real_retarget_point_is_one_line_naming_file_and_key(tmp_path):
    out = tmp_path / "out"
    r = cli("run", str(CONFIG), "--set", "bitcoin.height=834625", "--out", str(out), "--quiet")
    err = _one_line_error(r, out, "backtest_2024.toml", "bitcoin.height", "retarget_boundaries.csv")
    assert "834624" in err  # names the nearest real start
    r = cli("run", str(CONFIG), "--set", "bitcoin.bits=0x17035a58", "--out", str(out), "--quiet")
    _one_line_error(r, out, "backtest_2024.toml", "bitcoin.bits", "0x17035a59")
