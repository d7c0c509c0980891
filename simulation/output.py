"""Run logs: one folder per run, streamed to Parquet in chunks and completed atomically.

A run folder holds named tables (`<name>.parquet`), `config.toml`, `meta.json` and
`summary.json`. Its life:

1. `RunLog.create(folder, config_toml=..., meta=...)` writes the marker `INCOMPLETE` first (JSON:
   status "running", pid, host, start time), then `config.toml` and the initial `meta.json`.
2. `log.table(name).append({column: array})` buffers rows and writes every `chunk_rows` rows as
   one Parquet row group to `<name>.parquet.partial`, so memory stays bounded in long runs.
3. `log.close(summary, meta_updates)` finishes every table, renames each `*.parquet.partial` to
   `*.parquet` (os.replace), writes `summary.json` and the final `meta.json` (temp file + fsync +
   os.replace), fsyncs the folder and removes `INCOMPLETE` last.

A run that fails (an exception out of `with log:`, or `log.abort(reason)`) keeps `INCOMPLETE`, with
status "aborted" and the reason, and its tables stay `*.parquet.partial`, closed with the row
groups written before the failure (readable with `read_run(folder, allow_incomplete=True)`). A
run killed outright (SIGKILL, power loss) keeps `INCOMPLETE` with status "running", and a partial
table may lack its Parquet footer. Completeness is decided by the marker (`is_complete`), never
by file names alone; `read_run` refuses an incomplete folder unless asked.

`install_signal_handlers()` turns SIGTERM into a `Terminated` exception (a SystemExit with code
143), so a terminated run is aborted like a crashed one; SIGINT keeps raising KeyboardInterrupt.
Both are held back during the few file operations that complete a run.

Re-using a folder: `RunLog.create` writes into a new or empty folder, or into the folder of an
earlier incomplete run (one holding `INCOMPLETE`): it first deletes that run's files (tables,
partial tables, config, meta, summary, temp files) and leaves any other file alone. It refuses
a complete run's folder and any other non-empty folder (FileExistsError).

One run at a time: `RunLog.create` takes an exclusive lock (flock) on the folder itself and holds
it until the run is closed or aborted (or its process ends), so a second run into a folder in use
is refused with `FolderInUseError` naming the live process, before it touches a file.

Full disks: the marker is written padded to `MARKER_RESERVE` bytes, so an aborted run can record
its reason in place (no new blocks needed) even when the disk is full.

JSON files are written with `allow_nan=False`: NaN and infinities become null, numpy scalars
and arrays plain numbers and lists, so any JSON reader takes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import importlib.metadata
import json
import math
import numbers
import os
import platform
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RunLog", "TableWriter", "RunIncompleteError", "RunDamagedError", "FolderInUseError", "lock_folder", "MARKER_RESERVE", "Terminated", "install_signal_handlers", "run_meta",
    "read_run", "is_complete", "read_marker", "write_json_atomic", "to_json",
    "MARKER", "PARTIAL_SUFFIX", "DEFAULT_CHUNK_ROWS",
]

MARKER = "INCOMPLETE"
TABLE_SUFFIX = ".parquet"
PARTIAL_SUFFIX = ".parquet.partial"
CONFIG_FILE, META_FILE, SUMMARY_FILE = "config.toml", "meta.json", "summary.json"
#: rows per Parquet row group (and the most rows a table buffers between writes)
DEFAULT_CHUNK_ROWS = 65_536
#: rows from append_row gathered before they become one columnar batch
_ROW_BATCH = 4096
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


#: bytes the marker file keeps allocated, so the abort reason fits in place on a full disk
MARKER_RESERVE = 4096


class FolderInUseError(FileExistsError):
    """The output folder is locked by another live run (or batch)."""


class RunDamagedError(ValueError):
    """A run folder whose tables are missing, unreadable or not the tables a run writes."""


class RunIncompleteError(ValueError):
    """Reading a run folder whose run did not complete (crashed, killed, or still running)."""


# ------------------------------------------------------------------------------------------------
# signals
class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM once `install_signal_handlers()` ran. A SystemExit, so
    an uncaught one ends the process quietly with exit code 128 + signal number (143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal.Signals(self.signum).name}"


_defer_depth = 0
_pending: list[int] = []


def _signal_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _on_signal(signum: int, frame) -> None:
    if _defer_depth:
        _pending.append(signum)
        return
    raise _signal_exception(signum)


def install_signal_handlers() -> bool:
    """Make SIGTERM raise `Terminated` (and SIGINT KeyboardInterrupt, as usual) in the main thread,
    both held back while a RunLog completes. Leaves alone handlers someone else installed and does
    nothing outside the main thread. Idempotent; returns whether SIGTERM is now ours."""
    if threading.current_thread() is not threading.main_thread():
        return False
    ours = False
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, _on_signal):
        signal.signal(signal.SIGTERM, _on_signal)
        ours = True
    if signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _on_signal):
        signal.signal(signal.SIGINT, _on_signal)
    return ours


@contextlib.contextmanager
def _signals_deferred():
    """Hold our handlers' exceptions until the block is done, then raise the first one."""
    global _defer_depth
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
    if not _defer_depth and _pending:
        signum = _pending[0]
        _pending.clear()
        raise _signal_exception(signum)


