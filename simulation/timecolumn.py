"""Reading hourly CSV series: the rows with their file lines, and the time column: one row per hour, sorted, unique, without gaps.

A series file may carry an index column, `hour` (whole hours counted from the run start: 0, 1,
2, ...) or `time` / `timestamp` / `datetime` (ISO 8601 date-times, e.g. 2024-04-20T00:00, one
hour apart). The file's rows are used in order, so that column must say the same thing: each
row exactly one hour after the one before (no reordering, no duplicates, no gaps), and an
`hour` column starts at 0. Errors are one line naming the file, the file line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

TIME_COLUMNS = ("hour", "time", "timestamp", "datetime")


def _hours(cell: str, is_hour: bool) -> float:
    if is_hour:
        v = float(cell)
        if not v.is_integer():
            raise ValueError
        return v
    t = dt.datetime.fromisoformat(cell)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp() / 3600.0


def check_time_column(where: str, header: list[str], rows: list[tuple[int, list[str]]]) -> None:
    """Check the time column (if any) of `rows`: (file line number, cells) pairs, in file order.
    Raises ValueError "<where>: line N, column 'c': problem; fix"."""
    names = [c.strip() for c in header]
    cols = [j for j, c in enumerate(names) if c.lower() in TIME_COLUMNS]
    if not cols:
        return
    j = cols[0]
    name = names[j]
    is_hour = name.lower() == "hour"
    prev = None
    for line, row in rows:
        cell = row[j].strip() if j < len(row) else ""
        try:
            t = _hours(cell, is_hour)
        except (ValueError, OverflowError, OSError):
            what = "a whole number of hours" if is_hour else "an ISO 8601 date-time (e.g. 2024-04-20T00:00)"
            raise ValueError(f"{where}: line {line}, column '{name}': {cell!r} is not {what}; fix the cell") from None
        if prev is None:
            if is_hour and t != 0:
                raise ValueError(f"{where}: line {line}, column '{name}': the first hour is {cell}, not 0; "
                                 "count hours from the run start (0, 1, 2, ...)")
        elif t == prev:
            raise ValueError(f"{where}: line {line}, column '{name}': {cell} repeats the row before; "
                             "give each hour once")
        elif t < prev:
            raise ValueError(f"{where}: line {line}, column '{name}': {cell} comes before the row above; "
                             "sort the rows by time")
        elif t - prev > 1 + 1e-9:
            raise ValueError(f"{where}: line {line}, column '{name}': {cell} leaves a gap of {t - prev - 1:g} h "
                             "after the row above; give one row per hour (fill the gap)")
        elif t - prev < 1 - 1e-9:
            raise ValueError(f"{where}: line {line}, column '{name}': {cell} is less than an hour after the row "
                             "above; give one row per hour")
        prev = t


def read_csv_rows(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(file line number, cells)]) of a CSV file; `#` comment lines are skipped, a blank
    line between data rows is an error (trailing blank lines are fine). ValueError names the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (bad byte at offset {e.start}); save the file as UTF-8 CSV") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read the file ({e.strerror}); give an existing CSV file") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if not line.lstrip().startswith("#")]
    while numbered and not numbered[-1][1].strip():
        numbered.pop()
    while numbered and not numbered[0][1].strip():
        numbered.pop(0)
    if not numbered:
        raise ValueError(f"{path}: the file is empty; give a header row and one row per hour")
    rows = []
    for (n, _), cells in zip(numbered, csv.reader(line for _, line in numbered)):
        if not any(c.strip() for c in cells):
            raise ValueError(f"{path}: line {n} is blank; remove blank lines between the rows")
        rows.append((n, cells))
    return [c.strip() for c in rows[0][1]], rows[1:]
