"""The documentation: every config field in the generated reference, the ODD+D description
complete, the citation metadata in step with the package, and (slow: `pytest -m slow`, run by CI)
the tutorial notebook executing and the site building with warnings as errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pydantic
import pytest
import yaml

import simulation
from simulation.config import Scenario, describe_schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def field_paths(model: type[pydantic.BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a config model as the reference writes it (`a.b`, `list[].key`)."""
    out = []
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        tp, suffix = info.annotation, ""
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
            tp = args[0]
        if typing.get_origin(tp) is list and typing.get_args(tp):
            tp, suffix = typing.get_args(tp)[0], "[]"
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            out += field_paths(tp, key + suffix + ".")
        else:
            out.append(key)
    return out


def test_every_config_field_is_in_the_generated_reference():
    table = describe_schema(Scenario)
    keys = set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.M))
    paths = field_paths(Scenario)
    assert len(paths) > 100
    missing = [p for p in paths if p not in keys]
    assert not missing, f"fields missing from the reference: {missing}"


def test_field_walk_would_notice_a_missing_field():
    """The check above is not vacuous: a field dropped from the table is reported."""
    table = describe_schema(Scenario)
    first = field_paths(Scenario)[0]
    trimmed = "\n".join(line for line in table.splitlines() if not line.startswith(f"| `{first}` |"))
    keys = set(re.findall(r"^\| `([^`]+)` \|", trimmed, flags=re.M))
    assert first not in keys


ODD_D_ELEMENTS = [
    "Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
    "Theoretical and empirical background", "Individual decision making", "Learning",
    "Individual sensing", "Individual prediction", "Interaction", "Collectives", "Heterogeneity",
    "Stochasticity", "Observation", "Implementation details", "Initialisation", "Input data",
    "Submodels",
]


def test_odd_d_description_covers_every_element():
    text = (DOCS / "model" / "odd.md").read_text()
    headings = [h.strip() for h in re.findall(r"^#{2,4} (?:[IVX]+\.[ivx]+ )?(.+)$", text, flags=re.M)]
    missing = [e for e in ODD_D_ELEMENTS if e not in headings]
    assert not missing, f"ODD+D elements without a section: {missing}"
    for section in re.split(r"^#{3} ", text, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        assert len(body.split()) >= 30, f"section '{title}' is a stub"


def test_odd_d_names_code_that_exists():
    """Every repository path the description names exists, so it cannot drift from the code."""
    text = (DOCS / "model" / "odd.md").read_text()
    paths = set(re.findall(r"`((?:simulation|agents|configs)/[\w/.]+\.(?:py|m|csv|toml))", text))
    assert paths
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_citation_metadata_matches_the_package():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == simulation.__version__
    assert cff["title"] and cff["authors"] and cff["message"]


@pytest.mark.slow
def test_tutorial_notebook_executes(tmp_path):
    """docs/tutorials/first_study.ipynb runs top to bottom on a short horizon."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(DOCS / "tutorials" / "first_study.ipynb", as_version=4)
    os.environ["GRIDPIVOT_TUTORIAL_HOURS"] = "120"
    try:
        nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        del os.environ["GRIDPIVOT_TUTORIAL_HOURS"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "4 ok, 0 failed" in text
    assert "counterfactual: bitcoin.halving = true vs false" in text
    assert (tmp_path / "tutorial_output" / "default" / "summary.json").exists()


@pytest.mark.slow
def test_docs_site_builds_without_warnings(tmp_path):
    """`sphinx-build -W -n`: any warning (a broken internal link, a bad docstring, a missing
    reference) fails the build."""
    pytest.importorskip("sphinx")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-n", "--keep-going", "-q",
                           str(DOCS), str(tmp_path / "html")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "html" / "model" / "odd.html").exists()
    assert (tmp_path / "html" / "reference" / "api" / "index.html").exists()
