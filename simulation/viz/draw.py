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

_W, _H_MAP, _H_LEGEND, _PAD = 640.0, 500.0, 64.0, 22.0


def lmp_bin(lmp_usd_per_mwh: np.ndarray) -> np.ndarray:
    """Index into `LMP_COLOURS` for each price (fixed bins, so a colour always means one price)."""
    return np.searchsorted(np.asarray(LMP_EDGES), np.asarray(lmp_usd_per_mwh, float), side="right")


def loading_colour(loading: float) -> str:
    """Grey when idle to red at the thermal limit."""
    t = min(max(float(loading), 0.0), 1.0) ** 1.5
    r, g, b = (LINE_IDLE + (LINE_FULL - LINE_IDLE) * t).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def _xy(pos: np.ndarray) -> np.ndarray:
    """Map [0, 1] positions (y up) to SVG pixels."""
    x = _PAD + pos[:, 0] * (_W - 2 * _PAD)
    y = _PAD + (1.0 - pos[:, 1]) * (_H_MAP - 2 * _PAD)
    return np.column_stack([x, y])


def _pie(cx: float, cy: float, r: float, parts: tuple[float, float, float]) -> str:
    """An SVG pie (hashing, AI, curtailed shares) as circles/paths."""
    total = sum(parts)
    if total <= 1e-9:
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="#777" stroke-width="1"/>'
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
                  curtailed_mw: np.ndarray, titles: list[str]) -> list[str]:
    """Pies placed on a small ring around each miner's bus (several miners at one bus fan out)."""
    out = []
    count = np.bincount(bus, minlength=len(xy))
    seen = np.zeros(len(xy), int)
    for i in range(len(bus)):
        b = bus[i]
        k, j = count[b], seen[b]
        seen[b] += 1
        mw = hash_mw[i] + ai_mw[i] + curtailed_mw[i]
        r = _radius(mw)
        ring = 10.0 + (4.0 + 1.2 * k if k > 1 else 0.0)
        angle = -math.pi / 4 + 2 * math.pi * j / max(k, 1)
        cx, cy = xy[b, 0] + ring * math.cos(angle), xy[b, 1] + ring * math.sin(angle)
        out.append(f'<g class="gp-miner"><title>{html.escape(titles[i])}</title>'
                   f'{_pie(cx, cy, r, (hash_mw[i], ai_mw[i], curtailed_mw[i]))}</g>')
    return out