# ------------------------------------------------------------------------------------------------
# files
def to_json(obj: Any, *, indent: int | None = 1) -> str:
    """`obj` as strict JSON text: NaN/inf -> null, numpy scalars/arrays -> numbers/lists, paths and
    datetimes -> strings, dataclasses -> objects. Anything else raises TypeError."""
    return json.dumps(_jsonable(obj, "$"), allow_nan=False, indent=indent, ensure_ascii=False)


def _jsonable(obj: Any, where: str) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, where)
    raise TypeError(f"{where}: cannot write {type(obj).__name__} to JSON; pass numbers, strings, lists or dicts")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text_atomic(path: Path, text: str) -> None:
    """Write `path` so that it is either its old self or complete, even if the process dies."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """`text` to `path` via a temp file, fsync and os.replace, then fsync the folder: after a
    crash the file is absent, its old self, or complete."""
    path = Path(path)
    _write_text_atomic(path, text)
    _fsync_dir(path.parent)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """`to_json(obj)` to `path` via a temp file, fsync and os.replace (then fsync the folder)."""
    path = Path(path)
    _write_text_atomic(path, to_json(obj) + "\n")
    _fsync_dir(path.parent)


def _now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _is_ours(name: str) -> bool:
    """Files a run writes (deleted when an incomplete run's folder is re-used)."""
    return (name in (MARKER, CONFIG_FILE, META_FILE, SUMMARY_FILE) or name.endswith(TABLE_SUFFIX)
            or name.endswith(PARTIAL_SUFFIX) or (name.startswith(".") and name.endswith(".tmp")))


def _first_line(e: BaseException) -> str:
    if isinstance(e, Terminated):
        return str(e)
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


# ------------------------------------------------------------------------------------------------
# tables
def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns Parquet dictionary-encodes: all but the floating-point ones. Prices, MW and
    money rarely repeat exactly; trying a dictionary on them tripled the time a 2,000-bus week
    took to write (73 -> 24 ms) for 3 % smaller files."""
    return [f.name for f in schema if not pa.types.is_floating(f.type)]


class TableWriter:
    """One table of a run, streamed to `<name>.parquet.partial` in row groups of `chunk_rows`.

    The first `append` (or the schema given to `RunLog.table`) fixes the columns, their order
    and their Arrow types; later appends must give the same column names (any order) with values
    convertible to those types. At most `chunk_rows - 1` rows stay buffered after any append."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema | None, chunk_rows: int) -> None:
        self.name = name
        self.partial_path = folder / f"{name}{PARTIAL_SUFFIX}"
        self.final_path = folder / f"{name}{TABLE_SUFFIX}"
        self.chunk_rows = chunk_rows
        self.schema: pa.Schema | None = schema
        self._columns: list[str] | None = list(schema.names) if schema is not None else None
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self._rows: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self.rows_written = 0
        self.row_groups_written = 0
        self._state = "open"

    @property
    def buffered_rows(self) -> int:
        """Rows held in memory, not yet written."""
        return self._buffered + len(self._rows)

    def append(self, columns: Mapping[str, Any]) -> None:
        """Add rows: `{column: 1-D numpy array, list or pyarrow array}`, all of one length. Values
        are copied, so the caller may reuse its arrays."""
        self._check_open()
        self._drain_rows()
        self._append_columns(columns)

    def write(self, columns: Mapping[str, Any]) -> None:
        """`append` then `flush`: the rows (and any buffered) are written before this returns, so
        the values are not copied; the caller may reuse its arrays right after."""
        self._check_open()
        self._drain_rows()
        self._append_columns(columns, copy=False)
        self._write(full_only=False)

    def append_row(self, row: Mapping[str, Any]) -> None:
        """Add one row `{column: scalar}` (gathered into columnar batches)."""
        self._check_open()
        if not isinstance(row, Mapping) or not row:
            raise ValueError(f"table '{self.name}': append_row takes a dict {{column: value}} (got {type(row).__name__})")
        if self._columns is None:
            self._columns = self._names(row)
        elif set(row) != set(self._columns):
            raise ValueError(self._mismatch(row))
        self._rows.append(dict(row))
        if len(self._rows) >= min(self.chunk_rows, _ROW_BATCH):
            self._drain_rows()

    def flush(self) -> None:
        """Write everything buffered now, as a (possibly short) row group. Not normally needed."""
        self._check_open()
        self._drain_rows()
        self._write(full_only=False)

    # internals ---------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"table '{self.name}': the run log is {self._state}; nothing more can be written")

    def _names(self, cols: Mapping) -> list[str]:
        names = list(cols)
        bad = [n for n in names if not isinstance(n, str) or not n]
        if bad:
            raise ValueError(f"table '{self.name}': column names must be non-empty strings (got {bad[0]!r})")
        return names

    def _mismatch(self, cols: Mapping) -> str:
        missing = [c for c in self._columns if c not in cols]
        extra = [str(c) for c in cols if c not in self._columns]
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
        return (f"table '{self.name}': columns differ from the first rows ({'; '.join(parts)}); "
                "give the same columns every time")

    def _drain_rows(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self._append_columns({c: [r[c] for r in rows] for c in self._columns})

    def _to_arrow(self, column: str, values: Any, type_: pa.DataType | None, copy: bool = True) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if isinstance(values, pa.Array):
            return values if type_ is None or values.type == type_ else values.cast(type_)
        if isinstance(values, np.ndarray):
            if values.ndim != 1:
                raise ValueError(f"table '{self.name}': column '{column}' must be 1-D (got shape {values.shape})")
            if copy:
                values = values.copy()
        elif hasattr(values, "to_numpy") and hasattr(values, "__len__"):  # pandas Series and alike
            values = np.array(values.to_numpy(), copy=True)
        elif not isinstance(values, (list, tuple)):
            raise ValueError(f"table '{self.name}': column '{column}' must be a 1-D array or list "
                             f"(got {type(values).__name__}); use append_row for a single row")
        return pa.array(values, type=type_)

    def _append_columns(self, columns: Mapping[str, Any], copy: bool = True) -> None:
        if not isinstance(columns, Mapping) or not columns:
            raise ValueError(f"table '{self.name}': append takes a dict {{column: 1-D array or list}}")
        if self._columns is None:
            self._columns = self._names(columns)
        elif set(columns) != set(self._columns):
            raise ValueError(self._mismatch(columns))
        arrays, lengths = [], {}
        for c in self._columns:
            type_ = self.schema.field(c).type if self.schema is not None else None
            try:
                arr = self._to_arrow(c, columns[c], type_, copy)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError) as e:
                what = f"the column's type {type_}" if type_ is not None else "an Arrow column"
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ValueError(f"table '{self.name}': column '{c}': cannot convert the values to {what} ({first}); "
                                 "keep each column's type the same in every append, or pass a schema") from None
            arrays.append(arr)
            lengths[c] = len(arr)
        if len(set(lengths.values())) > 1:
            raise ValueError(f"table '{self.name}': columns have different lengths ("
                             + ", ".join(f"{c}: {n}" for c, n in lengths.items()) + "); give equal-length columns")
        batch = pa.RecordBatch.from_arrays(arrays, names=self._columns)
        if self.schema is None:
            self.schema = batch.schema
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered += batch.num_rows
        if self._buffered >= self.chunk_rows:
            self._write(full_only=True)

    def _open_writer(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self.partial_path), self.schema,
                                            use_dictionary=_dictionary_columns(self.schema))

    def _write(self, *, full_only: bool) -> None:
        """Write buffered rows as row groups of `chunk_rows` (all of them, or whole groups only)."""
        if not self._buffered:
            return
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        n = table.num_rows
        k = n - n % self.chunk_rows if full_only else n
        if k == 0:
            return
        self._open_writer()
        self._writer.write_table(table.slice(0, k), row_group_size=self.chunk_rows)
        self.rows_written += k
        self.row_groups_written += -(-k // self.chunk_rows)
        rest = table.slice(k)
        self._buffer = rest.to_batches() if rest.num_rows else []
        self._buffered = rest.num_rows

    def _finish(self) -> Path | None:
        """Write the rest and close the partial file; returns it (None: no rows and no schema)."""
        self._drain_rows()
        self._write(full_only=False)
        if self._writer is None and self.schema is not None:
            self._open_writer()  # an empty table with known columns still gets its file
        self._state = "closed"
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        _fsync_file(self.partial_path)
        return self.partial_path

    def _abort(self) -> None:
        """Close the partial file with the row groups already written (errors ignored). The buffer
        is dropped: after an interrupt it may hold rows that were written already."""
        self._state = "aborted"
        self._buffer, self._buffered, self._rows = [], 0, []
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None


# ------------------------------------------------------------------------------------------------
# the run folder
class RunLog:
    """The log folder of one run; make one with `RunLog.create`. Use it as a context manager so
    an exception aborts it (the exception still propagates):

        with RunLog.create(out, config_toml=dump_config(sc), meta=run_meta(seed, name)) as log:
            hourly = log.table("hourly")
            for ...: hourly.append({"hour": h, "mw": mw})
            log.close(summary, {"wall_s": wall})
    """

    def __init__(self, folder: Path, meta: dict, chunk_rows: int, marker: dict, lock_fd: int | None = None) -> None:
        self.folder = folder
        self._lock_fd = lock_fd
        self.meta = meta
        self.chunk_rows = chunk_rows
        self._marker = marker
        self._tables: dict[str, TableWriter] = {}
        self._renamed: list[tuple[Path, Path]] = []
        self._t0 = time.monotonic()
        self._state = "open"

    @classmethod
    def create(cls, folder: str | Path, *, config_toml: str, meta: Mapping[str, Any],
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> RunLog:
        """Start a run log in `folder` (created if missing; see the module docstring for which
        existing folders are accepted): `INCOMPLETE` first, then `config.toml` and `meta.json`."""
        folder = Path(folder)
        if not isinstance(config_toml, str):
            raise TypeError(f"config_toml must be the config as TOML text (got {type(config_toml).__name__})")
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be an integer >= 1 (got {chunk_rows!r})")
        meta = dict(meta)
        meta.setdefault("start_utc", _now_utc())
        meta_text = to_json(meta) + "\n"  # unserialisable meta fails before anything is written
        if folder.exists() and not folder.is_dir():
            raise FileExistsError(f"{folder}: exists and is not a folder; pass another output folder")
        existed = folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = lock_folder(folder)
        marker: dict = {}
        try:
            _prepare_folder(folder)
            marker = {"status": "running", "pid": os.getpid(), "host": platform.node(), "started_utc": _now_utc()}
            _write_text_atomic(folder / MARKER, _marker_text(marker))
            _fsync_dir(folder)
            _write_text_atomic(folder / CONFIG_FILE, config_toml)
            _write_text_atomic(folder / META_FILE, meta_text)
            _fsync_dir(folder)
        except BaseException as e:
            if (folder / MARKER).exists():
                with contextlib.suppress(OSError):
                    _rewrite_marker(folder, {**marker, "status": "aborted",
                                             "reason": f"start failed: {_first_line(e)}", "aborted_utc": _now_utc()})
            elif not existed:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            os.close(lock_fd)
            raise
        return cls(folder, meta, chunk_rows, marker, lock_fd)

    @property
    def state(self) -> str:
        """"open", "closed" (complete) or "aborted"."""
        return self._state

    def table(self, name: str, schema: pa.Schema | Mapping[str, pa.DataType] | None = None, *,
              chunk_rows: int | None = None) -> TableWriter:
        """The writer of table `name` (the same one on every call). `schema` (optional) fixes the
        columns and their Arrow types up front; without it the first append decides."""
        self._check_open()
        if schema is not None and not isinstance(schema, pa.Schema):
            schema = pa.schema(list(dict(schema).items()))
        if name in self._tables:
            w = self._tables[name]
            if schema is not None and w.schema is not None and not schema.equals(w.schema):
                raise ValueError(f"table '{name}': already open with another schema; give one schema per table")
            return w
        if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
            raise ValueError(f"table name {name!r} must be letters, digits, '_' or '-' (it becomes a file name)")
        if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1):
            raise ValueError(f"chunk_rows must be an integer >= 1 (got {chunk_rows!r})")
        w = TableWriter(self.folder, name, schema, chunk_rows or self.chunk_rows)
        self._tables[name] = w
        return w

    def close(self, summary: Mapping[str, Any], meta_updates: Mapping[str, Any] | None = None) -> None:
        """Complete the run: finish every table, rename `*.parquet.partial` to `*.parquet`, write
        `summary.json` and the final `meta.json` (the initial meta + `end_utc`, `wall_s` since
        create + `meta_updates`), fsync, and remove `INCOMPLETE` last. On any failure the run is
        aborted instead and the error propagates."""
        self._check_open()
        try:
            final_meta = {**self.meta, "end_utc": _now_utc(), "wall_s": round(time.monotonic() - self._t0, 3),
                          **dict(meta_updates or {})}
            summary_text, meta_text = to_json(dict(summary)) + "\n", to_json(final_meta) + "\n"
            finished = [(w, w._finish()) for w in self._tables.values()]
            with _signals_deferred():
                for w, partial in finished:
                    if partial is not None:
                        os.replace(partial, w.final_path)
                        self._renamed.append((w.final_path, partial))
                _write_text_atomic(self.folder / SUMMARY_FILE, summary_text)
                _write_text_atomic(self.folder / META_FILE, meta_text)
                _fsync_dir(self.folder)
                (self.folder / MARKER).unlink(missing_ok=True)
                _fsync_dir(self.folder)
                self.meta = final_meta
                self._state = "closed"
            self._unlock()
        except BaseException as e:
            if self._state == "open":
                self.abort(f"close failed: {_first_line(e)}")
            raise

    def abort(self, reason: str) -> None:
        """Mark the run failed: keep `INCOMPLETE` (now with `reason`), close the partial tables
        without renaming them. Does nothing on an already aborted run."""
        if self._state == "aborted":
            return
        if self._state == "closed":
            raise RuntimeError(f"{self.folder}: the run is already complete; it cannot be aborted")
        self._state = "aborted"
        for w in self._tables.values():
            w._abort()
        for final, partial in reversed(self._renamed):  # a close that failed half-way
            with contextlib.suppress(OSError):
                os.replace(final, partial)
        marker = {**self._marker, "status": "aborted", "reason": " ".join(str(reason).split()),
                  "aborted_utc": _now_utc()}
        with contextlib.suppress(OSError):
            _rewrite_marker(self.folder, marker)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def _check_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"{self.folder}: the run log is {self._state}; nothing more can be written")

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._state != "open":
            return False
        if exc is not None:
            self.abort(_first_line(exc))
            return False
        self.abort("the run left its `with RunLog` block without calling close()")
        raise RuntimeError(f"{self.folder}: RunLog left without close(summary); the run is marked incomplete")


