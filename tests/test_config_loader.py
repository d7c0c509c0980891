"""The TOML loader on pydantic, on a small schema of its own: every bad input gives its exact
one-line message (file, key path, problem, fix), overrides follow the documented rules, and
dump/load round-trips any valid config."""

import math
import tomllib
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import model_validator

from simulation.config import ConfigError, config_from_dict, config_hash, config_to_dict, describe_schema, dump_config, load_config
from simulation.config.loader import ConfigModel, DataFile, _f, _list, _sub, bad


class Miner(ConfigModel):
    name: str = _f("", "miner name")
    strategy: Literal["hodl", "profit_max"] = _f("hodl", "how it bids")
    mw: float = _f(10.0, "facility size", "MW", gt=0)


class Grid(ConfigModel):
    voll_usd_per_mwh: float = _f(5000.0, "value of lost load", "USD/MWh", gt=0)
    noise: float = _f(0.02, "relative noise | of demand", ge=0, le=0.5)
    copperplate: bool = _f(False, "ignore line limits")
    demand_csv: DataFile | None = _f(None, "hourly demand series")


class Run(ConfigModel):
    name: str = _f("default", "run name")
    hours: int = _f(24, "simulated hours", "h", ge=1)
    bits: int = _f(0x1D00FFFF, "compact target")
    seed: int | None = _f(None, "root seed (none: fresh entropy)")


class Window(ConfigModel):
    start: int = _f(0, "first hour")
    end: int = _f(1, "first hour after")

    @model_validator(mode="after")
    def _order(self):
        if self.start >= self.end:
            raise bad("end", f"must be after start (got {self.end} <= {self.start})", "swap them")
        return self


class Cfg(ConfigModel):
    run: Run = _sub(Run, "time span")
    grid: Grid = _sub(Grid, "power grid")
    miners: list[Miner] = _list("explicit miners")
    counts: dict[str, int] = _f({"hodl": 2, "profit_max": 1}, "generated miners per strategy")
    tags: list[str] = _f([], "free labels")
    windows: list[Window] = _list("outage windows")
    window: Window | None = _f(None, "one optional window")


