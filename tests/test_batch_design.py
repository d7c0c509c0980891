"""Designs in sweep files (grid, LHS, Sobol, Morris over [uncertainties], paired [switches]):
sizes and bounds, seeds shared by the arms, the design table written before the first run and
reused on resume after a SIGKILL, --shard x N then --merge equal to the one-piece batch, and the
bad inputs (one line, exit 2, nothing written)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.batch import load_sweep, run_batch
from simulation.batch.merge import merge_shards
from simulation.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "configs" / "default.toml").as_posix()
SMALL = "{profit_max = 2, hodl_hasher = 1, ai_host = 1, grid_responsive = 1, adaptive = 1}"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

UNCERTAINTIES = """
[uncertainties]
"markets.btc_price.drift_per_year" = {low = -0.5, high = 0.5}
"markets.ai.hosting.fee_usd_per_mw_month" = {dist = "log-uniform", low = 100000.0, high = 160000.0}
"markets.btc_price.vol_per_year" = {dist = "normal", mean = 0.55, sd = 0.1}
"finance.hashing_premium_per_year" = {dist = "normal", mean = 0.075, sd = 0.03, low = 0.01, high = 0.15}
"markets.ai.hosting.lead_months" = {dist = "integer", low = 12, high = 24}
"markets.ai.hosting.power" = ["passthrough", "miner"]
"""


def sweep_file(tmp: Path, body: str, name: str = "d.toml") -> Path:
    p = tmp / name
    p.write_text(f'base = "{DEFAULT}"\n' + textwrap.dedent(body))
    return p


@pytest.mark.parametrize("design, samples, expected", [
    ("lhs", 16, 16), ("sobol", 8, 8 * (6 + 2)), ("morris", 5, 5 * (6 + 1)), ("grid", 3, 3 ** 5 * 2)])
def test_designs_have_the_right_size_and_stay_within_bounds(tmp_path, design, samples, expected):
    sw = load_sweep(sweep_file(tmp_path, f'design = "{design}"\nsamples = {samples}\nreplications = 2\n'
                               + UNCERTAINTIES + '[switches]\n"bitcoin.halving" = [true, false]\n'))
    t = sw.design.table
    assert t.n_points == expected and t.unit.shape == (expected, 6)
    assert sw.n_points == 2 * expected and sw.n_runs == 4 * expected
    assert ((t.unit >= 0) & (t.unit <= 1)).all()
    v = pd.DataFrame([list(r) for r in t.values], columns=list(t.keys))
    assert v["markets.btc_price.drift_per_year"].between(-0.5, 0.5).all()
    assert v["markets.ai.hosting.fee_usd_per_mw_month"].between(100000.0, 160000.0).all()
    vol = v["markets.btc_price.vol_per_year"]  # the central 99 % of N(0.55, 0.1)
    assert vol.between(0.55 - 2.576 * 0.1 - 1e-9, 0.55 + 2.576 * 0.1 + 1e-9).all()
    assert v["finance.hashing_premium_per_year"].between(0.01, 0.15).all()
    lead = v["markets.ai.hosting.lead_months"]
    assert all(isinstance(x, int) for x in lead) and lead.between(12, 24).all()
    assert set(v["markets.ai.hosting.power"]) <= {"passthrough", "miner"}
    if design == "lhs":  # one point in each of the n equal slices of every input
        for j in range(6):
            assert sorted(np.floor(t.unit[:, j] * samples).astype(int)) == list(range(samples))
    if design == "morris":  # each step of a trajectory moves one input
        steps = np.diff(t.unit.reshape(samples, 7, 6), axis=1)
        assert ((np.abs(steps) > 1e-12).sum(axis=2) == 1).all()
    if design == "grid":
        assert len({tuple(r) for r in t.values}) == expected
        assert sorted(set(v["markets.btc_price.drift_per_year"])) == [-0.5, 0.0, 0.5]
    runs = list(sw.runs())
    assert len(runs) == sw.n_runs and len({r.run_id for r in runs}) == sw.n_runs
    # the two arms of a design point share their seeds; the switch is their only difference
    a, b = runs[0], runs[2]
    assert (a.point, b.point, a.replication, b.replication) == (0, 1, 0, 0)
    assert a.seed == b.seed and a.params["bitcoin.halving"] is True and b.params["bitcoin.halving"] is False
    assert {k: v for k, v in a.params.items() if k != "bitcoin.halving"} == \
           {k: v for k, v in b.params.items() if k != "bitcoin.halving"}
    # same file, same table (the sampler is seeded by the sweep's seed)
    assert load_sweep(tmp_path / "d.toml").design.table.to_json() == t.to_json()


def test_a_design_sweep_hash_changes_with_the_design_but_old_grid_sweeps_keep_theirs(tmp_path):
    base = 'design = "lhs"\nsamples = 4\n' + UNCERTAINTIES
    h1 = load_sweep(sweep_file(tmp_path, base)).sweep_hash
    h2 = load_sweep(sweep_file(tmp_path, base.replace("samples = 4", "samples = 5"), "e.toml")).sweep_hash
    assert h1 != h2
    grid = load_sweep(ROOT / "configs" / "sweeps" / "halving_prices.toml")
    assert "design" not in grid.definition()


TINY = f"""
design = "lhs"
samples = 3
replications = 1
common_seeds = true
[fixed]
"run.hours" = 24
"population.counts" = {SMALL}
[uncertainties]
"markets.btc_price.drift_per_year" = {{low = -0.5, high = 0.5}}
"markets.ai.hosting.power" = ["passthrough", "miner"]
[switches]
"bitcoin.halving" = [true, false]
"""


def test_a_batch_killed_mid_design_resumes_to_the_same_table(tmp_path, monkeypatch):
    sweep = sweep_file(tmp_path, TINY)
    out = tmp_path / "b"
    code = f"from simulation.batch import run_batch; run_batch({str(sweep)!r}, workers=1, out={str(out)!r}, progress=False)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=ENV)
    deadline = time.monotonic() + 180
    while len(list(out.glob("rows/*.json"))) < 2:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = (out / "design.json").read_bytes()
    assert 2 <= len(list(out.glob("rows/*.json"))) < 6

    # a sampler that would now draw another table (another library version, say) changes nothing
    import simulation.batch.sweep as sweep_mod

    real = sweep_mod.sample

    def shifted(*a, **k):
        t = real(*a, **k)
        import dataclasses

        return dataclasses.replace(t, unit=t.unit * 0.5, values=tuple((v[0] * 0.5, v[1]) for v in t.values))

    monkeypatch.setattr(sweep_mod, "sample", shifted)
    assert load_sweep(sweep).design.table.to_json().encode() != stored
    res = run_batch(sweep, workers=2, out=out, progress=False)
    assert res.ok == 6 and res.failed == []
    assert (out / "design.json").read_bytes() == stored
    table = json.loads(stored)
    df = pd.read_parquet(res.table)
    assert sorted(df["run_id"]) == [f"p{p:04d}-r00" for p in range(6)]
    for _, r in df.iterrows():
        values = table["values"][r["point"] // 2]
        assert [r["markets.btc_price.drift_per_year"], r["markets.ai.hosting.power"]] == values
        assert r["bitcoin.halving"] == (r["point"] % 2 == 0)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_shards_then_merge_equal_the_one_piece_batch_byte_for_byte(tmp_path):
    sweep = sweep_file(tmp_path, TINY)
    whole = run_batch(sweep, workers=2, out=tmp_path / "whole", progress=False)
    shards = [run_batch(sweep, workers=1, out=tmp_path / f"s{i}", progress=False, shard=(i, 3)) for i in (1, 2, 3)]
    assert [s.total for s in shards] == [2, 2, 2]  # design points 0, 1, 2: each shard one point x 2 arms
    assert rc_of(["batch", "--merge", *(str(tmp_path / f"s{i}") for i in (3, 1, 2)), "--out", str(tmp_path / "m")]) == 0
    a, b = _files(tmp_path / "whole"), _files(tmp_path / "m")
    assert set(a) == set(b)
    timed = {"batch.parquet", "batch.json"} | {k for k in a if k.startswith("rows/") or k.endswith(("meta.json", "summary.json"))}
    for k in set(a) - timed:  # design table, sweep copy, every run's Parquet tables and config: byte for byte
        assert a[k] == b[k], k
    strip = lambda d: {k: v for k, v in d.items() if k not in ("wall_s", "created_utc", "start_utc", "end_utc")}
    for k in timed - {"batch.parquet"}:  # the rest differ only by the measured times
        assert strip(json.loads(a[k])) == strip(json.loads(b[k])), k
    pa, pb = pd.read_parquet(whole.table), pd.read_parquet(tmp_path / "m" / "batch.parquet")
    pd.testing.assert_frame_equal(pa.drop(columns="wall_s"), pb.drop(columns="wall_s"))

    # merging is pure reassembly: shards cut from the one-piece folder merge back to its bytes
    import shutil

    for i in (1, 2, 3):
        cut = tmp_path / f"cut{i}"
        shutil.copytree(tmp_path / "whole", cut)
        meta = json.loads((cut / "batch.json").read_text())
        (cut / "batch.json").write_text(json.dumps({**meta, "shard": [i, 3]}, indent=1))
        for sub in ("rows", "runs"):
            for p in (cut / sub).iterdir():
                if (int(p.name[1:5]) // 2) % 3 != i - 1:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
    merge_shards([tmp_path / f"cut{i}" for i in (1, 2, 3)], tmp_path / "m2")
    assert _files(tmp_path / "m2") == a


def rc_of(argv: list[str]) -> int:
    return main(argv)


BAD = {
    "unknown uncertainty key": ('"markets.btc_price.drift_per_yr" = {low = 0.0, high = 1.0}', "unknown config path"),
    "low above high": ('"markets.btc_price.drift_per_year" = {low = 1.0, high = 0.0}', "low 1.0 > high 0.0"),
    "unknown distribution": ('"markets.btc_price.drift_per_year" = {dist = "weibull", low = 0.0, high = 1.0}',
                             "unknown distribution 'weibull'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_uncertainties_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, case):
    line, message = BAD[case]
    sweep = sweep_file(tmp_path, f'design = "lhs"\nsamples = 4\n[uncertainties]\n{line}\n'
                                 '"markets.btc_price.vol_per_year" = {low = 0.4, high = 0.7}\n')
    out = tmp_path / "out"
    assert main(["batch", str(sweep), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "uncertainties" in err and "markets.btc_price" in err, err
    assert not out.exists()


def test_bad_shard_and_merge_of_different_designs_are_one_line_exit_2_and_write_nothing(tmp_path, capsys):
    sweep = sweep_file(tmp_path, TINY)
    out = tmp_path / "out"
    assert main(["batch", str(sweep), "--shard", "3/2", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--shard 3/2" in err
    assert not out.exists()
    # shards of two different designs (the same sweep file but another sample count)
    other = sweep_file(tmp_path, TINY.replace("samples = 3", "samples = 2"), "other.toml")
    for i, sw in ((1, sweep), (2, other)):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        from simulation.batch import folder as bf

        bf.prepare(folder, load_sweep(sw), (i, 2))
    assert main(["batch", "--merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shard of another sweep" in err, err
    assert not out.exists()
