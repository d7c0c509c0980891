"""A simulated year of the IEEE 118-bus grid with 1,000 miners (`configs/ieee118.toml`), end to
end with its logs written, against a naive baseline on its first hours.

The year (fast path: vectorised decisions, warm-started HiGHS DC-OPF, columnar logs), one core:
wall time (imports, model build, run), simulated hours per second, peak memory (the process's
maximum resident set size, `resource.getrusage`, read right after the year, before anything
else is imported or run) and the share of the run in each phase: agents (bids, allocation,
settlement, investment), dispatch (the DC-OPF), Bitcoin (block discovery), logging (the
recorder and the Parquet writes), drivers (demand, wind, prices) and other (the step loop).
Targets: <= 30 s and <= 1 GiB.

The naive baseline runs the same scenario for its first `--baseline-hours` hours (500) with
every miner bidding alone in a Python loop (`decisions="agents"`) and each hour cleared by
pandapower's `rundcopp` (a net built once: the miners' bid slots as controllable loads with
cost -price, shedding as a generator per bus at VOLL, prices capped like ours; updated and
re-solved every hour, PIPS with its default tolerances and PDIPM_MAX_IT=1000). Its logs are
written like the year's. Speed-up = its time from the first step to the end of hour N / the
year's over the same hours (target >= 10x). Checked on those hours, not assumed:

- lock-step, on the baseline's own states: the vectorised bids equal the per-agent bids, and
  our dispatcher, given the hour's inputs, gives pandapower's LMPs and allocations within
  the tolerances below. Slots whose price is the LMP at their bus (marginal: any split
  among them is optimal) are compared in total per price level, the others slot by slot.
  These checks are timed apart and left out of the baseline's time;
- the two runs' logs agree: LMP per bus and hour, the miners' hashing and AI MW and the blocks
  found per hour (miner MW per bus is printed too: where marginal bids at one price sit at
  several buses, any split between them is optimal, and the two solvers may split them apart).

    .venv/bin/python benchmarks/year_ieee118.py [--hours 8760] [--miners 1000] [--baseline-hours 500]
        [--agent-log daily|hourly|none] [--config configs/ieee118.toml] [--out DIR]

Exit code 1 if a check fails.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")
if hasattr(os, "sched_setaffinity"):  # one core, as the targets say (child processes inherit it)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from simulation import output  # noqa: E402
from simulation.config import resolve_scenario  # noqa: E402
from simulation.grid.dispatch import DispatchResult, Dispatcher  # noqa: E402
from simulation.grid.pandapower_reference import PandapowerMarket  # noqa: E402
from simulation.model import GridPivotModel  # noqa: E402
from simulation.runner import run_scenario  # noqa: E402
from simulation.viz.options import population_counts  # noqa: E402

#: checks: LMPs (USD/MWh) and cleared MW must agree within these
PRICE_TOL = 1e-4
MW_TOL = 1e-4
#: model methods and the phase they count in
PHASES = {"market_signals": "drivers", "collect_bids": "agents", "allocate": "agents", "settle": "agents",
          "invest": "agents", "storage_offers": "agents", "operate_storage": "agents", "dispatch_grid": "dispatch",
          "mine_blocks": "Bitcoin"}
SHOWN = ("agents", "dispatch", "Bitcoin", "logging", "drivers", "other")


# ------------------------------------------------------------------------------------------------
# the scenario
def scenario(config: str, hours: int | None, miners: int | None, agent_log: str | None, seed: int | None):
    """The config, with the run length, the population's size (its strategy mix kept) and the
    agent log changed if asked."""
    base = resolve_scenario(config)
    overrides: list = []
    if hours is not None:
        overrides.append(("run.hours", hours))
    if agent_log is not None:
        overrides.append(("run.agent_log", agent_log))
    if seed is not None:
        overrides.append(("run.seed", seed))
    if miners is not None:
        counts = dict(base.population.counts)
        total = sum(counts.values())
        if not total:
            raise SystemExit(f"{config}: the population has no counts to scale to --miners")
        overrides.append(("population.counts", population_counts(counts, "scenario", miners)))  # largest remainders
    return resolve_scenario(base, overrides) if overrides else base


# ------------------------------------------------------------------------------------------------
# timing by phase
class PhaseClock:
    """Wraps a model's step methods (and, while active, the Parquet writer's) to add up the time
    spent in each phase; `at_hour[h]` is the run's elapsed time when hour h ended."""

    def __init__(self, model) -> None:
        self.t = Counter()
        self.at_hour: dict[int, float] = {}
        self._t0 = None
        for name, phase in PHASES.items():
            self._wrap(model, name, phase)
        self._wrap(model.drivers, "advance", "drivers")
        self._wrap(model.recorder, "record", "logging")
        self._wrap(model.recorder, "record_investments", "logging")
        self._wrap(model.recorder, "drain", "logging")
        step = model.step

        def timed_step():
            if self._t0 is None:
                self._t0 = time.perf_counter()
            step()
            self.at_hour[model.steps] = time.perf_counter() - self._t0

        model.step = timed_step

    def _wrap(self, obj, name: str, phase: str) -> None:
        f = getattr(obj, name)
        t = self.t

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                t[phase] += time.perf_counter() - t0

        setattr(obj, name, timed)

    def __enter__(self):
        """Count the Parquet writes (and the final ones when the log closes) as logging."""
        self._saved = []
        for cls, name in ((output.TableWriter, "append"), (output.TableWriter, "write"), (output.TableWriter, "flush"),
                          (output.RunLog, "close")):
            f = getattr(cls, name)
            self._saved.append((cls, name, f))
            t = self.t

            def timed(*a, _f=f, **k):
                t0 = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    t["logging"] += time.perf_counter() - t0

            setattr(cls, name, timed)
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, f in self._saved:
            setattr(cls, name, f)


