"""Re-run a study the docs report and record its output where the docs include it.

Every result the docs show comes from one of these studies; each page includes the recorded
output (`docs/studies/<study>.txt`, and the study's figure under `docs/figures/`), so numbers
are not typed into prose, and re-running a study updates its page:

    python docs/studies/record.py --list
    python docs/studies/record.py backtest_2024 [--workers 2]
    python docs/studies/record.py all

A recording starts with the command, the git revision, the date and the machine, then what the
study printed (progress bars left out). A study that fails records nothing (the old recording
stays) and exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "docs" / "studies"
FIGURES = ROOT / "docs" / "figures"


@dataclass(frozen=True)
class Study:
    """Commands run in order in a scratch folder (`{out}`), `{workers}` and `{python}` filled in;
    the output of those marked `record` is kept; `figures` maps a file the study writes (relative
    to the scratch folder) to its name under docs/figures/."""
    about: str
    commands: list[tuple[str, bool]]
    figures: dict[str, str] = field(default_factory=dict)


STUDIES: dict[str, Study] = {
    "halving_counterfactual": Study(
        "pivot_2024 with and without the halving, 8 paired seeds (docs/model/pivot.md)",
        [("{python} run.py batch halving_counterfactual --workers {workers} --out {out}/b --quiet", False),
         ("{python} run.py analyse {out}/b", True)],
        {"b/counterfactual_mw_by_use.png": "halving_counterfactual.png"}),
    "backtest_2024": Study(
        "the 2024 backtest over 8 seeds against the real chain (docs/validation.md)",
        [("{python} run.py batch backtest_2024_seeds --workers {workers} --out {out}/b --quiet", False),
         ("{python} run.py analyse {out}/b", True)],
        {"b/backtest_band.png": "backtest_2024.png"}),
    "texas_2024": Study(
        "a year of the Texas scenario (docs/model/texas.md)",
        [("{python} run.py run texas_2024 --out {out}/r --quiet", True),
         ("{python} run.py analyse {out}/r --no-figures", True)]),
    "year_ieee118": Study(
        "benchmarks/year_ieee118.py: the IEEE 118 year and its naive baseline (docs/performance.md)",
        [("{python} benchmarks/year_ieee118.py", True)]),
    "year_texas": Study(
        "benchmarks/year_texas.py: the Texas year, its phases, and the same LPs in pandapower and PyPSA "
        "(docs/performance.md)",
        [("{python} benchmarks/year_texas.py", True)]),
    "scaling": Study(
        "benchmarks/scaling.py: cost per hour by miners and by grid size (writes docs/performance.md's table)",
        [("{python} benchmarks/scaling.py --hours 2160 --docs", True)]),
}


def revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def record(name: str, workers: int) -> int:
    study = STUDIES[name]
    header = [f"# {study.about}",
              f"# recorded by: python docs/studies/record.py {name} --workers {workers}",
              f"# revision {revision()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu_name()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}"]
    body: list[str] = []
    with tempfile.TemporaryDirectory(prefix=f"study-{name}-") as out:
        for template, keep in study.commands:
            command = template.format(python=sys.executable, workers=workers, out=out)
            print(f"[{name}] {command}", flush=True)
            done = subprocess.run(command.split(), cwd=ROOT, capture_output=True, text=True)
            if done.returncode:
                print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
                print(f"[{name}] failed (exit {done.returncode}); nothing recorded", file=sys.stderr)
                return 1
            if keep:
                shown = command.replace(sys.executable, "python").replace(out, "<scratch>")
                body += [f"$ {shown}", done.stdout.replace(out, "<scratch>").rstrip(), ""]
        for src, dst in study.figures.items():
            FIGURES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(out) / src, FIGURES / dst)
    (HERE / f"{name}.txt").write_text("\n".join(header + [""] + body).rstrip() + "\n")
    print(f"[{name}] recorded docs/studies/{name}.txt", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", nargs="?", help="a study name, or 'all'")
    ap.add_argument("--workers", type=int, default=2, help="parallel runs for batch studies (default 2)")
    ap.add_argument("--list", action="store_true", help="list the studies")
    args = ap.parse_args(argv)
    if args.list or not args.study:
        for name, s in STUDIES.items():
            print(f"{name:24s} {s.about}")
        return 0
    names = list(STUDIES) if args.study == "all" else [args.study]
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        ap.error(f"unknown study {unknown[0]!r}; use one of: {', '.join(STUDIES)}")
    return max(record(n, args.workers) for n in names)


if __name__ == "__main__":
    sys.exit(main())
