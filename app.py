"""gridpivot in Mesa's browser visualisation: `solara run app.py` (or `python run.py viz [CONFIG]`).

The scenario shown first comes from the GRIDPIVOT_VIZ_CONFIG environment variable (a name in
configs/ or a TOML path; default: configs/default.toml). The page is built in
`simulation.viz.components`; in a notebook, display `Page()`.
"""

from simulation.viz.components import config_from_env, make_page

Page = make_page(config_from_env())