BAD = [
    ("[run]\nhours = = 3\n", [],
     "<FILE>: line 2, column 9: invalid TOML (invalid value); fix the TOML syntax there"),
    ("[run]\nhours = 1\nhours = 2\n", [],
     "<FILE>: line 3, column 10: invalid TOML (a key or table is defined twice); fix the TOML syntax there"),
    ('name = "x', [], "<FILE>: end of file: invalid TOML (unterminated string); fix the TOML syntax there"),
    ("[rnu]\nhours = 3\n", [], "<FILE>: rnu: unknown key 'rnu'; did you mean 'run'?"),
    ("[[miners]]\n[[miners]]\nstratgy = 'hodl'\n", [],
     "<FILE>: miners[1].stratgy: unknown key 'stratgy'; did you mean 'strategy'?"),
    ("[grid]\nzzz = 1\n", [],
     "<FILE>: grid.zzz: unknown key 'zzz'; valid keys: voll_usd_per_mwh, noise, copperplate, demand_csv"),
    ("[grid]\nvoll_usd_per_mwh = -5\n", [],
     "<FILE>: grid.voll_usd_per_mwh: must be > 0 (got -5); set a value > 0 (USD/MWh)"),
    ("[grid]\nnoise = 0.7\n", [], "<FILE>: grid.noise: must be between 0 and 0.5 (got 0.7); set a value between 0 and 0.5"),
    ("[run]\nhours = 0\n", [], "<FILE>: run.hours: must be >= 1 (got 0); set a value >= 1 (h)"),
    ("[grid]\nnoise = 'abc'\n", [], '<FILE>: grid.noise: expected a number, got string "abc"; write a number, e.g. noise = 0.02'),
    ("[grid]\nnoise = nan\n", [], "<FILE>: grid.noise: must be a finite number (got nan); write a number"),
    ("[grid]\nvoll_usd_per_mwh = inf\n", [],
     "<FILE>: grid.voll_usd_per_mwh: must be a finite number (got inf); write a number"),
    ("[run]\nhours = true\n", [],
     "<FILE>: run.hours: expected an integer, got boolean true; write a whole number, e.g. hours = 24"),
    ("[run]\nhours = 2.5\n", [],
     "<FILE>: run.hours: expected an integer, got number 2.5; write a whole number, e.g. hours = 24"),
    ("[grid]\ncopperplate = 'yes'\n", [],
     '<FILE>: grid.copperplate: expected true or false, got string "yes"; write true or false, e.g. copperplate = false'),
    ("[[miners]]\nstrategy = 'profit'\n", [],
     '<FILE>: miners[0].strategy: must be one of "hodl", "profit_max" (got "profit"); did you mean "profit_max"?'),
    ("[[miners]]\nmw = '10'\n", [], '<FILE>: miners[0].mw: expected a number, got string "10"; write a number, e.g. mw = 10.0'),
    ("[counts]\nhodl = 1.5\n", [], "<FILE>: counts.hodl: expected an integer, got number 1.5; write a whole number"),
    ("run = 5\n", [], "<FILE>: run: expected a table, got integer 5; write a [table] of keys"),
    ("[miners]\nname = 'a'\n", [], '<FILE>: miners: expected an array, got table {name = "a"}; write an array [...]'),
    ("tags = 'a'\n", [], '<FILE>: tags: expected an array, got string "a"; write an array [...]'),
    ("[grid]\ndemand_csv = 'nope.csv'\n", [],
     "<FILE>: grid.demand_csv: no such file \"<DIR>/nope.csv\"; fix the path (a relative path is relative to "
     "the config file's folder (in --set: to the current folder))"),
    ("[grid]\ndemand_csv = ''\n", [],
     "<FILE>: grid.demand_csv: expected a file path, got an empty string; write the path in double quotes"),
    ("[grid]\ndemand_csv = 3\n", [], "<FILE>: grid.demand_csv: expected a file path (string), got integer 3; "
                                     "write the path in double quotes"),
    ("[[windows]]\nstart = 5\nend = 3\n", [], "<FILE>: windows[0].end: must be after start (got 3 <= 5); swap them"),
    ("[window]\nstart = 5\nend = 3\n", [], "<FILE>: window.end: must be after start (got 3 <= 5); swap them"),
    ("when = 1979-05-27\n", [],
     "<FILE>: when: unknown key 'when'; valid keys: run, grid, miners, counts, tags, windows, window"),
    # --set overrides
    ("", ["grid.vol=3"], "--set: grid.vol: unknown key 'vol'; did you mean 'voll_usd_per_mwh'?"),
    ("", ["run.hours=abc"], '--set: run.hours: expected an integer, got string "abc"; write a whole number, e.g. hours = 24'),
    ("", ["grid.voll_usd_per_mwh=-1"], "--set: grid.voll_usd_per_mwh: must be > 0 (got -1); set a value > 0 (USD/MWh)"),
    ("", ["run.hours"], "--set: \"run.hours\" is not KEY=VALUE; write a dotted key path, '=' and a TOML value, e.g. section.key=1"),
    ("", ["run..hours=3"], '--set: "run..hours" is not a key path; write names joined by dots, with [i] for array items and '
                           '"quotes" around odd names'),
    ("", ["miners[0].mw=3"], "--set: miners[0]: index 0 is out of range (0 items); use an existing index (--set does not "
                             "add items; add them in the config file)"),
    ("", ["run.hours.x=1"], "--set: run.hours.x: run.hours is a single value, not a table; set it whole: --set run.hours=VALUE"),
    ("", ["run[0]=1"], "--set: run[0]: run is a table, not an array; drop the [0]"),
    ("", ["miners.name=x"], "--set: miners.name: miners is an array, not a table; index its items: miners[0]"),
    ("[[miners]]\n", ["miners[0].strategy=hodll"],
     '--set: miners[0].strategy: must be one of "hodl", "profit_max" (got "hodll"); did you mean "hodl"?'),
    ("[run]\nhours = 5\n", ["grid.noise=nan"], "--set: grid.noise: must be a finite number (got nan); write a number"),
]


@pytest.mark.parametrize("text, overrides, message", BAD, ids=[f"bad{i:02d}" for i in range(len(BAD))])
def test_bad_input_gives_its_one_line_message(tmp_path, text, overrides, message):
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(str(path), Cfg, overrides)
    expected = message.replace("<FILE>", str(path)).replace("<DIR>", str(tmp_path))
    assert str(e.value) == expected
    assert "\n" not in str(e.value) and isinstance(e.value, ValueError)


