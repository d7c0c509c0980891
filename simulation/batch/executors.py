"""Where runs execute: worker processes on this machine, or Ray tasks on a cluster. Both feed
tasks through one bounded-submit loop (`bounded`): at most `limit` tasks are in flight, so a
sweep of millions of runs never exists as a list of futures, and each result is yielded to the
driver as soon as it finishes (in finishing order; the driver writes it).

Ray: tasks ask for 1 CPU and are retried by Ray up to `RAY_MAX_RETRIES` times when their worker
process or node dies (runs are deterministic, so a retried run gives the same files). A run
failing by its own error is not an exception (`execute` records it), and application exceptions
are never retried (`retry_exceptions=False`). The code reaches the workers in one of two ways:

- the driver runs from a development checkout (its `simulation` package sits next to a
  pyproject.toml): `simulation` and `agents` are shipped with the tasks as Ray `runtime_env`
  `py_modules`; the nodes need Python 3.12 and the dependencies (`pip install 'gridpivot[ray]'`);
- otherwise the nodes must have the driver's gridpivot installed (`pip install
  'gridpivot[ray]==<version>'`).

Either way every task carries the driver's versions of gridpivot, numpy, mesa and highspy, and a
worker with others stops the batch with a one-line error saying what to install.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from simulation.batch.task import CodeVersionError, RunResult, Task, execute, first_line

#: the start method of worker processes: a fresh interpreter, never a fork of this one
START_METHOD = "spawn"
#: Ray retries of a task whose worker process or node died
RAY_MAX_RETRIES = 3


def bounded(tasks: Iterator[Task], limit: int, submit: Callable[[Task], Any],
            wait_any: Callable[[list], list], result: Callable[[Any, Task], RunResult]) -> Iterator[RunResult]:
    """Keep at most `limit` tasks submitted; yield each result as it finishes and submit the next."""
    pending: dict = {}
    for task in itertools.islice(tasks, limit):
        pending[submit(task)] = task
    while pending:
        for handle in wait_any(list(pending)):
            task = pending.pop(handle)
            yield result(handle, task)
            nxt = next(tasks, None)
            if nxt is not None:
                pending[submit(nxt)] = nxt


# ------------------------------------------------------------------------------------------------
# worker processes
def _worker_init() -> None:
    """Worker processes die with the batch process (Linux), so a batch killed with SIGKILL leaves
    no orphan still running."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)


def run_processes(tasks: Iterator[Task], workers: int, address: str | None = None) -> Iterator[RunResult]:
    """Tasks in `workers` fresh worker processes (spawned, never forked)."""
    ctx = multiprocessing.get_context(START_METHOD)
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)

    def result(fut, task: Task) -> RunResult:
        try:
            return fut.result()
        except (KeyboardInterrupt, OSError):  # OSError: the batch folder cannot be written
            raise
        except CodeVersionError as e:
            raise ValueError(str(e)) from None
        except BrokenProcessPool:
            raise RuntimeError("a worker process died (out of memory or killed?) while running "
                               f"{task.run_id}; re-run the same command to resume") from None
        except BaseException as e:  # SIGTERM in a worker (Terminated, a SystemExit)
            raise RuntimeError(f"run {task.run_id} stopped: {first_line(e)}; re-run the same command to resume") from None

    try:
        yield from bounded(tasks, 2 * workers, lambda t: ex.submit(execute, t),
                           lambda fs: list(wait(fs, return_when=FIRST_COMPLETED)[0]), result)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------------
# Ray
def dev_checkout() -> Path | None:
    """The checkout the driver's code comes from (None when gridpivot is installed as a wheel)."""
    import simulation

    root = Path(simulation.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "agents").is_dir() else None


def ray_runtime_env() -> dict:
    """The runtime_env every task gets: the driver's packages as py_modules from a checkout,
    nothing from an installed wheel (the nodes' own install is used and version-checked)."""
    root = dev_checkout()
    if root is None:
        return {}
    return {"py_modules": [str(root / "simulation"), str(root / "agents")], "excludes": ["__pycache__", "*.pyc"]}


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'gridpivot[ray]'") from None
    return ray


@contextlib.contextmanager
def ray_session(workers: int | None, address: str | None):
    """Connect to the cluster at `address` (or start a local Ray with `workers` CPUs) unless Ray is
    already initialised in this process (then its caller chose the runtime_env); disconnect at the
    end if we connected. The job's runtime_env ships a checkout's code (`ray_runtime_env`; Ray
    uploads local folders only at the job level). No usage statistics, no dashboard for a local Ray."""
    ray = _import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = False
    if not ray.is_initialized():
        kw = dict(log_to_driver=False, logging_level=logging.WARNING, runtime_env=ray_runtime_env() or None)
        try:
            if address:
                host = address.rsplit(":", 1)[0]
                if "://" not in address and host.startswith("127.") and host != "127.0.0.1":
                    # a cluster on this machine's loopback (Ray rewrites 127.0.0.1 itself to the
                    # machine's outward address): the driver joins it at that loopback address
                    kw["_node_ip_address"] = host
                ray.init(address=address, **kw)
            else:
                # address="local": always a new Ray of our own; with None, Ray would join any cluster
                # it finds on this machine (RAY_ADDRESS, or its last-started cluster's address file)
                ray.init(address="local", num_cpus=workers, include_dashboard=False, **kw)
        except ConnectionError as e:
            raise ValueError(f"--address {address}: cannot connect to a Ray cluster there ({first_line(e)}); "
                             "start one with `ray start --head` and pass its address (host:6379 or "
                             "ray://host:10001)") from None
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def run_ray(tasks: Iterator[Task], workers: int | None, address: str | None = None) -> Iterator[RunResult]:
    """Tasks as Ray tasks on the cluster at `address` (default: a local Ray). At most `workers`
    tasks run at once when given, else as many as the cluster has CPUs (twice that in flight)."""
    with ray_session(workers, address) as ray:
        remote = ray.remote(execute).options(num_cpus=1, max_retries=RAY_MAX_RETRIES, retry_exceptions=False)
        if address and workers:
            limit = workers
        else:
            limit = 2 * max(workers or 0, int(ray.cluster_resources().get("CPU", 1)))

        def result(ref, task: Task) -> RunResult:
            try:
                return ray.get(ref)
            except CodeVersionError as e:  # RayTaskError(CodeVersionError) is one
                raise ValueError(first_line(e.cause if hasattr(e, "cause") else e)) from None
            except ray.exceptions.RayTaskError as e:
                raise RuntimeError(f"run {task.run_id} raised on its worker ({first_line(e)}); "
                                   "re-run the same command to resume") from None
            except ray.exceptions.RayError as e:
                raise RuntimeError(f"Ray lost run {task.run_id} after {RAY_MAX_RETRIES} retries ({first_line(e)}); "
                                   "re-run the same command to resume") from None

        yield from bounded(tasks, limit, lambda t: remote.remote(t),
                           lambda refs: ray.wait(refs, num_returns=1)[0], result)
