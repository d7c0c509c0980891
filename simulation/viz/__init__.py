"""The browser visualisation (Solara components on Mesa's visualisation utilities; `components`
says why the page is not SolaraViz's grid): `run.py viz [CONFIG]` or `solara run app.py`.

`live` (the model as the view runs it), `layout` (fixed bus positions), `draw` (SVG map, table,
charts), `components` (Solara components and the page), `serve` (the server for `run.py viz`).
Solara and Mesa's visualisation are imported only by `components` and `serve`'s child process.
"""