def test_bad_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_bytes(b'name = "\xff"\n')
    for path, message in [
        ("missing.toml", "missing.toml: no such config file; pass the path of an existing TOML file"),
        (".", ".: is a folder, not a config file; pass a TOML file"),
        ("bad.toml", "bad.toml: not UTF-8 text (bad byte at offset 8); save the file as UTF-8"),
    ]:
        with pytest.raises(ConfigError) as e:
            load_config(path, Cfg)
        assert str(e.value) == message
    with pytest.raises(ConfigError, match=r"^--set: grid.demand_csv: no such file \".*/nope.csv\"; fix the path "
                                          r"\(a relative path is relative to the current folder\)$"):
        load_config(None, Cfg, ["grid.demand_csv=nope.csv"])


FULL = """
tags = ["a", "b"]

[run]
name = "full"
hours = 48
bits = 0x17034219        # hex literal, as in Bitcoin's nBits

[grid]
noise = 0                # an integer for a float field
demand_csv = "data/demand.csv"

[[miners]]
name = "m0"
strategy = "profit_max"

[[miners]]
name = "m1"
mw = 3

[counts]
hodl = 7

[[windows]]
start = 2
end = 5
"""


@pytest.fixture
def full(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demand.csv").write_text("demand_mw\n1\n")
    path = tmp_path / "full.toml"
    path.write_text(FULL)
    return path


def test_full_file_loads_with_types_and_paths_resolved(full):
    c = load_config(full, Cfg)
    assert c.run == Run(name="full", hours=48, bits=386089497, seed=None)
    assert c.grid.noise == 0.0 and isinstance(c.grid.noise, float)
    assert c.grid.demand_csv == full.parent / "data" / "demand.csv" and c.grid.demand_csv.is_absolute()
    assert c.miners == [Miner(name="m0", strategy="profit_max"), Miner(name="m1", mw=3.0)]
    assert c.counts == {"hodl": 7}  # a table in the file replaces the default table
    assert c.tags == ["a", "b"] and c.windows == [Window(start=2, end=5)]
    with pytest.raises(Exception):  # frozen, like the dataclasses it replaces
        c.run.hours = 3


def test_dump_then_load_gives_the_same_config_and_hash(full, tmp_path):
    for c in (load_config(full, Cfg), load_config(None, Cfg), load_config(None, Cfg, ["window={start = 1, end = 2}"])):
        text = dump_config(c)
        assert "None" not in text and tomllib.loads(text) == config_to_dict(c)
        out = tmp_path / "elsewhere" / "dumped.toml"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text)
        again = load_config(out, Cfg)
        assert again == c and dump_config(again) == text and config_hash(again) == config_hash(c)
    c = load_config(full, Cfg)
    assert config_hash(c) != config_hash(load_config(full, Cfg, ["run.hours=49"])) and len(config_hash(c)) == 64
    doc = tomllib.loads(dump_config(c))
    assert set(doc["run"]) == {"name", "hours", "bits"}  # seed is None: omitted
    assert doc["grid"]["demand_csv"] == str(full.parent / "data" / "demand.csv")


