"""Every bad input gets one line: a table of bad configs, `--set` values, CSV series, MATPOWER
cases, output folders (in use, read-only, full), damaged run folders and sweep files, each through
the command line as a user types it. Each exits 2 (1 for a disk that cannot be written), prints
exactly one line `error: ...` naming the file and the key where there is one, no traceback, and
leaves no folder claiming to be complete that was not complete before.

Full and read-only disks are small tmpfs mounts when the tests run as root with mount rights;
otherwise the full disk is RLIMIT_FSIZE on a subprocess (and read-only is chmod, skipped as root)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.output import MARKER, is_complete, read_marker

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
#: a scenario that builds and runs in a fraction of a second
SMALL = '[run]\nhours = 2\nagent_log = "none"\n[population]\ncounts = {profit_max = 2}\n'
PRICES = "hour,btc_usd\n" + "".join(f"{h},{64000 + h}\n" for h in range(30))
CASE = textwrap.dedent("""\
    function mpc = tiny
    mpc.version = '2';
    mpc.baseMVA = 100;
    mpc.bus = [
        1 3 50 0 0 0 1 1 0 230 1 1.1 0.9;
        2 1 60 0 0 0 1 1 0 230 1 1.1 0.9;
    ];
    mpc.gen = [
        1 0 0 100 -100 1 100 1 300 0 0 0 0 0 0 0 0 0 0 0 0;
    ];
    mpc.branch = [
        1 2 0.01 0.1 0 150 150 150 0 0 1 -360 360;
    ];
    """)


def complete_folders(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_dir() and is_complete(p)}


# ------------------------------------------------------------------------------------------------
# the table: id -> setup(tmp) returning (argv, exit code, words the line must hold)
CASES: dict = {}


def case(name: str, code: int = 2):
    def deco(fn):
        assert name not in CASES
        CASES[name] = (fn, code)
        return fn
    return deco


def config_case(name: str, text: str, *mentions: str, args: tuple = ()):
    """A config file `bad.toml` run with `args`; the line names the file and `mentions`."""
    def setup(tmp: Path):
        cfg = tmp / "bad.toml"
        cfg.write_text(text)
        return ["run", str(cfg), "--out", str(tmp / "out"), "--quiet", *args], [str(cfg), *mentions]
    CASES[name] = (setup, 2)


def set_case(name: str, sets: list[str], *mentions: str):
    def setup(tmp: Path):
        cfg = tmp / "ok.toml"
        cfg.write_text(SMALL)
        argv = ["run", str(cfg), "--out", str(tmp / "out"), "--quiet"]
        for s in sets:
            argv += ["--set", s] if not s.startswith("--") else s.split(" ", 1)
        return argv, ["--set" if any(not s.startswith("--") for s in sets) else "", *mentions]
    CASES[name] = (setup, 2)


# --- config files: TOML, keys, types, bounds, finite numbers, choices, cross-field rules -------
for name, text, key in [
    ("toml-syntax", "[run]\nhours = = 3\n", "line 2"),
    ("toml-table-twice", "[run]\nhours = 10\n[run]\nseed = 1\n", "defined twice"),
    ("toml-unterminated", 'name = "x', "end of file"),
    ("unknown-section", "[rnu]\nhours = 10\n", "did you mean 'run'"),
    ("unknown-key", "[run]\nhours = 10\nfoo = 1\n", "run.foo"),
    ("unknown-miner-key", "[[miners]]\nbus = 'M1'\nstratgy = 'ai_host'\n", "miners[0].stratgy"),
    ("hours-text", "[run]\nhours = 'ten'\n", "run.hours"),
    ("hours-zero", "[run]\nhours = 0\n", "run.hours"),
    ("hours-float", "[run]\nhours = 2.5\n", "run.hours"),
    ("hours-bool", "[run]\nhours = true\n", "run.hours"),
    ("hours-huge", "[run]\nhours = 200001\n", "run.hours"),
    ("seed-negative", "[run]\nseed = -1\n", "run.seed"),
    ("agent-log", "[run]\nagent_log = 'weekly'\n", "run.agent_log"),
    ("bus-log", "[run]\nbus_log = 'weekly'\n", "run.bus_log"),
    ("utc-offset", "[run]\nutc_offset_h = 20\n", "run.utc_offset_h"),
    ("time-huge", "[bitcoin]\ntime = 317084300000\n", "bitcoin.time"),
    ("time-before-genesis", "[bitcoin]\ntime = 0\n", "bitcoin.time"),
    ("time-run-past-2100", "[bitcoin]\ntime = 4102440000\nwindow_first_time = 4102440000\n", "run.hours"),
    ("bits-zero", "[bitcoin]\nbits = 0\n", "bitcoin.bits"),
    ("bits-zero-target", "[bitcoin]\nbits = 0x03000000\n", "bitcoin.bits"),
    ("bits-too-big", "[bitcoin]\nbits = 0x1FFFFFFFF\n", "bitcoin.bits"),
    ("chain-point-window", "[bitcoin]\nheight = 100\n", "bitcoin.window_first_time"),
    ("window-after-tip", "[bitcoin]\nwindow_first_time = 1800000000\n", "bitcoin.window_first_time"),
    ("rewards-choice", "[bitcoin]\nrewards = 'all'\n", "bitcoin.rewards"),
    ("fees-model", "[bitcoin.fees]\nmodel = 'random'\n", "bitcoin.fees.model"),
    ("fees-negative", "[bitcoin.fees]\nbtc_per_block = -1\n", "bitcoin.fees.btc_per_block"),
    ("fees-nan", "[bitcoin.fees]\nbtc_per_block = nan\n", "bitcoin.fees.btc_per_block"),
    ("fees-series-no-csv", "[bitcoin.fees]\nmodel = 'series'\n", "bitcoin.fees.series_csv"),
    ("grid-case", "[grid]\ncase = 'ieee9999'\n", "grid.case"),
    ("voll-negative", "[grid]\nvoll_usd_per_mwh = -5\n", "grid.voll_usd_per_mwh"),
    ("demand-noise", "[grid]\ndemand_noise = 0.9\n", "grid.demand_noise"),
    ("copperplate-text", "[grid]\ncopperplate = 'maybe'\n", "grid.copperplate"),
    ("demand-csv-missing", "[grid]\ndemand_csv = 'no/such.csv'\n", "grid.demand_csv"),
    ("demand-csv-folder", "[grid]\ndemand_csv = '.'\n", "grid.demand_csv"),
    ("heatwave-factor", "[grid.heatwave]\ndemand_factor = 5.0\n", "grid.heatwave.demand_factor"),
    ("heatwave-days", "[grid.heatwave]\ndays = 0\n", "grid.heatwave.days"),
    ("price-negative", "[markets.btc_price]\ns0_usd = -5.0\n", "markets.btc_price.s0_usd"),
    ("price-inf", "[markets.btc_price]\ns0_usd = inf\n", "markets.btc_price.s0_usd"),
    ("price-model", "[markets.btc_price]\nmodel = 'random_walk'\n", "markets.btc_price.model"),
    ("price-series-no-csv", "[markets.btc_price]\nmodel = 'series'\n", "markets.btc_price.csv"),
    ("price-vol-nan", "[markets.btc_price]\nvol_per_year = nan\n", "markets.btc_price.vol_per_year"),
    ("ai-demand", "[markets.ai]\ndemand_mean = 1.5\n", "markets.ai.demand_mean"),
    ("ai-sla", "[markets.ai.hosting]\nsla_uptime = 0.2\n", "markets.ai.hosting.sla_uptime"),
    ("shock-window", "[rest_of_world]\nshocks = [{start_hour = 10, end_hour = 5, fraction = 0.5}]\n",
     "rest_of_world.shocks[0].end_hour"),
    ("shock-fraction", "[[rest_of_world.shocks]]\nfraction = 2.0\n", "rest_of_world.shocks[0].fraction"),
    ("row-eh-negative", "[rest_of_world]\neh_s = -1.0\n", "rest_of_world.eh_s"),
    ("counts-negative", "[population]\ncounts = {ai_host = -3}\n", "population.counts.ai_host"),
    ("counts-unknown", "[population]\ncounts = {hodlers = 3}\n", "population.counts.hodlers"),
    ("counts-float", "[population]\ncounts = {ai_host = 1.5}\n", "population.counts.ai_host"),
    ("gpu-share-typo", "[population]\ngpu_share = {ai_hots = 0.5}\n", "population.gpu_share.ai_hots"),
    ("gpu-share-negative", "[population]\ngpu_share = {ai_host = -0.5}\n", "population.gpu_share.ai_host"),
    ("asic-model-unknown", "[population]\nasic_models = {S99 = 1.0}\n", "population.asic_models.S99"),
    ("asic-share-negative", "[population]\nasic_models = {S21 = -1.0}\n", "population.asic_models.S21"),
    ("asic-shares-zero", "[population]\nasic_models = {S21 = 0.0}\n", "population.asic_models"),
    ("placement-rule", "[population]\nplacement = 'moon'\n", "population.placement"),
    ("placement-zone", "[population]\nplacement = 'zone:nowhere'\n", "population.placement"),
    ("overbuild-zero", "[population]\noverbuild = 0.0\n", "population.overbuild"),
    ("miner-bus", "[[miners]]\nbus = 'nowhere'\n", "miners[0].bus"),
    ("miner-strategy", "[[miners]]\nbus = 'M1'\nstrategy = 'hodler'\n", "miners[0].strategy"),
    ("miner-interconnect-inf", "[[miners]]\nbus = 'M1'\ninterconnect_mw = inf\n", "miners[0].interconnect_mw"),
    ("miner-interconnect-neg", "[[miners]]\nbus = 'M1'\ninterconnect_mw = -10.0\n", "miners[0].interconnect_mw"),
    ("miner-leases", "[[miners]]\nbus = 'M1'\ninterconnect_mw = 10.0\nleases = [{mw = 50.0}]\n",
     "miners[0].leases"),
    ("lease-share-typo", "[population]\nlease_share = {ai_hots = 0.5}\n", "population.lease_share.ai_hots"),
    ("lease-share-range", "[population]\nlease_share = {ai_host = 1.5}\n", "population.lease_share.ai_host"),
    ("miner-asic-model", "[[miners]]\nbus = 'M1'\nasics = [{model = 'S99'}]\n", "miners[0].asics[0].model"),
    ("miner-asic-units", "[[miners]]\nbus = 'M1'\nasics = [{units = -5}]\n", "miners[0].asics[0].units"),
    ("miner-sell-fraction", "[[miners]]\nbus = 'M1'\nsell_fraction = 2.0\n", "miners[0].sell_fraction"),
    ("miner-gpus-negative", "[[miners]]\nbus = 'M1'\ngpus = {units = -1}\n", "miners[0].gpus.units"),
    ("miners-not-array", "miners = 'x'\n", "miners"),
    ("difficulty-window", "[expectations]\ndifficulty_window_days = 5.0\n", "expectations.difficulty_window_days"),
    ("risk-free-rate", "[finance]\nrisk_free_rate_per_year = -1.0\n", "finance.risk_free_rate_per_year"),
    ("hosting-power", "[markets.ai.hosting]\npower = 'tenant'\n", "markets.ai.hosting.power"),
    ("investment-period", "[investment]\nperiod_hours = 0\n", "investment.period_hours"),
    ("dr-share", "[demand_response]\nstress_demand_share = 2.0\n", "demand_response.stress_demand_share"),
    ("hashrate-segment", "[hashrate]\nsegments = [{start_hour = 5, end_hour = 2}]\n", "hashrate.segments[0].end_hour"),
    ("hashrate-baseline", "[hashrate]\nbaseline = 'lots'\n", "hashrate.baseline"),
    ("hashrate-overlap", "[hashrate]\nsegments = [{start_hour = 0, end_hour = 5}, {start_hour = 3, end_hour = 9}]\n",
     "hashrate.segments"),
]:
    config_case(name, text, key)


@case("config-not-utf8")
def _(tmp):
    cfg = tmp / "bad.toml"
    cfg.write_bytes(b'[run]\nname = "\xff"\n')
    return ["run", str(cfg), "--quiet", "--out", str(tmp / "out")], [str(cfg), "UTF-8"]


@case("config-missing")
def _(tmp):
    return ["run", str(tmp / "nope.toml"), "--quiet", "--out", str(tmp / "out")], ["nope.toml", "no such config"]


@case("config-is-folder")
def _(tmp):
    return ["run", str(tmp), "--quiet", "--out", str(tmp / "out")], [str(tmp)]


@case("show-config-bad")
def _(tmp):
    cfg = tmp / "bad.toml"
    cfg.write_text("[grid]\nvoll_usd_per_mwh = 0\n")
    return ["show-config", str(cfg)], [str(cfg), "grid.voll_usd_per_mwh"]


# --- --set ---------------------------------------------------------------------------------------
set_case("set-seed", ["run.seed=-1"], "run.seed")
set_case("set-bool", ["grid.copperplate=maybe"], "grid.copperplate")
set_case("set-unknown", ["nosuch.key=1"], "nosuch")
set_case("set-no-equals", ["run.hours"], "KEY=VALUE")
set_case("set-index", ["miners[0].bus=M1"], "miners[0]")
set_case("set-bad-path", ["run..hours=1"], "key path")
set_case("set-nan", ["markets.btc_price.s0_usd=nan"], "markets.btc_price.s0_usd")
set_case("set-strategy-count", ["population.counts.hodler=1"], "population.counts.hodler")
set_case("set-csv-missing", ["grid.demand_csv=nope.csv"], "grid.demand_csv")
set_case("set-into-value", ["run.hours.x=1"], "run.hours.x")
set_case("set-gpu-share", ["population.gpu_share.ai_host=-0.1"], "population.gpu_share.ai_host")
set_case("hours-flag", ["--hours 0"], "--hours: run.hours")
set_case("seed-flag", ["--seed -3"], "--seed: run.seed")


# --- CSV series: the data file, its row/line and the config key that named it ------------------
def csv_case(name: str, key: str, section: str, body: bytes | str, *mentions: str, args: tuple = (),
             extra: str = ""):
    def setup(tmp: Path):
        data = tmp / "series.csv"
        data.write_bytes(body if isinstance(body, bytes) else body.encode())
        cfg = tmp / "bad.toml"
        cfg.write_text(SMALL.replace("hours = 2", "hours = 24") + f"[{section}]\n{extra}{key.split('.')[-1]} = 'series.csv'\n")
        return (["run", str(cfg), "--out", str(tmp / "out"), "--quiet", *args],
                [str(cfg), key, "series.csv", *mentions])
    CASES[name] = (setup, 2)


P, PK = "markets.btc_price", "markets.btc_price.csv"
M = "model = 'series'\n"
csv_case("price-not-utf8", PK, P, b"hour,btc_usd\n0,6\xff4000\n", "UTF-8", extra=M)
csv_case("price-no-column", PK, P, "hour,price\n0,64000\n", "btc_usd", extra=M)
csv_case("price-nan", PK, P, PRICES.replace("64012", "nan"), "row 14", extra=M)
csv_case("price-negative", PK, P, PRICES.replace("64003", "-5"), "row 5", extra=M)
csv_case("price-blank-line", PK, P, PRICES.replace("5,64005\n", "5,64005\n\n"), "line 8", extra=M)
csv_case("price-hours-reversed", PK, P, "hour,btc_usd\n" + "".join(f"{29 - h},{64000 + h}\n" for h in range(30)),
         "line 2", extra=M)
csv_case("price-hour-duplicate", PK, P, PRICES.replace("4,64004", "3,64004"), "line 6", extra=M)
csv_case("price-hour-gap", PK, P, PRICES.replace("4,64004\n", ""), "line 6", extra=M)
csv_case("price-hour-from-1", PK, P, "hour,btc_usd\n" + "".join(f"{h + 1},{64000 + h}\n" for h in range(30)),
         "line 2", extra=M)
csv_case("price-too-short", PK, P, PRICES, "has 30 hours but the run needs 40", args=("--hours", "40"), extra=M)
csv_case("price-empty", PK, P, "", "empty", extra=M)
csv_case("price-bad-time", PK, P, "time,btc_usd\n2024-04-20T00:00,64000\nyesterday,64001\n", "line 3", extra=M)
csv_case("price-time-gap", PK, P, "time,btc_usd\n" + "".join(f"2024-04-20T{h:02d}:00,{64000 + h}\n" for h in range(24)
                                                            if h != 7), "line 9", extra=M)
csv_case("price-hour-not-int", PK, P, PRICES.replace("2,64002", "2.5,64002"), "line 4", extra=M)

DK = "grid.demand_csv"
DEMAND = "hour,demand_mw,wind_cf\n" + "".join(f"{h},{9000 + h},0.3\n" for h in range(30))
csv_case("demand-not-utf8", DK, "grid", b"demand_mw\n9\xff000\n", "UTF-8")
csv_case("demand-unknown-column", DK, "grid", "demand_mw,price\n100,3\n", "price")
csv_case("demand-cf-range", DK, "grid", DEMAND.replace("9003,0.3", "9003,1.3"), "row 4")
csv_case("demand-negative", DK, "grid", DEMAND.replace("9003,0.3", "-9003,0.3"), "row 4")
csv_case("demand-too-short", DK, "grid", DEMAND, "needs 40", args=("--hours", "40"))
csv_case("demand-hour-duplicate", DK, "grid", DEMAND.replace("6,9006", "5,9006"), "line 8")
csv_case("demand-blank-line", DK, "grid", DEMAND.replace("3,9003,0.3\n", "3,9003,0.3\n,,\n"), "line 6")
csv_case("demand-not-a-number", DK, "grid", DEMAND.replace("9010", "lots"), "row 11")

FK = "bitcoin.fees.series_csv"
csv_case("fees-negative", FK, "bitcoin.fees", "fees_btc\n0.1\n-0.2\n", "row 3", extra=M)
csv_case("fees-no-column", FK, "bitcoin.fees", "fees\n0.1\n", "fees_btc", extra=M)
csv_case("fees-not-utf8", FK, "bitcoin.fees", b"fees_btc\n0.\xff1\n", "UTF-8", extra=M)
csv_case("fees-no-rows", FK, "bitcoin.fees", "fees_btc\n", "no rows", extra=M)


# --- MATPOWER cases: the case file, its table/row/column and grid.case ---------------------------
def mpc_case(name: str, body: bytes | str, *mentions: str, miners: str = ""):
    def setup(tmp: Path):
        m = tmp / "tiny.m"
        m.write_bytes(body if isinstance(body, bytes) else body.encode())
        cfg = tmp / "bad.toml"
        cfg.write_text(SMALL + f"[grid]\ncase = '{m}'\n" + miners)
        return (["run", str(cfg), "--out", str(tmp / "out"), "--quiet"],
                [str(cfg), "grid.case" if not miners else "miners[0].bus", *mentions])
    CASES[name] = (setup, 2)


mpc_case("mpc-no-generator", CASE.replace("1 0 0 100 -100 1 100 1 300", "1 0 0 100 -100 1 100 0 300"),
         "tiny.m", "mpc.gen")
mpc_case("mpc-ratea-nan", CASE.replace("0 150 150 150", "0 NaN 150 150"), "tiny.m", "RATE_A")
mpc_case("mpc-no-gen-table", CASE.replace("mpc.gen = [", "mpc.generators = ["), "tiny.m", "mpc.gen")
mpc_case("mpc-bad-number", CASE.replace("2 1 60", "2 1 sixty"), "tiny.m", "mpc.bus row 2")
mpc_case("mpc-not-utf8", CASE.encode().replace(b"tiny", b"t\xffny"), "tiny.m", "UTF-8")
mpc_case("mpc-branch-unknown-bus", CASE.replace("1 2 0.01", "1 7 0.01"), "tiny.m", "mpc.branch row 1")
mpc_case("mpc-unclosed", CASE.replace("1 2 0.01 0.1 0 150 150 150 0 0 1 -360 360;\n];", "1 2"), "tiny.m")
mpc_case("mpc-negative-demand", CASE.replace("2 1 60", "2 1 -60"), "tiny.m", "bus 2")
mpc_case("mpc-bus-not-in-case", CASE, "'999'", miners="[[miners]]\nbus = '999'\n")


@case("mpc-missing")
def _(tmp):
    cfg = tmp / "bad.toml"
    cfg.write_text(SMALL + f"[grid]\ncase = '{tmp / 'nope.m'}'\n")
    return ["run", str(cfg), "--out", str(tmp / "out"), "--quiet"], [str(cfg), "grid.case", "nope.m"]


# --- output folders ------------------------------------------------------------------------------
def small_config(tmp: Path) -> Path:
    cfg = tmp / "ok.toml"
    cfg.write_text(SMALL)
    return cfg


@case("out-is-a-file")
def _(tmp):
    (tmp / "out").write_text("x")
    return ["run", str(small_config(tmp)), "--out", str(tmp / "out"), "--quiet"], [str(tmp / "out"), "not a folder"]


@case("out-holds-a-complete-run")
def _(tmp):
    cfg = small_config(tmp)
    assert main(["run", str(cfg), "--out", str(tmp / "done"), "--quiet"]) == 0
    return ["run", str(cfg), "--out", str(tmp / "done"), "--quiet"], [str(tmp / "done"), "complete run"]


@case("out-foreign-folder")
def _(tmp):
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("keep")
    return ["run", str(small_config(tmp)), "--out", str(tmp / "mine"), "--quiet"], [str(tmp / "mine"), "not empty"]


@case("batch-into-a-run-folder")
def _(tmp):
    cfg = small_config(tmp)
    (tmp / "failed").mkdir()
    (tmp / "failed" / MARKER).write_text('{"status": "aborted", "reason": "x"}')
    sweep = tmp / "s.toml"
    sweep.write_text(f'base = "{cfg}"\n[parameters]\n"run.seed" = [1]\n')
    sweep.write_text(f'base = "{cfg}"\n[parameters]\n"markets.btc_price.drift_per_year" = [0.0]\n')
    return ["batch", str(sweep), "--out", str(tmp / "failed"), "--quiet"], [str(tmp / "failed"), "not a batch"]


# --- analyse -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("finished")
    cfg = tmp / "ok.toml"
    cfg.write_text(SMALL.replace('agent_log = "none"', 'agent_log = "daily"'))
    assert main(["run", str(cfg), "--out", str(tmp / "run"), "--quiet"]) == 0
    return tmp / "run"


def copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@case("analyse-missing")
def _(tmp):
    return ["analyse", str(tmp / "nope"), "--no-figures"], [str(tmp / "nope"), "no such run folder"]


@case("analyse-not-a-run")
def _(tmp):
    (tmp / "x").mkdir()
    (tmp / "x" / "a.txt").write_text("")
    return ["analyse", str(tmp / "x"), "--no-figures"], [str(tmp / "x"), "not a run folder"]


@case("analyse-incomplete")
def _(tmp, run=None):
    (tmp / "r").mkdir()
    (tmp / "r" / MARKER).write_text('{"status": "aborted", "reason": "No space left on device"}')
    return ["analyse", str(tmp / "r"), "--no-figures"], [str(tmp / "r"), "No space left on device"]


@case("analyse-damaged-table")
def _(tmp, run=None):
    r = copy_run(run, tmp / "r")
    data = (r / "hourly.parquet").read_bytes()
    (r / "hourly.parquet").write_bytes(data[: len(data) // 2])
    return ["analyse", str(r), "--no-figures"], [str(r / "hourly.parquet"), "re-run"]


@case("analyse-deleted-table")
def _(tmp, run=None):
    r = copy_run(run, tmp / "r")
    (r / "hourly.parquet").unlink()
    return ["analyse", str(r), "--no-figures"], [str(r / "hourly.parquet"), "missing"]


@case("analyse-foreign-table")
def _(tmp, run=None):
    r = copy_run(run, tmp / "r")
    (r / "buses.parquet").replace(r / "hourly.parquet")
    return ["analyse", str(r), "--no-figures"], [str(r / "hourly.parquet"), "no column"]


@case("analyse-foreign-bus-table")
def _(tmp, run=None):
    r = copy_run(run, tmp / "r")
    (r / "hourly.parquet").replace(r / "buses.parquet")  # the figures read three of its columns only
    return ["analyse", str(r)], [str(r / "buses.parquet"), "no column 'bus'"]


@case("analyse-garbage-table")
def _(tmp, run=None):
    r = copy_run(run, tmp / "r")
    (r / "blocks.parquet").write_text("not parquet at all")
    return ["analyse", str(r), "--no-figures"], [str(r / "blocks.parquet")]


@case("analyse-damaged-batch")
def _(tmp):
    (tmp / "b").mkdir()
    (tmp / "b" / "batch.parquet").write_text("junk")
    return ["analyse", str(tmp / "b"), "--no-figures"], [str(tmp / "b" / "batch.parquet")]


# --- sweep files ---------------------------------------------------------------------------------
@case("sweep-missing")
def _(tmp):
    return ["batch", str(tmp / "nope.toml"), "--quiet"], ["nope.toml"]


@case("sweep-unknown-path")
def _(tmp):
    s = tmp / "s.toml"
    s.write_text('[parameters]\n"markets.btc_price.drfit" = [0.0, 1.0]\n')
    return ["batch", str(s), "--out", str(tmp / "b"), "--quiet"], [str(s), "drfit"]


@case("sweep-bad-value")
def _(tmp):
    s = tmp / "s.toml"
    s.write_text('[parameters]\n"grid.voll_usd_per_mwh" = [100.0, -1.0]\n')
    return ["batch", str(s), "--out", str(tmp / "b"), "--quiet"], [str(s), "grid.voll_usd_per_mwh"]


def _check_line(err: str, mentions) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in err, err
    for m in mentions:
        assert m in line, (m, line)
    return line


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_exit_code(name, tmp_path, capsys, monkeypatch, request):
    setup, code = CASES[name]
    monkeypatch.chdir(tmp_path)
    kw = {"run": request.getfixturevalue("finished_run")} if "run" in setup.__code__.co_varnames else {}
    argv, mentions = setup(tmp_path, **kw)
    before = complete_folders(tmp_path)
    out_existed = (tmp_path / "out").exists()
    capsys.readouterr()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == code, (rc, err)
    _check_line(err, [m for m in mentions if m])
    assert complete_folders(tmp_path) <= before
    assert out_existed or not (tmp_path / "out").exists()  # nothing written for a bad input


def test_the_table_holds_over_100_bad_inputs():
    assert len(CASES) + len(IO_CASES) >= 100, len(CASES) + len(IO_CASES)


# ------------------------------------------------------------------------------------------------
# disks that cannot be written, and a folder in use: real processes
def _mount(target: Path, opts: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)], capture_output=True)
    return r.returncode == 0


@contextlib.contextmanager
def disk(tmp: Path, kind: str):
    """(folder, preexec) for a full or read-only disk; preexec limits the file size when no tmpfs."""
    target = tmp / f"{kind}-disk"
    opts = "size=48k" if kind == "full" else "ro,size=1m"
    mounted = _mount(target, opts)
    try:
        if mounted:
            yield target, None
        elif kind == "full":
            def limit():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, 48 * 1024))
            yield target, limit
        elif os.geteuid() != 0:
            target.chmod(0o555)
            yield target, None
            target.chmod(0o755)
        else:
            pytest.skip("read-only disk: needs a tmpfs mount (root without mount rights)")
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


def cli(args, preexec=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, preexec_fn=preexec)


BIG = SMALL.replace("hours = 2", "hours = 400").replace('agent_log = "none"', 'agent_log = "hourly"')
IO_CASES = ["run-full-disk", "run-read-only", "batch-full-disk", "batch-read-only", "run-into-live-run",
            "batch-into-live-run"]


@pytest.mark.parametrize("kind", ["full", "ro"])
def test_run_on_a_disk_that_cannot_be_written_is_exit_1_and_the_marker_keeps_why(tmp_path, kind):
    cfg = tmp_path / "big.toml"
    cfg.write_text(BIG)
    with disk(tmp_path, kind) as (folder, preexec):
        out = folder / "out"
        r = cli(["run", str(cfg), "--out", str(out), "--quiet"], preexec)
        assert r.returncode == 1, r.stderr
        line = _check_line(r.stderr, [])
        assert ("No space left" in line or "File too large" in line) if kind == "full" else "Read-only" in line \
            or "Permission denied" in line, line
        assert not complete_folders(folder)
        if kind == "full":
            marker = read_marker(out)
            assert marker["status"] == "aborted" and ("No space left" in marker["reason"]
                                                      or "File too large" in marker["reason"]), marker


@pytest.mark.parametrize("kind", ["full", "ro"])
def test_batch_on_a_disk_that_cannot_be_written_is_exit_1(tmp_path, kind):
    cfg = tmp_path / "big.toml"
    cfg.write_text(BIG)
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{cfg}"\n[parameters]\n"markets.btc_price.drift_per_year" = [0.0, 0.5]\n')
    with disk(tmp_path, kind) as (folder, preexec):
        r = cli(["batch", str(sweep), "--out", str(folder / "b"), "--quiet", "--workers", "1"], preexec)
        assert r.returncode == 1, r.stderr
        _check_line(r.stderr, [])
        assert not complete_folders(folder)


HOLDER = textwrap.dedent("""
    import sys, time
    from simulation.output import RunLog
    log = RunLog.create(sys.argv[1], config_toml="", meta={})
    print("ready", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_run_or_batch_into_a_folder_in_use_is_refused_naming_the_live_process(tmp_path, command, capsys):
    out = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        cfg = small_config(tmp_path)
        if command == "run":
            argv = ["run", str(cfg), "--out", str(out), "--quiet"]
        else:
            sweep = tmp_path / "s.toml"
            sweep.write_text(f'base = "{cfg}"\n[parameters]\n"markets.btc_price.drift_per_year" = [0.0]\n')
            argv = ["batch", str(sweep), "--out", str(out), "--quiet", "--workers", "1"]
        assert main(argv) == 2
        line = _check_line(capsys.readouterr().err, [str(out), f"pid {holder.pid}"])
        assert "in use" in line
        assert read_marker(out)["status"] == "running" and sorted(p.name for p in out.iterdir()) == [
            MARKER, "config.toml", "meta.json"]  # nothing of the holder's touched
    finally:
        holder.kill()
        holder.wait()


def test_two_runs_into_one_folder_a_keeps_every_hour_b_is_refused(tmp_path):
    """Run A into X (2,000 h); B into X while A runs: B exits 2 naming A's pid, A completes."""
    cfg = tmp_path / "a.toml"
    cfg.write_text(SMALL.replace("hours = 2", "hours = 2000"))
    out = tmp_path / "X"
    a = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "run", str(cfg), "--out", str(out), "--quiet"],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.monotonic()
        while not (read_marker(out) or {}).get("pid") and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        assert a.poll() is None, "A finished before B could start; make A longer"
        b = cli(["run", str(cfg), "--out", str(out), "--quiet"])
        assert b.returncode == 2
        _check_line(b.stderr, [str(out), f"pid {a.pid}", "in use"])
        a_out, a_err = a.communicate(timeout=300)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert a.returncode == 0, a_err
    import pandas as pd

    assert is_complete(out)
    hourly = pd.read_parquet(out / "hourly.parquet")
    assert list(hourly["hour"]) == list(range(2000))
    assert json.loads((out / "summary.json").read_text())["hours"] == 2000
