"""Run logs: tables round-trip through Parquet and pandas, are written in bounded chunks, and a run
that fails, is terminated or is killed never leaves a folder that reads as complete."""

import json
import math
import os
import platform
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import simulation.output as output
from simulation.output import (
    MARKER,
    RunDamagedError,
    RunIncompleteError,
    RunLog,
    Terminated,
    install_signal_handlers,
    is_complete,
    read_marker,
    read_run,
    run_meta,
    to_json,
)

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def strict_json(path: Path):
    """Parse JSON refusing NaN/Infinity (what strict readers such as jq or browsers do)."""
    def refuse(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(path.read_text(), parse_constant=refuse)


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_tables_round_trip_through_pandas_with_config_meta_and_summary(tmp_path):
    rng = np.random.default_rng(1)
    out = tmp_path / "run"
    hourly, agents = [], []
    with RunLog.create(out, config_toml='[run]\nname = "t"\n', meta={"seed": 3, "name": "t"}) as log:
        assert files(out) == {MARKER, "config.toml", "meta.json"}
        assert read_marker(out)["status"] == "running" and read_marker(out)["pid"] == os.getpid()
        for h in range(5):
            cols = {"hour": np.array([h]), "price_usd": np.array([rng.normal() if h != 2 else np.nan]),
                    "stress": np.array([h % 2 == 0]), "label": [f"h{h}"]}
            log.table("hourly").append(cols)
            hourly.append(pd.DataFrame(cols))
            a = {"hour": np.full(3, h), "miner": np.arange(3), "mw": rng.random(3)}
            log.table("agents").append(a)
            agents.append(pd.DataFrame(a))
        events = log.table("events")
        events.append_row({"hour": 1, "kind": "buy", "usd": 2.5})
        events.append_row({"usd": np.float64(4.0), "kind": "sell", "hour": np.int64(3)})  # any key order
        log.close({"blocks": np.int64(7), "mean": np.float64(0.5), "nan": math.nan, "inf": math.inf,
                   "list": np.array([1.0, np.nan])}, {"wall_s": 1.25, "note": "done"})
    assert files(out) == {"config.toml", "meta.json", "summary.json", "hourly.parquet", "agents.parquet",
                          "events.parquet"}
    assert is_complete(out) and log.state == "closed"
    t = read_run(out)
    assert list(t) == ["agents", "events", "hourly"]
    pd.testing.assert_frame_equal(t["hourly"], pd.concat(hourly, ignore_index=True))
    pd.testing.assert_frame_equal(t["agents"], pd.concat(agents, ignore_index=True))
    pd.testing.assert_frame_equal(t["events"], pd.DataFrame({"hour": [1, 3], "kind": ["buy", "sell"], "usd": [2.5, 4.0]}))
    assert pd.read_parquet(out / "hourly.parquet").shape == (5, 4)  # plain Parquet, no gridpivot needed
    some = read_run(out, columns={"agents": ["miner", "hour"]})  # only those, in that order; the rest whole
    pd.testing.assert_frame_equal(some["agents"], t["agents"][["miner", "hour"]])
    pd.testing.assert_frame_equal(some["hourly"], t["hourly"])
    with pytest.raises(RunDamagedError, match=r"agents.parquet: has no column 'nope'"):
        read_run(out, columns={"agents": ["hour", "nope"]})
    assert (out / "config.toml").read_text() == '[run]\nname = "t"\n'
    assert strict_json(out / "summary.json") == {"blocks": 7, "mean": 0.5, "nan": None, "inf": None, "list": [1.0, None]}
    meta = strict_json(out / "meta.json")
    assert meta["seed"] == 3 and meta["wall_s"] == 1.25 and meta["note"] == "done" and meta["end_utc"] and meta["start_utc"]


def test_write_puts_rows_on_disk_at_once_so_the_caller_may_reuse_its_arrays(tmp_path):
    out = tmp_path / "run"
    with RunLog.create(out, config_toml="", meta={}, chunk_rows=4) as log:
        t = log.table("t")
        x = np.arange(6.0)
        t.append({"x": x[:3]})  # buffered (3 < 4 rows), copied
        x[:3] = -1.0
        t.write({"x": x})  # the buffered rows and these 6, on disk before it returns
        assert t.buffered_rows == 0 and t.rows_written == 9
        x[:] = 7.0  # reused by the caller: nothing written changes
        t.write({"x": x[:2]})
        log.close({}, {})
    assert read_run(out)["t"]["x"].tolist() == [0.0, 1.0, 2.0, -1.0, -1.0, -1.0, 3.0, 4.0, 5.0, 7.0, 7.0]


def test_tables_are_written_in_row_groups_with_a_bounded_buffer(tmp_path):
    out = tmp_path / "run"
    with RunLog.create(out, config_toml="", meta={}, chunk_rows=100) as log:
        t = log.table("big")
        total = 0
        for i in range(40):  # 40 appends of 37 rows: 1,480 rows
            t.append({"i": np.arange(total, total + 37), "x": np.full(37, 0.5)})
            total += 37
            assert t.buffered_rows < 100 and t.rows_written + t.buffered_rows == total
        assert t.rows_written == 1400 and t.row_groups_written == 14
        # row groups are on disk while the run goes on (the partial file is not closed yet)
        assert (out / "big.parquet.partial").stat().st_size > 0 and not (out / "big.parquet").exists()
        one = log.table("one", chunk_rows=250)
        one.append({"i": np.arange(1000)})  # one big append goes straight to disk
        assert one.buffered_rows == 0 and one.row_groups_written == 4
        rows = log.table("rows", chunk_rows=64)
        for i in range(200):
            rows.append_row({"i": i})
            assert rows.buffered_rows < 64
        log.close({}, {})
    meta = pq.ParquetFile(out / "big.parquet").metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [100] * 14 + [80]
    assert pq.ParquetFile(out / "one.parquet").metadata.num_row_groups == 4
    assert pq.ParquetFile(out / "rows.parquet").metadata.num_row_groups == 4
    t = read_run(out)
    assert (t["big"]["i"].to_numpy() == np.arange(1480)).all()
    assert (t["rows"]["i"].to_numpy() == np.arange(200)).all()


def test_bad_appends_are_one_line_value_errors(tmp_path):
    with RunLog.create(tmp_path / "r", config_toml="", meta={}) as log:
        t = log.table("t")
        t.append({"a": np.arange(3), "b": [1.0, 2.0, 3.0]})
        cases = [
            ({"a": np.arange(2)}, "table 't': columns differ from the first rows (missing b); give the same columns every time"),
            ({"a": np.arange(2), "b": [1.0], "c": [1]}, "table 't': columns differ from the first rows (unexpected c); "
                                                          "give the same columns every time"),
            ({"a": np.arange(2), "b": [1.0]}, "table 't': columns have different lengths (a: 2, b: 1); give equal-length columns"),
            ({"a": np.zeros((2, 2)), "b": [1.0]}, "table 't': column 'a' must be 1-D (got shape (2, 2))"),
            ({"a": 5, "b": 1.0}, "table 't': column 'a' must be a 1-D array or list (got int); use append_row for a single row"),
            ({"a": np.array([1.5]), "b": [1.0]}, "table 't': column 'a': cannot convert the values to the column's type "
                                                 "int64 (Float value 1.500000 was truncated converting to int64); "
                                                 "keep each column's type the same in every append, or pass a schema"),
        ]
        for cols, message in cases:
            with pytest.raises(ValueError) as e:
                t.append(cols)
            assert str(e.value) == message
        with pytest.raises(ValueError, match="table name 'a/b' must be letters"):
            log.table("a/b")
        s = log.table("typed", {"x": pa.float32(), "k": pa.string()})
        s.append({"k": ["a"], "x": np.array([1], dtype=np.int64)})  # converted to the given types
        assert log.table("t") is t
        log.close({})
    assert read_run(tmp_path / "r")["typed"].dtypes.to_dict() == {"x": np.dtype("float32"), "k": np.dtype("O")}
    with pytest.raises(RuntimeError, match="the run log is closed"):
        t.append({"a": np.arange(1), "b": [1.0]})


def _fail_mid_run(out: Path):
    with RunLog.create(out, config_toml="", meta={}, chunk_rows=10) as log:
        t = log.table("rows")
        t.append({"i": np.arange(25)})  # two row groups written, five rows buffered
        log.table("empty")  # never written
        raise ZeroDivisionError("boom\nsecond line")


def test_an_exception_leaves_incomplete_and_no_complete_table(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ZeroDivisionError):
        _fail_mid_run(out)
    assert files(out) == {MARKER, "config.toml", "meta.json", "rows.parquet.partial"}
    marker = read_marker(out)
    assert marker["status"] == "aborted" and marker["reason"] == "ZeroDivisionError: boom"
    assert not is_complete(out)
    with pytest.raises(RunIncompleteError) as e:
        read_run(out)
    assert str(e.value) == (f"{out}: incomplete run (aborted: ZeroDivisionError: boom); re-run it, or pass "
                            "allow_incomplete=True to read its partial tables")
    partial = read_run(out, allow_incomplete=True)
    assert list(partial["rows"]["i"]) == list(range(20))  # the row groups written before the failure


def test_abort_and_leaving_without_close_mark_the_run_incomplete(tmp_path):
    log = RunLog.create(tmp_path / "a", config_toml="", meta={})
    log.table("t").append({"x": [1.0]})
    log.abort("stopped by the operator")
    log.abort("again")  # idempotent
    assert read_marker(tmp_path / "a")["reason"] == "stopped by the operator"
    assert not list((tmp_path / "a").glob("*.parquet"))
    with pytest.raises(RuntimeError, match="the run log is aborted"):
        log.close({})
    with pytest.raises(RuntimeError, match="RunLog left without close"):
        with RunLog.create(tmp_path / "b", config_toml="", meta={}):
            pass
    assert "without calling close()" in read_marker(tmp_path / "b")["reason"]
    # a summary that cannot be JSON aborts the close before anything is renamed
    log = RunLog.create(tmp_path / "c", config_toml="", meta={})
    log.table("t").append({"x": [1.0]})
    with pytest.raises(TypeError, match=r"\$.obj: cannot write object to JSON"):
        log.close({"obj": object()})
    assert read_marker(tmp_path / "c")["reason"].startswith("close failed: TypeError")
    assert files(tmp_path / "c") == {MARKER, "config.toml", "meta.json"}  # its one row was only buffered


def test_folders_that_are_refused_and_an_incomplete_run_that_is_reused(tmp_path):
    done = tmp_path / "done"
    with RunLog.create(done, config_toml="", meta={}) as log:
        log.close({})
    with pytest.raises(FileExistsError) as e:
        RunLog.create(done, config_toml="", meta={})
    assert str(e.value) == f"{done}: holds a complete run; pass another output folder or delete this one"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is not empty and holds no unfinished run"):
        RunLog.create(other, config_toml="", meta={})
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError, match="exists and is not a folder"):
        RunLog.create(tmp_path / "file", config_toml="", meta={})
    assert files(other) == {"notes.txt"} and files(done) == {"config.toml", "meta.json", "summary.json"}

    # an incomplete run's folder is started over: its files go, anything else stays
    crashed = tmp_path / "crashed"
    with pytest.raises(ZeroDivisionError):
        _fail_mid_run(crashed)
    (crashed / "old.parquet").write_bytes(b"junk")  # e.g. left by a close that died half-way
    (crashed / "notes.txt").write_text("kept")
    with RunLog.create(crashed, config_toml="y = 2\n", meta={"try": 2}) as log:
        assert files(crashed) == {MARKER, "config.toml", "meta.json", "notes.txt"}
        assert read_marker(crashed)["status"] == "running"
        log.table("fresh").append({"x": [1]})
        log.close({"ok": True})
    assert is_complete(crashed) and list(read_run(crashed)) == ["fresh"]
    assert strict_json(crashed / "meta.json")["try"] == 2


