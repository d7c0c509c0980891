"""Sweeps on a real two-node Ray cluster on the loopback (`ray.cluster_utils.Cluster`: a head at
127.0.0.2 and a second node at 127.0.0.3, each with its own temp dir, their raylets children of
this test process; Ray would rewrite 127.0.0.1 to the machine's outward address).

Every Python process the nodes start (Ray workers included) imports a `sitecustomize` that adds
an audit hook refusing any file access under the driver's folder: workers have no access to the
batch folder, and they run in another working directory. The batch is driven through the
command line (`run.py batch --backend ray --address ...`), as a user would on a cluster. While it
runs, the test kills one worker process in the middle of its task: Ray retries the task and the
batch completes. Every run's tables (the Parquet files, byte for byte), config and summary, and
the batch table, equal the process pool's.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="Ray is in the test extra (gridpivot[ray])")
psutil = pytest.importorskip("psutil")

from simulation.batch import run_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "configs" / "default.toml").as_posix()
SMALL = "{profit_max = 2, hodl_hasher = 1, ai_host = 1, grid_responsive = 1, adaptive = 1}"
HOURS = 48
# 6 runs: 3 points x 2 seeds; point 2 has no miners, so the model refuses it (a run failing by its own error)
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

# imported by every Python process of the cluster's nodes (put on their PYTHONPATH)
GUARD = """
import os, sys
_root = os.environ.get("GRIDPIVOT_TEST_FORBIDDEN")
if _root:
    _root = os.path.abspath(_root)
    _events = {"open", "os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.listdir",
               "os.scandir", "os.chdir", "os.truncate", "shutil.rmtree", "shutil.copyfile", "os.symlink"}

    def _guard(event, args):
        if event in _events:
            for a in args[:2]:
                if isinstance(a, (str, bytes, os.PathLike)):
                    p = os.path.abspath(os.fsdecode(a))
                    if p == _root or p.startswith(_root + os.sep):
                        raise PermissionError(13, "this node has no access to the driver's folder", p)

    sys.addaudithook(_guard)
"""


def worker_processes() -> list:
    """Ray worker processes running one of our tasks right now (their title is `ray::execute`)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.cmdline()[:1] == ["ray::execute"]:
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, IndexError):
            pass
    return out


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    short = Path(tempfile.mkdtemp(prefix="gp-ray-", dir="/tmp"))  # Unix socket paths must stay short
    driver_dir = short / "driver"  # the driver's side: batch folders, sweep files
    guard_dir, nodes_cwd = short / "guard", short / "nodes-cwd"
    for d in (driver_dir, guard_dir, nodes_cwd):
        d.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    # Ray's own files (its address file included) in our folder, not the machine's /tmp/ray, which a
    # fresh machine lacks and another Ray cluster on the machine owns (checked untouched at the end)
    (short / "ray").mkdir()
    machine_file = Path(ray._common.utils.get_ray_address_file(None))
    before = machine_file.read_bytes() if machine_file.exists() else None
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "GRIDPIVOT_TEST_FORBIDDEN": str(driver_dir),
                       "PYTHONPATH": str(guard_dir), "RAY_TMPDIR": str(short)})
    os.environ.pop("RAY_ADDRESS", None)
    os.chdir(nodes_cwd)
    try:
        c = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.2", "temp_dir": str(short / "head")})
        c.add_node(num_cpus=1, node_ip_address="127.0.0.3", temp_dir=str(short / "node2"))
        c.wait_for_nodes(timeout=60)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    try:
        yield c, driver_dir, nodes_cwd
    finally:
        # Cluster.shutdown() deletes the address file of Ray's default temp dir: ours, not the
        # machine's (which another cluster may own)
        saved = os.environ.get("RAY_TMPDIR")
        os.environ["RAY_TMPDIR"] = str(short)
        try:
            c.shutdown()
        finally:
            if saved is None:
                os.environ.pop("RAY_TMPDIR")
            else:
                os.environ["RAY_TMPDIR"] = saved
        after = machine_file.read_bytes() if machine_file.exists() else None
        assert after == before, f"the test cluster changed {machine_file}, which another Ray cluster may own"
        import shutil

        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(scope="module")
def process_pool(cluster):
    _, driver_dir, _ = cluster
    sweep = driver_dir / "sweep.toml"
    sweep.write_text(textwrap.dedent(SWEEP))
    cwd = os.getcwd()
    os.chdir(driver_dir)  # as the command-line drivers below (rows hold commands relative to it)
    try:
        return sweep, run_batch(sweep, workers=2, out=driver_dir / "pool", progress=False)
    finally:
        os.chdir(cwd)


