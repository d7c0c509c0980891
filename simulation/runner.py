"""Run one scenario into one log folder: step the model, stream its tables to Parquet in chunks,
show progress, and finish with a summary (also written as `summary.json`)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np

from simulation.config import Scenario, dump_config
from simulation.output import RunLog, install_signal_handlers, run_meta
from simulation.summary import run_summary

#: hours between flushes of the buffered tables to disk
CHUNK_HOURS = 168


def default_run_dir(sc: Scenario, root: str | Path = "runs") -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{sc.run.name}-{stamp}"


def run_scenario(sc: Scenario, out: str | Path, *, progress: bool = True, seed_note: dict | None = None,
                 model=None, hours: int | None = None) -> dict:
    """Simulate `sc` and log it to `out`; returns the summary. Network-only scenarios (with a
    [hashrate] script) run the Bitcoin network alone. The model is built before anything is
    written, so a scenario that cannot be built leaves no folder behind. `hours` stops the model
    after that many hours (its series stay those of the whole `run.hours`; benchmarks use it)."""
    from simulation.model import GridPivotModel

    out = Path(out)
    if sc.hashrate is None and model is None:
        model = GridPivotModel(sc, collect_mesa=False)
    script = _network_script(sc) if sc.hashrate is not None else None
    meta = run_meta(sc.run.seed, sc.run.name)
    if seed_note:
        meta.update(seed_note)
    install_signal_handlers()
    log = RunLog.create(out, config_toml=dump_config(sc), meta=meta)
    t0 = time.perf_counter()
    with log:
        if sc.hashrate is not None:
            summary = _run_network_only(sc, *script, log, progress)
        else:
            summary = _run_model(model, log, progress, hours)
        wall = time.perf_counter() - t0
        summary["wall_s"] = round(wall, 3)
        log.close(summary, {"wall_s": wall, "end_utc": dt.datetime.now(dt.timezone.utc).isoformat()})
    return summary


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="h", desc=desc, dynamic_ncols=True, mininterval=0.5)


def _run_model(model, log: RunLog, progress: bool, hours: int | None = None) -> dict:
    """Step the model to its end (or for `hours` hours), writing its tables every CHUNK_HOURS
    hours: each table's buffered rows go to Parquet as one row group, columns straight from
    the recorder's arrays."""
    sc = model.config
    end = sc.run.hours if hours is None else min(hours, sc.run.hours)
    model.recorder.last_hour = end - 1  # a daily log's last day may end early
    writers: dict = {}
    hourly: list[dict] = []
    retargets = 0

    def flush():
        nonlocal retargets
        for name, cols in model.recorder.drain().items():
            if name not in writers:
                writers[name] = log.table(name)
            writers[name].write(cols)
            if name == "hourly":
                hourly.append(cols)
            elif name == "retargets":
                retargets += len(cols["height"])

    with _progress(end, progress, sc.run.name) as bar:
        while model.running and model.steps < end:
            model.step()
            bar.update(1)
            if model.steps % CHUNK_HOURS == 0:
                flush()
    flush()
    cols = {k: np.concatenate([c[k] for c in hourly]) for k in hourly[0]}
    return run_summary(cols, retargets, miners=model.fleet.n) | _backtest_summary(model)


def _backtest_summary(model) -> dict:
    """A backtest's score: simulated vs real difficulty at the retargets after block 840,000."""
    if not model.config.backtest.enabled:
        return {}
    from simulation.bitcoin.history import score_retargets

    score = score_retargets([(r.height, r.new_bits) for r in model.bitcoin.network.retargets])
    return {"backtest_retargets_scored": score.n, "backtest_median_abs_error_pct": score.median_abs_pct,
            "backtest_worst_abs_error_pct": score.worst_abs_pct}


def _network_script(sc: Scenario):
    """The network and hash-rate path of a network-only scenario (built before any file is written)."""
    from simulation.bitcoin import HashratePath
    from simulation.bitcoin_side import bitcoin_network

    network = bitcoin_network(sc.bitcoin, np.random.default_rng(sc.run.seed))
    try:
        path = HashratePath(sc.hashrate.segments, sc.hashrate.baseline)
    except ValueError as e:
        raise ValueError(f"hashrate: {e}") from None
    return network, path


def _run_network_only(sc: Scenario, network, path, log: RunLog, progress: bool) -> dict:
    """The Bitcoin network alone under the scenario's scripted hash-rate path."""
    from simulation.bitcoin import format_epochs, simulate_scripted

    result = simulate_scripted(network, path, sc.run.hours, sc.markets.btc_price.s0_usd)
    for name, cols in result.tables.items():
        log.table(name).append(cols)
    if progress:
        print(format_epochs(result))
    return result.summary
