"""The browser view's Solara components and the page.

The page: in the sidebar Reset / Play / Step (`RunControls`, driving Mesa's `update_counter`
like Mesa's own controller) and the scenario controls; in the main area our own dashboard: the
grid map, facility MW by use, Bitcoin security, prices, block intervals and the largest miners.

Mesa's `SolaraViz` is not used for the page itself: its draggable grid gives every card one fixed
height (the map's legend fell under the next card), it labels a single page "Page 0", and its
parameter inputs keep their own values when another scenario is chosen. The controls here load
the chosen scenario's values into every control; Reset builds the model from them.

Each card subscribes to Mesa's `update_counter`, so it redraws after every step; the map, charts
and table are SVG/HTML strings from `draw` (the browser draws them).
"""

from __future__ import annotations

import html
import math
import os
import time

import numpy as np
import solara
from mesa.visualization.utils import force_update, update_counter

from simulation.viz.draw import CHARTS, MAX_MINER_GLYPHS, grid_map_svg, map_legend_html, miner_table_html
from simulation.viz.layout import bus_positions
from simulation.viz.live import LiveModel
from simulation.viz.options import CONFIG_ENV, initial_kwargs, model_params

#: rows of the miners' table
TABLE_ROWS = 15
#: chart order on the page: the two beside the map, then the two below it
CHART_ORDER = ("power", "security", "prices", "block_interval")
#: Mesa's play loop: pause between steps (ms) and steps per redraw, as the page starts
PLAY_INTERVAL_MS = 1
RENDER_INTERVAL = 1
TITLE = "gridpivot"

#: the page's layout and its light/dark colours (Vuetify marks the dark theme with .theme--dark)
CSS = """
.gp-dash { display: flex; flex-direction: column; gap: 10px; padding: 6px 2px 16px; }
.gp-top { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap: 10px; align-items: stretch; }
.gp-side { display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.gp-row { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.gp-card { --gp-card-bg: #ffffff; background: var(--gp-card-bg); color: rgba(0, 0, 0, 0.87);
  border: 1px solid rgba(128, 128, 128, 0.3); border-radius: 6px; padding: 4px; min-width: 0; overflow: hidden; }
.theme--dark .gp-card { --gp-card-bg: #1e1e1e; color: rgba(255, 255, 255, 0.9); }
.gp-map-card { display: flex; flex-direction: column; min-height: 440px; }
.gp-map-box { flex: 1 1 0; min-height: 240px; }
.gp-table-card .gp-table-wrap { max-height: 420px; overflow: auto; }
.gp-settings { opacity: 0.7; }
@media (max-width: 1100px) {
  .gp-top, .gp-row { grid-template-columns: minmax(0, 1fr); }
  .gp-map-card { min-height: 560px; }
}
"""


