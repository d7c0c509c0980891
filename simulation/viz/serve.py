"""`run.py viz [CONFIG]`: start the Solara server for app.py and print its local URL.

The server runs `solara run app.py` in a child process (production mode: no hot reload, no
version check, no telemetry), with the CONFIG handed over in an environment variable. Solara's
front end is served from the `solara-assets` package, so the page works offline.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from simulation.viz.options import CONFIG_ENV, REPO, config_path

APP = REPO / "app.py"
#: modules the browser view needs, all from the `viz` extra
VIZ_MODULES = ("solara", "altair", "ipyvuetify", "solara_assets")
#: seconds to wait for the server to accept connections before giving up
START_TIMEOUT_S = 120.0


def missing_viz_modules() -> list[str]:
    """The `viz` extra's modules that are not installed."""
    missing = []
    for name in VIZ_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def solara_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version", "--log-level", "warning"]


def solara_env(config: str | os.PathLike | None) -> dict[str, str]:
    env = dict(os.environ)
    if config:
        p = Path(config)
        env[CONFIG_ENV] = str(p.resolve()) if p.is_file() else str(config)
    else:
        env.pop(CONFIG_ENV, None)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # the badge covered the page's corner
    env.setdefault("SOLARA_THEME_TITLE", "gridpivot")
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def serve(config_path_or_none: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 8765) -> int:
    """Run the browser view until interrupted; returns the server's exit code (2: bad input or
    the `viz` extra not installed)."""
    missing = missing_viz_modules()
    if missing:
        print(f"error: the browser view needs the `viz` extra ({', '.join(missing)} not installed); install it with "
              "pip install -e '.[viz]' (from a checkout) or pip install 'gridpivot[viz]'", file=sys.stderr)
        return 2
    try:
        config_path(config_path_or_none)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not 0 < int(port) < 65536:
        print(f"error: --port must be in 1..65535 (got {port}); pick a free local port", file=sys.stderr)
        return 2
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if _port_open(probe, port):
        print(f"error: port {port} on {host} is already in use; pass --port with a free port", file=sys.stderr)
        return 2
    url = f"http://{host}:{port}/"
    print(f"gridpivot viz: starting the Solara server for {config_path_or_none or 'the default scenario'} ...",
          flush=True)
    proc = subprocess.Popen(solara_command(host, port), cwd=REPO, env=solara_env(config_path_or_none))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while proc.poll() is None and not _port_open(probe, port):
            if time.monotonic() > deadline:
                print(f"error: the server did not start within {START_TIMEOUT_S:.0f} s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        if proc.poll() is None:
            print(f"gridpivot viz: open {url}  (Ctrl+C stops the server)", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
