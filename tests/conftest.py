"""Shared fixtures: `dispatch_engine` runs a test once per LP engine (HiGHS, and the compiled dual
simplex when numba is installed) by switching the default engine of every `Dispatcher` made."""

import pytest

from simulation.grid import compiled_lp, dispatch

#: the compiled engine's runs of the grid tests are `slow` (CI runs them with `pytest -m slow`);
#: tests/test_dispatch_engines.py compares the engines in the default suite
ENGINES = ["highs"] + ([pytest.param("compiled", marks=pytest.mark.slow)] if compiled_lp.AVAILABLE else [])


@pytest.fixture(params=ENGINES)
def dispatch_engine(request, monkeypatch):
    monkeypatch.setattr(dispatch, "DEFAULT_ENGINE", request.param)
    return request.param