def test_reading_what_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        read_run(tmp_path / "nope")
    with pytest.raises(ValueError, match="not a run folder"):
        read_run(tmp_path)
    assert not is_complete(tmp_path) and not is_complete(tmp_path / "nope")


# ------------------------------------------------------------------------------------------------
# signals
WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from simulation.output import RunLog, install_signal_handlers

    assert install_signal_handlers()
    with RunLog.create(sys.argv[1], config_toml="x = 1\\n", meta={"seed": 1}, chunk_rows=50) as log:
        t = log.table("rows")
        i = 0
        while True:
            t.append({"i": np.arange(i, i + 10), "x": np.full(10, 0.5)})
            i += 10
            if i == 200:
                print("ready", flush=True)
            time.sleep(0.001)
""")


def _kill_mid_run(folder: Path, sig: int) -> int:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_sigterm_mid_run_aborts_the_run(tmp_path):
    out = tmp_path / "run"
    assert _kill_mid_run(out, signal.SIGTERM) == 128 + signal.SIGTERM  # Terminated is a SystemExit(143)
    assert files(out) == {MARKER, "config.toml", "meta.json", "rows.parquet.partial"}
    marker = read_marker(out)
    assert marker["status"] == "aborted" and marker["reason"] == "terminated by SIGTERM"
    assert not is_complete(out)
    with pytest.raises(RunIncompleteError, match="aborted: terminated by SIGTERM"):
        read_run(out)
    rows = read_run(out, allow_incomplete=True)["rows"]
    assert len(rows) >= 200 and len(rows) % 50 == 0 and (rows["i"].to_numpy() == np.arange(len(rows))).all()


def test_sigkill_mid_run_leaves_the_marker_and_no_complete_table(tmp_path):
    out = tmp_path / "run"
    assert _kill_mid_run(out, signal.SIGKILL) == -signal.SIGKILL
    assert files(out) == {MARKER, "config.toml", "meta.json", "rows.parquet.partial"}
    marker = read_marker(out)
    assert marker["status"] == "running" and isinstance(marker["pid"], int)
    assert not is_complete(out)
    with pytest.raises(RunIncompleteError, match="still running or killed"):
        read_run(out)
    with pytest.raises(pa.ArrowException):  # no footer: the file does not even read as Parquet
        pq.read_table(out / "rows.parquet.partial")
    assert read_run(out, allow_incomplete=True) == {}


@pytest.fixture
def our_handlers():
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    # start from the interpreter's defaults: earlier tests in this process (in-process batches)
    # may have left another SIGTERM handler, which install_signal_handlers rightly leaves alone
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    assert install_signal_handlers()
    yield
    signal.signal(signal.SIGTERM, old[0])
    signal.signal(signal.SIGINT, old[1])


def test_a_signal_during_close_is_held_until_the_run_is_complete(tmp_path, our_handlers, monkeypatch):
    log = RunLog.create(tmp_path / "r", config_toml="", meta={})
    log.table("t").append({"x": [1.0]})
    real = output._write_text_atomic

    def write_then_signal(path, text):  # SIGTERM arrives in the middle of the commit
        real(path, text)
        if path.name == "summary.json":
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(output, "_write_text_atomic", write_then_signal)
    with pytest.raises(Terminated):
        with log:
            log.close({"n": 1})
    assert is_complete(tmp_path / "r") and list(read_run(tmp_path / "r")) == ["t"]
    with pytest.raises(KeyboardInterrupt):  # outside a commit, signals act at once
        signal.raise_signal(signal.SIGINT)


# ------------------------------------------------------------------------------------------------
# meta and JSON
def test_run_meta_records_provenance():
    meta = run_meta(42, "default")
    assert (meta["seed"], meta["name"], meta["package"]) == (42, "default", "gridpivot")
    assert meta["python"] == platform.python_version() and meta["numpy"] == np.__version__
    assert meta["version"] and meta["mesa"] and meta["start_utc"].endswith("+00:00")
    assert meta["end_utc"] is None and meta["wall_s"] is None
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert meta["git_revision"] == (git.stdout.strip() if git.returncode == 0 else None)
    json.loads(to_json(meta))


def test_json_is_strict():
    text = to_json({"a": [np.float32(1.5), np.int16(2), np.bool_(True), -math.inf], "p": Path("x/y"),
                    3: {"n": math.nan}}, indent=None)
    assert text == '{"a": [1.5, 2, true, null], "p": "x/y", "3": {"n": null}}'
    with pytest.raises(TypeError, match=r"\$.b: cannot write set to JSON"):
        to_json({"b": {1}})
