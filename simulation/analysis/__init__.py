"""Analysis of run and batch log folders: tables and figures, from the logs alone.

Never imports the model: everything here works on folders written by `simulation.output`,
so it also works on logs from another machine or an older version.
"""

from __future__ import annotations

from pathlib import Path

from simulation.analysis.figures import COLUMNS as FIGURE_COLUMNS
from simulation.analysis.figures import figure_data, write_figures
from simulation.analysis.runs import format_table
from simulation.analysis.runs import outcomes as run_outcomes  # `outcomes` is also analyse_paths' argument


def analyse_paths(paths: list[Path], figures: bool = True, outcome_names: list[str] | None = None,
                  where: str | None = None, min_coverage: float | None = None) -> str:
    """Text report for run folders (side by side when several) and batch folders; figures are
    written into each folder. A designed batch gets sensitivity indices for `outcome_names`, PRIM
    for the condition `where`, and the replications check; a grid batch the replications check
    for `outcome_names`."""
    import json

    import pyarrow as pa

    from simulation.output import RunDamagedError, read_run

    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_dir():
            raise FileNotFoundError(f"{p}: no such run folder; pass a folder written by `run.py run` or `run.py batch`")
    parts, runs = [], {}
    for p in paths:
        if (p / "batch.parquet").exists():
            from simulation.analysis.design_outcomes import is_design_batch
            from simulation.analysis.sweeps import analyse_batch

            if is_design_batch(p):
                from simulation.analysis.design_report import analyse_design
                from simulation.analysis.prim import MIN_COVERAGE

                parts.append(analyse_design(p, outcomes=outcome_names, where=where, figures=figures,
                                            min_coverage=MIN_COVERAGE if min_coverage is None else min_coverage))
                continue
            if where:
                raise ValueError(f"{p}: --where (PRIM) needs a batch with a design (design = \"lhs\", ...)")

            try:
                parts.append(analyse_batch(p, figures=figures))
            except (pa.ArrowException, KeyError, json.JSONDecodeError) as e:
                raise RunDamagedError(f"{p / 'batch.parquet'}: not a readable batch table "
                                      f"({' '.join(str(e).split())[:100] or type(e).__name__}); "
                                      "re-run the batch command to rebuild it") from None
            parts.extend(_backtest_batch(p, figures))
            if outcome_names:
                from simulation.analysis.design_report import grid_replications

                parts.append(grid_replications(p, outcome_names))
            continue
        tables = read_run(p, columns=FIGURE_COLUMNS)
        if "epochs" in tables:
            parts.append(_network_only(p, tables, figures))
            continue
        if "hourly" not in tables:
            raise RunDamagedError(f"{p / 'hourly.parquet'}: missing from a complete run folder; the folder is "
                                  "damaged: re-run it")
        try:
            runs[p.name] = run_outcomes(tables)
            written = write_figures(tables, p) if figures else []
        except KeyError as e:
            col = e.args[0] if e.args else "?"
            name = next((n for n, df in tables.items() if n == "hourly" and col not in df.columns), None) or next(
                (n for n, df in tables.items() if col not in df.columns), "hourly")
            raise RunDamagedError(f"{p / (name + '.parquet')}: has no column '{col}'; it is not a table this "
                                  "version of gridpivot wrote: re-run it") from None
        from simulation.analysis.ercot import ercot_report

        texas = ercot_report(tables["hourly"], p.name)
        if texas is not None:
            parts.append(texas)
        if figures:
            parts.append(f"{p.name}: {len(written)} figures in {p}/ ({', '.join(w.stem for w in written)})")
        parts.extend(_backtest_run(p, tables, figures))
        from simulation.analysis import pivot

        parts.extend(pivot.analyse_run(p, figures))
    if runs:
        parts.insert(0, format_table(runs))
    return "\n\n".join(parts)


def _backtest_run(p: Path, tables, figures: bool) -> list[str]:
    """A backtest run: simulated vs real difficulty per retarget, its score and figure."""
    from simulation.analysis import backtest

    if not backtest.is_backtest(p) or "retargets" not in tables:
        return []
    table = backtest.retarget_table(tables["retargets"])
    table.to_csv(p / "backtest.csv", index=False)
    text = backtest.format_run(p.name, table)
    if figures and len(table):
        text += f"\n{p.name}: figure {backtest.write_figure(p / 'backtest.png', table=table, title=f'Backtest: {p.name}')}"
    return [text]


def _backtest_batch(p: Path, figures: bool) -> list[str]:
    """A batch of backtest runs (seeds): the band of simulated difficulty against the real chain."""
    from simulation.analysis import backtest

    tables = backtest.batch_tables(p)
    if not tables:
        return []
    band = backtest.band(tables)
    band.to_csv(p / "backtest_band.csv", index=False)
    text = backtest.format_batch(p.name, tables)
    if figures:
        path = backtest.write_figure(p / "backtest_band.png", band_table=band,
                                     title=f"Backtest 2024: {len(tables)} seeds against the real chain")
        text += f"\n{p.name}: figure {path}"
    return [text]


def _network_only(p: Path, tables, figures: bool) -> str:
    """A network-only run: its epochs table, and the hash rate / difficulty / block interval figure."""
    from simulation.analysis.figures import write_network_figure

    text = f"{p.name} (network-only run)\n" + tables["epochs"].to_string(index=False)
    if figures:
        path = write_network_figure(tables, p)
        text += f"\n\n{p.name}: figure {path}"
    return text


__all__ = ["analyse_paths", "outcomes", "figure_data", "write_figures", "format_table"]
