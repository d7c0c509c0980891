"""Sphinx configuration for gridpivot's documentation site.

Sphinx (with MyST for Markdown pages and docstrings, MyST-NB for the tutorial notebook, and
sphinx-autodoc2 for the API reference) because the docs are Markdown like the rest of the
repository, the API reference is read from the source without importing it, and the build
fails on any warning or broken internal link (`sphinx-build -W -n`), which CI runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "gridpivot"
author = "gridpivot developers"
copyright = "2026, gridpivot developers"

extensions = [
    "myst_nb",          # Markdown pages (MyST) and the tutorial notebook
    "autodoc2",         # API reference from the source, docstrings as MyST
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist", "tasklist"]
myst_heading_anchors = 3

# The notebook is executed by the test suite (nbmake) on a short horizon; the site shows the
# stored notebook as it is, so building the docs does not run the model.
nb_execution_mode = "off"

autodoc2_packages = [
    {"path": "../simulation", "exclude_dirs": ["__pycache__", "data"]},
    {"path": "../agents", "exclude_dirs": ["__pycache__"]},
]
autodoc2_render_plugin = "myst"
autodoc2_docstring_parser_regexes = [(r".*", "myst")]
autodoc2_hidden_objects = ["private", "inherited", "dunder"]
autodoc2_output_dir = "reference/api"
# Names the packages re-export, documented where they are defined.
autodoc2_replace_annotations = [
    ("simulation.config.Scenario", "simulation.config.schema.Scenario"),
    ("simulation.bitcoin.BitcoinNetwork", "simulation.bitcoin.network.BitcoinNetwork"),
]

html_theme = "pydata_sphinx_theme"
html_title = "gridpivot"
html_theme_options = {"navigation_with_keys": False}
nitpicky = True
nitpick_ignore_regex = [
    # pydantic's Field(...) inside Annotated[...] type aliases of the schema
    (r"py:class", r"Field"),
    # third-party and builtin types that have no inventory here (no network in the build)
    (r"py:.*", r"(numpy|np|pd|pandas|pa|pyarrow|mesa|networkx|nx|scipy|highspy|ray|matplotlib|pydantic|pydantic_core|solara|argparse|typing|collections|datetime|pathlib|concurrent|dataclasses|enum|abc|os|io|json|re|random)(\..*)?"),
    (r"py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None|Any|Callable|Iterable|Iterator|Sequence|Mapping|Path|Literal|Self|NDArray|ArrayLike|Generator|ClassVar|Optional|Union|TypeVar|Protocol|Hashable|MutableMapping|Collection|Awaitable)"),
]


def _generate(app):
    """Write the pages the code generates: the config field reference."""
    from simulation.config import Scenario, describe_schema

    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    (out / "config_fields.md").write_text(describe_schema(Scenario) + "\n")


def setup(app):
    app.connect("builder-inited", _generate)
