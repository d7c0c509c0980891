"""The browser view in a real Chromium (Debian's /usr/bin/chromium through Playwright), as a user
sees it: `run.py viz` serves the page on a free local port with every non-local request blocked
(offline, as on CI).

- Layout at 1366x768 and 1920x1080, light and dark: no visible box overlaps another (cards,
  sidebar cards, fixed overlays such as a badge), everything a card holds (the map's legend
  included) lies inside it, every axis's tick labels are distinct and do not overlap, the map
  fills its card; the tab has a real title.
- Switching the scenario sets every control to that scenario's values; Reset builds it.
- Play runs >= 50 steps on default and on ieee118, then pause stops it; charts and map advance;
  the steps per second are printed (not asserted: the machine is shared).
- Screenshots land in test-artifacts/ and are checked for a non-blank map and charts.
No page errors, no failed local requests, no request off the machine."""

import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulation.viz import options

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 90
UI_TIMEOUT_MS = 30_000
ARTIFACTS = REPO / "test-artifacts"
#: steps each play run must reach
PLAY_STEPS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`run.py viz` on a free port; yields its URL; always stopped (its whole process group)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "run.py", "viz", "--port", str(port)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    log: list[str] = []
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + SERVER_START_S
        url = None
        while url is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"`run.py viz` did not print its URL within {SERVER_START_S} s:\n" + "".join(log))
            try:
                ln = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            log.append(ln)
            if "open http://" in ln:
                url = ln.split("open ", 1)[1].split()[0]
        assert url == f"http://127.0.0.1:{port}/"
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) to run the "
                    "browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Page:
    """One browser tab on the view, recording page errors, failed local and any outside requests."""

    def __init__(self, browser, url: str, width: int, height: int) -> None:
        self.errors, self.failed, self.outside = [], [], []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.route("**/*", self._only_local)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url) if "127.0.0.1" in r.url else None)
        self.page.goto(url, timeout=UI_TIMEOUT_MS)
        self.page.locator("svg.gp-map").wait_for(timeout=UI_TIMEOUT_MS)
        self.page.locator("svg.gp-chart").first.wait_for(timeout=UI_TIMEOUT_MS)

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        self.outside.append(url)
        return route.abort()

    def attr(self, selector: str, name: str) -> str:
        return self.page.locator(selector).first.get_attribute(name)

    def steps(self) -> int:
        return int(self.attr(".gp-map-header", "data-steps"))

    def wait_js(self, expr: str, timeout: int = UI_TIMEOUT_MS, arg=None) -> None:
        self.page.wait_for_function(expr, arg=arg, timeout=timeout, polling=50)

    def wait_steps(self, k: int, at_least: bool = False, timeout: int = UI_TIMEOUT_MS) -> None:
        op = ">=" if at_least else "=="
        self.wait_js(f"() => {{ const e = document.querySelector('.gp-map-header'); "
                     f"return e && Number(e.dataset.steps) {op} {k}; }}", timeout=timeout)

    def click(self, label: str) -> None:
        self.page.locator(f"button:has-text('{label}')").click()

    def control(self, label: str):
        """The Vuetify input whose label starts with `label` (slider labels carry their value)."""
        return self.page.locator(".v-navigation-drawer .v-input").filter(
            has=self.page.locator("label", has_text=re.compile("^" + re.escape(label))))

    def choose(self, label: str, value: str) -> None:
        self.control(label).locator(".v-select__slot").click()
        item = self.page.locator(".menuable__content__active .v-list-item").filter(
            has_text=re.compile(f"^\\s*{re.escape(value)}\\s*$"))
        item.first.click()

    def control_values(self, spec: dict) -> dict:
        out = {}
        for key, s in spec.items():
            box = self.control(s["label"])
            if s["type"].startswith("Slider"):
                v = box.locator("[role=slider]").get_attribute("aria-valuenow")
                out[key] = int(v) if s["type"] == "SliderInt" else float(v)
            elif s["type"] == "Select":
                out[key] = box.locator(".v-select__selection").inner_text().strip()
            else:
                out[key] = box.locator("input").get_attribute("aria-checked") == "true"
        return out

    def check_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.failed, self.failed
        assert not self.outside, f"the page asked for non-local resources (it must work offline): {self.outside}"

    def close(self) -> None:
        self.page.close()


