"""What the browser view draws, as plain SVG/HTML strings (no Solara here, so it is testable):
the grid map, the miners' table and the live charts.

Everything is rebuilt from arrays each step in a few milliseconds and drawn by the browser;
matplotlib figures re-rendered to PNG every step cost 40-90 ms each here, too slow for four charts
and a map within the half-second step budget.
"""

from __future__ import annotations

import html
import math

import numpy as np

# colours -------------------------------------------------------------------------------------
HASH_COLOUR = "#f7931a"  # Bitcoin orange
AI_COLOUR = "#7b3fa0"  # purple
CURTAILED_COLOUR = "#c4c4c4"  # grey: capacity left undrawn
#: fixed LMP scale (USD/MWh): bin edges and one colour per bin (RdYlBu reversed; cheap = blue)
LMP_EDGES = (0.0, 20.0, 35.0, 50.0, 75.0, 100.0, 200.0, 1000.0)
LMP_COLOURS = ("#313695", "#5183bb", "#90c3dd", "#d4edf4", "#fffebe", "#fed283", "#f88c51", "#dd3d2d", "#a50026")
LMP_LABELS = ("<0", "0-20", "20-35", "35-50", "50-75", "75-100", "100-200", "200-1k", ">1k")
LINE_IDLE = np.array([0xbb, 0xbb, 0xbb], float)
LINE_FULL = np.array([0xd6, 0x27, 0x28], float)
#: miners above this count are drawn as one glyph per bus (their MW and split summed)
MAX_MINER_GLYPHS = 200
#: MW at which a miner glyph reaches its largest radius (fixed, so sizes compare across steps)
MW_FULL_SIZE = 300.0

#: colour of a bus before the first dispatch (no price yet)
UNPRICED_COLOUR = "#e0e0e0"
#: map units per unit of layout position, and the margin around the drawn grid (map units)
_MAP_SCALE, _MAP_PAD = 600.0, 26.0
#: buses up to this count get their name written beside them (more: in the tooltip only)
MAX_BUS_LABELS = 150


def lmp_bin(lmp_usd_per_mwh: np.ndarray) -> np.ndarray:
    """Index into `LMP_COLOURS` for each price (fixed bins, so a colour always means one price).
    Prices are binned at cent precision, so solver noise (19.9999999 vs 20.0) never splits equal
    prices across a bin edge; a price on an edge belongs to the bin above it."""
    cents = np.round(np.asarray(lmp_usd_per_mwh, float), 2)
    return np.searchsorted(np.asarray(LMP_EDGES), cents, side="right")


def loading_colour(loading: float) -> str:
    """Grey when idle to red at the thermal limit."""
    t = min(max(float(loading), 0.0), 1.0) ** 1.5
    r, g, b = (LINE_IDLE + (LINE_FULL - LINE_IDLE) * t).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


#: line colour and width at each whole percent of loading (a step draws hundreds of lines)
_LINE_COLOURS = [loading_colour(p / 100) for p in range(101)]
_LINE_WIDTHS = [f"{0.8 + 3.7 * p / 100:.2f}" for p in range(101)]


def _xy(pos: np.ndarray) -> np.ndarray:
    """Map [0, 1] positions (y up) to map units (y down)."""
    pos = np.asarray(pos, float)
    return np.column_stack([pos[:, 0] * _MAP_SCALE, (1.0 - pos[:, 1]) * _MAP_SCALE])


def _pie(cx: float, cy: float, r: float, parts: tuple[float, float, float]) -> str:
    """An SVG pie (hashing, AI, curtailed shares) as circles/paths."""
    total = sum(parts)
    if total <= 1e-9:
        return (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="currentColor" '
                f'stroke-opacity="0.6" stroke-width="1"/>')
    out = []
    colours = (HASH_COLOUR, AI_COLOUR, CURTAILED_COLOUR)
    start = -math.pi / 2
    for share, colour in zip((p / total for p in parts), colours):
        if share <= 1e-4:
            continue
        if share >= 1 - 1e-4:
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{colour}"/>')
            break
        end = start + 2 * math.pi * share
        x0, y0 = cx + r * math.cos(start), cy + r * math.sin(start)
        x1, y1 = cx + r * math.cos(end), cy + r * math.sin(end)
        large = 1 if share > 0.5 else 0
        out.append(f'<path d="M{cx:.1f},{cy:.1f} L{x0:.1f},{y0:.1f} A{r:.1f},{r:.1f} 0 {large} 1 {x1:.1f},{y1:.1f} Z" '
                   f'fill="{colour}"/>')
        start = end
    out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="#333" stroke-width="0.8"/>')
    return "".join(out)


def _radius(mw: float) -> float:
    return 3.0 + 10.0 * math.sqrt(min(max(mw, 0.0), MW_FULL_SIZE * 2) / MW_FULL_SIZE)


