"""Shared fixtures: `dispatch_engine` runs a test once per LP engine (HiGHS, and the compiled dual
simplex when numba is installed) by switching the default engine of every `Dispatcher` made."""

import pytest

from simulation.grid import compiled_lp, dispatch

ENGINES = ["highs"] + (["compiled"] if compiled_lp.AVAILABLE else [])


@pytest.fixture(params=ENGINES)
def dispatch_engine(request, monkeypatch):
    monkeypatch.setattr(dispatch, "DEFAULT_ENGINE", request.param)
    return request.param
