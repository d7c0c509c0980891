"""`requirements.lock` pins every dependency for Python 3.12 on Linux x86-64, so a fresh machine
next month installs what the log digests were made with (tests/test_log_digests.py).

The lock is written by uv (`uv pip compile`, the command in its header and in CONTRIBUTING.md) from
`pyproject.toml` with every extra; the README's commands and `.ci/run` install with `-c
requirements.lock`. These tests check the lock against the requirements, not against a network:
every requirement of the project and of each extra is pinned inside its range; the lock is closed
(every locked package installed here at its locked version has its own requirements locked too);
and the install commands use it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
#: the platform the lock is for (PEP 508 marker values)
TARGET = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        if m:
            pins[canonicalize_name(m[1])] = Version(m[2])
    return pins


def applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate({**TARGET, "extra": extra})


def project_requirements() -> list[tuple[str, Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [("dependencies", Requirement(r)) for r in project["dependencies"]]
    for extra, lines in project.get("optional-dependencies", {}).items():
        reqs += [(f"[{extra}]", Requirement(r)) for r in lines]
    return [(where, r) for where, r in reqs if canonicalize_name(r.name) != "gridpivot"]


def test_the_lock_is_for_python_3_12_on_linux_x86_64_with_every_extra():
    header = LOCK.read_text().split("\n", 3)[:3]
    command = " ".join(header)
    assert "--python-version 3.12" in command and "--python-platform x86_64-unknown-linux-gnu" in command
    assert "--all-extras" in command


def test_every_requirement_and_extra_of_pyproject_is_pinned_within_its_range():
    pins = locked()
    missing = [f"{where} {r}" for where, r in project_requirements()
               if applies(r) and canonicalize_name(r.name) not in pins]
    assert not missing, f"not in requirements.lock: {missing}; refresh it (CONTRIBUTING.md, 'The lock')"
    outside = [f"{where} {r} (locked {pins[canonicalize_name(r.name)]})" for where, r in project_requirements()
               if applies(r) and not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert not outside, f"locked outside pyproject's range: {outside}"


def test_the_lock_is_closed_over_what_its_packages_require():
    """Every locked package installed here at its locked version has each of its own requirements
    (for the target platform, with the extras pyproject asks of it) locked within range."""
    pins = locked()
    asked: dict[str, set[str]] = {}
    for _, r in project_requirements():
        asked.setdefault(canonicalize_name(r.name), set()).update(r.extras)
    checked, bad = 0, []
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if pins.get(name) != Version(dist.version):
            continue
        checked += 1
        for line in dist.requires or []:
            r = Requirement(line)
            if not any(applies(r, e) for e in {"", *asked.get(name, ())}):
                continue
            pin = pins.get(canonicalize_name(r.name))
            if pin is None or not r.specifier.contains(pin, prereleases=True):
                bad.append(f"{name} needs {r} (locked: {pin})")
    if checked == 0:
        pytest.skip("no package is installed at its locked version (installed without the lock)")
    assert not bad, bad


@pytest.mark.parametrize("path", ["README.md", ".ci/run"])
def test_the_install_commands_use_the_lock(path):
    text = (ROOT / path).read_text()
    installs = [line for line in text.splitlines() if re.search(r"pip install .*-e ", line)]
    assert installs, f"{path}: no pip install -e command"
    first_two = installs[:2] if path == "README.md" else installs
    assert all("-c requirements.lock" in line for line in first_two), first_two