def _fmt_usd(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def settings_line(model) -> str:
    """What the running model was built with."""
    s = model.settings
    hw = model.heatwave_hours
    heat = f"heat wave days {hw[0] // 24}-{hw[1] // 24 - 1}" if hw else "no heat wave"
    return (f'<div class="gp-settings" style="font:11px sans-serif;margin:0 6px">'
            f'seed {s["seed"]} · {s["miners"]} miners ({html.escape(s["strategy_mix"])} mix) · BTC drift '
            f'{s["btc_drift_per_year"]:+.1f}/yr · AI {s["ai_price_usd_per_gpu_hour"]:.2f} USD/GPU-h at start · {heat}</div>')


def map_header(model) -> str:
    """Headline numbers above the map (the hour, prices, grid state) and the model's settings."""
    last = model.recorder.last
    steps = int(model.steps)
    name = html.escape(model.config_name)
    if not last:
        head = (f'<div class="gp-map-header" data-steps="{steps}" style="font:13px sans-serif;margin:2px 6px">'
                f"<b>{name}</b>: {len(model.miner_agents)} miners on {model.grid.n_bus} buses, "
                f"{len(model.grid.line_from)} lines; press Step or Play</div>")
        return head + settings_line(model)
    hw = model.heatwave_hours
    heat = hw is not None and hw[0] <= last["hour"] < hw[1]
    when = f"{model.datetime:%Y-%m-%d %H:%M} local, UTC{model.config.run.utc_offset_h:+d}"  # the grid's wall clock
    return (f'<div class="gp-map-header" data-steps="{steps}" data-hour="{int(last["hour"])}" '
            f'style="font:13px sans-serif;margin:2px 6px">'
            f'<b>{name}</b>, hour <b class="gp-hour">{int(last["hour"])}</b> ({when})'
            f'{" <b style=\'color:#d92d20\'>heat wave</b>" if heat else ""} · '
            f'BTC {_fmt_usd(last["btc_price_usd"])} USD · LMP mean {_fmt_usd(last["lmp_mean_usd_per_mwh"])}, '
            f'max {_fmt_usd(last["lmp_max_usd_per_mwh"])} USD/MWh · {int(last["congested_lines"])} lines congested'
            f' · consumer load shed {last["consumer_shed_mwh"]:,.0f} MWh</div>') + settings_line(model)


def _bus_labels(grid) -> list[str] | None:
    names = getattr(grid, "bus_name", None)
    return None if names is None else [str(n) for n in names]


def map_svg(model) -> str:
    g, f = model.grid, model.fleet
    d = None if model.last_hour is None else model.last_hour.dispatch
    pos = bus_positions(g)
    names = [str(b) for b in g.bus_ids]
    labels = _bus_labels(g)
    active = f.active
    dispatched = d is not None
    if dispatched:
        hash_mw, ai_mw, curt_mw = f.hash_mw * active, f.ai_mw * active, f.curtailed_mw * active
    else:  # nothing dispatched yet: glyphs show each miner's size only
        hash_mw, ai_mw, curt_mw = np.zeros(f.n), np.zeros(f.n), np.asarray(f.interconnect_mw, float) * active
    bus = np.asarray(f.bus, int)
    lmp = d.lmp_usd_per_mwh if dispatched else None
    loading = d.line_loading if dispatched else None
    if f.n > MAX_MINER_GLYPHS:  # one glyph per bus: the MW of all its miners
        nb = g.n_bus
        count = np.bincount(bus, minlength=nb)
        keep = np.flatnonzero(count)
        sums = [np.bincount(bus, weights=x, minlength=nb)[keep] for x in (hash_mw, ai_mw, curt_mw)]
        if dispatched:
            titles = [f"{count[b]} miners at bus {names[b]}: hashing {h:,.0f}, AI {a:,.0f}, curtailed {c:,.0f} MW"
                      for b, h, a, c in zip(keep.tolist(), *(s.tolist() for s in sums))]
        else:
            titles = [f"{count[b]} miners at bus {names[b]}: {c:,.0f} MW, not dispatched yet"
                      for b, c in zip(keep.tolist(), sums[2].tolist())]
        return grid_map_svg(pos, g.line_from, g.line_to, loading, lmp, names, keep, *sums, titles, labels, n_miners=f.n)
    if dispatched:
        titles = [f"{n} ({s}) at bus {names[b]}: hashing {h:,.1f}, AI {a:,.1f}, curtailed {c:,.1f} MW"
                  for n, s, b, h, a, c in zip(model.miner_names, model.miner_strategies, bus.tolist(), hash_mw.tolist(),
                                              ai_mw.tolist(), curt_mw.tolist())]
    else:
        titles = [f"{n} ({s}) at bus {names[b]}: {c:,.1f} MW, not dispatched yet"
                  for n, s, b, c in zip(model.miner_names, model.miner_strategies, bus.tolist(), curt_mw.tolist())]
    return grid_map_svg(pos, g.line_from, g.line_to, loading, lmp, names, bus, hash_mw, ai_mw, curt_mw, titles, labels,
                        n_miners=f.n)


def map_card(model) -> tuple[str, dict]:
    """The map card's HTML and attributes: headline, legend (HTML, so it wraps inside the card)
    and the map filling the rest."""
    body = (map_header(model) + map_legend_html(model.last_hour is not None)
            + f'<div class="gp-map-box">{map_svg(model)}</div>')
    return body, {"data-steps": str(int(model.steps))}


def _chart_card(kind: str):
    draw_chart = CHARTS[kind]

    def card(model) -> tuple[str, dict]:
        h = model.history.snapshot()
        return draw_chart(h), {"data-points": str(len(h))}

    return card


def table_rows(model, n: int = TABLE_ROWS) -> list[dict]:
    """The `n` largest miners by interconnect MW, with this hour's split and margin."""
    f = model.fleet
    order = np.argsort(-f.interconnect_mw, kind="stable")[:n]
    hash_mw, ai_mw, curt, margin = f.hash_mw, f.ai_mw, f.curtailed_mw, f.margin_usd
    bus_ids = model.grid.bus_ids
    dispatched = model.last_hour is not None
    return [dict(name=model.miner_names[i], strategy=model.miner_strategies[i], bus=str(bus_ids[f.bus[i]]),
                 interconnect_mw=float(f.interconnect_mw[i]), hash_mw=float(hash_mw[i] * f.active[i]) if dispatched else 0.0,
                 ai_mw=float(ai_mw[i] * f.active[i]) if dispatched else 0.0,
                 curtailed_mw=float(curt[i]) if dispatched else 0.0, margin_usd=float(margin[i]) if dispatched else 0.0,
                 cash_usd=float(f.cash_usd[i]), active=bool(f.active[i])) for i in order]


def table_card(model) -> tuple[str, dict]:
    """The largest miners: strategy, MW split this hour, margin and cash."""
    return miner_table_html(table_rows(model), model.fleet.n), {}


#: the dashboard's cards: name -> (CSS classes, function of the model giving (HTML, attributes))
CARDS = {"map": (["gp-card", "gp-map-card"], map_card),
         **{k: (["gp-card", "gp-chart-card", f"gp-chart-{k}"], _chart_card(k)) for k in CHART_ORDER},
         "table": (["gp-card", "gp-table-card"], table_card)}


def _live_cards(model) -> dict:
    """The card widgets on screen for `model` (name -> widget), filled by `Card`."""
    cards = getattr(model, "_view_cards", None)
    if cards is None:
        cards = model._view_cards = {}
    return cards


@solara.component
def Card(model: LiveModel, name: str, tick: int = 0):
    """One dashboard card (an HTML widget). It registers its widget with the model, so the play
    loop can redraw it directly (`redraw_cards`)."""
    classes, draw_card = CARDS[name]
    body, attributes = solara.use_memo(lambda: draw_card(model), [model, tick])
    el = solara.HTML(tag="div", unsafe_innerHTML=body, classes=classes, attributes=attributes)

    def register():
        widget = solara.get_widget(el)
        cards = _live_cards(model)
        cards[name] = widget

        def unregister():
            if cards.get(name) is widget:
                del cards[name]

        return unregister

    solara.use_effect(register, [model])
    return el


def redraw_cards(model) -> None:
    """Redraw every card on screen from the model as it is now, by setting the widgets' HTML
    directly: no render pass over the page (Solara walks all of it on each state change, which
    was most of a step's time). `force_update` afterwards brings the components in line."""
    for name, widget in list(_live_cards(model).items()):
        body, attributes = CARDS[name][1](model)
        widget.unsafe_innerHTML = body
        widget.attributes = {**widget.attributes, **attributes}


def GridMap(model: LiveModel, tick: int = 0):
    """The grid map card."""
    return Card(model, "map", tick)


def _chart_component(kind: str):
    def Chart(model: LiveModel, tick: int = 0):
        return Card(model, kind, tick)

    Chart.__name__ = Chart.__qualname__ = "".join(w.title() for w in kind.split("_")) + "Chart"
    return Chart


Power, Security, Prices, BlockInterval = (_chart_component(k) for k in CHART_ORDER)


def MinerTable(model: LiveModel, tick: int = 0):
    """The miners' table card."""
    return Card(model, "table", tick)


@solara.component
def Dashboard(model: LiveModel):
    """The main area: the map beside facility MW and security, prices and block intervals below,
    then the largest miners. Plain CSS grid: every card is as tall as its content.

    Only this component subscribes to Mesa's `update_counter` and hands the count down: Solara
    walks the whole page once per subscriber on every change (with one in every card and Mesa's
    step counter, seven passes: 0.2 s a step here). While playing, the loop redraws the cards
    directly (`redraw_cards`) and updates the counter once when it stops."""
    tick = update_counter.get()
    solara.Style(CSS)
    with solara.Div(classes=["gp-dash"]):
        with solara.Div(classes=["gp-top"]):
            Card(model, "map", tick)
            with solara.Div(classes=["gp-side"]):
                Card(model, "power", tick)
                Card(model, "security", tick)
        with solara.Div(classes=["gp-row"]):
            Card(model, "prices", tick)
            Card(model, "block_interval", tick)
        Card(model, "table", tick)


COMPONENTS = [GridMap, Power, Security, Prices, BlockInterval, MinerTable]  # one card each


def scenario_values(config: str | None) -> tuple[dict, dict]:
    """(control specs, control values) for a scenario: every control at that scenario's value."""
    spec = model_params(config)
    return spec, initial_kwargs(spec)


def _label(spec: dict, value) -> str:
    """A slider's label with its value (a Vuetify slider shows none until dragged)."""
    label = spec.get("label", "")
    if spec["type"] == "SliderFloat":
        step = float(spec.get("step") or 0.01)
        return f"{label}: {float(value):.{max(0, -math.floor(math.log10(step) + 1e-9))}f}"
    if spec["type"] == "SliderInt":
        return f"{label}: {int(value):,}"
    return label


@solara.component
def ScenarioControls(spec: solara.Reactive[dict], values: solara.Reactive[dict]):
    """The model's controls. Choosing a scenario loads that scenario's values into every control;
    Reset builds the model from the controls."""

    def choose_scenario(name: str) -> None:
        new_spec, new_values = scenario_values(name)
        spec.set(new_spec)
        values.set(new_values)

    def setter(key: str):
        return lambda v: values.set({**values.value, key: v})

    for key, s in spec.value.items():
        v = values.value.get(key, s.get("value"))
        kind = s["type"]
        if key == "config":
            solara.Select(s["label"], value=v, values=s["values"], on_value=choose_scenario)
        elif kind == "Select":
            solara.Select(s["label"], value=v, values=s["values"], on_value=setter(key))
        elif kind == "SliderInt":
            solara.SliderInt(_label(s, v), value=int(v), min=s["min"], max=s["max"], step=s["step"],
                             on_value=setter(key), thumb_label=False)
        elif kind == "SliderFloat":
            solara.SliderFloat(_label(s, v), value=float(v), min=s["min"], max=s["max"], step=s["step"],
                               on_value=setter(key), thumb_label=False)
        elif kind == "Checkbox":
            solara.Checkbox(label=s["label"], value=bool(v), on_value=setter(key))
    solara.Text("Reset builds the model from these values.", style={"font-size": "12px", "opacity": "0.7"})


@solara.component
def RunControls(model: solara.Reactive, values: solara.Reactive[dict], play_interval: solara.Reactive[int],
                render_interval: solara.Reactive[int]):
    """Reset, Play/Pause and Step.

    Mesa's `ModelController` steps in a thread that re-renders the page after each step (a state
    change) with a fixed pause in between; when a redraw takes longer than that pause, a click's
    own render never sees the state settle and Solara stops with "too many renders". This loop
    redraws the cards' widgets directly while playing (`redraw_cards`: no state changes, no render
    passes) and updates Mesa's `update_counter` once when it stops."""
    playing = solara.use_reactive(False)
    error = solara.use_reactive(None)
    running = model.value.running

    def do_step() -> None:
        for _ in range(max(int(render_interval.value), 1)):
            model.value.step()
        force_update()

    def play_loop() -> None:
        try:
            while playing.value and model.value.running:
                for _ in range(max(int(render_interval.value), 1)):
                    model.value.step()
                    if not playing.value:
                        break
                redraw_cards(model.value)
                time.sleep(play_interval.value / 1000.0)
            if not model.value.running:
                playing.set(False)
        except Exception as e:  # shown on the page; the loop stops
            error.set(f"error in step: {e}")
            playing.set(False)
        finally:
            force_update()  # the components catch up with the model (one render pass)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def do_reset() -> None:
        playing.set(False)
        error.set(None)
        model.set(type(model.value)(**values.value))
        force_update()

    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=do_reset)
        solara.Button(label="❚❚" if playing.value else "▶", color="primary",
                      on_click=lambda: playing.set(not playing.value), disabled=not running)
        solara.Button(label="Step", color="primary", on_click=do_step, disabled=playing.value or not running)
    if error.value:
        solara.Error(label=error.value)


