"""The EMA Workbench adapter: gridpivot as an EMA Model (uncertainties = config keys, outcomes =
summary keys) whose experiments equal `run.py run` with the same values, and a batch folder read
as EMA's experiments and outcomes."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ema_workbench")

from simulation.batch.design import Uncertainty
from simulation.batch.ema import experiments_from_batch, make_model, model_from_sweep, run_once

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = str(ROOT / "configs" / "default.toml")
FIXED = [("run.hours", 12), ("population.counts", {"profit_max": 1, "hodl_hasher": 1, "ai_host": 1})]


def test_ema_runs_gridpivot_and_its_outcomes_equal_a_direct_run():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import SequentialEvaluator

    uncs = [Uncertainty("markets.btc_price.s0_usd", "uniform", low=40000.0, high=90000.0),
            Uncertainty("markets.ai.hosting.lead_months", "integer", low=12, high=24),
            Uncertainty("markets.ai.hosting.power", "categories", values=("passthrough", "miner"))]
    model = make_model(DEFAULT, uncs, ["revenue_hash_usd", "ai_mw_end"], fixed=FIXED, seed=5)
    with SequentialEvaluator(model) as ev:
        exp, out = ev.perform_experiments(scenarios=2)
    assert len(exp) == 2 and set(out) == {"revenue_hash_usd", "ai_mw_end"}
    assert exp["markets__btc_price__s0_usd"].between(40000, 90000).all()
    row = exp.iloc[0]
    direct = run_once(DEFAULT, FIXED + [("markets.btc_price.s0_usd", float(row["markets__btc_price__s0_usd"])),
                                        ("markets.ai.hosting.lead_months", int(row["markets__ai__hosting__lead_months"])),
                                        ("markets.ai.hosting.power", str(row["markets__ai__hosting__power"])),
                                        ("run.seed", 5)], ["revenue_hash_usd"])
    assert out["revenue_hash_usd"][0] == direct["revenue_hash_usd"]
    with pytest.raises(ValueError, match="no EMA parameter"):
        make_model(DEFAULT, [Uncertainty("markets.btc_price.s0_usd", "log-uniform", low=1.0, high=2.0)], ["ai_mw_end"])


def test_model_from_a_sweep_file_and_a_batch_as_ema_experiments(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(textwrap.dedent(f"""
        base = "{DEFAULT}"
        design = "lhs"
        samples = 4
        [fixed]
        "run.hours" = 12
        [uncertainties]
        "markets.ai.hosting.build_usd_per_it_mw" = {{low = 6.0e6, high = 15.0e6}}
        "finance.hashing_premium_per_year" = {{low = 0.03, high = 0.12}}
        "markets.ai.hosting.term_months" = {{dist = "integer", low = 120, high = 180}}
    """))
    model = model_from_sweep(sweep, ["ai_mw_end"])
    assert {u.name for u in model.uncertainties} == {"markets__ai__hosting__build_usd_per_it_mw",
                                                     "finance__hashing_premium_per_year", "markets__ai__hosting__term_months"}
    with pytest.raises(ValueError, match="log-uniform has no EMA parameter"):  # the study samples offers log-uniformly
        model_from_sweep(ROOT / "configs" / "sweeps" / "pivot_uncertainty.toml", ["ai_mw_end"])
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "batch.json").write_text(json.dumps({"name": "b", "parameters": ["x"]}))
    pd.DataFrame({"run_id": ["p0000-r00", "p0001-r00", "p0002-r00"], "point": [0, 1, 2], "replication": [0, 0, 0],
                  "status": ["ok", "failed", "ok"], "x": [0.1, 0.2, 0.3], "ai_mw_end": [1.0, np.nan, 3.0]}
                 ).to_parquet(folder / "batch.parquet")
    exp, out = experiments_from_batch(folder)
    assert list(exp.columns) == ["x", "scenario", "policy", "model"] and list(exp["scenario"]) == [0, 2]
    assert list(out) == ["ai_mw_end"] and out["ai_mw_end"].tolist() == [1.0, 3.0]
