"""Run one scenario into one log folder: step the model, stream its tables to Parquet in chunks,
show progress, and finish with a summary (also written as `summary.json`)."""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import numpy as np

from simulation.config import Scenario, dump_config
from simulation.output import RunLog, install_signal_handlers, run_meta

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
    writers: dict = {}
    hourly: list[dict] = []

    def flush():
        for name, cols in model.recorder.drain().items():
            if name not in writers:
                writers[name] = log.table(name)
            writers[name].append(cols)
            writers[name].flush()
            if name == "hourly":
                hourly.append(cols)

    with _progress(end, progress, sc.run.name) as bar:
        while model.running and model.steps < end:
            model.step()
            bar.update(1)
            if model.steps % CHUNK_HOURS == 0:
                flush()
    flush()
    cols = {k: np.concatenate([c[k] for c in hourly]) for k in hourly[0]}
    return summarise(cols, model)


def summarise(h: dict[str, np.ndarray], model) -> dict:
    """Headline outcomes of a run from its hourly table (units in the keys)."""
    f = model.fleet
    mean = lambda k: float(np.nanmean(h[k])) if np.isfinite(h[k]).any() else math.nan  # noqa: E731
    retargets = model.bitcoin.retargets
    hours = len(h["hour"])
    mwh = lambda k: float(h[k].sum())  # noqa: E731  MW over one-hour steps = MWh
    return {
        "hours": hours,
        "miners": int(f.n),
        "miners_active_end": int(f.active.sum()),
        "blocks": int(h["blocks"].sum()),
        "mean_block_interval_s": (hours * 3600.0 / max(int(h["blocks"].sum()), 1)),
        "retargets": len(retargets),
        "difficulty_start": float(h["difficulty"][0]),
        "difficulty_end": float(h["difficulty"][-1]),
        "network_eh_s_start": float(h["network_eh_s"][0]),
        "network_eh_s_end": float(h["network_eh_s"][-1]),
        "hashprice_mean_usd_per_ph_day": mean("hashprice_usd_per_ph_day"),
        "btc_price_end_usd": float(h["btc_price_usd"][-1]),
        "mwh_hashing": mwh("mw_hashing"),
        "mwh_ai": mwh("mw_ai"),
        "mwh_curtailed": mwh("mw_curtailed"),
        "revenue_hash_usd": mwh("revenue_hash_usd"),
        "revenue_ai_usd": mwh("revenue_ai_usd"),
        "revenue_dr_usd": mwh("revenue_dr_usd"),
        "power_cost_usd": mwh("power_cost_usd"),
        "lmp_mean_usd_per_mwh": mean("lmp_mean_usd_per_mwh"),
        "lmp_peak_usd_per_mwh": float(h["lmp_max_usd_per_mwh"].max()),
        "consumer_shed_mwh": mwh("consumer_shed_mwh"),
        "miner_unserved_mwh": mwh("miner_unserved_mwh"),
        "curtailed_renewables_mwh": mwh("curtailed_renewables_mwh"),
        "emissions_t": mwh("emissions_t"),
        "emissions_hashing_t": mwh("emissions_hashing_t"),
        "emissions_ai_t": mwh("emissions_ai_t"),
        "miner_cash_end_usd": float(h["miner_cash_usd"][-1]),
        "ai_mw_start": float(h["mw_committed_ai"][0]),
        "ai_mw_end": float(h["mw_committed_ai"][-1]),
        "hosting_mw_end": float(h["mw_lease"][-1]),
        "own_gpu_mw_end": float(h["mw_own_gpu"][-1]),
        "asic_mw_end": float(h["mw_asic"][-1]),
        "capex_usd": float(h["capex_usd"][-1]),
        "debt_end_usd": float(h["miner_debt_usd"][-1]),
    }


def _network_script(sc: Scenario):
    """The network and hash-rate path of a network-only scenario (built before any file is written)."""
    from simulation.bitcoin import HashratePath
    from simulation.drivers import bitcoin_network

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
