"""End to end through the command line: run the default scenario, read every table back with
pandas, analyse it, kill a run mid-way, and reject bad configs with one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.analysis import figures
from simulation.output import MARKER, RunIncompleteError, is_complete, read_run

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("hourly", "agents", "buses", "blocks", "retargets", "investments", "miner_info", "bus_info")


def cli(*args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=check)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "default"
    r = cli("run", "--out", str(out), "--quiet", check=True)
    assert "blocks" in r.stdout and "hashprice_mean_usd_per_ph_day" in r.stdout
    return out


def test_default_scenario_end_to_end_every_table_reads_with_pandas(default_run):
    assert is_complete(default_run) and not (default_run / MARKER).exists()
    frames = {name: pd.read_parquet(default_run / f"{name}.parquet") for name in TABLES}
    h = frames["hourly"]
    assert len(h) == 2160 and (np.diff(h["hour"]) == 1).all()
    n_miners = frames["agents"]["miner"].nunique()
    assert n_miners == 40 and len(frames["agents"]) == 2160 * n_miners
    assert len(frames["buses"]) == 2160 * frames["buses"]["bus"].nunique()
    # the blocks table is the chain: consecutive heights, and the hourly counts add up to it
    assert (np.diff(frames["blocks"]["height"]) == 1).all() and len(frames["blocks"]) == h["blocks"].sum()
    assert len(frames["retargets"]) >= 5
    # who the miners and buses are: the agent table's LMP is the bus table's at the miner's bus
    info, buses = frames["miner_info"], frames["bus_info"]
    assert info["miner"].tolist() == list(range(n_miners)) and buses["bus"].tolist() == list(range(len(buses)))
    assert set(info["strategy"]) <= {"hodl_hasher", "profit_max", "ai_host", "grid_responsive", "adaptive"}
    assert info["interconnect_mw"].gt(0).all() and info["name"].is_unique and buses["bus_id"].is_unique
    at = frames["agents"].merge(info[["miner", "bus"]], on="miner").merge(frames["buses"], on=["hour", "bus"],
                                                                          suffixes=("", "_bus"))
    assert len(at) == len(frames["agents"])
    np.testing.assert_array_equal(at["lmp_usd_per_mwh"].to_numpy(), at["lmp_usd_per_mwh_bus"].to_numpy())
    assert frames["buses"].merge(buses, on="bus")["zone"].notna().all()
    summary = json.loads((default_run / "summary.json").read_text())
    meta = json.loads((default_run / "meta.json").read_text())
    assert summary["blocks"] == len(frames["blocks"]) and summary["hours"] == 2160
    for key in ("seed", "version", "git_revision", "start_utc", "end_utc", "wall_s", "platform", "mesa"):
        assert key in meta, key
    assert "[run]" in (default_run / "config.toml").read_text()


def test_analyse_writes_figures_whose_data_matches_the_logs(default_run):
    r = cli("analyse", str(default_run), check=True)
    assert "revenue_hash_usd_per_mwh" in r.stdout and "consumer_shed_mwh" in r.stdout
    for name in ("hashrate_difficulty", "mw_split", "lmp_heatmap", "lmp_duration", "miner_cash", "block_intervals"):
        png = default_run / f"{name}.png"
        assert png.exists() and png.stat().st_size > 10_000, name
    # what is drawn is what was logged (read back independently with pandas)
    h = pd.read_parquet(default_run / "hourly.parquet")
    buses = pd.read_parquet(default_run / "buses.parquet")
    drawn = figures.draw_figures(read_run(default_run))
    ax = drawn["hashrate_difficulty"].axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), h["network_eh_s"].to_numpy())
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), h["local_eh_s"].to_numpy())
    heat = drawn["lmp_heatmap"].axes[0].images[0].get_array()
    lmp = buses.pivot(index="bus", columns="hour", values="lmp_usd_per_mwh")
    k = 3  # 2,160 hours on a ~1,000-pixel axis: means over 3-hour blocks
    assert -(-lmp.shape[1] // figures.HEATMAP_COLUMNS) == k
    blocks = lmp.T.groupby(np.arange(lmp.shape[1]) // k).mean().T.to_numpy()
    np.testing.assert_allclose(np.asarray(heat), blocks, rtol=1e-12, atol=1e-9)
    assert "mean over 3 h" in drawn["lmp_heatmap"].axes[1].get_ylabel()  # the colour bar says so
    dur = drawn["lmp_duration"].axes[0].lines
    np.testing.assert_array_equal(dur[0].get_ydata(), np.sort(h["lmp_max_usd_per_mwh"].to_numpy())[::-1])
    hist = drawn["block_intervals"].axes[0].patches
    assert len(hist) == 60
    for fig in drawn.values():
        figures.plt.close(fig)


def test_heat_map_blocks_average_what_each_block_holds():
    grid = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [np.nan, 2.0, np.nan, np.nan, 7.0]])
    np.testing.assert_array_equal(figures.block_means(grid, 2), [[1.5, 3.5, 5.0], [2.0, np.nan, 7.0]])
    assert figures.block_means(grid, 1) is grid
    # an hour-by-hour table as the bus log writes it, shuffled: the pivot's bus x hour array
    buses = pd.DataFrame({"hour": [1, 0, 1, 0], "bus": [7, 7, 3, 3], "lmp_usd_per_mwh": [4.0, 3.0, 2.0, 1.0]})
    lmp, bus, hour = figures.bus_by_hour(buses, "lmp_usd_per_mwh")
    np.testing.assert_array_equal(lmp, [[1.0, 2.0], [3.0, 4.0]])
    assert bus.tolist() == [3, 7] and hour.tolist() == [0, 1]


def test_analyse_compares_runs_side_by_side(default_run, tmp_path):
    other = tmp_path / "hot"
    cli("run", "--out", str(other), "--quiet", "--hours", "240", "--set", "markets.btc_price.s0_usd=90000", check=True)
    r = cli("analyse", str(default_run), str(other), check=True)
    header = next(line for line in r.stdout.splitlines() if "default" in line)
    assert "hot" in header


def test_a_killed_run_leaves_an_incomplete_marker_and_no_table_that_reads_as_complete(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "run.py", "run", "--out", str(out), "--quiet", "--hours", "50000"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    # wait until at least one chunk of tables reached the disk, then terminate mid-run
    hourly = out / "hourly.parquet.partial"
    while time.time() < deadline and not (hourly.exists() and hourly.stat().st_size > 0):
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert (out / MARKER).exists() and not is_complete(out)
    assert json.loads((out / MARKER).read_text())["status"] == "aborted"
    assert not list(out.glob("*.parquet")) and not (out / "summary.json").exists()
    with pytest.raises(RunIncompleteError):
        read_run(out)
    partial = read_run(out, allow_incomplete=True)["hourly"]
    assert 0 < len(partial) < 50000


# (config file text or None, extra CLI args, what the one-line error must mention)
BAD = [
    ("[run]\nhours = 10\nfoo = 1\n", [], "run.foo"),
    ("[rnu]\nhours = 10\n", [], "did you mean"),
    ("[run]\nhours = 'ten'\n", [], "run.hours"),
    ("[run]\nhours = 0\n", [], "run.hours"),
    ("[run]\nhours = 10\n[grid]\ncase = 'ieee9999'\n", [], "grid.case"),
    ("[grid]\ndemand_csv = 'no/such.csv'\n", [], "grid.demand_csv"),
    ("[markets.btc_price]\ns0_usd = -5.0\n", [], "markets.btc_price.s0_usd"),
    ("[markets.btc_price]\nmodel = 'random_walk'\n", [], "markets.btc_price.model"),
    ("[[miners]]\nbus = 'M1'\nstrategy = 'hodler'\n", [], "strategy"),
    ("[[miners]]\nbus = 'nowhere'\n", [], "miners[0].bus"),
    ("[[miners]]\nbus = 'M1'\ninterconnect_mw = -10.0\n", [], "miners[0].interconnect_mw"),
    ("[[miners]]\nbus = 'M1'\ninterconnect_mw = 20.0\nleases = [{mw = 50.0}]\n", [], "miners[0].leases"),
    ("[markets.ai.hosting]\nbuild_usd_per_it_mw = -1.0\n", [], "markets.ai.hosting.build_usd_per_it_mw"),
    ("[investment]\nai_site_capex_usd_per_mw = -5e6\n", [], "investment.ai_site_capex_usd_per_mw"),
    ("[finance]\nrisk_free_rate_per_year = -1.0\n", [], "finance.risk_free_rate_per_year"),
    ("[finance]\nlease_spread_per_year = -1.5\n", [], "finance.lease_spread_per_year"),
    ("[markets.ai.hosting]\nterm_months = 0\n", [], "markets.ai.hosting.term_months"),
    ("[markets.ai.hosting]\nlead_months = -1\n", [], "markets.ai.hosting.lead_months"),
    ("[[miners]]\nbus = 'M1'\nleases = [{mw = 1.0, term_months = 0}]\n", [], "miners[0].leases[0].term_months"),
    ("[bitcoin]\nhalving = 'no'\n", [], "bitcoin.halving"),
    ("[population]\nplacement = 'moon'\n", [], "population.placement"),
    ("[run]\nhours = 10\n[run]\nseed = 1\n", [], "config"),          # TOML syntax: table defined twice
    ("[bitcoin]\nheight = 100\n", [], "bitcoin.window_first_time"),
    ("[run]\nhours = 10\n", ["--set", "run.seed=-1"], "run.seed"),
    ("[run]\nhours = 10\n", ["--set", "grid.copperplate=maybe"], "grid.copperplate"),
    ("[run]\nhours = 10\n", ["--set", "nosuch.key=1"], "nosuch"),
    ("[investment]\nperiod_hours = 0\n", [], "investment.period_hours"),
    ("[rest_of_world]\nshocks = [{start_hour = 10, end_hour = 5, fraction = 0.5}]\n", [], "shocks"),
]


@pytest.mark.parametrize("text,args,mentions", BAD, ids=[b[2] + f"#{i}" for i, b in enumerate(BAD)])
def test_bad_config_is_one_line_exit_2_nothing_written(tmp_path, text, args, mentions):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    r = cli("run", str(cfg), "--out", str(out), "--quiet", *args)
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, err)
    assert len(err.splitlines()) == 1, err
    assert mentions.lower() in err.lower(), err
    assert "Traceback" not in err
    assert not out.exists()


def test_missing_config_file_and_help():
    r = cli("run", "configs/no_such.toml", "--quiet")
    assert r.returncode == 2 and "no_such.toml" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    top = cli("--help", check=True).stdout
    for cmd in ("run", "show-config", "analyse", "batch", "viz"):
        assert cmd in top
        assert cli(cmd, "--help").returncode == 0


def test_show_config_prints_the_resolved_scenario_that_loads_back(tmp_path):
    r = cli("show-config", "configs/heatwave.toml", "--set", "run.hours=48", check=True)
    (tmp_path / "resolved.toml").write_text(r.stdout)
    r2 = cli("show-config", str(tmp_path / "resolved.toml"), check=True)
    assert r.stdout == r2.stdout and "hours = 48" in r.stdout
    assert "USD/MWh" in cli("show-config", "--schema", check=True).stdout


def test_network_only_scenario_runs_the_bitcoin_network_alone(tmp_path):
    out = tmp_path / "net"
    r = cli("run", "configs/bitcoin_shock.toml", "--out", str(out), "--quiet", check=True)
    assert "largest_drop_pct" in r.stdout
    epochs = pd.read_parquet(out / "epochs.parquet")
    assert len(epochs) >= 5 and (epochs["blocks"].iloc[1:-1] == 2016).all()
    r = cli("analyse", str(out), check=True)
    assert "network-only" in r.stdout and (out / "network.png").stat().st_size > 10_000


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "configs").glob("*.toml")))
def test_every_shipped_scenario_loads_and_runs_its_first_two_days(path):
    from simulation.config import load_scenario
    from simulation.model import GridPivotModel

    sc = load_scenario(ROOT / "configs" / path)
    if sc.hashrate is not None:
        pytest.skip("network-only scenario (run by test_network_only_scenario_runs_the_bitcoin_network_alone)")
    hours = 48
    if sc.grid.heatwave.start_day >= 0:
        hours = min(sc.run.hours, 24 * sc.grid.heatwave.start_day + 48)
    m = GridPivotModel(sc, overrides=[f"run.hours={hours}"], collect_mesa=False)
    m.run_hours()
    assert m.steps == hours and np.isfinite(m.lmp_history.latest).all() and m.recorder.last["network_eh_s"] > 100


def test_a_nan_in_a_price_series_is_one_line_before_anything_is_written(tmp_path):
    prices = tmp_path / "btc.csv"
    prices.write_text("hour,btc_usd\n" + "".join(f"{h},{64000 + h}\n" for h in range(30)).replace("64012", "nan"))
    cfg = tmp_path / "series.toml"
    cfg.write_text('[run]\nhours = 24\n[markets.btc_price]\nmodel = "series"\ncsv = "btc.csv"\n')
    out = tmp_path / "out"
    r = cli("run", str(cfg), "--out", str(out), "--quiet")
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.strip().count("\n") == 0 and "markets.btc_price.csv" in r.stderr and "row 14" in r.stderr
    prices.write_text(prices.read_text().replace("nan", "64012"))
    r = cli("run", str(cfg), "--out", str(out), "--quiet", "--hours", "40")
    assert r.returncode == 2 and "has 30 hours but the run needs 40" in r.stderr
    cli("run", str(cfg), "--out", str(out), "--quiet", check=True)
    h = pd.read_parquet(out / "hourly.parquet")
    np.testing.assert_array_equal(h["btc_price_usd"], 64000.0 + np.arange(24))


def test_the_built_in_default_is_configs_default_toml():
    from simulation.config import load_scenario

    assert load_scenario(None) == load_scenario(ROOT / "configs" / "default.toml")
