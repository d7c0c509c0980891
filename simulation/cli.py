"""gridpivot's command line (behind `run.py`, `python -m simulation` and `gridpivot`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
gridpivot: Bitcoin miners on a power grid, choosing every hour between hashing, AI compute and
curtailment; the grid clears with their bids in it, and the Bitcoin network retargets on their
hash rate. Without a CONFIG, commands use the built-in default scenario (configs/default.toml)."""

EPILOG = """\
examples:
  python run.py run                                   default scenario, logs in runs/default-<time>/
  python run.py run configs/ai_boom.toml --hours 336 --set markets.btc_price.s0_usd=90000
  python run.py show-config configs/ai_boom.toml      resolved config as TOML
  python run.py analyse runs/default-*                tables and figures for one or more runs
  python run.py batch configs/sweeps/halving_prices.toml --workers 2
  python run.py viz                                   browser visualisation (Mesa + Solara)"""


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="scenario TOML, or a named scenario such as halving_2024 "
                                            "(default: the built-in default scenario)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field by its dotted path, e.g. --set grid.copperplate=true "
                        "(value parsed as TOML; repeatable)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="run.py", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="simulate one scenario and write its logs",
                       description="Simulate one scenario hour by hour and write its logs (Parquet tables, "
                                   "config.toml, meta.json, summary.json) to one folder; print a summary.")
    _config_args(p)
    p.add_argument("--hours", type=int, help="simulated hours (overrides run.hours)")
    p.add_argument("--seed", type=int, help="root random seed (overrides run.seed)")
    p.add_argument("--out", type=Path, help="log folder (default: runs/<name>-<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("show-config", help="print the resolved scenario (or the schema)",
                       description="Print the scenario as resolved from defaults, the file and --set overrides.")
    _config_args(p)
    p.add_argument("--schema", action="store_true", help="print every field: key, type, default, unit, meaning")

    p = sub.add_parser("analyse", aliases=["analyze"], help="tables and figures from run or batch folders",
                       description="Key outcomes per run (and side by side for several), and PNG figures "
                                   "written into each run folder; on a batch folder, outcome-vs-parameter plots.")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run or batch log folders")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument("--outcome", action="append", default=None, metavar="NAME",
                   help="designed batch: outcome for the sensitivity indices, a summary key (ai_mw_end) or a paired "
                        "difference <switch>_effect_<key> (halving_effect_ai_mw); repeatable; on any batch with >= 3 "
                        "replications also the replications it needs")
    p.add_argument("--where", metavar="CONDITION", help="designed batch: PRIM scenario discovery for a condition on an "
                                                         "outcome, e.g. --where \"halving_effect_ai_mw > 20\"")
    p.add_argument("--min-coverage", type=float, default=None, metavar="C",
                   help="PRIM: report the densest box with coverage >= C (default 0.5)")

    p = sub.add_parser("batch", help="run a parameter sweep x seeds in parallel (resumable)",
                       description="Run every point of a sweep file x its replications in parallel processes "
                                   "(or on Ray); re-running the same command resumes.")
    p.add_argument("sweep", type=Path, nargs="?", help="sweep TOML (base scenario, parameters or a design, "
                                                       "replications), or a named sweep such as halving_prices")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: CPU count)")
    p.add_argument("--out", type=Path, help="batch folder (default: batches/<sweep name>)")
    p.add_argument("--backend", choices=["process", "ray"], default="process", help="where runs execute")
    p.add_argument("--address", help="existing Ray cluster: host:6379 or ray://host:10001 (with --backend ray; "
                                     "default: start a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--shard", metavar="I/N", help="run only the I-th of N disjoint slices of the sweep (design or "
                                                  "grid points I-1 modulo N; 1-based), e.g. one Slurm array task; "
                                                  "default folder batches/<name>-shard<I>of<N>")
    p.add_argument("--merge", nargs="+", type=Path, metavar="SHARD_DIR",
                   help="join shard folders 1..N into --out (default batches/<name>) instead of running a sweep")

    p = sub.add_parser("viz", help="open the model in Mesa's browser visualisation",
                       description="Start the Solara server for app.py and print its local URL.")
    p.add_argument("config", nargs="?", help="scenario TOML shown first (default: the default scenario)")
    p.add_argument("--port", type=int, default=8765, help="local port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except _WriteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


class _UserError(Exception):
    """A one-line problem with the user's input (exit code 2)."""


class _WriteError(Exception):
    """The output could not be written (read-only, disk full, ...): exit code 1."""


def _io_error(where, e: OSError) -> _WriteError:
    what = e.strerror or _one_line(e)
    name = getattr(e, "filename", None) or where
    return _WriteError(f"{name}: cannot write ({what}); free space, fix the permissions or pass another --out")


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


def _load(args, **extra):
    from simulation.config import ConfigError, load_scenario
    from simulation.config.named import scenario_file

    overrides = list(args.overrides)
    for key, value in extra.items():
        if value is not None:
            overrides.append(f"{key}={value}")
    flags = {f"{key}={value}": f"--{key.split('.')[-1]}" for key, value in extra.items() if value is not None}
    try:
        return load_scenario(scenario_file(args.config), overrides)
    except ConfigError as e:
        if e.source == "--set" and any(ov.startswith(e.key + "=") for ov in flags):
            e = ConfigError(flags[next(ov for ov in flags if ov.startswith(e.key + "="))], e.key, e.problem, e.fix)
        raise _UserError(_one_line(e)) from None
    except (ValueError, FileNotFoundError) as e:
        raise _UserError(_one_line(e)) from None


def cmd_run(args) -> int:
    from simulation.runner import default_run_dir, run_scenario

    sc = _load(args, **{"run.hours": args.hours, "run.seed": args.seed})
    model = None
    if sc.hashrate is None:  # build first: bad entries fail before any file is written
        from simulation.model import GridPivotModel

        try:
            model = GridPivotModel(sc, collect_mesa=False)
        except ValueError as e:
            raise _UserError(_in_file(args.config, e)) from None
    out = args.out or default_run_dir(sc)
    try:
        summary = run_scenario(sc, out, progress=not args.quiet, model=model)
    except (FileExistsError, ValueError) as e:
        raise _UserError(_one_line(e)) from None
    except OSError as e:
        raise _io_error(out, e) from None
    print(format_summary(summary, out))
    return 0


def _in_file(config, e: Exception) -> str:
    """A late (model-building) error on one line, prefixed with the config file it came from
    ('defaults' for the built-in scenario)."""
    line, source = _one_line(e), str(config or "defaults")
    return line if line.startswith(source) else f"{source}: {line}"


def format_summary(summary: dict, out: Path) -> str:
    if "epochs_table" in summary:
        return summary["epochs_table"] + f"\nlogs: {out}"
    width = max(len(k) for k in summary)
    lines = [f"{k:<{width}}  {_fmt(v)}" for k, v in summary.items()]
    return "\n".join(lines + [f"{'logs':<{width}}  {out}"])


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def cmd_show_config(args) -> int:
    from simulation.config import Scenario, describe_schema, dump_config

    if args.schema:
        print(describe_schema(Scenario))
        return 0
    print(dump_config(_load(args)), end="")
    return 0


def cmd_analyse(args) -> int:
    from simulation.analysis import analyse_paths

    try:
        if args.min_coverage is not None and not 0 < args.min_coverage <= 1:
            raise ValueError(f"--min-coverage {args.min_coverage}: give a share between 0 and 1, e.g. 0.5")
        print(analyse_paths(args.runs, figures=not args.no_figures, outcome_names=args.outcome, where=args.where,
                            min_coverage=args.min_coverage))
    except (FileNotFoundError, ValueError) as e:
        raise _UserError(_one_line(e)) from None
    except OSError as e:
        raise _io_error(args.runs[0], e) from None
    return 0


def cmd_batch(args) -> int:
    from simulation.batch import run_batch
    from simulation.batch.driver import parse_shard
    from simulation.config.named import sweep_file

    if args.merge:
        return _merge(args)
    if args.sweep is None:
        raise _UserError("batch needs a sweep file (or --merge SHARD_DIR... to join shards)")
    try:
        shard = parse_shard(args.shard)
        result = run_batch(sweep_file(args.sweep), workers=args.workers, out=args.out, backend=args.backend,
                           address=args.address, progress=not args.quiet, shard=shard)
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        raise _UserError(_one_line(e)) from None
    except OSError as e:
        raise _io_error(args.out or "batches", e) from None
    except RuntimeError as e:  # a worker died; re-running resumes
        raise _WriteError(_one_line(e)) from None
    print(result)
    return 0


def _merge(args) -> int:
    from simulation.batch.folder import read_json
    from simulation.batch.merge import merge_shards

    if args.sweep is not None or args.shard:
        raise _UserError("--merge joins shard folders: give no sweep file and no --shard")
    out = args.out
    if out is None:
        name = (read_json(args.merge[0] / "batch.json") or {}).get("name") or "merged"
        out = Path("batches") / name
    try:
        table = merge_shards(args.merge, out)
    except (FileNotFoundError, ValueError) as e:
        raise _UserError(_one_line(e)) from None
    except OSError as e:
        raise _io_error(out, e) from None
    print(f"merged {len(args.merge)} shards into {Path(out)}\ntable: {table}\nanalyse: python run.py analyse {out}")
    return 0


def cmd_viz(args) -> int:
    from simulation.viz.serve import serve

    return serve(args.config, host=args.host, port=args.port)


COMMANDS = {"run": cmd_run, "show-config": cmd_show_config, "analyse": cmd_analyse, "analyze": cmd_analyse,
            "batch": cmd_batch, "viz": cmd_viz}