def grid_map_svg(pos: np.ndarray, line_from: np.ndarray, line_to: np.ndarray, loading: np.ndarray | None,
                 lmp: np.ndarray | None, bus_names: list[str], miner_bus: np.ndarray, hash_mw: np.ndarray,
                 ai_mw: np.ndarray, curtailed_mw: np.ndarray, miner_titles: list[str]) -> str:
    """The grid as an SVG network map.

    Buses are squares coloured by LMP on the fixed `LMP_EDGES` scale; lines are drawn wider and
    redder the closer they run to their thermal limit; each miner is a pie at its bus, its area
    proportional to its capacity (MW) and split into hashing / AI / curtailed.
    """
    xy = _xy(np.asarray(pos, float))
    n_bus = len(xy)
    loading = np.zeros(len(line_from)) if loading is None else np.abs(np.asarray(loading, float))
    parts = [f'<svg class="gp-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W:.0f} {_H_MAP + _H_LEGEND:.0f}" '
             f'width="100%" style="max-height:360px;background:#fff" data-buses="{n_bus}" '
             f'data-lines="{len(line_from)}" data-miners="{len(miner_bus)}">']
    # lines: lightly loaded first so congested ones sit on top
    parts.append('<g class="gp-lines">')
    for k in np.argsort(loading, kind="stable"):
        a, b = xy[line_from[k]], xy[line_to[k]]
        ld = float(loading[k])
        parts.append(f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
                     f'stroke="{loading_colour(ld)}" stroke-width="{0.8 + 3.7 * min(ld, 1.0):.2f}" '
                     f'stroke-linecap="round"><title>line {k}: {100 * ld:.0f}% loaded</title></line>')
    parts.append("</g>")
    # buses
    parts.append('<g class="gp-buses">')
    bins = lmp_bin(lmp) if lmp is not None else np.full(n_bus, 3)
    s = 4.5 if n_bus <= 150 else 3.0
    for i in range(n_bus):
        price = "" if lmp is None else f": {lmp[i]:,.1f} USD/MWh"
        parts.append(f'<rect class="gp-bus" x="{xy[i, 0] - s:.1f}" y="{xy[i, 1] - s:.1f}" width="{2 * s}" '
                     f'height="{2 * s}" fill="{LMP_COLOURS[bins[i]]}" stroke="#222" stroke-width="0.7">'
                     f'<title>bus {html.escape(bus_names[i])}{price}</title></rect>')
    parts.append("</g>")
    # miners
    parts.append('<g class="gp-miners">')
    parts.extend(_miner_glyphs(xy, np.asarray(miner_bus, int), hash_mw, ai_mw, curtailed_mw, miner_titles))
    parts.append("</g>")
    parts.append(_legend())
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    y0 = _H_MAP + 6
    out = [f'<g class="gp-legend" font-family="sans-serif" font-size="12" fill="#333">'
           f'<text x="{_PAD - 10}" y="{y0 + 11}">LMP USD/MWh</text>']
    for i, (colour, label) in enumerate(zip(LMP_COLOURS, LMP_LABELS)):
        x = _PAD + 82 + i * 59
        out.append(f'<rect x="{x}" y="{y0}" width="13" height="13" fill="{colour}" stroke="#222" stroke-width="0.6"/>'
                   f'<text x="{x + 16}" y="{y0 + 11}" font-size="11">{label}</text>')
    y1 = y0 + 30
    out.append(f'<text x="{_PAD - 10}" y="{y1 + 11}">line loading</text>')
    for i, ld in enumerate((0.0, 0.5, 1.0)):
        x = _PAD + 66 + i * 56
        out.append(f'<line x1="{x}" y1="{y1 + 7}" x2="{x + 20}" y2="{y1 + 7}" stroke="{loading_colour(ld)}" '
                   f'stroke-width="{0.8 + 3.7 * ld:.2f}" stroke-linecap="round"/>'
                   f'<text x="{x + 23}" y="{y1 + 11}" font-size="11">{int(100 * ld)}%</text>')
    x = _PAD + 248
    out.append(f'<text x="{x}" y="{y1 + 11}">miners, area = MW:</text>')
    for i, (colour, label) in enumerate(((HASH_COLOUR, "hashing"), (AI_COLOUR, "AI"), (CURTAILED_COLOUR, "curtailed"))):
        cx = x + 122 + i * 76
        out.append(f'<circle cx="{cx}" cy="{y1 + 7}" r="6" fill="{colour}" stroke="#333" stroke-width="0.6"/>'
                   f'<text x="{cx + 9}" y="{y1 + 11}" font-size="11">{label}</text>')
    out.append("</g>")
    return "".join(out)


