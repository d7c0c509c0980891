"""Analysis of designed batches: Morris ranks an inert input last with mu* = 0 (on a known
function, and on the model with a heat wave dated after the run ends), Sobol' indices of the
Ishigami function match their analytic values, PRIM finds the box that generated a synthetic
table, paired differences, the replications check, and bad conditions."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.analysis.design_outcomes import load_design_batch, parse_condition
from simulation.analysis.prim import run_prim
from simulation.analysis.replications import stability
from simulation.analysis.sensitivity import indices
from simulation.batch.design import Uncertainty, sample
from simulation.cli import main

ROOT = Path(__file__).resolve().parents[1]


def design_folder(tmp: Path, design: str, keys, samples: int, outcome, *, levels=None, arms=(True,), reps=1,
                  seed=7, uncertainties=None) -> Path:
    """A batch folder as `run.py batch` writes one for a design (no model runs): `outcome(values,
    arm, replication)` gives a dict of outcomes per run."""
    uncs = uncertainties or tuple(Uncertainty(k, "uniform", low=0.0, high=1.0) for k in keys)
    t = sample(design, uncs, samples, seed, levels)
    folder = tmp / f"batch_{design}"
    folder.mkdir()
    (folder / "design.json").write_text(t.to_json())
    meta = {"name": folder.name, "n_runs": t.n_points * len(arms) * reps, "parameters": [*t.keys, "bitcoin.halving"],
            "dimensions": [], "design": {"design": design, "samples": samples, "levels": levels,
                                         "n_design_points": t.n_points, "n_arms": len(arms),
                                         "switches": ["bitcoin.halving"] if len(arms) > 1 else []}}
    (folder / "batch.json").write_text(json.dumps(meta))
    rows = []
    for dp, vals in enumerate(t.values):
        for a, arm in enumerate(arms):
            for r in range(reps):
                point = dp * len(arms) + a
                rows.append({"run_id": f"p{point:04d}-r{r:02d}", "point": point, "replication": r, "seed": r,
                             "status": "ok", "error": "", "wall_s": 0.0, **dict(zip(t.keys, vals)),
                             "bitcoin.halving": arm, **outcome(dict(zip(t.keys, vals)), arm, r)})
    pd.DataFrame(rows).to_parquet(folder / "batch.parquet", index=False)
    return folder


def test_morris_ranks_a_known_function_and_gives_an_inert_input_mu_star_zero(tmp_path):
    f = lambda v, arm, r: {"y": 10 * v["a"] + 3 * v["b"] ** 2 + 0 * v["c"]}
    folder = design_folder(tmp_path, "morris", ["a", "b", "c"], 12, f, levels=4)
    df = indices(load_design_batch(folder), "y")
    assert list(df["input"]) == ["a", "b", "c"]
    assert df.loc[0, "mu_star"] == pytest.approx(10.0)  # a linear effect: every step moves y by 10 per unit range
    assert df.loc[2, "mu_star"] == 0.0 and df.loc[2, "sigma"] == 0.0
    assert df.loc[1, "sigma"] > 0  # b's effect depends on where it is (non-linear)


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values(tmp_path):
    from SALib.test_functions import Ishigami

    def f(v, arm, r):
        x = np.array([[v[k] for k in "abc"]]) * 2 * np.pi - np.pi
        return {"y": float(Ishigami.evaluate(x)[0])}

    folder = design_folder(tmp_path, "sobol", ["a", "b", "c"], 1024, f)
    df = indices(load_design_batch(folder), "y").set_index("input")
    # Ishigami (a = 7, b = 0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    for k, s1, st in (("a", 0.3139, 0.5576), ("b", 0.4424, 0.4424), ("c", 0.0, 0.2437)):
        assert abs(df.loc[k, "S1"] - s1) < max(0.05, 1.5 * df.loc[k, "S1_ci"]), k
        assert abs(df.loc[k, "ST"] - st) < max(0.05, 1.5 * df.loc[k, "ST_ci"]), k
    assert list(df.index) == ["a", "b", "c"]


def test_prim_finds_the_box_that_generated_a_synthetic_table(tmp_path, capsys):
    def f(v, arm, r):
        inside = 0.2 <= v["a"] <= 0.6 and v["b"] >= 0.7 and v["kind"] != "z"
        return {"y": 1.0 if inside else 0.0}

    uncs = (Uncertainty("a", "uniform", low=0.0, high=1.0), Uncertainty("b", "uniform", low=0.0, high=1.0),
            Uncertainty("c", "uniform", low=0.0, high=1.0), Uncertainty("kind", "categories", values=("x", "y", "z")))
    folder = design_folder(tmp_path, "lhs", None, 1500, f, uncertainties=uncs)
    b = load_design_batch(folder)
    res = run_prim(b.values, b.outcome_mean("y") > 0.5, "y > 0.5", min_coverage=0.8)
    lim = res.limits.set_index("input")
    assert set(lim.index) == {"a", "b", "kind"}  # c never restricted
    assert abs(lim.loc["a", "low"] - 0.2) < 0.05 and abs(lim.loc["a", "high"] - 0.6) < 0.05
    assert abs(lim.loc["b", "low"] - 0.7) < 0.05
    assert lim.loc["kind", "categories"] == "x, y"
    assert res.coverage >= 0.8 and res.density >= 0.9
    # through the command line: boxes printed, trajectory figure and tables written
    assert main(["analyse", str(folder), "--outcome", "y", "--where", "y > 0.5", "--min-coverage", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "PRIM: where y > 0.5" in out and "coverage" in out and "density" in out and "<- reported" in out
    assert (folder / "prim.png").stat().st_size > 0 and (folder / "prim_box.csv").exists()


def test_a_paired_difference_outcome_is_the_first_arm_less_the_second_on_the_same_seed(tmp_path):
    f = lambda v, arm, r: {"ai_mw_end": 100 * v["a"] + (20.0 if arm else 0.0) + r}
    folder = design_folder(tmp_path, "lhs", ["a", "b"], 8, f, arms=(True, False), reps=2)
    b = load_design_batch(folder)
    assert np.allclose(b.outcome("halving_effect_ai_mw").to_numpy(), 20.0)
    assert np.allclose(b.outcome("halving_effect_ai_mw_end").to_numpy(), 20.0)
    assert np.allclose(b.outcome_mean("ai_mw_end"), 100 * b.values["a"] + 20.5)
    with pytest.raises(ValueError, match="halving_effect_<key>"):
        b.outcome("nonsense")


def test_replications_needed_by_variance_stability(tmp_path, capsys):
    rng = np.random.default_rng(3)
    f = lambda v, arm, r: {"y": 50.0 + 5.0 * rng.standard_normal()}
    folder = design_folder(tmp_path, "lhs", ["a", "b"], 30, f, reps=30)
    table, needed = stability(load_design_batch(folder).outcome("y"))
    assert needed is not None and 2 <= needed <= 30
    assert table["cv_median"].iloc[-1] == pytest.approx(0.1, rel=0.25)  # sd / mean = 5 / 50
    assert table["rel_halfwidth_median"].is_monotonic_decreasing or table["rel_halfwidth_median"].iloc[-1] < 0.05
    with pytest.raises(ValueError, match=">= 3"):
        stability(load_design_batch(folder).outcome("y").iloc[:, :2])


@pytest.mark.parametrize("where", ["halving_effect_ai_mw >> 20", "20 < y", "y > abc"])
def test_a_bad_condition_is_one_line_exit_2(tmp_path, capsys, where):
    folder = design_folder(tmp_path, "lhs", ["a", "b"], 8, lambda v, arm, r: {"y": v["a"]})
    assert main(["analyse", str(folder), "--where", where]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--where" in err
    assert not (folder / "prim.png").exists()
    with pytest.raises(ValueError):
        parse_condition(where)


def test_morris_on_the_model_ranks_a_heat_wave_after_the_run_last_with_mu_star_zero(tmp_path):
    """The heat wave starts on day 5 to 30 of a one-day run: it provably does nothing."""
    sweep = tmp_path / "inert.toml"
    sweep.write_text(textwrap.dedent(f"""
        base = "{(ROOT / 'configs' / 'default.toml').as_posix()}"
        design = "morris"
        samples = 3
        common_seeds = true
        summary_only = true
        [fixed]
        "run.hours" = 24
        "population.counts" = {{profit_max = 2, hodl_hasher = 1, ai_host = 1, grid_responsive = 1, adaptive = 1}}
        [uncertainties]
        "markets.btc_price.s0_usd" = {{low = 40000.0, high = 90000.0}}
        "grid.heatwave.start_day" = {{dist = "integer", low = 5, high = 30}}
        "bitcoin.fees.btc_per_block" = {{low = 0.05, high = 0.5}}
    """))
    out = tmp_path / "b"
    assert main(["batch", str(sweep), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    df = indices(load_design_batch(out), "miner_cash_end_usd")
    assert df.iloc[0]["input"] == "markets.btc_price.s0_usd"
    assert (df.iloc[:-1]["mu_star"] > 0).all()
    assert df.iloc[-1]["input"] == "grid.heatwave.start_day"
    assert df.iloc[-1]["mu_star"] == 0.0 and df.iloc[-1]["sigma"] == 0.0