def _miner_glyphs(xy: np.ndarray, bus: np.ndarray, hash_mw: np.ndarray, ai_mw: np.ndarray,
                  curtailed_mw: np.ndarray, titles: list[str], dispatched: bool = True) -> list[str]:
    """Pies placed on a small ring around each miner's bus (several miners at one bus fan out).
    Before the first dispatch a miner is a dashed outline of its size: it does nothing yet."""
    out = []
    count = np.bincount(bus, minlength=len(xy))
    seen = np.zeros(len(xy), int)
    hash_mw, ai_mw, curtailed_mw = (np.asarray(a, float).tolist() for a in (hash_mw, ai_mw, curtailed_mw))
    for i, b in enumerate(np.asarray(bus, int).tolist()):
        k, j = int(count[b]), int(seen[b])
        seen[b] += 1
        mw = hash_mw[i] + ai_mw[i] + curtailed_mw[i]
        r = _radius(mw)
        ring = 10.0 + (4.0 + 1.2 * k if k > 1 else 0.0)
        angle = -math.pi / 4 + 2 * math.pi * j / max(k, 1)
        cx, cy = xy[b, 0] + ring * math.cos(angle), xy[b, 1] + ring * math.sin(angle)
        if dispatched:
            glyph = _pie(cx, cy, r, (hash_mw[i], ai_mw[i], curtailed_mw[i]))
        else:
            glyph = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="currentColor" '
                     f'stroke-opacity="0.7" stroke-width="1" stroke-dasharray="2 2"/>')
        out.append(f'<g class="gp-miner"><title>{html.escape(titles[i])}</title>{glyph}</g>')
    return out


