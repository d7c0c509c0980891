"""Batches end to end on tiny scenarios: identical results for 1 and 2 workers (Ray: in
test_batch_ray_cluster.py and the batch benchmark's check), a
failing point isolated, any run reproducible alone from its recorded command, resume after a
SIGKILL without losing or repeating runs, refusal of a changed sweep, the sweep analysis, and
Mesa's own `batch_run` on the model class."""

import json
import shlex
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.batch import load_sweep, run_batch
from simulation.config import format_override
from simulation.output import is_complete, read_run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "configs" / "default.toml").as_posix()
SMALL = "{profit_max = 2, hodl_hasher = 1, ai_host = 1, grid_responsive = 1, adaptive = 1}"
HOURS = 24
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

# 3 points x 2 seeds; point 2 has no miners: its scenario loads, but the model refuses to build it
SWEEP = f"""
base = "{DEFAULT}"
replications = 2
seed = 11

[fixed]
"run.hours" = {HOURS}

[[zip]]
"markets.btc_price.drift_per_year" = [0.0, 3.0, 0.0]
"population.counts" = [{SMALL}, {SMALL}, {{}}]
"""


def write_sweep(tmp: Path, text: str, name: str = "tiny.toml") -> Path:
    p = tmp / name
    p.write_text(textwrap.dedent(text))
    return p


def assert_same_run(a: Path, b: Path) -> None:
    ta, tb = read_run(a), read_run(b)
    assert set(ta) == set(tb) and "hourly" in ta
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=f"{a.name}/{name}")
    assert (a / "config.toml").read_text() == (b / "config.toml").read_text()
    sa, sb = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    sa.pop("wall_s", None), sb.pop("wall_s", None)
    assert sa == sb


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """The same sweep run with 1 and with 2 worker processes."""
    tmp = tmp_path_factory.mktemp("batch")
    sweep = write_sweep(tmp, SWEEP)
    one = run_batch(sweep, workers=1, out=tmp / "w1", progress=False)
    two = run_batch(sweep, workers=2, out=tmp / "w2", progress=False)
    return sweep, one, two


def test_one_and_two_workers_give_identical_tables_and_run_logs(batches):
    _, one, two = batches
    assert one.total == two.total == 6 and one.ran == two.ran == 6
    a, b = pd.read_parquet(one.table), pd.read_parquet(two.table)
    assert list(a["run_id"]) == ["p0000-r00", "p0000-r01", "p0001-r00", "p0001-r01", "p0002-r00", "p0002-r01"]
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"))
    for rid in a.loc[a["status"] == "ok", "run_id"]:
        assert_same_run(one.folder / "runs" / rid, two.folder / "runs" / rid)


def test_rows_record_parameters_seed_overrides_and_outcomes(batches):
    sweep, one, _ = batches
    df = pd.read_parquet(one.table).set_index("run_id")
    for spec in load_sweep(sweep).runs():
        row = df.loc[spec.run_id]
        assert row["seed"] == spec.seed and json.loads(row["overrides"]) == [format_override(k, v) for k, v in spec.overrides]
        assert row["markets.btc_price.drift_per_year"] == spec.params["markets.btc_price.drift_per_year"]
        assert f"--seed {spec.seed}" in row["command"]
    ok = df[df["status"] == "ok"]
    assert len(ok) == 4 and (ok["hours"] == HOURS).all() and ok["network_eh_s_end"].notna().all()
    # the two seeds of a point differ; the two drifts differ
    assert ok.loc["p0000-r00", "btc_price_end_usd"] != ok.loc["p0000-r01", "btc_price_end_usd"]
    meta = json.loads((one.folder / "runs" / "p0001-r01" / "meta.json").read_text())
    assert meta["batch"]["seed"] == df.loc["p0001-r01", "seed"] and meta["batch"]["run_id"] == "p0001-r01"
    assert meta["batch"]["overrides"] == json.loads(df.loc["p0001-r01", "overrides"])
    assert meta["batch"]["overrides"][0] == "run.hours=24" and "markets.btc_price.drift_per_year=3.0" in meta["batch"]["overrides"]


