"""The browser view's Solara components and the page: Mesa's SolaraViz (step, play/pause, reset,
model parameters) around our own grid map, live charts and miners' table.

Each component subscribes to Mesa's `update_counter`, so it redraws after every step; the map,
charts and table are SVG/HTML strings from `draw` (the browser draws them).
"""

from __future__ import annotations

import html
import os

import numpy as np
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from simulation.viz.draw import CHARTS, MAX_MINER_GLYPHS, grid_map_svg, miner_table_html
from simulation.viz.layout import bus_positions
from simulation.viz.live import LiveModel
from simulation.viz.options import CONFIG_ENV, initial_kwargs, model_params

#: rows of the miners' table
TABLE_ROWS = 15
#: chart order on the page (after the map)
CHART_ORDER = ("hash_rate", "power", "prices", "block_interval")


def _fmt_usd(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def settings_line(model) -> str:
    """What the running model was built with (Mesa's sliders do not show their values)."""
    s = model.settings
    hw = model.heatwave_hours
    heat = f"heat wave days {hw[0] // 24}-{hw[1] // 24 - 1}" if hw else "no heat wave"
    return (f'<div class="gp-settings" style="font:11px sans-serif;color:#666;margin:0 4px">'
            f'seed {s["seed"]} · {s["miners"]} miners ({html.escape(s["strategy_mix"])} mix) · BTC drift '
            f'{s["btc_drift_per_year"]:+.1f}/yr · AI {s["ai_price_usd_per_gpu_hour"]:.2f} USD/GPU-h at start · {heat}</div>')


def map_header(model) -> str:
    """Headline numbers above the map (the hour, prices, grid state) and the model's settings."""
    last = model.recorder.last
    steps = int(model.steps)
    name = html.escape(model.config_name)
    if not last:
        head = (f'<div class="gp-map-header" data-steps="{steps}" style="font:13px sans-serif;margin:2px 4px">'
                f"<b>{name}</b>: {len(model.miners)} miners on {model.grid.n_bus} buses, "
                f"{len(model.grid.line_from)} lines; press Step or Play</div>")
        return head + settings_line(model)
    hw = model.heatwave_hours
    heat = hw is not None and hw[0] <= last["hour"] < hw[1]
    when = model.datetime.strftime("%Y-%m-%d %H:%M")
    return (f'<div class="gp-map-header" data-steps="{steps}" data-hour="{int(last["hour"])}" '
            f'style="font:13px sans-serif;margin:2px 4px">'
            f'<b>{name}</b>, hour <b class="gp-hour">{int(last["hour"])}</b> ({when})'
            f'{" <b style=\'color:#b42318\'>heat wave</b>" if heat else ""} · '
            f'BTC {_fmt_usd(last["btc_price_usd"])} USD · LMP mean {_fmt_usd(last["lmp_mean_usd_per_mwh"])}, '
            f'max {_fmt_usd(last["lmp_max_usd_per_mwh"])} USD/MWh · {int(last["congested_lines"])} lines congested'
            f' · consumer load shed {last["consumer_shed_mwh"]:,.0f} MWh</div>') + settings_line(model)


def map_svg(model) -> str:
    g, f, d = model.grid, model.fleet, model.dispatch
    pos = bus_positions(g)
    names = [str(b) for b in g.bus_ids]
    active = f.active
    hash_mw, ai_mw, curt_mw = f.hash_mw * active, f.ai_mw * active, f.curtailed_mw * active
    bus = np.asarray(f.bus, int)
    if f.n > MAX_MINER_GLYPHS:  # one glyph per bus: the MW of all its miners
        nb = g.n_bus
        titles_by_bus = {}
        for row, name in enumerate(model.miner_names):
            titles_by_bus.setdefault(bus[row], []).append(name)
        keep = np.flatnonzero(np.bincount(bus, minlength=nb))
        sums = [np.bincount(bus, weights=x, minlength=nb)[keep] for x in (hash_mw, ai_mw, curt_mw)]
        titles = [f"{len(titles_by_bus[b])} miners at bus {names[b]}: hashing {h:,.0f}, AI {a:,.0f}, "
                  f"curtailed {c:,.0f} MW" for b, h, a, c in zip(keep, *sums)]
        return grid_map_svg(pos, g.line_from, g.line_to, None if d is None else d.line_loading,
                            None if d is None else d.lmp_usd_per_mwh, names, keep, *sums, titles)
    titles = [f"{n} ({s}) at bus {names[b]}: hashing {h:,.1f}, AI {a:,.1f}, curtailed {c:,.1f} MW"
              for n, s, b, h, a, c in zip(model.miner_names, model.miner_strategies, bus, hash_mw, ai_mw, curt_mw)]
    return grid_map_svg(pos, g.line_from, g.line_to, None if d is None else d.line_loading,
                        None if d is None else d.lmp_usd_per_mwh, names, bus, hash_mw, ai_mw, curt_mw, titles)


@solara.component
def GridMap(model: LiveModel):
    """The grid: buses coloured by LMP, lines by loading, miners as pies sized by MW."""
    update_counter.get()
    return solara.HTML(tag="div", unsafe_innerHTML=map_header(model) + map_svg(model),
                       classes=["gp-map-card"], attributes={"data-steps": str(int(model.steps))})


def _chart_component(kind: str):
    draw_chart = CHARTS[kind]

    @solara.component
    def Chart(model: LiveModel):
        update_counter.get()
        h = model.history
        svg = solara.use_memo(lambda: draw_chart(h), [model, len(h)])
        return solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["gp-chart-card", f"gp-chart-{kind}"],
                           attributes={"data-points": str(len(h))})

    Chart.__name__ = Chart.__qualname__ = "".join(w.title() for w in kind.split("_")) + "Chart"
    return Chart