# the miners' table -----------------------------------------------------------------------------
def miner_table_html(rows: list[dict], total: int) -> str:
    """An HTML table of the largest miners (rows already sorted and cut)."""
    head = ("Miner", "Strategy", "Bus", "MW", "Hash MW", "AI MW", "Curt. MW", "Margin USD/h", "Cash USD m")
    out = ['<div class="gp-table-wrap" style="max-height:370px;overflow:auto">',
           f'<div style="font:12px sans-serif;color:#555;margin:2px 0 4px">largest {len(rows)} of {total} miners '
           '(by interconnect MW); margin = last hour\'s revenue minus costs</div>',
           '<table class="gp-miners" style="border-collapse:collapse;font:11.5px sans-serif;width:100%">',
           "<thead><tr>" + "".join(f'<th style="text-align:{"left" if i < 3 else "right"};border-bottom:1px solid #999;'
                                    f'padding:2px 6px;position:sticky;top:0;background:#fff">{h}</th>'
                                    for i, h in enumerate(head)) + "</tr></thead><tbody>"]
    for r in rows:
        margin = r["margin_usd"]
        colour = "#1a7f37" if margin > 0 else ("#b42318" if margin < 0 else "#333")
        style = "" if r["active"] else ' style="color:#999;text-decoration:line-through"'
        cells = (html.escape(r["name"]), html.escape(r["strategy"]), html.escape(r["bus"]),
                 f'{r["interconnect_mw"]:,.0f}', f'{r["hash_mw"]:,.1f}', f'{r["ai_mw"]:,.1f}',
                 f'{r["curtailed_mw"]:,.1f}', f'<span style="color:{colour}">{margin:,.0f}</span>',
                 f'{r["cash_usd"] / 1e6:,.1f}')
        out.append(f"<tr{style}>" + "".join(
            f'<td style="text-align:{"left" if i < 3 else "right"};padding:1px 5px;border-bottom:1px solid #eee;'
            f'white-space:nowrap">{c}</td>'
            for i, c in enumerate(cells)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


# live charts ---------------------------------------------------------------------------------
# Plain SVG built from the series each step (a few ms; the browser draws it). Long series are
# reduced to a min/max envelope per pixel column, so spikes survive and the payload stays small.
#: most points drawn per series (min and max of each bucket)
MAX_POINTS = 700
_CW, _CH = 560.0, 300.0


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About `n` round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.array([0.0])
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.05 or 1.0), hi + (abs(hi) * 0.05 or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(start, hi + step * 1e-6, step)
    return ticks if len(ticks) else np.array([lo])


def tick_label(v: float, step: float) -> str:
    a = abs(v)
    if a >= 1e12:
        return f"{v / 1e12:.{max(0, -math.floor(math.log10(step / 1e12)))}f}T" if step < 1e12 else f"{v / 1e12:.0f}T"
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}k"
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{v:,.{min(decimals, 3)}f}"


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
    """Scales of one plot panel (data -> SVG pixels) and its axes."""

    def __init__(self, x0: float, y0: float, w: float, h: float, xlim, ylim) -> None:
        self.x0, self.y0, self.w, self.h = x0, y0, w, h
        self.xlim, self.ylim = xlim, ylim

    def px(self, x) -> np.ndarray:
        a, b = self.xlim
        return self.x0 + (np.asarray(x, float) - a) / ((b - a) or 1.0) * self.w

    def py(self, y) -> np.ndarray:
        a, b = self.ylim
        return self.y0 + self.h - (np.asarray(y, float) - a) / ((b - a) or 1.0) * self.h


def _limits(arrays, floor_zero: bool = False, pad: float = 0.06) -> tuple[float, float]:
    vals = np.concatenate([np.asarray(a, float).ravel() for a in arrays]) if arrays else np.array([])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return (0.0, 1.0)
    lo, hi = float(vals.min()), float(vals.max())
    if floor_zero:
        lo = min(lo, 0.0)
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.1 or 1.0
    return (lo if floor_zero and lo == 0 else lo - pad * span, hi + pad * span)


def _path(fr: _Frame, x: np.ndarray, y: np.ndarray, step: bool = False) -> str:
    """SVG path data; NaN breaks the line."""
    if step and len(x) > 1:
        x = np.repeat(x, 2)[1:]
        y = np.repeat(y, 2)[:-1]
    px, py = fr.px(x), fr.py(y)
    out, pen = [], False
    for a, b in zip(px, py):
        if not (math.isfinite(a) and math.isfinite(b)):
            pen = False
            continue
        out.append(f"{'L' if pen else 'M'}{a:.1f},{b:.1f}")
        pen = True
    return "".join(out)


def _axes(fr: _Frame, *, left_label: str = "", right: _Frame | None = None, right_label: str = "",
          right_colour: str = "#333", xlabel: str = "day", small: bool = False) -> list[str]:
    fs = 9 if small else 10
    out = [f'<rect x="{fr.x0:.1f}" y="{fr.y0:.1f}" width="{fr.w:.1f}" height="{fr.h:.1f}" fill="none" stroke="#999" '
           f'stroke-width="0.8"/>']
    yt = nice_ticks(*fr.ylim, n=4 if small else 5)
    yt = yt[(yt >= fr.ylim[0]) & (yt <= fr.ylim[1])]
    step = float(yt[1] - yt[0]) if len(yt) > 1 else 1.0
    for v in yt:
        y = float(fr.py(v))
        out.append(f'<line x1="{fr.x0:.1f}" y1="{y:.1f}" x2="{fr.x0 + fr.w:.1f}" y2="{y:.1f}" stroke="#e4e4e4" '
                   f'stroke-width="0.7"/><text x="{fr.x0 - 4:.1f}" y="{y + 3:.1f}" text-anchor="end" '
                   f'font-size="{fs}">{tick_label(v, step)}</text>')
    xt = nice_ticks(*fr.xlim, n=4 if small else 6)
    xt = xt[(xt >= fr.xlim[0]) & (xt <= fr.xlim[1])]
    xstep = float(xt[1] - xt[0]) if len(xt) > 1 else 1.0
    for v in xt:
        x = float(fr.px(v))
        out.append(f'<line x1="{x:.1f}" y1="{fr.y0 + fr.h:.1f}" x2="{x:.1f}" y2="{fr.y0 + fr.h + 3:.1f}" stroke="#999"/>'
                   f'<text x="{x:.1f}" y="{fr.y0 + fr.h + 13:.1f}" text-anchor="middle" font-size="{fs}">'
                   f'{tick_label(v, xstep)}</text>')
    if xlabel:
        out.append(f'<text x="{fr.x0 + fr.w:.1f}" y="{fr.y0 + fr.h + 26:.1f}" text-anchor="end" font-size="{fs}" '
                   f'fill="#666">{xlabel}</text>')
    if left_label:
        out.append(f'<text transform="translate({fr.x0 - 40:.1f},{fr.y0 + fr.h / 2:.1f}) rotate(-90)" '
                   f'text-anchor="middle" font-size="{fs}" fill="#666">{html.escape(left_label)}</text>')
    if right is not None:
        rt = nice_ticks(*right.ylim, n=5)
        rt = rt[(rt >= right.ylim[0]) & (rt <= right.ylim[1])]
        rstep = float(rt[1] - rt[0]) if len(rt) > 1 else 1.0
        for v in rt:
            y = float(right.py(v))
            out.append(f'<text x="{fr.x0 + fr.w + 4:.1f}" y="{y + 3:.1f}" font-size="{fs}" fill="{right_colour}">'
                       f'{tick_label(v, rstep)}</text>')
        if right_label:
            out.append(f'<text transform="translate({fr.x0 + fr.w + 44:.1f},{fr.y0 + fr.h / 2:.1f}) rotate(90)" '
                       f'text-anchor="middle" font-size="{fs}" fill="{right_colour}">{html.escape(right_label)}</text>')
    return out


def _legend_row(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    """(colour, label, kind) with kind in line|dash|dot|box."""
    out = []
    for colour, label, kind in items:
        if kind == "box":
            out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{colour}"/>')
        elif kind == "dot":
            out.append(f'<circle cx="{x + 5:.1f}" cy="{y - 3:.1f}" r="2.5" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            out.append(f'<line x1="{x:.1f}" y1="{y - 3:.1f}" x2="{x + 16:.1f}" y2="{y - 3:.1f}" stroke="{colour}" '
                       f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{x + 20:.1f}" y="{y:.1f}" font-size="10">{html.escape(label)}</text>')
        x += 28 + 6.0 * len(label)
    return out


def _svg_open(kind: str, n: int, title: str, height: float = _CH) -> list[str]:
    return [f'<svg class="gp-chart" data-chart="{kind}" data-points="{n}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {_CW:.0f} {height:.0f}" width="100%" style="max-height:330px;background:#fff" '
            f'font-family="sans-serif" fill="#333">'
            f'<text class="gp-chart-title" x="8" y="15" font-size="12" font-weight="bold">{html.escape(title)}</text>']


def _days(h) -> np.ndarray:
    return np.asarray(h["hour"], float) / 24.0


def _xlim(x: np.ndarray) -> tuple[float, float]:
    return (0.0, max(float(x[-1]) + 1 / 24 if len(x) else 1.0, 1.0))


def hash_rate_svg(h) -> str:
    """Network and local hash rate (EH/s), with difficulty as the hash rate it implies."""
    x = _days(h)
    net, local = np.asarray(h["network_eh_s"], float), np.asarray(h["local_eh_s"], float)
    implied = np.asarray(h["difficulty"], float) * 2.0**32 / 600.0 / 1e18
    n = len(x)
    title = "Hash rate" if not n else (f"Hash rate: network {net[-1]:,.0f} EH/s, local {local[-1]:,.2f} EH/s, "
                                       f"difficulty {h['difficulty'][-1] / 1e12:,.2f} T")
    out = _svg_open("hash_rate", n, title)
    fr = _Frame(56, 40, _CW - 112, _CH - 76, _xlim(x), _limits([net, implied]))
    fr2 = _Frame(56, 40, _CW - 112, _CH - 76, fr.xlim, _limits([local], floor_zero=True))
    out += _axes(fr, left_label="network EH/s", right=fr2, right_label="local EH/s", right_colour="#c06a00")
    out += _legend_row([("#1f77b4", "network", "line"), ("#555", "difficulty x 2^32/600 s", "dash"),
                        (HASH_COLOUR, "local (right axis)", "line")], 60, 32)
    ex, ey = envelope(x, implied)
    out.append(f'<path d="{_path(fr, ex, ey, step=True)}" fill="none" stroke="#555" stroke-width="1.2" '
               f'stroke-dasharray="5 3"/>')
    ex, ey = envelope(x, net)
    out.append(f'<path class="gp-series" d="{_path(fr, ex, ey)}" fill="none" stroke="#1f77b4" stroke-width="1.4"/>')
    ex, ey = envelope(x, local)
    out.append(f'<path d="{_path(fr2, ex, ey)}" fill="none" stroke="{HASH_COLOUR}" stroke-width="1.4"/>')
    out.append("</svg>")
    return "".join(out)


def power_svg(h) -> str:
    """Miners' power by use (MW), stacked: hashing, AI, curtailed."""
    x = _days(h)
    ys = [np.nan_to_num(np.asarray(h[k], float)) for k in ("mw_hashing", "mw_ai", "mw_curtailed")]
    n = len(x)
    title = "Miners' power (MW)" if not n else (f"Miners' power: hashing {ys[0][-1]:,.0f}, AI {ys[1][-1]:,.0f}, "
                                                f"curtailed {ys[2][-1]:,.0f} MW")
    out = _svg_open("power", n, title)
    tops = np.cumsum(ys, axis=0)
    fr = _Frame(56, 40, _CW - 70, _CH - 76, _xlim(x), _limits([tops[-1]], floor_zero=True))
    out += _axes(fr, left_label="MW")
    out += _legend_row([(HASH_COLOUR, "hashing", "box"), (AI_COLOUR, "AI", "box"),
                        (CURTAILED_COLOUR, "curtailed", "box")], 60, 32)
    if n:
        idx = np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS // 2)).astype(int))
        xs = x[idx]
        lower = np.zeros(len(idx))
        for top, colour in zip(tops[:, idx], (HASH_COLOUR, AI_COLOUR, CURTAILED_COLOUR)):
            if n == 1:
                xs_, lo_, hi_ = np.array([xs[0], xs[0] + 1 / 24]), np.repeat(lower, 2), np.repeat(top, 2)
            else:
                xs_, lo_, hi_ = xs, lower, top
            px = fr.px(np.concatenate([xs_, xs_[::-1]]))
            py = fr.py(np.concatenate([hi_, lo_[::-1]]))
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
            out.append(f'<polygon class="gp-series" points="{pts}" fill="{colour}" stroke="none"/>')
            lower = top
    out.append("</svg>")
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
        y = np.asarray(h[key], float)
        col, row = k % 2, k // 2
        fr = _Frame(10 + col * pw + 44, 30 + row * ph + 16, pw - 56, ph - 42, _xlim(x), _limits([y]))
        out += _axes(fr, small=True, xlabel="day" if row else "")
        last = "" if not n else (f": {y[-1]:,.2f}" if abs(y[-1]) < 100 else f": {y[-1]:,.0f}")
        out.append(f'<text x="{fr.x0:.1f}" y="{fr.y0 - 5:.1f}" font-size="10" fill="{colour}">'
                   f'{html.escape(name)} ({unit}){last}</text>')
        ex, ey = envelope(x, y)
        out.append(f'<path class="gp-series" d="{_path(fr, ex, ey)}" fill="none" stroke="{colour}" stroke-width="1.3"/>')
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
    """Block intervals: each hour's mean (dots), the last 24 hours' mean, and the 600 s target."""
    x = _days(h)
    hourly = np.asarray(h["mean_block_interval_s"], float)
    day = day_mean_interval_s(h["blocks"])
    n = len(x)
    title = "Block interval (s)"
    if n:
        title += f": last 24 h {day[-1]:,.0f} s" if np.isfinite(day[-1]) else ": no block yet"
    out = _svg_open("block_interval", n, title)
    finite = hourly[np.isfinite(hourly)]
    top = max(1200.0, float(np.percentile(finite, 98)) * 1.05) if len(finite) else 1200.0
    fr = _Frame(56, 40, _CW - 70, _CH - 76, _xlim(x), (0.0, min(top, 3600.0)))
    out += _axes(fr, left_label="seconds")
    out += _legend_row([("#999", "hourly mean", "dot"), ("#1f77b4", "last 24 h", "line"),
                        ("#d62728", "600 s target", "dash")], 60, 32)
    y600 = float(fr.py(600.0))
    out.append(f'<line x1="{fr.x0:.1f}" y1="{y600:.1f}" x2="{fr.x0 + fr.w:.1f}" y2="{y600:.1f}" stroke="#d62728" '
               f'stroke-width="1.2" stroke-dasharray="5 3"/>')
    ex, ey = envelope(x, np.minimum(hourly, fr.ylim[1]))
    dots = "".join(f"M{a:.1f},{b:.1f}h0" for a, b in zip(fr.px(ex), fr.py(ey)) if math.isfinite(b))
    out.append(f'<path d="{dots}" stroke="#999" stroke-width="3" stroke-linecap="round" fill="none"/>')
    ex, ey = envelope(x, day)
    out.append(f'<path class="gp-series" d="{_path(fr, ex, ey)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    out.append("</svg>")
    return "".join(out)


CHARTS = {"hash_rate": hash_rate_svg, "power": power_svg, "prices": prices_svg, "block_interval": block_interval_svg}
