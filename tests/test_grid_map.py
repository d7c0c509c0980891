"""The hour map drawn from a run's logs (`simulation.analysis.grid_map`): it picks the
highest-demand hour, draws what the buses table holds at that hour, and writes a PNG."""

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from simulation.analysis.grid_map import bus_positions, draw_hour_map, write_hour_map
from simulation.config import load_scenario
from simulation.grid import load_grid
from simulation.runner import run_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("map") / "run"
    run_scenario(load_scenario(ROOT / "configs" / "default.toml"), out, progress=False, hours=48)
    return out


def test_the_map_is_the_peak_hour_of_the_logs_with_its_miners_prices_and_emissions(run, tmp_path):
    hourly = pd.read_parquet(run / "hourly.parquet", columns=["hour", "demand_mw"])
    peak = int(hourly.loc[hourly.demand_mw.idxmax(), "hour"])
    buses = pd.read_parquet(run / "buses.parquet", filters=[("hour", "==", peak)])
    grid = load_grid("synthetic")
    fig = draw_hour_map(grid, buses, peak)
    miners, lmp, lme = fig.axes[:3]
    assert f"{buses.miner_mw.sum():,.0f} MW at {int((buses.miner_mw > 0).sum())} buses" in miners.get_title()
    assert f"median {np.median(buses.lmp_usd_per_mwh):,.2f}" in lmp.get_title()
    assert f"median {np.median(buses.lme_t_per_mwh):,.2f}" in lme.get_title()
    # the written PNG (the peak hour by default): drawn, not blank
    png = write_hour_map(run, tmp_path / "map.png")
    image = mpimg.imread(png)
    assert image.shape[0] > 300 and image.shape[1] > 900 and image[..., :3].std() > 0.05


def test_positions_are_finite_and_repeatable():
    grid = load_grid("ieee118")
    a, b = bus_positions(grid), bus_positions(grid)
    assert a.shape == (grid.n_bus, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_a_run_without_hourly_bus_rows_says_how_to_get_them(tmp_path):
    for bus_log in ("daily", "none"):
        out = tmp_path / bus_log
        run_scenario(load_scenario(ROOT / "configs" / "default.toml", [f'run.bus_log="{bus_log}"']), out,
                     progress=False, hours=30)
        with pytest.raises(ValueError, match="run.bus_log=hourly") as e:
            write_hour_map(out, tmp_path / "map.png", hour=5)
        assert ("day's last hour" in str(e.value)) == (bus_log == "daily")
        assert not (tmp_path / "map.png").exists()
    assert write_hour_map(tmp_path / "daily", tmp_path / "map.png", hour=23).exists()  # a day's row: drawn
