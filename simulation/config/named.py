"""Named scenarios: the TOML files of the project's `configs/` folder, called by their stem
(`gridpivot run halving_2024`), and its sweep files (`configs/sweeps/`, `gridpivot batch
halving_prices`).

A development checkout reads them from `configs/` at the top of the checkout. A wheel carries the
same files as package data: the build maps `configs/` to `simulation/scenarios/` (pyproject's
`[tool.setuptools.package-dir]`), so `configs/` stays where the project layout puts it and an
installed copy needs no checkout.
"""

from __future__ import annotations

from pathlib import Path

#: the package `configs/` becomes inside a wheel
PACKAGE = "simulation.scenarios"


def scenarios_dir() -> Path | None:
    """The folder of the named scenarios: `configs/` of this checkout, else the installed copy."""
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "configs"
    if (checkout / "default.toml").is_file():
        return checkout
    installed = here.parents[1] / "scenarios"
    if (installed / "default.toml").is_file():
        return installed
    return None


def _named(folder: Path | None, name: str) -> Path | None:
    if folder is None or not name or name.endswith(".toml") or any(c in name for c in "/\\"):
        return None
    p = folder / f"{name}.toml"
    return p if p.is_file() else None


def named_scenario(name: str) -> Path | None:
    """The file of the named scenario `name` ("halving_2024"), or None if there is none."""
    return _named(scenarios_dir(), str(name))


def named_sweep(name: str) -> Path | None:
    """The file of the named sweep `name` ("halving_prices"), or None if there is none."""
    d = scenarios_dir()
    return _named(d / "sweeps" if d is not None else None, str(name))


def scenario_names() -> list[str]:
    """The named scenarios, sorted."""
    d = scenarios_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d is not None else []


def sweep_names() -> list[str]:
    d = scenarios_dir()
    return sorted(p.stem for p in (d / "sweeps").glob("*.toml")) if d is not None else []


def scenario_file(config: str | Path | None) -> Path | None:
    """A CONFIG argument -> the scenario file: an existing path as it is, else a named scenario.
    None stays None (the built-in default). Raises FileNotFoundError naming both ways to fix it."""
    if config is None or str(config) == "":
        return None
    p = Path(config)
    if p.is_file():
        return p
    found = named_scenario(str(config))
    if found is not None:
        return found
    names = ", ".join(scenario_names()) or "none installed"
    raise FileNotFoundError(f"{config}: no such config file and no named scenario of that name; pass a TOML path "
                            f"or one of: {names}")


def sweep_file(sweep: str | Path) -> Path:
    """A SWEEP argument -> the sweep file: an existing path as it is, else a named sweep."""
    p = Path(sweep)
    if p.is_file():
        return p
    found = named_sweep(str(sweep))
    if found is not None:
        return found
    names = ", ".join(sweep_names()) or "none installed"
    raise FileNotFoundError(f"{sweep}: no such sweep file and no named sweep of that name; pass a TOML file like "
                            f"configs/sweeps/halving_prices.toml or one of: {names}")
