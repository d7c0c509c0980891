"""`load_grid`: a grid by name ("synthetic", "ieee14", "ieee118"), from a MATPOWER .m path, or
a case shipped with pandapower ("pandapower:<name>", e.g. "pandapower:GBnetwork")."""

from __future__ import annotations

from pathlib import Path

from simulation.grid.matpower import ieee14, ieee118, load_matpower
from simulation.grid.network import Grid
from simulation.grid.pandapower_cases import PREFIX as PANDAPOWER_PREFIX, pandapower_case
from simulation.grid.synthetic import synthetic_grid

BUILTIN = {"synthetic": synthetic_grid, "ieee14": ieee14, "ieee118": ieee118}


def load_grid(name_or_path: str | Path) -> Grid:
    """The built-in grid of that name, the MATPOWER case at that path (ends in `.m`), or a
    pandapower case ("pandapower:<name>")."""
    key = str(name_or_path)
    if key in BUILTIN:
        return BUILTIN[key]()
    if key.startswith(PANDAPOWER_PREFIX):
        return pandapower_case(key[len(PANDAPOWER_PREFIX):])
    if key.lower().endswith(".m"):
        if not Path(key).is_file():
            raise ValueError(f"grid case {key!r}: no such file; give the path of a MATPOWER .m case")
        return load_matpower(key)
    raise ValueError(f"grid case {key!r} is unknown; use 'synthetic', 'ieee14', 'ieee118', "
                     "a MATPOWER .m file path or 'pandapower:<case>'")