#: every layout problem on the page, as text (empty: none)
LAYOUT_JS = r"""
() => {
  const shown = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0.5 && r.height > 0.5 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0.05; };
  const box = e => { const r = e.getBoundingClientRect(); return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; };
  const overlap = (a, b) => Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 1 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 1;
  const inside = (a, b) => a.x0 >= b.x0 - 1 && a.y0 >= b.y0 - 1 && a.x1 <= b.x1 + 1 && a.y1 <= b.y1 + 1;
  const nm = e => { const c = (e.getAttribute && e.getAttribute('class')) || ''; return e.tagName.toLowerCase() + (c ? '.' + c.trim().split(/\s+/).join('.') : ''); };
  const out = [];
  const cards = [...document.querySelectorAll('.gp-card')].filter(shown);
  const side = [...document.querySelectorAll('.v-navigation-drawer .v-card')].filter(shown);
  const blocks = [...cards, ...side];
  for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++)
    if (overlap(box(blocks[i]), box(blocks[j]))) out.push(`${nm(blocks[i])} overlaps ${nm(blocks[j])}`);
  // fixed overlays (app bar, drawer, any badge or banner) over the cards
  const fixed = [...document.querySelectorAll('body *')].filter(e => getComputedStyle(e).position === 'fixed' && shown(e));
  for (const f of fixed) {
    if (f.closest('.v-navigation-drawer') && f.closest('.v-navigation-drawer') !== f) continue;
    if (f.classList.contains('v-overlay') && !f.classList.contains('v-overlay--active')) continue;  // Vuetify's idle scrim
    for (const c of cards) if (overlap(box(f), box(c))) out.push(`fixed ${nm(f)} "${(f.innerText || '').slice(0, 40)}" over ${nm(c)}`);
  }
  // what a card holds lies inside it, and its direct parts do not overlap each other
  for (const c of cards) {
    const cb = box(c);
    for (const e of c.querySelectorAll('.gp-map-header, .gp-settings, .gp-map-legend, .gp-key, .gp-map-box, svg, .gp-table-wrap'))
      if (shown(e) && !inside(box(e), cb)) out.push(`${nm(e)} sticks out of ${nm(c)}`);
    const parts = [...c.children].filter(shown);
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++)
      if (overlap(box(parts[i]), box(parts[j]))) out.push(`${nm(parts[i])} overlaps ${nm(parts[j])} in ${nm(c)}`);
  }
  // chart text (titles, legends, tick labels) inside its chart
  for (const s of document.querySelectorAll('svg.gp-chart')) {
    const sb = box(s);
    for (const t of s.querySelectorAll('text')) if (shown(t) && !inside(box(t), sb))
      out.push(`text "${t.textContent}" outside chart ${s.dataset.chart}`);
  }
  // the sidebar's cards inside the drawer's width
  for (const c of side) { const d = box(c.closest('.v-navigation-drawer'));
    if (box(c).x1 > d.x1 + 1 || box(c).x0 < d.x0 - 1) out.push(`${nm(c)} wider than the sidebar`); }
  return out;
}
"""

#: per axis: its tick labels; and tick labels whose boxes overlap
TICKS_JS = r"""
() => {
  const axes = {};
  const clash = [];
  for (const g of document.querySelectorAll('svg.gp-chart g.gp-yticks, svg.gp-chart g.gp-xticks')) {
    const key = g.closest('svg').dataset.chart + ':' + g.dataset.axis;
    const texts = [...g.querySelectorAll('text')];
    axes[key] = texts.map(t => t.textContent);
    const r = texts.map(t => t.getBoundingClientRect());
    for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
      if (Math.min(r[i].right, r[j].right) - Math.max(r[i].left, r[j].left) > 0.5 &&
          Math.min(r[i].bottom, r[j].bottom) - Math.max(r[i].top, r[j].top) > 0.5) clash.push(`${key}: ${axes[key][i]} / ${axes[key][j]}`);
  }
  return {axes, clash};
}
"""

#: the map's box, its card's and its drawn buses'
MAP_JS = r"""
() => {
  const r = e => { const b = e.getBoundingClientRect(); return {w: b.width, h: b.height}; };
  return {card: r(document.querySelector('.gp-map-card')), svg: r(document.querySelector('svg.gp-map')),
          buses: r(document.querySelector('svg.gp-map g.gp-buses'))};
}
"""


def check_layout(p: Page, where: str) -> None:
    problems = p.page.evaluate(LAYOUT_JS)
    assert not problems, f"{where}: {problems}"
    ticks = p.page.evaluate(TICKS_JS)
    assert len(ticks["axes"]) >= 2 * 7, ticks["axes"]  # x and y of power, security, 4 prices, block interval
    for axis, labels in ticks["axes"].items():
        assert len(labels) >= 2 and len(set(labels)) == len(labels), f"{where}: {axis} repeats a label: {labels}"
    assert not ticks["clash"], f"{where}: tick labels overlap: {ticks['clash']}"
    m = p.page.evaluate(MAP_JS)
    area = lambda b: b["w"] * b["h"]  # noqa: E731
    assert area(m["svg"]) >= 0.55 * area(m["card"]), f"{where}: the map is small inside its card: {m}"
    assert m["buses"]["w"] >= 0.8 * m["svg"]["w"] or m["buses"]["h"] >= 0.8 * m["svg"]["h"], \
        f"{where}: the grid does not fill the map: {m}"