def driver_env(driver_dir: Path) -> dict:
    """A driver's environment: no guard, Ray's files beside the test cluster's, no RAY_ADDRESS."""
    env = {k: v for k, v in os.environ.items() if k not in ("GRIDPIVOT_TEST_FORBIDDEN", "PYTHONPATH", "RAY_ADDRESS")}
    return {**env, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(driver_dir.parent)}


def assert_identical_batches(pool: Path, other: Path) -> None:
    a, b = pd.read_parquet(pool / "batch.parquet"), pd.read_parquet(other / "batch.parquet")
    assert len(a) == 6
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"), check_exact=True)
    for rid in a.loc[a["status"] == "ok", "run_id"]:
        ra, rb = pool / "runs" / rid, other / "runs" / rid
        tables = sorted(p.name for p in ra.glob("*.parquet"))
        assert "hourly.parquet" in tables and tables == sorted(p.name for p in rb.glob("*.parquet"))
        for name in tables + ["config.toml"]:
            assert (ra / name).read_bytes() == (rb / name).read_bytes(), f"{rid}/{name}"
        sa, sb = (json.loads((r / "summary.json").read_text()) for r in (ra, rb))
        sa.pop("wall_s"), sb.pop("wall_s")
        assert sa == sb
    for rid in a.loc[a["status"] == "failed", "run_id"]:
        assert "Traceback" in (other / "errors" / f"{rid}.txt").read_text()
        assert not (other / "runs" / rid).exists()


def test_two_node_sweep_through_address_survives_a_killed_worker_and_matches_the_process_pool(cluster, process_pool):
    c, driver_dir, _ = cluster
    sweep, pool = process_pool
    out = driver_dir / "ray"
    cmd = [sys.executable, str(ROOT / "run.py"), "batch", str(sweep), "--backend", "ray", "--address", c.address,
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=driver_dir, env=driver_env(driver_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    killed: list = []

    def kill_one():  # the first worker seen running a task: SIGKILL, as the OOM killer would
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            busy = worker_processes()
            if busy:
                victim = busy[0]
                victim.send_signal(signal.SIGKILL)
                killed.append(victim.pid)
                return
            time.sleep(0.05)

    t = threading.Thread(target=kill_one)
    t.start()
    try:
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        t.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert killed, "no worker process was seen running a task"
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == psutil.STATUS_ZOMBIE
    # the killed task was retried: every run has its row, none lost
    assert "6 runs (0 already done, 6 ran now" in stdout and "4 ok, 2 failed" in stdout
    assert_identical_batches(pool.folder, out)


def test_workers_without_access_to_the_batch_folder_still_complete_the_batch(cluster, process_pool):
    c, driver_dir, nodes_cwd = cluster
    sweep, pool = process_pool

    # the guard is real: a task on either node cannot write (nor read) the driver's folder
    probe = textwrap.dedent(f"""
        import json, os, ray
        from simulation.batch.executors import ray_runtime_env
        ray.init(address={c.address!r}, log_to_driver=False, runtime_env=ray_runtime_env(), _node_ip_address="127.0.0.2")

        @ray.remote(num_cpus=1)
        def probe(path):
            import simulation
            try:
                open(path, "w").write("x")
                err = None
            except PermissionError as e:
                err = type(e).__name__
            return {{"err": err, "cwd": os.getcwd(), "code": simulation.__file__,
                    "node": ray.get_runtime_context().get_node_id()}}

        out = ray.get([probe.options(scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            n["NodeID"], soft=False)).remote({str(driver_dir / "probe.txt")!r}) for n in ray.nodes() if n["Alive"]])
        print(json.dumps(out))
    """)
    p = subprocess.run([sys.executable, "-c", probe], cwd=driver_dir, env=driver_env(driver_dir), capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stderr[-3000:]
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert len({s["node"] for s in seen}) == 2
    for s in seen:
        assert s["err"] == "PermissionError" and Path(s["cwd"]).resolve() != driver_dir.resolve()
        assert not s["code"].startswith(str(ROOT)), "the workers should run the code shipped as py_modules"
    assert not (driver_dir / "probe.txt").exists()

    out = driver_dir / "ray-noaccess"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "batch", str(sweep), "--backend", "ray", "--address",
                        c.address, "--out", str(out), "--quiet"], cwd=driver_dir, env=driver_env(driver_dir),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "4 ok, 2 failed" in p.stdout
    assert_identical_batches(pool.folder, out)
    assert not any(nodes_cwd.iterdir())  # nor did the workers leave anything in their own working folder