@solara.component
def PlayControls(play_interval: solara.Reactive[int], render_interval: solara.Reactive[int]):
    solara.SliderInt(f"Pause between steps: {play_interval.value} ms", value=play_interval, min=1, max=500,
                     step=1, thumb_label=False)
    solara.SliderInt(f"Redraw every {render_interval.value} step(s)", value=render_interval, min=1, max=50, step=1,
                     thumb_label=False)


def make_page(config: str | None = None, **start):
    """The page component for `config` (a name in configs/ or a TOML path; None: the default).
    `start` sets controls' starting values (e.g. `miners=8`). Each browser session builds its
    own model."""
    params = model_params(config)
    for key, value in start.items():
        if key not in params:
            raise ValueError(f"{key}: not a control of the view; use one of {sorted(params)}")
        params[key] = {**params[key], "value": value}
    kwargs = initial_kwargs(params)

    @solara.component
    def Page():
        first = solara.use_memo(lambda: LiveModel(**kwargs), [])
        model = solara.use_reactive(first)
        spec = solara.use_reactive(params)
        values = solara.use_reactive(kwargs)
        play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
        render_interval = solara.use_reactive(RENDER_INTERVAL)
        solara.Title(f"{TITLE}: {model.value.config_name}")
        with solara.AppBar():
            solara.AppBarTitle(TITLE)
            solara.lab.ThemeToggle()
        with solara.Sidebar(), solara.Column():
            with solara.Card("Run"):
                RunControls(model, values, play_interval, render_interval)
                PlayControls(play_interval, render_interval)
            with solara.Card("Scenario"):
                ScenarioControls(spec, values)
        Dashboard(model.value)

    return Page


def configure_server() -> None:
    """Solara server settings for this app: the browser tab's title before the page sets its own,
    and no "runs on Solara" badge (a fixed box that covered the page's corner)."""
    from solara.server import settings

    settings.theme.title = TITLE
    settings.theme.show_banner = False


def config_from_env() -> str | None:
    """The scenario `run.py viz CONFIG` asked for (None: the default)."""
    return os.environ.get(CONFIG_ENV) or None


__all__ = ["CARDS", "Card", "COMPONENTS", "Dashboard", "redraw_cards", "GridMap", "Power", "Security", "Prices", "BlockInterval", "MinerTable",
           "ScenarioControls", "make_page", "map_header", "map_svg", "table_rows", "config_from_env",
           "configure_server", "scenario_values"]
