"""The question the project exists for, asked the way a user asks it: the halving counterfactual
sweep (`configs/sweeps/halving_counterfactual.toml`: the pivot_2024 scenario with and without the
halving, 8 seeds each, common random numbers), run through `run.py batch` and `run.py analyse`.

To fit the test suite the runs stop seven months past block 840,000 (6,000 hours, 2024-11)
instead of at the end of 2025; everything else is the sweep file as shipped. These tests check the
counterfactual's mechanism (paired arms on common random numbers that differ only by the subsidy,
and the paired statistics analyse reports), not its answer: what the halving did is a study, whose
numbers are in docs/model/pivot.md and whose answer may change with the model's economics."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.analysis.counterfactual import commitment_timing, paired
from simulation.analysis.sweeps import load_batch, mean_ci

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "configs" / "sweeps" / "halving_counterfactual.toml"
HOURS = 6000  # block 840,000 falls ~37 days in
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # 16 runs of 6,000 hours on two workers


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("halving")
    text = SWEEP.read_text()
    text = re.sub(r'^base = ".*"', f'base = "{(ROOT / "configs" / "pivot_2024.toml").as_posix()}"', text, flags=re.M)
    text = text.replace("[fixed]\n", f'[fixed]\n"run.hours" = {HOURS}\n', 1)
    sweep = tmp / "halving_counterfactual.toml"
    sweep.write_text(text)
    out = tmp / "batch"
    r = subprocess.run([sys.executable, "run.py", "batch", str(sweep), "--workers", "2", "--out", str(out), "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_each_pair_shares_its_seed_and_exogenous_world_and_differs_by_the_subsidy(batch):
    """Replication r runs both arms on one seed: the same BTC price hour by hour, and blocks
    from height 840,000 on pay 3.125 BTC with the halving and 6.25 BTC without."""
    import pandas as pd

    df, dims, meta = load_batch(batch)
    assert meta["replications"] == 8 and (df["status"] == "ok").all() and len(df) == 16
    for r, arms in df.groupby("replication"):
        assert arms["seed"].nunique() == 1 and set(arms["bitcoin.halving"].astype(bool)) == {True, False}
        run = {bool(a["bitcoin.halving"]): batch / "runs" / a["run_id"] for _, a in arms.iterrows()}
        price = {k: pd.read_parquet(v / "hourly.parquet", columns=["btc_price_usd"])["btc_price_usd"] for k, v in run.items()}
        assert price[True].equals(price[False]), f"replication {r}: the arms saw different BTC prices"
        blocks = {k: pd.read_parquet(v / "blocks.parquet", columns=["height", "subsidy_btc"]) for k, v in run.items()}
        after = {k: b[b["height"] >= 840_000]["subsidy_btc"] for k, b in blocks.items()}
        assert len(after[True]) and len(after[False])
        assert (after[True] == 3.125).all() and (after[False] == 6.25).all()
        before = {k: b[b["height"] < 840_000]["subsidy_btc"] for k, b in blocks.items()}
        assert (before[True] == 6.25).all() and (before[False] == 6.25).all()


def test_the_paired_difference_is_the_mean_of_the_seeds_differences(batch):
    df, _, _ = load_batch(batch)
    p = paired(df, "ai_mw_end")
    assert len(p) == 8
    ok = df[df["status"] == "ok"]
    on = ok[ok["bitcoin.halving"].astype(bool)].set_index("replication")["ai_mw_end"]
    off = ok[~ok["bitcoin.halving"].astype(bool)].set_index("replication")["ai_mw_end"]
    assert (p["difference"] == (on - off).loc[p.index]).all()
    m, lo, hi, n = mean_ci(p["difference"])
    assert n == 8 and lo <= m <= hi and abs(m - (on - off).mean()) < 1e-9


def test_commitment_timing_counts_the_months_either_side_of_the_halving(batch):
    df, _, _ = load_batch(batch)
    t = commitment_timing(batch, df)
    assert len(t) == 8 and (t["year_covered"] > 0.5).all()
    assert (t["mw_before"] >= 0).all() and (t["mw_year_after"] >= 0).all()


def test_analyse_shows_the_pair_side_by_side_with_a_figure(batch):
    r = subprocess.run([sys.executable, "run.py", "analyse", str(batch)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert "counterfactual: bitcoin.halving = true vs false" in r.stdout
    assert "seeds with > without" in r.stdout and "AI commitments" in r.stdout
    fig = batch / "counterfactual_mw_by_use.png"
    assert fig.exists() and fig.stat().st_size > 20_000