def pixel_stats(png: bytes) -> tuple[float, int]:
    """(share of pixels that differ from the most common colour, distinct colours at 4 bits/channel)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    q = Image.eval(img, lambda v: v >> 4)
    colours = q.getcolors(maxcolors=1 << 12) or []
    total = img.width * img.height
    top = max(c for c, _ in colours) if colours else total
    return 1.0 - top / total, len(colours)


def check_not_blank(p: Page, name: str) -> None:
    """The map and every chart: real drawings (not one flat colour), saved as artifacts."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = p.page.locator("svg.gp-map").screenshot(path=str(ARTIFACTS / f"{name}-map.png"))
    ink, colours = pixel_stats(shot)
    assert ink > 0.03 and colours >= 8, f"{name}: the map looks blank ({ink:.1%} drawn, {colours} colours)"
    for chart in ("power", "security", "prices", "block_interval"):
        loc = p.page.locator(f"svg.gp-chart[data-chart='{chart}']")
        loc.scroll_into_view_if_needed()
        ink, colours = pixel_stats(loc.screenshot(path=str(ARTIFACTS / f"{name}-{chart}.png")))
        assert ink > 0.02 and colours >= 4, f"{name}: chart {chart} looks blank ({ink:.1%} drawn, {colours} colours)"
    p.page.evaluate("() => { window.scrollTo(0, 0); document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; }); }")


def _load() -> str:
    try:
        return "load average %.2f %.2f %.2f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0)
    except OSError:
        return "load average unknown"


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_layout_nothing_overlaps_ticks_distinct_map_fills_its_card(server, browser, size):
    p = Page(browser, server, *size)
    try:
        tag = f"{size[0]}x{size[1]}"
        assert p.page.title() == "gridpivot: default"  # not "PAGE 0" nor Solara's default
        assert p.page.get_by_text(re.compile("^Page 0$", re.I)).count() == 0
        # before the first step: no prices, nobody curtailed
        assert p.attr("svg.gp-map", "data-dispatched") == "0"
        assert p.page.locator("svg.gp-map g.gp-miner path").count() == 0
        fills = set(p.page.locator("svg.gp-map rect.gp-bus").evaluate_all("els => els.map(e => e.getAttribute('fill'))"))
        assert fills == {"#e0e0e0"}, fills
        check_layout(p, f"{tag}, step 0")
        for k in (1, 2, 3):
            p.click("Step")
            p.wait_steps(k)
        p.wait_js("() => document.querySelector(\"svg.gp-chart[data-chart='power']\").dataset.points === '3'")
        assert p.attr("svg.gp-map", "data-dispatched") == "1"
        check_layout(p, f"{tag}, step 3")
        p.page.screenshot(path=str(ARTIFACTS / f"viz-{tag}.png"))
        check_not_blank(p, f"viz-{tag}")
        # dark theme: the cards (charts included) turn dark, the layout holds
        p.page.locator(".v-app-bar button").last.click()
        p.wait_js("() => !!document.querySelector('.v-application.theme--dark')")
        bg = p.page.locator(".gp-chart-card").first.evaluate("e => getComputedStyle(e).backgroundColor")
        ink = p.page.locator("svg.gp-chart").first.evaluate("e => getComputedStyle(e).color")
        rgb = lambda s: [int(v) for v in re.findall(r"\d+", s)[:3]]  # noqa: E731
        assert sum(rgb(bg)) < 150 and sum(rgb(ink)) > 500, (bg, ink)
        check_layout(p, f"{tag}, dark")
        p.page.screenshot(path=str(ARTIFACTS / f"viz-{tag}-dark.png"))
        p.check_clean()
    finally:
        p.close()