HashRate, Power, Prices, BlockInterval = (_chart_component(k) for k in CHART_ORDER)


def table_rows(model, n: int = TABLE_ROWS) -> list[dict]:
    """The `n` largest miners by interconnect MW, with this hour's split and margin."""
    f = model.fleet
    order = np.argsort(-f.interconnect_mw, kind="stable")[:n]
    hash_mw, ai_mw, curt, margin = f.hash_mw, f.ai_mw, f.curtailed_mw, f.margin_usd
    bus_ids = model.grid.bus_ids
    return [dict(name=model.miner_names[i], strategy=model.miner_strategies[i], bus=str(bus_ids[f.bus[i]]),
                 interconnect_mw=float(f.interconnect_mw[i]), hash_mw=float(hash_mw[i] * f.active[i]),
                 ai_mw=float(ai_mw[i] * f.active[i]), curtailed_mw=float(curt[i]), margin_usd=float(margin[i]),
                 cash_usd=float(f.cash_usd[i]), active=bool(f.active[i])) for i in order]


@solara.component
def MinerTable(model: LiveModel):
    """The largest miners: strategy, MW split this hour, margin and cash."""
    update_counter.get()
    return solara.HTML(tag="div", unsafe_innerHTML=miner_table_html(table_rows(model), model.fleet.n),
                       classes=["gp-table-card"])


COMPONENTS = [GridMap, HashRate, Power, Prices, BlockInterval, MinerTable]


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
        model = solara.use_memo(lambda: LiveModel(**kwargs), [])
        return SolaraViz(model, components=COMPONENTS, model_params=params, name="gridpivot", play_interval=20)

    return Page


def config_from_env() -> str | None:
    """The scenario `run.py viz CONFIG` asked for (None: the default)."""
    return os.environ.get(CONFIG_ENV) or None


__all__ = ["COMPONENTS", "GridMap", "HashRate", "Power", "Prices", "BlockInterval", "MinerTable", "make_page",
           "map_header", "map_svg", "table_rows", "config_from_env"]