def grid_map_svg(pos: np.ndarray, line_from: np.ndarray, line_to: np.ndarray, loading: np.ndarray | None,
                 lmp: np.ndarray | None, bus_names: list[str], miner_bus: np.ndarray, hash_mw: np.ndarray,
                 ai_mw: np.ndarray, curtailed_mw: np.ndarray, miner_titles: list[str],
                 bus_labels: list[str] | None = None, n_miners: int | None = None) -> str:
    """The grid as an SVG network map, sized to fill its box (the legend is `map_legend_html`).

    Buses are squares coloured by LMP on the fixed `LMP_EDGES` scale (grey before the first
    dispatch); lines are drawn wider and redder the closer they run to their thermal limit; each
    miner is a pie at its bus, its area proportional to its capacity (MW) and split into hashing /
    AI / curtailed (a dashed outline before the first dispatch). `bus_labels` (the case's bus
    names) are written beside the buses. `n_miners`: the miners the glyphs stand for (default: one
    glyph per miner).
    """
    xy = _xy(pos)
    n_bus = len(xy)
    dispatched = lmp is not None
    loading = np.zeros(len(line_from)) if loading is None else np.abs(np.asarray(loading, float))
    lo, hi = xy.min(axis=0) - _MAP_PAD, xy.max(axis=0) + _MAP_PAD
    if bus_labels is not None and n_bus <= MAX_BUS_LABELS:
        hi[0] += 40.0  # room for the names right of the eastmost buses
    w, h = hi - lo
    parts = [f'<svg class="gp-map" xmlns="http://www.w3.org/2000/svg" viewBox="{lo[0]:.0f} {lo[1]:.0f} {w:.0f} {h:.0f}" '
             f'preserveAspectRatio="xMidYMid meet" width="100%" height="100%" style="display:block" '
             f'data-buses="{n_bus}" data-lines="{len(line_from)}" data-miners="{len(miner_bus) if n_miners is None else n_miners}" data-glyphs="{len(miner_bus)}" '
             f'data-dispatched="{int(dispatched)}" font-family="sans-serif">']
    # lines: lightly loaded first so congested ones sit on top
    parts.append('<g class="gp-lines" stroke-linecap="round">')
    fr, to = np.asarray(line_from, int), np.asarray(line_to, int)
    ends = np.column_stack([xy[fr], xy[to]]).round(1).tolist()
    level = np.rint(np.clip(loading, 0.0, 1.0) * 100).astype(int).tolist()  # 1 % steps: table lookups
    lds = loading.tolist()
    for k in np.argsort(loading, kind="stable").tolist():
        x1, y1, x2, y2 = ends[k]
        ld, pc = lds[k], level[k]
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{_LINE_COLOURS[pc]}" '
                     f'stroke-width="{_LINE_WIDTHS[pc]}"><title>line {k}: {100 * ld:.0f}% loaded</title></line>')
    parts.append("</g>")
    # buses
    parts.append('<g class="gp-buses">')
    fills = [LMP_COLOURS[b] for b in lmp_bin(lmp).tolist()] if dispatched else [UNPRICED_COLOUR] * n_bus
    s = 4.5 if n_bus <= 150 else 3.0
    for i in range(n_bus):
        label = bus_names[i] if bus_labels is None else f"{bus_labels[i]} ({bus_names[i]})"
        price = f": {lmp[i]:,.2f} USD/MWh" if dispatched else ": no price before the first hour"
        parts.append(f'<rect class="gp-bus" x="{xy[i, 0] - s:.1f}" y="{xy[i, 1] - s:.1f}" width="{2 * s}" '
                     f'height="{2 * s}" fill="{fills[i]}" stroke="#222" stroke-width="0.7">'
                     f'<title>bus {html.escape(label)}{price}</title></rect>')
    parts.append("</g>")
    if bus_labels is not None and n_bus <= MAX_BUS_LABELS:
        fs = 9 if n_bus <= 40 else 6.5
        parts.append(f'<g class="gp-bus-labels" font-size="{fs}" fill="currentColor" fill-opacity="0.75">')
        for i in range(n_bus):
            parts.append(f'<text x="{xy[i, 0] + s + 1.5:.1f}" y="{xy[i, 1] - s - 0.5:.1f}">'
                         f'{html.escape(bus_labels[i])}</text>')
        parts.append("</g>")
    # miners
    parts.append('<g class="gp-miners">')
    parts.extend(_miner_glyphs(xy, np.asarray(miner_bus, int), hash_mw, ai_mw, curtailed_mw, miner_titles, dispatched))
    parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def map_legend_html(dispatched: bool = True) -> str:
    """The map's legend as HTML (it wraps with the card's width, so it always stays inside it)."""
    def swatch(colour: str, label: str, shape: str = "square") -> str:
        radius = "50%" if shape == "round" else "2px"
        return (f'<span class="gp-key" style="display:inline-flex;align-items:center;margin:0 8px 2px 0;'
                f'white-space:nowrap"><span style="display:inline-block;width:11px;height:11px;'
                f'background:{colour};border:1px solid #333;border-radius:{radius};margin-right:3px"></span>'
                f'{label}</span>')

    def line(ld: float) -> str:
        return (f'<span class="gp-key" style="display:inline-flex;align-items:center;margin:0 8px 2px 0;'
                f'white-space:nowrap"><span style="display:inline-block;width:18px;height:{0.8 + 3.7 * ld:.1f}px;'
                f'background:{loading_colour(ld)};margin-right:3px"></span>{int(100 * ld)}%</span>')

    prices = ("".join(swatch(c, lab) for c, lab in zip(LMP_COLOURS, LMP_LABELS)) if dispatched
              else swatch(UNPRICED_COLOUR, "no price before the first hour"))
    miners = ("".join(swatch(c, lab, "round") for c, lab in
                      ((HASH_COLOUR, "hashing"), (AI_COLOUR, "AI"), (CURTAILED_COLOUR, "curtailed")))
              if dispatched else swatch("transparent", "not dispatched yet", "round"))
    row = 'style="display:flex;flex-wrap:wrap;align-items:center;margin:0 0 2px"'
    head = 'style="font-weight:bold;margin-right:6px;white-space:nowrap"'
    return (f'<div class="gp-map-legend" style="font:11px sans-serif;margin:2px 6px 4px">'
            f'<div {row}><span {head}>LMP USD/MWh</span>{prices}</div>'
            f'<div {row}><span {head}>line loading</span>{"".join(line(v) for v in (0.0, 0.5, 1.0))}'
            f'<span style="font-weight:bold;margin:0 6px 0 8px;white-space:nowrap">miners, area = MW</span>{miners}</div></div>')


