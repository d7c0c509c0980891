"""The question the project exists for, asked the way a user asks it: the halving counterfactual
sweep (`configs/sweeps/halving_counterfactual.toml`: the pivot_2024 scenario with and without the
halving, 8 seeds each, common random numbers), run through `run.py batch` and `run.py analyse`.

To fit the test suite the runs stop seven months past block 840,000 (6,000 hours, 2024-11)
instead of at the end of 2025; everything else is the sweep file as shipped. The full sweep's
numbers are in docs/model/pivot.md."""

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


def test_the_halving_pushes_miners_into_ai_seed_by_seed(batch):
    df, dims, meta = load_batch(batch)
    assert meta["replications"] == 8 and (df["status"] == "ok").all() and len(df) == 16
    p = paired(df, "ai_mw_end")
    assert len(p) == 8
    assert (p["difference"] > 0).sum() >= 7, p
    m, lo, hi, n = mean_ci(p["difference"])
    assert lo > 0, (m, lo, hi)


def test_commitments_come_after_the_halving_they_foresee(batch):
    """Fewer than a third of the year after's: checked on the ~7 months simulated after block
    840,000, a lower bound of the year's (commitments only add up)."""
    df, _, _ = load_batch(batch)
    t = commitment_timing(batch, df)
    assert len(t) == 8 and (t["year_covered"] > 0.5).all()
    assert t["mw_year_after"].sum() > 0
    assert t["mw_before"].sum() < t["mw_year_after"].sum() / 3


def test_analyse_shows_the_pair_side_by_side_with_a_figure(batch):
    r = subprocess.run([sys.executable, "run.py", "analyse", str(batch)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert "counterfactual: bitcoin.halving = true vs false" in r.stdout
    assert "seeds with > without" in r.stdout and "AI commitments" in r.stdout
    fig = batch / "counterfactual_mw_by_use.png"
    assert fig.exists() and fig.stat().st_size > 20_000