def test_a_failing_point_is_recorded_and_does_not_stop_the_others(batches):
    _, one, _ = batches
    df = pd.read_parquet(one.table)
    failed = df[df["status"] == "failed"]
    assert list(failed["run_id"]) == ["p0002-r00", "p0002-r01"]
    assert (df.loc[df["status"] == "ok", "error"] == "").all()
    for row in failed.itertuples():
        assert "miners" in row.error and "\n" not in row.error
        tb = (one.folder / "errors" / f"{row.run_id}.txt").read_text()
        assert "Traceback" in tb and row.command in tb
        run_dir = one.folder / "runs" / row.run_id
        assert not run_dir.exists() or not is_complete(run_dir)
    assert [rid for rid, _ in one.failed] == ["p0002-r00", "p0002-r01"] and one.ok == 4
    assert "2 failed" in str(one)


def test_a_run_re_run_alone_from_its_recorded_command_is_identical(batches, tmp_path):
    _, one, _ = batches
    row = pd.read_parquet(one.table).set_index("run_id").loc["p0001-r00"]
    argv = shlex.split(row["command"])
    assert argv[:3] == ["python", "run.py", "run"]
    out = tmp_path / "alone"
    subprocess.run([sys.executable, "run.py", *argv[2:], "--out", str(out), "--quiet"], cwd=ROOT, env=ENV,
                   check=True, capture_output=True, timeout=120)
    assert_same_run(one.folder / "runs" / "p0001-r00", out)


def test_resume_reruns_failures_only_and_a_changed_sweep_is_refused(batches, tmp_path):
    sweep, _, two = batches
    before = {r: json.loads((two.folder / "runs" / r / "meta.json").read_text()) for r in ("p0000-r00", "p0001-r01")}
    again = run_batch(sweep, workers=2, out=two.folder, progress=False)
    assert (again.already_done, again.ran, again.ok, len(again.failed)) == (4, 2, 4, 2)
    for r, meta in before.items():  # not redone
        assert json.loads((two.folder / "runs" / r / "meta.json").read_text()) == meta
    changed = write_sweep(tmp_path, SWEEP.replace("seed = 11", "seed = 12"), "changed.toml")
    with pytest.raises(ValueError, match="different sweep"):
        run_batch(changed, workers=1, out=two.folder, progress=False)


def test_batch_killed_with_sigkill_resumes_without_losing_or_repeating_runs(tmp_path):
    sweep = write_sweep(tmp_path, f"""
        base = "{DEFAULT}"
        replications = 5
        [fixed]
        "run.hours" = {HOURS}
        "population.counts" = {SMALL}
    """)
    out = tmp_path / "b"
    code = f"from simulation.batch import run_batch; run_batch({str(sweep)!r}, workers=1, out={str(out)!r}, progress=False)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=ENV)
    deadline = time.monotonic() + 120
    while len(list(out.glob("rows/*.json"))) < 2:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(p.stem for p in out.glob("rows/*.json"))
    assert 2 <= len(finished) < 5
    # lose one row on purpose: a run killed between writing its logs and writing its row
    (out / "rows" / f"{finished[-1]}.json").unlink()
    starts = {r: json.loads((out / "runs" / r / "meta.json").read_text()) for r in finished}

    res = run_batch(sweep, workers=2, out=out, progress=False)
    assert (res.already_done, res.ran, res.ok, res.failed) == (len(finished), 5 - len(finished), 5, [])
    df = pd.read_parquet(res.table)
    assert sorted(df["run_id"]) == [f"p0000-r{r:02d}" for r in range(5)] and df["run_id"].is_unique
    assert (df["status"] == "ok").all()
    assert sorted(p.stem for p in out.glob("rows/*.json")) == list(df["run_id"])
    for r in df["run_id"]:
        assert is_complete(out / "runs" / r)
    for r, meta in starts.items():  # finished runs (and the recovered one) were not redone
        assert json.loads((out / "runs" / r / "meta.json").read_text()) == meta


def test_analyse_batch_reports_means_with_intervals_and_draws_bands(batches):
    from simulation.analysis import analyse_paths
    from simulation.analysis.sweeps import load_batch, mean_ci, panel_data, point_stats

    _, _, two = batches
    text = analyse_paths([two.folder], figures=True)
    assert "network_eh_s_end" in text and "95 % CI" in text and "p0002-r00" in text
    df, dims, _ = load_batch(two.folder)
    stats = point_stats(df, dims, ["network_eh_s_end"]).set_index("point")
    ok0 = df[(df["point"] == 0) & (df["status"] == "ok")]["network_eh_s_end"]
    m, lo, hi, n = mean_ci(ok0)
    assert (stats.loc[0, "network_eh_s_end"], stats.loc[0, "network_eh_s_end_ci_low"], n) == (m, lo, 2)
    assert stats.loc[2, "runs_ok"] == 0 and stats.loc[2, "runs_failed"] == 2
    line = next(iter(panel_data(df, dims, 0, "network_eh_s_end").values()))
    assert line["mean"][0] == m and line["ci_high"][0] == hi
    assert list((two.folder).glob("sweep_*.png")) and (two.folder / "sweep_stats.csv").exists()