# the miners' table -----------------------------------------------------------------------------
def miner_table_html(rows: list[dict], total: int) -> str:
    """An HTML table of the largest miners (rows already sorted and cut)."""
    head = ("Miner", "Strategy", "Bus", "MW", "Hash MW", "AI MW", "Curt. MW", "Margin USD/h", "Cash USD m")
    out = ['<div class="gp-table-wrap">',
           f'<div style="font:12px sans-serif;opacity:0.75;margin:2px 0 4px">largest {len(rows)} of {total} miners '
           '(by interconnect MW); margin = last hour\'s revenue minus costs</div>',
           '<table class="gp-miners" style="border-collapse:collapse;font:11.5px sans-serif;width:100%">',
           "<thead><tr>" + "".join(f'<th style="text-align:{"left" if i < 3 else "right"};border-bottom:1px solid #999;'
                                    f'padding:2px 6px;position:sticky;top:0;background:var(--gp-card-bg, #fff)">{h}</th>'
                                    for i, h in enumerate(head)) + "</tr></thead><tbody>"]
    for r in rows:
        margin = r["margin_usd"]
        colour = "#1a7f37" if margin > 0 else ("#b42318" if margin < 0 else "inherit")
        style = "" if r["active"] else ' style="color:#999;text-decoration:line-through"'
        cells = (html.escape(r["name"]), html.escape(r["strategy"]), html.escape(r["bus"]),
                 f'{r["interconnect_mw"]:,.0f}', f'{r["hash_mw"]:,.1f}', f'{r["ai_mw"]:,.1f}',
                 f'{r["curtailed_mw"]:,.1f}', f'<span style="color:{colour}">{margin:,.0f}</span>',
                 f'{r["cash_usd"] / 1e6:,.1f}')
        out.append(f"<tr{style}>" + "".join(
            f'<td style="text-align:{"left" if i < 3 else "right"};padding:1px 5px;border-bottom:1px solid rgba(128,128,128,0.18);'
            f'white-space:nowrap">{c}</td>'
            for i, c in enumerate(cells)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# live charts ---------------------------------------------------------------------------------
# Plain SVG built from the series each step (a few ms; the browser draws it). Long series are
# reduced to a min/max envelope per pixel column, so spikes survive and the payload stays small.
# Text and axes are drawn in `currentColor` on a transparent background, so the charts follow the
# page's light or dark theme.
#: most points drawn per series (min and max of each bucket)
MAX_POINTS = 700
_CW, _CH = 560.0, 300.0
#: the smallest span an axis shows, as a share of the values' size: a series that moves less
#: (e.g. solver rounding noise on a flat price) is drawn flat instead of as big swings
MIN_REL_SPAN = 0.01
#: multipliers of a power of ten that make a "nice" tick step
_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(span: float, n: int = 5) -> float:
    """The smallest step of 1, 2, 2.5 or 5 x 10^k that cuts `span` into at most about `n` parts."""
    raw = abs(float(span)) / max(int(n), 1)
    if not (raw > 0 and math.isfinite(raw)):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in _NICE if m * mag >= raw * (1 - 1e-9))


def _flat_safe(lo: float, hi: float, floor_zero: bool = False) -> tuple[float, float]:
    """Widen [lo, hi] to at least `MIN_REL_SPAN` of the values' size (1 when all are 0)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    if floor_zero:
        lo = min(lo, 0.0)
    size = max(abs(lo), abs(hi))
    need = MIN_REL_SPAN * size if size > 0 else 1.0
    if hi - lo < need:
        if floor_zero and lo == 0.0:
            hi = lo + need
        else:
            mid = (lo + hi) / 2
            lo, hi = mid - need / 2, mid + need / 2
            if floor_zero and lo < 0 <= (lo + hi) / 2:
                lo, hi = 0.0, need
    return lo, hi


def axis_scale(lo: float, hi: float, n: int = 5, floor_zero: bool = False) -> tuple[float, float, np.ndarray]:
    """Axis limits and ticks for data in [lo, hi]: limits on the outermost nice ticks, so the
    first and last tick sit on the frame; ticks are multiples of a `nice_step`."""
    lo, hi = _flat_safe(float(lo), float(hi), floor_zero)
    step = nice_step(hi - lo, n)
    a = math.floor(lo / step + 1e-9)
    b = math.ceil(hi / step - 1e-9)
    if b <= a:
        b = a + 1
    ticks = np.arange(a, b + 1) * step
    ticks[np.abs(ticks) < step * 1e-9] = 0.0  # no "-0"
    return float(ticks[0]), float(ticks[-1]), ticks


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About `n` nice tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.array([0.0])
    return axis_scale(lo, hi, n)[2]


def _decimals(step: float) -> int:
    """Decimals that show every multiple of `step` exactly (0.25 -> 2, 2.5 -> 1, 20 -> 0)."""
    for d in range(0, 12):
        if abs(round(step, d) - step) <= abs(step) * 1e-9:
            return d
    return 12


_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k"))


def tick_labels(ticks) -> list[str]:
    """Labels for evenly spaced `ticks`, one unit suffix (k, M, G, T) and one number of decimals
    for the whole axis: exact at the ticks (0.25 reads "0.25", 7.5 reads "7.5") and distinct."""
    t = np.asarray(ticks, float)
    if not len(t):
        return []
    step = float(np.min(np.diff(t))) if len(t) > 1 else (abs(float(t[0])) or 1.0)
    top = float(np.max(np.abs(t)))
    scale, suffix = next(((s, x) for s, x in _SUFFIXES if top >= s), (1.0, ""))
    if suffix == "k":
        scale = 1e3
    d = _decimals(step / scale)
    out = []
    for v in t / scale:
        v = 0.0 if abs(v) < step / scale * 1e-9 else v
        out.append(f"{v:,.{d}f}{suffix if v else ''}")
    return out


def tick_label(v: float, step: float) -> str:
    """One tick's label when the axis steps by `step` (see `tick_labels`)."""
    return tick_labels([v, v + step])[0]


def envelope(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points keeping each bucket's min and max, in time order."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n <= max_points:
        return x, y
    size = -(-n // (max_points // 2))
    buckets = -(-n // size)
    pad = buckets * size - n
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, size)
    finite = np.isfinite(yy)
    lo = np.where(finite, yy, np.inf).argmin(axis=1)
    hi = np.where(finite, yy, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * size
    idx = np.sort(np.stack([base + np.minimum(lo, hi), base + np.maximum(lo, hi)], axis=1), axis=1).ravel()
    idx = np.minimum(idx, n - 1)
    keep = np.concatenate([[True], idx[1:] != idx[:-1]])
    return x[idx[keep]], y[idx[keep]]


class _Frame:
    """Scales of one plot panel (data -> SVG pixels), its limits and ticks."""

    def __init__(self, x0: float, y0: float, w: float, h: float, xlim, ylim, yticks=None, xticks=None) -> None:
        self.x0, self.y0, self.w, self.h = x0, y0, w, h
        self.xlim, self.ylim = xlim, ylim
        self.yticks = np.asarray(yticks if yticks is not None else [ylim[0], ylim[1]], float)
        self.xticks = np.asarray(xticks if xticks is not None else [xlim[0], xlim[1]], float)

    def px(self, x) -> np.ndarray:
        a, b = self.xlim
        return self.x0 + (np.asarray(x, float) - a) / ((b - a) or 1.0) * self.w

    def py(self, y) -> np.ndarray:
        a, b = self.ylim
        return self.y0 + self.h - (np.asarray(y, float) - a) / ((b - a) or 1.0) * self.h


def _data_range(arrays) -> tuple[float, float]:
    vals = np.concatenate([np.asarray(a, float).ravel() for a in arrays]) if arrays else np.array([])
    vals = vals[np.isfinite(vals)]
    return (float(vals.min()), float(vals.max())) if len(vals) else (math.nan, math.nan)


def _frame(x0, y0, w, h, x: np.ndarray, arrays, *, n_y: int = 5, n_x: int = 6, floor_zero: bool = False,
           ylim: tuple[float, float] | None = None) -> _Frame:
    """A panel whose axes end on nice ticks around the data (x in days)."""
    x_hi = max(float(x[-1]) + 1 / 24 if len(x) else 1.0, 1.0)
    xa, xb, xt = axis_scale(0.0, x_hi, n_x, floor_zero=True)
    if ylim is None:
        lo, hi = _data_range(arrays)
        if not math.isfinite(lo):
            lo, hi = 0.0, 1.0
        ya, yb, yt = axis_scale(lo, hi, n_y, floor_zero=floor_zero)
    else:
        ya, yb, yt = axis_scale(*ylim, n_y, floor_zero=floor_zero)
    return _Frame(x0, y0, w, h, (xa, xb), (ya, yb), yt, xt)


def _path(fr: _Frame, x: np.ndarray, y: np.ndarray, step: bool = False) -> str:
    """SVG path data; NaN breaks the line."""
    if step and len(x) > 1:
        x = np.repeat(x, 2)[1:]
        y = np.repeat(y, 2)[:-1]
    px, py = fr.px(x), fr.py(y)
    out, pen, alone = [], False, False
    for a, b in zip(px.tolist(), py.tolist()):
        if not (math.isfinite(a) and math.isfinite(b)):
            if alone:
                out.append("h0.1")  # a lone point: a dot (the charts draw round line caps)
            pen = alone = False
            continue
        out.append(f"{'L' if pen else 'M'}{a:.1f},{b:.1f}")
        alone = not pen
        pen = True
    if alone:
        out.append("h0.1")
    return "".join(out)


def _clip(fr: _Frame, cid: str) -> str:
    """A clip path for the panel: series never run out of their plot."""
    return (f'<clipPath id="{cid}"><rect x="{fr.x0:.1f}" y="{fr.y0 - 1:.1f}" width="{fr.w:.1f}" '
            f'height="{fr.h + 2:.1f}"/></clipPath>')


def _axes(fr: _Frame, *, left_label: str = "", right: _Frame | None = None, right_label: str = "",
          right_colour: str = "currentColor", xlabel: str = "day", small: bool = False, axis_id: str = "") -> list[str]:
    fs = 9 if small else 10
    out = [f'<g class="gp-axes">'
           f'<rect x="{fr.x0:.1f}" y="{fr.y0:.1f}" width="{fr.w:.1f}" height="{fr.h:.1f}" fill="none" '
           f'stroke="currentColor" stroke-opacity="0.45" stroke-width="0.8"/>']
    out.append(f'<g class="gp-yticks" data-axis="{axis_id}y">')
    for v, label in zip(fr.yticks, tick_labels(fr.yticks)):
        y = float(fr.py(v))
        out.append(f'<line x1="{fr.x0:.1f}" y1="{y:.1f}" x2="{fr.x0 + fr.w:.1f}" y2="{y:.1f}" stroke="currentColor" '
                   f'stroke-opacity="0.13" stroke-width="0.7"/><text class="gp-tick" x="{fr.x0 - 4:.1f}" y="{y + 3:.1f}" '
                   f'text-anchor="end" font-size="{fs}">{label}</text>')
    out.append(f'</g><g class="gp-xticks" data-axis="{axis_id}x">')
    for v, label in zip(fr.xticks, tick_labels(fr.xticks)):
        x = float(fr.px(v))
        out.append(f'<line x1="{x:.1f}" y1="{fr.y0 + fr.h:.1f}" x2="{x:.1f}" y2="{fr.y0 + fr.h + 3:.1f}" '
                   f'stroke="currentColor" stroke-opacity="0.45"/><text class="gp-tick" x="{x:.1f}" '
                   f'y="{fr.y0 + fr.h + 13:.1f}" text-anchor="middle" font-size="{fs}">{label}</text>')
    out.append("</g>")
    if xlabel:
        out.append(f'<text x="{fr.x0 + fr.w:.1f}" y="{fr.y0 + fr.h + 25:.1f}" text-anchor="end" font-size="{fs}" '
                   f'fill-opacity="0.7">{xlabel}</text>')
    if left_label:
        out.append(f'<text transform="translate({fr.x0 - 42:.1f},{fr.y0 + fr.h / 2:.1f}) rotate(-90)" '
                   f'text-anchor="middle" font-size="{fs}" fill-opacity="0.7">{html.escape(left_label)}</text>')
    if right is not None:
        out.append(f'<g class="gp-yticks" data-axis="{axis_id}y2">')
        for v, label in zip(right.yticks, tick_labels(right.yticks)):
            y = float(right.py(v))
            out.append(f'<text class="gp-tick" x="{fr.x0 + fr.w + 4:.1f}" y="{y + 3:.1f}" font-size="{fs}" '
                       f'fill="{right_colour}">{label}</text>')
        out.append("</g>")
        if right_label:
            out.append(f'<text transform="translate({fr.x0 + fr.w + 46:.1f},{fr.y0 + fr.h / 2:.1f}) rotate(90)" '
                       f'text-anchor="middle" font-size="{fs}" fill="{right_colour}">{html.escape(right_label)}</text>')
    out.append("</g>")
    return out


def _legend_row(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    """(colour, label, kind) with kind in line|dash|dot|box."""
    out = ['<g class="gp-chart-legend">']
    for colour, label, kind in items:
        if kind == "box":
            out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{colour}"/>')
        elif kind == "dot":
            out.append(f'<circle cx="{x + 5:.1f}" cy="{y - 3:.1f}" r="2.5" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            out.append(f'<line x1="{x:.1f}" y1="{y - 3:.1f}" x2="{x + 16:.1f}" y2="{y - 3:.1f}" stroke="{colour}" '
                       f'stroke-width="2"{dash}/>')
        x += 14 if kind in ("box", "dot") else 20
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="10">{html.escape(label)}</text>')
        x += 12 + 5.6 * len(label)
    out.append("</g>")
    return out


def _svg_open(kind: str, n: int, title: str, height: float = _CH) -> list[str]:
    return [f'<svg class="gp-chart" data-chart="{kind}" data-points="{n}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {_CW:.0f} {height:.0f}" width="100%" style="display:block" '
            f'font-family="sans-serif" fill="currentColor" stroke-linecap="round">'
            f'<text class="gp-chart-title" x="8" y="15" font-size="12" font-weight="bold">{html.escape(title)}</text>']


def _days(h) -> np.ndarray:
    return np.asarray(h["hour"], float) / 24.0


def _has(h, key: str) -> bool:
    """True when the model logs `key` (a column some model versions do not have yet)."""
    try:
        y = h[key]
    except KeyError:
        return False
    return bool(len(y)) and bool(np.isfinite(np.asarray(y, float)).any())


def _series(h, key: str) -> np.ndarray:
    try:
        return np.asarray(h[key], float)
    except KeyError:
        return np.full(len(h["hour"]), np.nan)


#: Bitcoin security: network hash rate and what an attacker pays for one hour of it
ATTACK_COLOUR = "#b42318"


def security_svg(h) -> str:
    """Bitcoin security: network hash rate (EH/s) with difficulty as the hash rate it implies, and
    the cost of an attack hour (USD/h, right axis) where the model logs it."""
    x = _days(h)
    n = len(x)
    net = _series(h, "network_eh_s")
    implied = _series(h, "difficulty") * 2.0**32 / 600.0 / 1e18
    local = _series(h, "local_eh_s")
    attack = _has(h, "attack_rent_usd_per_h")
    title = "Bitcoin security"
    if n:
        title += f": network {net[-1]:,.0f} EH/s"
        if math.isfinite(local[-1]) and net[-1] > 0:
            title += f" (ours {local[-1]:,.2f}, {100 * local[-1] / net[-1]:.2f}%)"
        if attack:
            cost = _series(h, "attack_rent_usd_per_h")[-1]
            if math.isfinite(cost):
                title += f", attack hour {cost / 1e6:,.2f} M USD"
    out = _svg_open("security", n, title)
    right = _CW - 112 if attack else _CW - 70
    fr = _frame(56, 40, right, _CH - 76, x, [net, implied])
    items = [("#1f77b4", "network hash rate", "line"), ("#777", "difficulty x 2^32/600 s", "dash")]
    fr2 = None
    if attack:
        cost = _series(h, "attack_rent_usd_per_h")
        fr2 = _frame(56, 40, right, _CH - 76, x, [cost], floor_zero=True)
        items.append((ATTACK_COLOUR, "attack hour (right)", "line"))
    out += _axes(fr, left_label="EH/s", right=fr2, right_label="USD per attack hour" if attack else "",
                 right_colour=ATTACK_COLOUR, axis_id="security-")
    out += _legend_row(items, 60, 32)
    if not attack:
        out.append(f'<text x="{fr.x0 + fr.w:.1f}" y="{fr.y0 + fr.h - 6:.1f}" text-anchor="end" font-size="9" '
                   'fill-opacity="0.6">cost of an attack hour: not logged by this model version</text>')
    out.append(_clip(fr, "gp-clip-security"))
    out.append('<g clip-path="url(#gp-clip-security)">')
    ex, ey = envelope(x, implied)
    out.append(f'<path d="{_path(fr, ex, ey, step=True)}" fill="none" stroke="#777" stroke-width="1.2" '
               f'stroke-dasharray="5 3"/>')
    ex, ey = envelope(x, net)
    out.append(f'<path class="gp-series" d="{_path(fr, ex, ey)}" fill="none" stroke="#1f77b4" stroke-width="1.4"/>')
    if fr2 is not None:
        ex, ey = envelope(x, _series(h, "attack_rent_usd_per_h"))
        out.append(f'<path class="gp-series" d="{_path(fr2, ex, ey)}" fill="none" stroke="{ATTACK_COLOUR}" '
                   f'stroke-width="1.4"/>')
    out.append("</g></svg>")
    return "".join(out)


#: facility MW by use, bottom to top: (column, label, colour); AI splits into hosting and own GPUs
#: where the model logs them, else one "AI" band
USE_BANDS = (("mw_hashing", "hashing", HASH_COLOUR),
             ("mw_ai_hosting", "AI hosting", AI_COLOUR),
             ("mw_ai_own_gpu", "own-GPU AI", "#d0609d"),
             ("mw_ai", "AI", AI_COLOUR),
             ("mw_converting", "converting", "#2a9d8f"),
             ("mw_curtailed", "curtailed", CURTAILED_COLOUR))


def use_bands(h) -> list[tuple[str, str, str]]:
    """The bands `power_svg` stacks for this history: the split AI columns when logged, else `mw_ai`."""
    split = _has(h, "mw_ai_hosting") or _has(h, "mw_ai_own_gpu")
    out = []
    for key, label, colour in USE_BANDS:
        if key == "mw_ai" and split:
            continue
        if key in ("mw_ai_hosting", "mw_ai_own_gpu") and not split:
            continue
        if key == "mw_converting" and not _has(h, key):
            continue
        out.append((key, label, colour))
    return out


def power_svg(h) -> str:
    """Facility MW by use over time, stacked: hashing, AI (hosting / own GPUs), converting, curtailed."""
    x = _days(h)
    bands = use_bands(h)
    ys = [np.nan_to_num(_series(h, k)) for k, _, _ in bands]
    n = len(x)
    title = "Facility MW by use"
    if n:
        title += ": " + ", ".join(f"{label} {y[-1]:,.0f}" for (_, label, _), y in zip(bands, ys)) + " MW"
    out = _svg_open("power", n, title)
    tops = np.cumsum(ys, axis=0)
    fr = _frame(56, 40, _CW - 70, _CH - 76, x, [tops[-1]], floor_zero=True)
    out += _axes(fr, left_label="MW", axis_id="power-")
    out += _legend_row([(c, label, "box") for _, label, c in bands], 60, 32)
    out.append(_clip(fr, "gp-clip-power"))
    out.append('<g clip-path="url(#gp-clip-power)">')
    if n:
        idx = np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS // 2)).astype(int))
        xs = x[idx]
        lower = np.zeros(len(idx))
        for top, (key, _, colour) in zip(tops[:, idx], bands):
            if n == 1:
                xs_, lo_, hi_ = np.array([xs[0], xs[0] + 1 / 24]), np.repeat(lower, 2), np.repeat(top, 2)
            else:
                xs_, lo_, hi_ = xs, lower, top
            px = fr.px(np.concatenate([xs_, xs_[::-1]]))
            py = fr.py(np.concatenate([hi_, lo_[::-1]]))
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px.tolist(), py.tolist()))
            out.append(f'<polygon class="gp-series" data-band="{key}" points="{pts}" fill="{colour}" stroke="none"/>')
            lower = top
    out.append("</g></svg>")
    return "".join(out)


PRICE_SERIES = (("btc_price_usd", "BTC", "USD", "#e08e00"),
                ("hashprice_usd_per_ph_day", "hashprice", "USD/PH/day", "#1f77b4"),
                ("ai_price_usd_per_gpu_hour", "AI spot", "USD/GPU-h", AI_COLOUR),
                ("lmp_mean_usd_per_mwh", "mean LMP", "USD/MWh", "#d62728"))


def prices_svg(h) -> str:
    """BTC price, hashprice, AI spot price and mean LMP: one small panel each."""
    x = _days(h)
    n = len(x)
    out = _svg_open("prices", n, "Prices")
    pw, ph = (_CW - 20) / 2, (_CH - 30) / 2
    for k, (key, name, unit, colour) in enumerate(PRICE_SERIES):
        y = _series(h, key)
        col, row = k % 2, k // 2
        fr = _frame(10 + col * pw + 44, 28 + row * ph + 16, pw - 56, ph - 46, x, [y], n_y=4, n_x=4)
        out += _axes(fr, small=True, xlabel="day" if row else "", axis_id=f"prices-{key}-")
        last = "" if not n or not math.isfinite(y[-1]) else (f": {y[-1]:,.2f}" if abs(y[-1]) < 100 else f": {y[-1]:,.0f}")
        out.append(f'<text x="{fr.x0:.1f}" y="{fr.y0 - 5:.1f}" font-size="10" fill="{colour}">'
                   f'{html.escape(name)} ({unit}){last}</text>')
        out.append(_clip(fr, f"gp-clip-prices-{k}"))
        ex, ey = envelope(x, y)
        out.append(f'<path class="gp-series" clip-path="url(#gp-clip-prices-{k})" d="{_path(fr, ex, ey)}" '
                   f'fill="none" stroke="{colour}" stroke-width="1.3"/>')
    out.append("</svg>")
    return "".join(out)


def day_mean_interval_s(blocks: np.ndarray, window_h: int = 24) -> np.ndarray:
    """Mean block interval over the last `window_h` hours (s): hours x 3600 / blocks found."""
    b = np.nan_to_num(np.asarray(blocks, float))
    n = len(b)
    cum = np.concatenate([[0.0], np.cumsum(b)])
    ends = np.arange(1, n + 1)
    window = np.minimum(ends, window_h)
    found = cum[ends] - cum[ends - window]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(found > 0, window * 3600.0 / found, np.nan)


def block_interval_svg(h) -> str:
    """Block intervals: each hour's mean (dots), the last 24 hours' mean, and the 600 s target.
    Values above the plot's top are drawn at its edge (clipped), never outside it."""
    x = _days(h)
    hourly = _series(h, "mean_block_interval_s")
    day = day_mean_interval_s(_series(h, "blocks"))
    n = len(x)
    title = "Block interval (s)"
    if n:
        title += f": last 24 h {day[-1]:,.0f} s" if np.isfinite(day[-1]) else ": no block yet"
    out = _svg_open("block_interval", n, title)
    finite = np.concatenate([hourly[np.isfinite(hourly)], day[np.isfinite(day)]])
    top = max(1200.0, float(np.percentile(finite, 98)) * 1.05) if len(finite) else 1200.0
    fr = _frame(56, 40, _CW - 70, _CH - 76, x, [], ylim=(0.0, min(top, 3600.0)), floor_zero=True)
    out += _axes(fr, left_label="seconds", axis_id="block-")
    out += _legend_row([("#999", "hourly mean", "dot"), ("#1f77b4", "last 24 h", "line"),
                        ("#d62728", "600 s target", "dash")], 60, 32)
    out.append(_clip(fr, "gp-clip-block"))
    out.append('<g clip-path="url(#gp-clip-block)">')
    y600 = float(fr.py(600.0))
    out.append(f'<line x1="{fr.x0:.1f}" y1="{y600:.1f}" x2="{fr.x0 + fr.w:.1f}" y2="{y600:.1f}" stroke="#d62728" '
               f'stroke-width="1.2" stroke-dasharray="5 3"/>')
    cap = fr.ylim[1]
    ex, ey = envelope(x, np.minimum(hourly, cap))
    dots = "".join(f"M{a:.1f},{b:.1f}h0" for a, b in zip(fr.px(ex).tolist(), fr.py(ey).tolist()) if math.isfinite(b))
    out.append(f'<path d="{dots}" stroke="#999" stroke-width="3" stroke-linecap="round" fill="none"/>')
    ex, ey = envelope(x, np.minimum(day, cap))
    out.append(f'<path class="gp-series" d="{_path(fr, ex, ey)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    out.append("</g></svg>")
    return "".join(out)


CHARTS = {"power": power_svg, "security": security_svg, "prices": prices_svg, "block_interval": block_interval_svg}
