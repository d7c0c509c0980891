"""The README is a front door that stays true: short, and every `python run.py ...` command in it
(code blocks and inline) runs, on short horizons.

How a command is shortened, and nothing else changes: `run` gets `--hours 24` (replacing any
`--hours`); `batch` runs a copy of its sweep file with `run.hours = 24` and at most 2
replications; `viz` must serve its page, then is stopped. `analyse` reads what the commands
before it wrote. The two set-up commands are checked by tests/test_lock.py and run by CI.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHORT_HOURS = 24


def readme_commands() -> list[str]:
    """Every `python run.py ...` command of the README, in order (code blocks, then inline code)."""
    text = README.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [ln.split("  #")[0].strip() for b in blocks for ln in b.splitlines()]
    inline = re.findall(r"`(python run\.py [^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = [c for c in lines if c.startswith("python run.py ")] + [" ".join(c.split()) for c in inline]
    return list(dict.fromkeys(commands))


def test_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README has {len(lines)} lines; move detail into docs/"
    text = "\n".join(lines)
    for target in re.findall(r"\]\(((?:docs/|CONTRIBUTING|CITATION)[^)#]*)", text):
        assert (ROOT / target).exists(), f"README links to a missing file: {target}"


def _short_sweep(name: str, tmp: Path) -> Path:
    from simulation.config.named import sweep_file

    src = sweep_file(name if not name.endswith(".toml") else ROOT / name)
    doc = tomllib.loads(Path(src).read_text())
    base = doc.get("base")
    if base and base.endswith(".toml"):
        doc["base"] = str((Path(src).parent / base).resolve())
    doc.setdefault("fixed", {})["run.hours"] = SHORT_HOURS
    doc["replications"] = min(int(doc.get("replications", 1)), 2)
    out = tmp / f"{Path(name).stem}.toml"
    out.write_text(tomli_w.dumps(doc))
    return out


def _serve_and_stop(argv: list[str], cwd: Path) -> None:
    port = 8790
    proc = subprocess.Popen(argv + ["--port", str(port)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"viz exited early: {proc.stdout.read()[-2000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    assert r.status == 200
                    return
            except OSError:
                time.sleep(1)
        pytest.fail("viz did not serve its page within 150 s")
    finally:
        import os
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    commands = readme_commands()
    verbs = {shlex.split(c)[2] for c in commands}
    assert {"run", "show-config", "analyse", "batch", "viz"} <= verbs, verbs
    for command in commands:
        argv = shlex.split(command)
        verb = argv[2]
        argv = [sys.executable, str(ROOT / "run.py")] + argv[2:]
        if verb == "run":
            if "--hours" in argv:
                i = argv.index("--hours")
                del argv[i:i + 2]
            argv += ["--hours", str(SHORT_HOURS), "--quiet"]
        elif verb == "batch":
            argv[3] = str(_short_sweep(argv[3], tmp_path))
            name = Path(shlex.split(command)[3]).stem
            argv += ["--out", str(tmp_path / "batches" / name), "--quiet"]
        elif verb == "viz":
            pytest.importorskip("solara")
            _serve_and_stop(argv, tmp_path)
            continue
        if verb == "analyse":
            argv = argv[:3] + [str(p) for a in argv[3:] for p in sorted(tmp_path.glob(a))] or argv
            assert len(argv) > 3, f"{command}: nothing to analyse (no earlier command wrote it)"
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}: {done.stderr.strip()[-2000:]}"
