"""gridpivot in the browser (Mesa + Solara): `solara run app.py` (or `python run.py viz [CONFIG]`).

The scenario shown first comes from the GRIDPIVOT_VIZ_CONFIG environment variable (a name in
configs/ or a TOML path; default: configs/default.toml). The page is built in
`simulation.viz.components`; in a notebook, display `Page()`.
"""

from simulation.viz.components import config_from_env, configure_server, make_page

configure_server()
Page = make_page(config_from_env())