def test_overrides(full, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.csv").write_text("x\n")
    c = load_config(full, Cfg, [
        "run.hours=100", "run.hours=0x10",        # applied in order: the last wins; hex works
        "run.name=2024",                          # a number where text is wanted stays text
        "grid.copperplate=true",
        "grid.demand_csv=other.csv",              # relative to the current folder
        "miners[1].strategy=profit_max",          # into the file's array of tables
        "counts.profit_max=4",                    # one entry of a dict, the others kept
        'counts."S19 XP"=5', "counts.S21 = 1",    # quoted and bare dict keys
        "tags=['x']",
        "windows=[{start = 1, end = 2}, {start = 3, end = 9}]",
        ("run.seed", 7),                          # a (key, python value) pair
    ])
    assert (c.run.hours, c.run.name, c.run.seed) == (16, "2024", 7)
    assert (c.grid.copperplate, c.grid.demand_csv) == (True, tmp_path / "other.csv")
    assert [m.strategy for m in c.miners] == ["profit_max", "profit_max"]
    assert c.counts == {"hodl": 7, "profit_max": 4, "S19 XP": 5, "S21": 1} and c.tags == ["x"]
    assert c.windows == [Window(start=1, end=2), Window(start=3, end=9)]


def test_overrides_on_defaults_fill_tables_and_replace_whole_tables():
    import numpy as np

    c = load_config(None, Cfg, ["counts.hodl=5", "window.end=3", "run={hours = 5}", ("grid.noise", np.float64(0.1)),
                                ("run.bits", np.int64(7))])
    assert c.counts == {"hodl": 5, "profit_max": 1}  # merged into the default dict
    assert c.window == Window(end=3)  # an absent optional table is created
    assert c.run == Run(hours=5, bits=7) and c.grid.noise == 0.1  # numpy scalars as Python numbers
    assert load_config(None, Cfg, ["counts={}"]).counts == {}
    assert config_from_dict({"run": {"hours": 3}}, Cfg, overrides="run.name=x").run == Run(hours=3, name="x")


def test_describe_schema_lists_every_key_with_type_default_unit_and_range():
    lines = describe_schema(Cfg).splitlines()
    assert lines[0] == "| key | type | default | unit | allowed | meaning |"
    rows = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    assert rows["`run.hours`"] == "| `run.hours` | integer | `24` | h | >= 1 | simulated hours |"
    assert rows["`grid.voll_usd_per_mwh`"] == "| `grid.voll_usd_per_mwh` | number | `5000.0` | USD/MWh | > 0 | value of lost load |"
    assert rows["`grid.noise`"] == ("| `grid.noise` | number | `0.02` | - | between 0 and 0.5 | relative noise \\| of "
                                    "demand |")
    assert rows["`miners[].strategy`"].startswith('| `miners[].strategy` | string | `"hodl"` |  | one of "hodl", "profit_max"')
    assert rows["`counts`"].startswith("| `counts` | table of integer | `{hodl = 2, profit_max = 1}` |")
    assert rows["`grid.demand_csv`"].startswith("| `grid.demand_csv` | file path (optional) | (none) |  | must exist")
    assert rows["`window.end`"].startswith("| `window.end` | integer | `1` |")
    assert set(rows) >= {f"`{k}`" for k in ("run", "grid", "miners", "miners[].mw", "windows[].start", "window", "tags")}


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(name=names, hours=st.integers(1, 2**63 - 1), noise=st.floats(0, 0.5), voll=st.floats(min_value=1e-300, allow_infinity=False),
       copper=st.booleans(), counts=st.dictionaries(names, st.integers(-10**6, 10**6)), tags=st.lists(names, max_size=3))
def test_any_valid_config_round_trips(name, hours, noise, voll, copper, counts, tags):
    c = Cfg(run=Run(name=name, hours=hours), grid=Grid(noise=noise, voll_usd_per_mwh=voll, copperplate=copper),
            miners=[Miner(name=name)], counts=counts, tags=tags)
    text = dump_config(c)
    again = config_from_dict(tomllib.loads(text), Cfg)
    assert again == c and dump_config(again) == text
    assert not math.isinf(again.grid.voll_usd_per_mwh)


def test_show_config_schema_lists_every_scenario_field_with_unit_default_and_range():
    """Every leaf of the scenario (walked from the pydantic models, so new fields are covered)
    has a row; numbers have a unit (or "-") and a range (or "any"), every leaf a default."""
    import typing

    from pydantic import BaseModel

    from simulation.config import Scenario

    rows = {line.split(" | ")[0][2:].strip("`"): line.split(" | ") for line in describe_schema(Scenario).splitlines()[2:]}

    def leaves(cls, prefix):
        for name, info in cls.model_fields.items():
            tp = info.annotation
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            inner = args[0] if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and len(args) == 1 else tp
            if typing.get_origin(inner) is list and isinstance(typing.get_args(inner)[0], type) and issubclass(
                    typing.get_args(inner)[0], BaseModel):
                yield from leaves(typing.get_args(inner)[0], f"{prefix}{name}[].")
            elif isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from leaves(inner, f"{prefix}{name}.")
            else:
                yield prefix + name, inner

    found = list(leaves(Scenario, ""))
    assert len(found) > 100
    for key, tp in found:
        assert key in rows, key
        _, type_, default, unit, allowed, meaning = rows[key][:6]
        assert default.strip() and meaning.strip(), key
        if tp in (int, float):
            assert unit.strip() and allowed.strip(), key