# ------------------------------------------------------------------------------------------------
# the naive baseline
class PandapowerDispatch(PandapowerMarket):
    """The hourly market clearing done the naive way: pandapower's DC-OPF (`rundcopp`) on a net
    built once (`simulation.grid.pandapower_reference`), updated and re-solved every hour. The
    same market as `Dispatcher`: bid slots as controllable loads with cost -price (prices capped
    at VOLL - 1 USD/MWh), inflexible demand that can be shed at VOLL (a generator per bus, up to
    its demand)."""

    def __init__(self, grid, bid_bus: np.ndarray, voll_usd_per_mwh: float) -> None:
        super().__init__(grid, bid_bus, voll_usd_per_mwh)
        self._lme = None

    def marginal_emissions(self) -> np.ndarray:
        """The model logs LMEs every hour; pandapower has no basis to give them, so they come from
        our LP on the same hour's inputs (a warm re-solve, ~1 ms against rundcopp's ~500)."""
        if self._lme is None:
            self._lme = Dispatcher(self.grid, self.bid_bus, voll_usd_per_mwh=self.voll)
        self._lme.solve(*self._last)
        return self._lme.marginal_emissions()

    def solve(self, demand_mw, avail_mw, bid_mw, bid_price_usd_per_mwh, min_mw=None, storage=None) -> DispatchResult:
        if min_mw is not None and np.any(np.asarray(min_mw) > 0):
            raise ValueError("PandapowerDispatch: this baseline has no unit floors (min_mw); use a case without Pmin")
        if storage is not None:
            raise ValueError("PandapowerDispatch: this baseline has no storage; run it with storage.enabled = false")
        self._last = (demand_mw, avail_mw, bid_mw, bid_price_usd_per_mwh)
        return super().solve(demand_mw, avail_mw, bid_mw, bid_price_usd_per_mwh, PDIPM_MAX_IT=1000)


class NaiveModel(GridPivotModel):
    """The model with per-agent decisions and pandapower dispatch; every hour it also checks,
    on its own state (timed apart, `check_s`), that the fast path would do the same."""

    def __init__(self, sc) -> None:
        super().__init__(sc, decisions="agents", collect_mesa=False)
        f = self.fleet
        self.fast_dispatcher = self.dispatcher  # ours, warm-started hour after hour like in a run
        self.dispatcher = PandapowerDispatch(self.grid, np.repeat(f.bus, f.n_slots), sc.grid.voll_usd_per_mwh)
        self.check_s = 0.0
        self.checks = Counter()

    def collect_bids(self, s):
        bids = super().collect_bids(s)  # every agent alone, in a Python loop
        t0 = time.perf_counter()
        f = self.fleet
        mw, price = f.bid_mw.copy(), f.bid_usd_per_mwh.copy()
        self.decisions = "vectorised"
        try:
            super().collect_bids(s)
        finally:
            self.decisions = "agents"
        on = f.active
        c = self.checks
        c["bid_mw"] = max(c["bid_mw"], float(np.abs(f.bid_mw[on] - mw[on]).max(initial=0.0)))
        c["bid_price_mismatches"] += int(np.count_nonzero(f.bid_usd_per_mwh[on] != price[on]))
        f.bid_mw[:], f.bid_usd_per_mwh[:] = mw, price
        self.check_s += time.perf_counter() - t0
        return bids

    def dispatch_grid(self, inputs, bid_mw, bid_usd_per_mwh, storage=None):
        cleared = super().dispatch_grid(inputs, bid_mw, bid_usd_per_mwh, storage)  # pandapower
        t0 = time.perf_counter()
        demand, q, price, _ = self.dispatch_inputs(inputs, bid_mw, bid_usd_per_mwh)  # the market the model cleared
        ours = self.fast_dispatcher.solve(demand, inputs.gen_available_mw, q, price, min_mw=inputs.gen_min_mw)
        compare_dispatch(self.checks, ours, cleared.dispatch, q, price, self.fast_dispatcher)
        self.check_s += time.perf_counter() - t0
        return cleared


