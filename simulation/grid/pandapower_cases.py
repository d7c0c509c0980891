"""Test cases shipped with pandapower (`pandapower.networks`) as `Grid`s: grids larger than the
built-in IEEE 118, e.g. `GBnetwork` (National Grid's 2,224-bus model of Great Britain), loaded
as `load_grid("pandapower:GBnetwork")`. pandapower is optional (the `test` extra).

pandapower's own converter (`pandapower.converter.pypower.to_ppc`) turns the case into MATPOWER
tables (its internal bus order, transformers as branches with their tap ratios, static
generators netted into bus demand); our MATPOWER rules (`grid_from_mpc`, see `matpower.py`)
make the Grid, with one rule added: a bus whose net demand Pd + Gs is negative (more static
generation than load) gets demand 0 and a zero-cost unit of kind "other" with capacity equal
to the net injection (our Grid has no negative demand).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from simulation.grid.matpower import grid_from_mpc
from simulation.grid.network import Grid

PREFIX = "pandapower:"


def pandapower_case(name: str) -> Grid:
    """`pandapower.networks.<name>()` as a Grid (see the module docstring for the rules)."""
    where = f"{PREFIX}{name}"
    try:
        import pandapower.networks as pn
        from pandapower.converter.pypower import to_ppc
    except ImportError:
        raise ValueError(f"grid case {where!r} needs pandapower; install the test extra "
                         "(pip install -e '.[test]')") from None
    make = getattr(pn, name, None) if name and not name.startswith("_") else None
    if not callable(make):
        cases = sorted(n for n in dir(pn) if n.startswith("case") or n.startswith("GB"))
        raise ValueError(f"grid case {where!r}: pandapower.networks has no case {name!r}; use one of {cases}")
    quiet = logging.getLogger("pandapower")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ppc = to_ppc(make(), init="flat", calculate_voltage_angles=True)
    finally:
        quiet.setLevel(level)
    mpc = {"baseMVA": float(ppc["baseMVA"]), "bus": np.real(ppc["bus"]).astype(float),
           "gen": np.real(ppc["gen"]).astype(float), "branch": np.real(ppc["branch"]).astype(float)}
    gencost = ppc.get("gencost")
    if gencost is not None and len(gencost) == len(mpc["gen"]):
        mpc["gencost"] = np.real(gencost).astype(float)
    _injections_to_units(mpc)
    return grid_from_mpc(mpc, name, where)


def _injections_to_units(mpc: dict) -> None:
    """Buses with negative Pd + Gs: demand 0, and a zero-cost unit for the net injection."""
    bus, gen = mpc["bus"], mpc["gen"]
    net = bus[:, 2] + bus[:, 4]
    inject = np.flatnonzero((net < 0) & (bus[:, 1] != 4))
    if not inject.size:
        return
    rows = np.zeros((inject.size, gen.shape[1]))
    rows[:, 0] = bus[inject, 0]  # GEN_BUS
    rows[:, 7] = 1.0  # GEN_STATUS
    rows[:, 8] = -net[inject]  # PMAX
    bus[inject, 2] = 0.0
    bus[inject, 4] = 0.0
    mpc["gen"] = np.vstack([gen, rows])
    if "gencost" in mpc:
        gc = mpc["gencost"]
        extra = np.zeros((inject.size, gc.shape[1]))
        extra[:, 0] = 2.0  # polynomial
        extra[:, 3] = 2.0  # c1, c0: both 0
        mpc["gencost"] = np.vstack([gc, extra])
