"""The wheel: every package folder is listed in pyproject.toml, and the named scenarios ship inside
it, so an install without a checkout runs `gridpivot run halving_2024` and `gridpivot batch
halving_prices` (configs/ stays at the top of the checkout; the build maps it into the package)."""

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("simulation", "agents")
             for p in (ROOT / top).rglob("__init__.py") if "__pycache__" not in p.parts}
    assert found <= set(conf["packages"]), f"add {sorted(found - set(conf['packages']))} to pyproject's packages"
    assert conf["package-dir"]["simulation.scenarios"] == "configs"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed (without dependencies: this venv has them)
    into a folder of its own, away from the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(f"pip wheel failed: {build.stderr[-2000:]}")
    (wheel,) = (tmp / "dist").glob("gridpivot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "simulation/scenarios/halving_2024.toml" in names and "simulation/scenarios/sweeps/halving_prices.toml" in names
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def gridpivot(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target)}  # ahead of this venv's editable checkout
    return subprocess.run([sys.executable, "-m", "simulation", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_named_scenario_runs_from_an_installed_wheel(installed, tmp_path):
    where = gridpivot(installed, tmp_path, "show-config", "halving_2024")
    assert where.returncode == 0, where.stderr
    assert 'name = "halving_2024"' in where.stdout and "height = 834624" in where.stdout
    probe = subprocess.run([sys.executable, "-c", "import simulation; print(simulation.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(installed))  # the wheel's code, not the checkout's
    run = gridpivot(installed, tmp_path, "run", "halving_2024", "--hours", "24", "--out", "h", "--quiet")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "h" / "summary.json").is_file()
    bad = gridpivot(installed, tmp_path, "run", "halving_2042")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "no named scenario" in bad.stderr and "halving_2024" in bad.stderr