def compare_dispatch(c: Counter, ours: DispatchResult, ref: DispatchResult, q, price, dispatcher: Dispatcher) -> None:
    """Largest LMP and allocation differences so far; marginal slots (price = the LMP at their
    bus) compared in total per price level, the others slot by slot."""
    c["hours"] += 1
    c["lmp"] = max(c["lmp"], float(np.abs(ours.lmp_usd_per_mwh - ref.lmp_usd_per_mwh).max()))
    eff = np.minimum(price, dispatcher.bid_price_cap_usd_per_mwh)
    marginal = (q > 0) & (np.abs(eff - ours.lmp_usd_per_mwh[dispatcher.bid_bus]) <= PRICE_TOL)
    diff = np.abs(ours.bid_cleared_mw - ref.bid_cleared_mw)
    c["alloc"] = max(c["alloc"], float(diff[~marginal].max(initial=0.0)))
    if marginal.any():
        c["marginal_slot_hours"] += int(marginal.sum())
        levels, group = np.unique(np.round(eff[marginal] / PRICE_TOL), return_inverse=True)
        a = np.bincount(group, ours.bid_cleared_mw[marginal], len(levels))
        b = np.bincount(group, ref.bid_cleared_mw[marginal], len(levels))
        c["alloc_marginal"] = max(c["alloc_marginal"], float(np.abs(a - b).max()))
        c["marginal_split_diff"] = max(c["marginal_split_diff"], float(diff[marginal].max()))


def same_logs(a: Path, b: Path, hours: int) -> dict[str, float]:
    """Largest differences between two runs' logs over the first `hours` hours."""
    import pyarrow.parquet as pq

    out = {}
    ta, tb = (pq.read_table(p / "buses.parquet").to_pandas() for p in (a, b))
    ta, tb = ta[ta.hour < hours], tb[tb.hour < hours]
    for col in ("lmp_usd_per_mwh", "miner_mw"):
        out[col] = float(np.abs(ta[col].to_numpy() - tb[col].to_numpy()).max())
    ha, hb = (pq.read_table(p / "hourly.parquet").to_pandas() for p in (a, b))
    ha, hb = ha[ha.hour < hours], hb[hb.hour < hours]
    for col in ("mw_hashing", "mw_ai", "blocks"):
        out[col] = float(np.abs(ha[col].to_numpy() - hb[col].to_numpy()).max())
    return out


# ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "ieee118.toml"))
    ap.add_argument("--hours", type=int, help="simulated hours (default: the config's, 8,760)")
    ap.add_argument("--miners", type=int,
                    help="miners, the config's strategy mix scaled (default: the config's, 1,000)")
    ap.add_argument("--baseline-hours", type=int, default=500, help="hours run by the naive baseline (0: none)")
    ap.add_argument("--agent-log", choices=["hourly", "daily", "none"], help="per-agent log (default: the config's)")
    ap.add_argument("--seed", type=int, help="root seed (default: the config's)")
    ap.add_argument("--out", help="folder for the runs' logs (default: a temporary folder, deleted)")
    ap.add_argument("--progress", action="store_true", help="progress bars")
    args = ap.parse_args(argv)
    if (args.hours is not None and args.hours < 1) or (args.miners is not None and args.miners < 1) \
            or args.baseline_hours < 0:
        ap.error("--hours and --miners must be >= 1, --baseline-hours >= 0")

    sc = scenario(args.config, args.hours, args.miners, args.agent_log, args.seed)
    return in_out_folder(args.out, "year_bench_", lambda out: _bench(sc, args, out))


def in_out_folder(folder: str | None, prefix: str, bench):
    """bench(out): in `folder`, or in a temporary folder (named `prefix`...) deleted afterwards."""
    out = Path(folder) if folder else Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return bench(out)
    finally:
        if not folder:
            shutil.rmtree(out, ignore_errors=True)