MESA_BATCH_RUN = f"""
import json, math
import mesa
from simulation.model import GridPivotModel

small = {{"profit_max": 2, "hodl_hasher": 1, "ai_host": 1, "grid_responsive": 1, "adaptive": 1}}
params = {{"markets__btc_price__drift_per_year": [0.0, 3.0], "run__hours": {HOURS}, "population__counts": [small]}}
results = mesa.batch_run(GridPivotModel, parameters=params, rng=[1, 2], max_steps={HOURS},
                         number_processes=1, data_collection_period=-1, display_progress=False)
alone = GridPivotModel(run__hours={HOURS}, population__counts=small, markets__btc_price__drift_per_year=3.0, rng=2)
while alone.running:
    alone.step()
ref = alone.datacollector.get_model_vars_dataframe().iloc[-1].to_dict()
print(json.dumps({{"rows": [{{k: v for k, v in r.items() if isinstance(v, (int, float, str))}} for r in results],
                  "ref": ref}}))
"""


def test_mesa_batch_run_sweeps_the_model_class():
    # batch_run forces the "spawn" start method globally: keep it out of this process
    p = subprocess.run([sys.executable, "-c", MESA_BATCH_RUN], cwd=ROOT, env=ENV, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    rows = out["rows"]
    assert len(rows) == 4
    assert {(r["markets__btc_price__drift_per_year"], r["seed"] if "seed" in r else r.get("rng")) for r in rows} \
        == {(0.0, 1), (0.0, 2), (3.0, 1), (3.0, 2)}
    assert all(r["Step"] == HOURS for r in rows)
    match = [r for r in rows if r["markets__btc_price__drift_per_year"] == 3.0 and r.get("rng", r.get("seed")) == 2]
    for k, v in out["ref"].items():  # batch_run's row is the same model run as building it directly
        assert match[0][k] == v, k
    assert len({r["btc_price_usd"] for r in rows}) == 4


def test_a_task_carries_its_resolved_scenario_not_a_path_and_runs_after_the_base_is_gone(tmp_path):
    from simulation.batch import execute, make_task
    from simulation.batch.task import code_versions

    base = tmp_path / "base.toml"
    base.write_text(Path(DEFAULT).read_text())
    sweep = write_sweep(tmp_path, f"""
        base = "base.toml"
        [fixed]
        "run.hours" = 6
        "population.counts" = {SMALL}
    """)
    spec = next(load_sweep(sweep).runs())
    task = make_task(load_sweep(sweep), spec, code_versions())
    assert "[run]" in task.scenario_toml and "hours = 6" in task.scenario_toml
    assert f"seed = {spec.seed}" in task.scenario_toml
    base.unlink()  # the worker needs nothing from the driver's disk
    res = execute(task)
    assert res.row["status"] == "ok", res.traceback
    assert {"hourly.parquet", "config.toml", "meta.json", "summary.json"} <= set(res.files)
    assert res.files["config.toml"].decode() == task.scenario_toml


def test_a_worker_with_other_code_versions_stops_the_batch_with_one_clear_line(tmp_path):
    from simulation.batch import CodeVersionError, execute, make_task
    from simulation.batch.task import code_versions

    sweep = write_sweep(tmp_path, f'base = "{DEFAULT}"\n[fixed]\n"run.hours" = 6\n')
    s = load_sweep(sweep)
    task = make_task(s, next(s.runs()), {**code_versions(), "gridpivot": "0.0.1"})
    with pytest.raises(CodeVersionError) as e:
        execute(task)
    msg = str(e.value)
    assert "gridpivot" in msg and "0.0.1 on the driver" in msg and "pip install" in msg and "\n" not in msg


def test_a_sweep_base_may_name_a_scenario(tmp_path):
    s = load_sweep(write_sweep(tmp_path, 'base = "halving_2024"\n[fixed]\n"run.hours" = 24\n'))
    assert s.base == (ROOT / "configs" / "halving_2024.toml").resolve()
    assert s.command(next(s.runs())).startswith("python run.py run halving_2024 --set run.hours=24")
