"""The browser visualisation (Mesa SolaraViz + Solara): `run.py viz [CONFIG]` or `solara run app.py`.

`live` (the model as the view runs it), `layout` (fixed bus positions), `draw` (SVG map, table,
charts), `components` (Solara components and the page), `serve` (the server for `run.py viz`).
Solara and Mesa's visualisation are imported only by `components` and `serve`'s child process.
"""