def _bench(sc, args, out: Path) -> int:
    imports_s = time.perf_counter() - T_START
    t0 = time.perf_counter()
    model = GridPivotModel(sc, collect_mesa=False)
    build_s = time.perf_counter() - t0
    g, f = model.grid, model.fleet
    print(f"{Path(args.config).name}: {g.name} ({g.n_bus} buses, {g.n_line} lines, {g.n_gen} units), {f.n} miners "
          f"x {f.n_slots} bid slots, {sc.run.hours} h, agent log {sc.run.agent_log}, seed {sc.run.seed}")

    clock = PhaseClock(model)
    t0 = time.perf_counter()
    with clock:
        summary = run_scenario(sc, out / "year", progress=args.progress, model=model)
    run_s = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    total_s = imports_s + build_s + run_s
    hours = summary["hours"]
    print(f"year, fast path: imports {imports_s:.1f} s + build {build_s:.2f} s + run {run_s:.1f} s = {total_s:.1f} s "
          f"end to end ({'meets' if total_s <= 30 else 'MISSES'} <= 30 s); {hours / run_s:,.0f} simulated hours/s")
    print(f"peak memory: {peak_mib:,.0f} MiB max RSS ({'meets' if peak_mib <= 1024 else 'MISSES'} <= 1 GiB); "
          f"logs {sum(p.stat().st_size for p in (out / 'year').iterdir()) / 2 ** 20:,.1f} MiB on disk")
    phases = dict(clock.t)
    phases["other"] = run_s - sum(phases.values())
    print("share of the run: " + ", ".join(f"{k} {phases.get(k, 0.0) / run_s:.1%}" for k in SHOWN)
          + "  (ms per hour: " + ", ".join(f"{k} {phases.get(k, 0.0) / hours * 1e3:.2f}" for k in SHOWN) + ")")

    n = min(args.baseline_hours, hours)
    if not n:
        return 0
    fast_s = clock.at_hour[n]
    naive = NaiveModel(sc)
    naive_clock = PhaseClock(naive)  # timed like the year: from its first step to the end of hour n
    run_scenario(sc, out / "naive", progress=args.progress, model=naive, hours=n)
    naive_s = naive_clock.at_hour[n] - naive.check_s
    c = naive.checks
    print(f"naive baseline, first {n} h (per-agent Python loop + pandapower rundcopp per hour): {naive_s:.1f} s "
          f"({naive_s / n * 1e3:.0f} ms/h); fast path, same hours: {fast_s:.2f} s ({fast_s / n * 1e3:.2f} ms/h)")
    ratio = naive_s / fast_s
    print(f"speed-up: {ratio:,.0f}x ({'meets' if ratio >= 10 else 'MISSES'} >= 10x)")
    logs = same_logs(out / "year", out / "naive", n)
    ok = {
        "decisions": c["bid_mw"] == 0.0 and c["bid_price_mismatches"] == 0,
        "LMPs": c["lmp"] <= PRICE_TOL,
        "allocations": c["alloc"] <= MW_TOL and c["alloc_marginal"] <= MW_TOL,
        "logs": (logs["lmp_usd_per_mwh"] <= PRICE_TOL and max(logs["mw_hashing"], logs["mw_ai"]) <= MW_TOL * f.n
                 and logs["blocks"] == 0),
    }
    mark = {True: "ok", False: "FAILED"}
    print(f"checks on those {n} h, lock-step on the baseline's states "
          f"(tolerances {PRICE_TOL:g} USD/MWh, {MW_TOL:g} MW):")
    print(f"  decisions, vectorised vs per-agent bids: max |d MW| {c['bid_mw']:.1e}, "
          f"{c['bid_price_mismatches']} price mismatches [{mark[ok['decisions']]}]")
    print(f"  LMPs, ours vs pandapower: max |d| {c['lmp']:.1e} USD/MWh over {c['hours']} hours x {g.n_bus} buses "
          f"[{mark[ok['LMPs']]}]")
    print(f"  allocations, ours vs pandapower: max |d| {c['alloc']:.1e} MW per slot; {c['marginal_slot_hours']} "
          f"marginal slot-hours, per price level max |d| {c['alloc_marginal']:.1e} MW [{mark[ok['allocations']]}]")
    print(f"  logs, year vs baseline run: max |d| LMP {logs['lmp_usd_per_mwh']:.1e} USD/MWh, miners' hashing MW "
          f"{logs['mw_hashing']:.1e}, AI MW {logs['mw_ai']:.1e}, blocks per hour {logs['blocks']:.0f} "
          f"[{mark[ok['logs']]}]; "
          f"miner MW per bus {logs['miner_mw']:.1e} (differs only where marginal bids at one price sit at "
          "several buses: any split is optimal)")
    print("result: " + ("PASS" if all(ok.values()) else "FAIL (" + ", ".join(k for k, v in ok.items() if not v) + ")"))
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