def _prepare_folder(folder: Path) -> None:
    """The (locked) folder is new, empty, or an unfinished run's: delete that run's files."""
    entries = list(folder.iterdir())
    if entries:
        if (folder / MARKER).is_file():  # an earlier run that did not complete: start it over
            for p in entries:
                if p.name != MARKER and p.is_file() and _is_ours(p.name):
                    p.unlink()
        elif is_complete(folder):
            raise FileExistsError(f"{folder}: holds a complete run; pass another output folder or delete this one")
        else:
            raise FileExistsError(f"{folder}: is not empty and holds no unfinished run (no {MARKER} file); "
                                  "pass a new or empty output folder")


def lock_folder(folder: Path) -> int:
    """An exclusive, non-blocking flock on `folder` itself; returns its fd (closing it unlocks; so
    does the process ending, however). Raises FolderInUseError naming the holder (from the
    folder's marker) when another process holds it. No-op (-1 is never returned) off POSIX."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        m = read_marker(folder) or {}
        if not m.get("pid"):
            with contextlib.suppress(OSError, ValueError):
                m = {"pid": int((folder / ".lock").read_text().strip()), "host": platform.node()}
        who = (f"pid {m['pid']} on {m.get('host', '?')}" + (f", started {m['started_utc']}" if "started_utc" in m else "")
               if m.get("pid") else "another process")
        raise FolderInUseError(f"{folder}: in use by a live run ({who}); wait for it to finish or pass another "
                               "output folder") from None
    return fd


def _marker_text(marker: dict) -> str:
    """The marker as JSON padded with spaces to MARKER_RESERVE bytes (a long reason is cut)."""
    text = to_json(marker) + "\n"
    while len(text.encode("utf-8")) > MARKER_RESERVE and len(marker.get("reason", "")) > 20:
        marker = {**marker, "reason": marker["reason"][: len(marker["reason"]) // 2] + "..."}
        text = to_json(marker) + "\n"
    return text + " " * max(0, MARKER_RESERVE - len(text.encode("utf-8")))


def _rewrite_marker(folder: Path, marker: dict) -> None:
    """Replace the marker atomically; if that fails (a full disk), overwrite it in place within
    its reserved bytes."""
    text = _marker_text(marker)
    try:
        _write_text_atomic(folder / MARKER, text)
        _fsync_dir(folder)
    except OSError:
        with open(folder / MARKER, "r+b") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())


# ------------------------------------------------------------------------------------------------
# reading
def read_marker(folder: str | Path) -> dict | None:
    """The `INCOMPLETE` marker of a run folder as a dict (None if absent; {} if unreadable)."""
    p = Path(folder) / MARKER
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_complete(folder: str | Path) -> bool:
    """Whether `folder` holds a run that completed: no `INCOMPLETE`, no partial table, and its
    `config.toml`, `meta.json` and `summary.json` present."""
    folder = Path(folder)
    return (folder.is_dir() and not (folder / MARKER).exists()
            and all((folder / n).is_file() for n in (CONFIG_FILE, META_FILE, SUMMARY_FILE))
            and not any(folder.glob(f"*{PARTIAL_SUFFIX}")))


def _marker_state(folder: Path) -> str:
    m = read_marker(folder)
    if m is None:
        return "partial tables left behind"
    if m.get("status") == "aborted":
        return f"aborted: {m.get('reason', '?')}"
    if m.get("status") == "running":
        return f"started {m.get('started_utc', '?')} by pid {m.get('pid', '?')} on {m.get('host', '?')}; still running or killed"
    return "marker unreadable"


def read_run(folder: str | Path, *, allow_incomplete: bool = False,
             columns: Mapping[str, Sequence[str]] | None = None) -> dict:
    """The tables of a run folder as pandas DataFrames, by name (sorted). An incomplete run raises
    RunIncompleteError unless `allow_incomplete`, which reads its partial tables too, skipping
    any without a Parquet footer (a run killed while writing). `columns` reads only the named
    columns of the tables it names (a year of a 2,000-bus grid's `buses` table is 17.5 million
    rows); a table without one of them raises RunDamagedError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder; pass a folder written by a run")
    complete = is_complete(folder)
    if not complete:
        if not (folder / MARKER).exists() and not any(folder.glob(f"*{PARTIAL_SUFFIX}")):
            raise ValueError(f"{folder}: not a run folder (no {MARKER}, {CONFIG_FILE}, {META_FILE} or {SUMMARY_FILE} "
                             "as a run leaves them); pass a folder written by a run")
        if not allow_incomplete:
            raise RunIncompleteError(f"{folder}: incomplete run ({_marker_state(folder)}); re-run it, or pass "
                                     "allow_incomplete=True to read its partial tables")
    tables: dict = {}
    for p in sorted(folder.glob(f"*{TABLE_SUFFIX}")):
        name = p.name[: -len(TABLE_SUFFIX)]
        try:
            tables[name] = _read_table(p, (columns or {}).get(name))
        except RunDamagedError:
            raise
        except (pa.ArrowException, OSError, ValueError) as e:
            first = " ".join(str(e).split()).replace(f"'{p}'", "").split(". ")[0][:100] or type(e).__name__
            raise RunDamagedError(f"{p}: not a readable Parquet table ({first}); the run folder is damaged: "
                                  "re-run it") from None
    if not complete:
        for p in sorted(folder.glob(f"*{PARTIAL_SUFFIX}")):
            name = p.name[: -len(PARTIAL_SUFFIX)]
            if name not in tables:
                with contextlib.suppress(pa.ArrowException, OSError):
                    tables[name] = _read_table(p, (columns or {}).get(name))
    return dict(sorted(tables.items()))