def test_scenario_choice_loads_every_control_and_reset_builds_it(server, browser):
    p = Page(browser, server, 1920, 1080)
    try:
        start = options.model_params("default")
        assert p.control_values(start) == {k: s["value"] for k, s in start.items()}
        # a non-default value first, so "loads the scenario's values" is seen to overwrite it
        p.choose("Strategy mix", "only profit_max")
        for name in ("ieee118", "heatwave", "default"):
            p.choose("Scenario", name)
            spec = options.model_params(name)
            want = {k: s["value"] for k, s in spec.items()}
            p.wait_js("(n) => [...document.querySelectorAll('.v-navigation-drawer .v-select__selection')]"
                      ".some(e => e.innerText.trim() === n)", arg=name)
            deadline = time.monotonic() + 15
            while (got := p.control_values(spec)) != want and time.monotonic() < deadline:
                time.sleep(0.2)
            assert got == want, name
            p.click("Reset")
            n_bus = {"ieee118": "118"}.get(name, "30")
            p.wait_js("([b, m, n]) => { const s = document.querySelector('svg.gp-map'); "
                      "const h = document.querySelector('.gp-map-header'); "
                      "return s && h && s.dataset.buses === b && s.dataset.miners === m && "
                      "h.innerText.startsWith(n + ':'); }", arg=[n_bus, str(want["miners"]), name])
            assert p.steps() == 0
            header = p.page.locator(".gp-map-card").inner_text()
            assert f"{want['miners']:,} miners" in header or f"{want['miners']} miners" in header
            assert ("heat wave days" in header) == want["heatwave"], header
            if name == "ieee118":  # the case's bus names on the map
                labels = p.page.locator("svg.gp-map g.gp-bus-labels text").evaluate_all("els => els.map(e => e.textContent)")
                assert len(labels) == 118 and "Riversde V2" in labels
                p.click("Step")
                p.wait_steps(1)
                p.page.screenshot(path=str(ARTIFACTS / "viz-ieee118.png"))
                check_not_blank(p, "viz-ieee118")
                # one price, one colour: no bin split by solver noise
                prices = p.page.locator("svg.gp-map rect.gp-bus title").evaluate_all("els => els.map(e => e.textContent)")
                fills = p.page.locator("svg.gp-map rect.gp-bus").evaluate_all(
                    "els => els.map(e => e.getAttribute('fill'))")
                by_price = {}
                for t, f in zip(prices, fills):
                    by_price.setdefault(t.rsplit(": ", 1)[1], set()).add(f)
                assert all(len(f) == 1 for f in by_price.values()), by_price
                check_layout(p, "ieee118, step 1")
        p.check_clean()
    finally:
        p.close()


def _play(p: Page, steps: int) -> float:
    """Play until `steps` more steps are shown, pause; the steps per second the browser saw."""
    s0 = p.steps()
    points0 = int(p.attr("svg.gp-chart[data-chart='power']", "data-points"))
    map0 = p.page.locator("svg.gp-map").inner_html()
    p.click("▶")
    s1 = s0
    try:
        p.wait_steps(s0 + 5, at_least=True, timeout=UI_TIMEOUT_MS)  # running: time from here
        s1, t1 = p.steps(), time.perf_counter()
        p.wait_steps(s1 + steps, at_least=True, timeout=120_000)
    except Exception:
        p.page.screenshot(path=str(ARTIFACTS / "debug-play.png"))
        raise AssertionError(f"play stalled at step {p.steps()} (from {s1}); buttons "
                             f"{p.page.locator('button.v-btn').all_inner_texts()}; errors {p.errors}") from None
    elapsed = time.perf_counter() - t1
    seen = p.steps() - s1
    p.click("❚❚")
    try:
        p.page.locator("button:has-text('▶')").wait_for(timeout=UI_TIMEOUT_MS)
    except Exception:
        p.page.screenshot(path=str(ARTIFACTS / "debug-pause.png"))
        raise
    time.sleep(0.5)
    stopped = p.steps()
    time.sleep(1.0)
    assert p.steps() == stopped, "pause did not stop the run"
    p.wait_js("(n) => Number(document.querySelector(\"svg.gp-chart[data-chart='power']\").dataset.points) === n",
              arg=stopped)
    for chart in ("power", "security", "prices", "block_interval"):
        assert int(p.attr(f"svg.gp-chart[data-chart='{chart}']", "data-points")) >= points0 + steps
    assert p.page.locator("svg.gp-map").inner_html() != map0  # the map moved on
    return seen / elapsed


def test_play_and_pause_default_and_ieee118(server, browser, capsys):
    p = Page(browser, server, 1366, 768)
    try:
        rate_default = _play(p, PLAY_STEPS)
        p.page.screenshot(path=str(ARTIFACTS / "viz-played-default.png"))
        check_not_blank(p, "viz-played-default")
        p.choose("Scenario", "ieee118")
        p.click("Reset")
        p.wait_js("() => document.querySelector('svg.gp-map').dataset.buses === '118' && "
                  "document.querySelector('.gp-map-header').dataset.steps === '0' && "
                  "[...document.querySelectorAll('svg.gp-chart')].every(s => s.dataset.points === '0')")
        rate_118 = _play(p, PLAY_STEPS)
        p.page.screenshot(path=str(ARTIFACTS / "viz-played-ieee118.png"))
        check_not_blank(p, "viz-played-ieee118")
        check_layout(p, "ieee118 after play")
        p.check_clean()
    finally:
        p.close()
    line = (f"viz play speed in Chromium (pause 1 ms, redraw every step): default {rate_default:.1f} steps/s, "
            f"ieee118 {rate_118:.1f} steps/s ({_load()})")
    (ARTIFACTS / "viz-speed.txt").write_text(line + "\n")
    with capsys.disabled():
        print("\n" + line)
