"""The browser view in a real Chromium (Debian's /usr/bin/chromium through Playwright): `run.py viz`
serves the page on a free local port with every non-local request blocked (offline, as on CI);
the map and the four charts render; Step advances the step counter and the charts' data; a
slider plus Reset rebuilds the model. A screenshot lands in test-artifacts/viz.png."""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 90
UI_TIMEOUT_MS = 30_000
ARTIFACT = REPO / "test-artifacts" / "viz.png"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
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


def _attr(page, selector: str, name: str) -> str:
    return page.locator(selector).first.get_attribute(name)


def _wait_attr(page, selector: str, name: str, value: str) -> None:
    page.wait_for_function(
        "([sel, name, value]) => { const e = document.querySelector(sel); return e && e.getAttribute(name) === value; }",
        arg=[selector, name, value], timeout=UI_TIMEOUT_MS)


def test_page_renders_offline_steps_and_resets(server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) to run the "
                    "browser test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed (pip install -e '.[test]')")

    outside, page_errors, failed_local = [], [], []

    def only_local(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        outside.append(url)
        return route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.route("**/*", only_local)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("requestfailed", lambda r: failed_local.append(r.url) if "127.0.0.1" in r.url else None)
            page.goto(server, timeout=UI_TIMEOUT_MS)

            # the map and the four charts
            page.locator("svg.gp-map").wait_for(timeout=UI_TIMEOUT_MS)
            n_bus = int(_attr(page, "svg.gp-map", "data-buses"))
            n_miners = int(_attr(page, "svg.gp-map", "data-miners"))
            assert n_bus > 0 and page.locator("svg.gp-map rect.gp-bus").count() == n_bus
            assert page.locator("svg.gp-map g.gp-miner").count() == n_miners == 40  # default scenario
            assert page.locator("svg.gp-chart").count() == 4
            assert _attr(page, ".gp-map-header", "data-steps") == "0"

            # Step: the step counter (ours and Mesa's) and the charts' data advance
            step = page.locator("button:has-text('Step')")
            paths = []
            for k in (1, 2, 3):
                step.click()
                _wait_attr(page, ".gp-map-header", "data-steps", str(k))
                _wait_attr(page, "svg.gp-chart[data-chart='hash_rate']", "data-points", str(k))
                paths.append(page.locator("svg.gp-chart[data-chart='prices'] path.gp-series").first.get_attribute("d"))
            assert page.get_by_text("Time: 3.0").count() == 1  # Mesa's own counter
            assert _attr(page, "svg.gp-chart[data-chart='block_interval']", "data-points") == "3"
            assert len(set(paths)) == 3 and paths[0].count("L") < paths[2].count("L")
            assert page.locator(".gp-map-header .gp-hour").inner_text() == "2"  # hours count from 0

            # a control, then Reset: fewer miners in a new model, back at step 0
            miners = page.locator(".v-input").filter(has=page.locator("label", has_text="Miners")).locator("[role=slider]")
            miners.focus()
            for _ in range(5):
                miners.press("ArrowLeft")
            assert miners.get_attribute("aria-valuenow") == "35"
            page.locator("button:has-text('Reset')").click()
            _wait_attr(page, "svg.gp-map", "data-miners", "35")
            assert _attr(page, ".gp-map-header", "data-steps") == "0"
            assert page.locator("svg.gp-map g.gp-miner").count() == 35
            for k in (1, 2, 3, 4, 5, 6):
                step.click()
                _wait_attr(page, ".gp-map-header", "data-steps", str(k))
            _wait_attr(page, "svg.gp-chart[data-chart='power']", "data-points", "6")
            ARTIFACT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
        finally:
            browser.close()

    assert not page_errors, page_errors
    assert not failed_local, failed_local
    assert not outside, f"the page asked for non-local resources (it must work offline): {outside}"