def _read_table(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    if columns is not None:
        names = set(pq.read_schema(path).names)
        missing = [c for c in columns if c not in names]
        if missing:
            raise RunDamagedError(f"{path}: has no column '{missing[0]}'; it is not a table this version of "
                                  "gridpivot wrote: re-run it")
    table = pq.read_table(path, columns=None if columns is None else list(columns))
    return table.to_pandas(split_blocks=True, self_destruct=True)  # frees each Arrow column as it converts


# ------------------------------------------------------------------------------------------------
# meta
def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _git() -> tuple[str | None, bool | None]:
    """(HEAD commit, uncommitted changes?) of the repository this source file sits at the top
    of; (None, None) if it is not one, or git is missing or slow."""
    root = Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        lines = top.stdout.split()
        if top.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != root:
            return None, None
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True,
                                timeout=5)
        return lines[1], (bool(status.stdout.strip()) if status.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def run_meta(seed: int, name: str) -> dict:
    """Provenance of a run for `meta.json`: name, seed, package version ("0+unknown" when not
    installed), git revision and whether the tree had changes (None outside a git checkout),
    start time (UTC), Python, platform and key library versions. `end_utc` and `wall_s` are
    None here; `RunLog.close` fills them."""
    revision, dirty = _git()
    return {
        "name": name,
        "seed": seed,
        "package": "gridpivot",
        "version": _version("gridpivot") or "0+unknown",
        "git_revision": revision,
        "git_dirty": dirty,
        "start_utc": _now_utc(),
        "end_utc": None,
        "wall_s": None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "mesa": _version("mesa"),
        "pyarrow": _version("pyarrow"),
        "pandas": _version("pandas"),
    }
