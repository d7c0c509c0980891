"""The generic TOML loader on a small schema of its own: every bad input gives its exact one-line
message (file, key path, problem, fix), overrides follow the documented rules, and dump/load
round-trips any valid config."""

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.config import (
    ConfigError,
    check_schema,
    config_from_dict,
    config_hash,
    config_to_dict,
    describe_schema,
    dump_config,
    load_config,
)


def _f(default, doc="", **meta):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc, **meta})
    return field(default=default, metadata={"doc": doc, **meta})


@dataclass(frozen=True, kw_only=True)
class Miner:
    name: str = _f("", "miner name")
    strategy: Literal["hodl", "profit_max"] = _f("hodl", "how it bids")
    mw: float = _f(10.0, "facility size", unit="MW", gt=0)
    shares: list[float] = _f([], "shares of the fleet by model", ge=0, le=1)


@dataclass(frozen=True, kw_only=True)
class Grid:
    voll_usd_per_mwh: float = _f(5000.0, "value of lost load", unit="USD/MWh", gt=0,
                                 fix="set a positive value of lost load in USD/MWh")
    noise: float = _f(0.02, "relative noise | of demand", ge=0, le=0.5)
    case: str = _f("synthetic", "grid case", choices=("synthetic", "ieee14", "ieee118"))
    copperplate: bool = _f(False, "ignore line limits")
    demand_csv: Path | None = _f(None, "hourly demand series", must_exist=True)


@dataclass(frozen=True, kw_only=True)
class Run:
    name: str = _f("default", "run name")
    hours: int = _f(24, "simulated hours", unit="h", ge=1)
    bits: int = _f(0x1D00FFFF, "compact target")
    seed: int | None = _f(None, "root seed (none: fresh entropy)")


@dataclass(frozen=True, kw_only=True)
class Script:
    baseline: Literal["implied"] | float = _f("implied", "baseline hash rate, EH/s")


@dataclass(frozen=True, kw_only=True)
class Window:
    start: int = _f(0, "first hour")
    end: int = _f(1, "first hour after")

    def __post_init__(self):
        if self.start >= self.end:
            raise ValueError(f"start must be before end (got {self.start} >= {self.end}); swap them")


@dataclass(frozen=True, kw_only=True)
class Cfg:
    run: Run = field(default_factory=Run, metadata={"doc": "time span"})
    grid: Grid = field(default_factory=Grid, metadata={"doc": "power grid"})
    miners: list[Miner] = _f([], "explicit miners")
    counts: dict[str, int] = _f({"hodl": 2, "profit_max": 1}, "generated miners per strategy",
                                key_choices=("hodl", "profit_max"), ge=0)
    weights: dict[str, float] = _f({}, "weights by ASIC model")
    tags: tuple[str, ...] = _f((), "free labels")
    windows: list[Window] = _f([], "outage windows")
    script: Script | None = _f(None, "scripted hash rate")


@dataclass(frozen=True, kw_only=True)
class Needs:
    bus: str = field(metadata={"doc": "required bus id"})
    mw: float = _f(1.0)


# ------------------------------------------------------------------------------------------------
# bad inputs: (config file text, overrides, the exact message; <FILE> and <DIR> stand for the
# config file and its folder)
BAD = [
    ("[run]\nhours = = 3\n", [],
     "<FILE>: line 2, column 9: invalid TOML (invalid value); fix the TOML syntax there"),
    ("[run]\nhours = 1\nhours = 2\n", [],
     "<FILE>: line 3, column 10: invalid TOML (a key or table is defined twice); fix the TOML syntax there"),
    ('name = "x', [],
     "<FILE>: end of file: invalid TOML (unterminated string); fix the TOML syntax there"),
    ("[rnu]\nhours = 3\n", [],
     "<FILE>: rnu: unknown key 'rnu'; did you mean 'run'?"),
    ("[[miners]]\n[[miners]]\nstratgy = 'hodl'\n", [],
     "<FILE>: miners[1].stratgy: unknown key 'stratgy'; did you mean 'strategy'?"),
    ("[grid]\nzzz = 1\n", [],
     "<FILE>: grid.zzz: unknown key 'zzz'; valid keys: voll_usd_per_mwh, noise, case, copperplate, demand_csv"),
    ("[grid]\nvoll_usd_per_mwh = -5\n", [],
     "<FILE>: grid.voll_usd_per_mwh: must be > 0 (got -5); set a positive value of lost load in USD/MWh"),
    ("[grid]\nnoise = 0.7\n", [],
     "<FILE>: grid.noise: must be between 0 and 0.5 (got 0.7); set a value between 0 and 0.5"),
    ("[run]\nhours = 0\n", [],
     "<FILE>: run.hours: must be >= 1 (got 0); set a value >= 1 (h)"),
    ("[grid]\nnoise = 'abc'\n", [],
     '<FILE>: grid.noise: expected a number, got string "abc"; write a number, e.g. noise = 0.02'),
    ("[grid]\nnoise = nan\n", [],
     "<FILE>: grid.noise: nan is not allowed; write a number"),
    ("[run]\nhours = true\n", [],
     "<FILE>: run.hours: expected an integer, got boolean true; write a whole number, e.g. hours = 24"),
    ("[run]\nhours = 2.5\n", [],
     "<FILE>: run.hours: expected an integer, got number 2.5; write a whole number, e.g. hours = 24"),
    ("[grid]\ncopperplate = 'yes'\n", [],
     '<FILE>: grid.copperplate: expected true or false, got string "yes"; write true or false (no quotes), '
     "e.g. copperplate = false"),
    ("[grid]\ncase = 'ieee15'\n", [],
     '<FILE>: grid.case: must be one of "synthetic", "ieee14", "ieee118" (got "ieee15"); did you mean "ieee14"?'),
    ("[[miners]]\nstrategy = 'profit'\n", [],
     '<FILE>: miners[0].strategy: must be one of "hodl", "profit_max" (got "profit"); did you mean "profit_max"?'),
    ("[[miners]]\nshares = [0.5, 1.5]\n", [],
     "<FILE>: miners[0].shares[1]: must be between 0 and 1 (got 1.5); set a value between 0 and 1"),
    ("[[miners]]\nmw = '10'\n", [],
     '<FILE>: miners[0].mw: expected a number, got string "10"; write a number, e.g. mw = 10.0'),
    ("[counts]\nhodl = 1\nprofitmax = 2\n", [],
     "<FILE>: counts.profitmax: unknown key 'profitmax'; did you mean 'profit_max'?"),
    ("[counts]\nhodl = 1.5\n", [],
     "<FILE>: counts.hodl: expected an integer, got number 1.5; write a whole number"),
    ("[counts]\nhodl = -1\n", [],
     "<FILE>: counts.hodl: must be >= 0 (got -1); set a value >= 0"),
    ("run = 5\n", [],
     "<FILE>: run: expected a table, got integer 5; write a [run] table or an inline table {key = value}"),
    ("[miners]\nname = 'a'\n", [],
     '<FILE>: miners: expected an array of tables, got table {name = "a"}; write one [[miners]] table per item'),
    ("tags = 'a'\n", [],
     '<FILE>: tags: expected an array, got string "a"; write an array in square brackets, e.g. ["a", "b"]'),
    ("[grid]\ndemand_csv = 'nope.csv'\n", [],
     "<FILE>: grid.demand_csv: no such file \"<DIR>/nope.csv\"; fix the path (a relative path is relative to "
     "the config file's folder)"),
    ("[grid]\ndemand_csv = ''\n", [],
     "<FILE>: grid.demand_csv: expected a file path, got an empty string; write the path in double quotes"),
    ("[script]\nbaseline = 'implyed'\n", [],
     '<FILE>: script.baseline: must be one of "implied" (got "implyed"); did you mean "implied"?'),
    ("[script]\nbaseline = true\n", [],
     '<FILE>: script.baseline: expected one of "implied" or a number, got boolean true; '
     'write one of "implied" or a number, e.g. baseline = "implied"'),
    ("[[windows]]\nstart = 5\nend = 3\n", [],
     "<FILE>: windows[0]: start must be before end (got 5 >= 3); swap them"),
    ("when = 1979-05-27\n", [],
     "<FILE>: when: unknown key 'when'; valid keys: run, grid, miners, counts, weights, tags, windows, script"),
    # --set overrides
    ("", ["grid.vol=3"], "--set: grid.vol: unknown key 'vol'; did you mean 'voll_usd_per_mwh'?"),
    ("", ["run.hours=abc"],
     '--set: run.hours: expected an integer, got string "abc"; write a whole number, e.g. hours = 24'),
    ("", ["grid.voll_usd_per_mwh=-1"],
     "--set: grid.voll_usd_per_mwh: must be > 0 (got -1); set a positive value of lost load in USD/MWh"),
    ("", ["run.hours"],
     "--set: \"run.hours\" is not KEY=VALUE; write a dotted key path, '=' and a TOML value, e.g. section.key=1"),
    ("", ["run..hours=3"],
     '--set: "run..hours" is not a key path; write names joined by dots, with [i] for array items and '
     '"quotes" around odd names'),
    ("", ["miners[0].mw=3"],
     "--set: miners[0]: index 0 is out of range (0 items); use an existing index (--set does not add items; "
     "add them in the config file)"),
    ("", ["run.hours.x=1"],
     "--set: run.hours.x: run.hours is an integer, not a table; set it whole: --set run.hours=VALUE"),
    ("", ["run[0]=1"], "--set: run[0]: run is a table, not an array; drop the [0]"),
    ("", ["miners.name=x"], "--set: miners.name: miners is an array, not a table; index its items: miners[0]"),
    ("", ["counts.hodll=1"], "--set: counts.hodll: unknown key 'hodll'; did you mean 'hodl'?"),
    ("[[miners]]\n", ["miners[0].strategy=hodll"],
     '--set: miners[0].strategy: must be one of "hodl", "profit_max" (got "hodll"); did you mean "hodl"?'),
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


def test_bad_files_and_a_missing_required_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_bytes(b'name = "\xff"\n')
    cases = [
        ("missing.toml", Cfg, "missing.toml: no such config file; pass the path of an existing TOML file"),
        (".", Cfg, ".: is a folder, not a config file; pass a TOML file"),
        ("bad.toml", Cfg, "bad.toml: not UTF-8 text (bad byte at offset 8); save the file as UTF-8"),
        (None, Needs, "defaults: bus: missing required key; add bus = <string>"),
    ]
    for path, schema, message in cases:
        with pytest.raises(ConfigError) as e:
            load_config(path, schema)
        assert str(e.value) == message
    with pytest.raises(ConfigError, match=r"^--set: grid.demand_csv: no such file \".*/nope.csv\"; fix the path "
                                          r"\(a relative path is relative to the current folder\)$"):
        load_config(None, Cfg, ["grid.demand_csv=nope.csv"])


# ------------------------------------------------------------------------------------------------
# good inputs
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
shares = [0.25, 0.75]

[[miners]]
name = "m1"
mw = 3

[counts]
hodl = 7

[weights]
"S19 XP" = 0.3

[[windows]]
start = 2
end = 5

[script]
baseline = 350.5
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
    assert c.miners == [Miner(name="m0", strategy="profit_max", shares=[0.25, 0.75]), Miner(name="m1", mw=3.0)]
    assert c.counts == {"hodl": 7}  # a table in the file replaces the default table
    assert c.weights == {"S19 XP": 0.3} and c.tags == ("a", "b")
    assert c.windows == [Window(start=2, end=5)] and c.script == Script(baseline=350.5)


def test_defaults_without_a_file():
    c = load_config(None, Cfg)
    assert c == Cfg() and c.script is None and c.counts == {"hodl": 2, "profit_max": 1}


def test_dump_then_load_gives_the_same_config_and_hash(full, tmp_path):
    for c in (load_config(full, Cfg), load_config(None, Cfg), load_config(None, Cfg, ["script.baseline=implied"])):
        text = dump_config(c)
        assert "None" not in text and tomllib.loads(text) == config_to_dict(c)
        out = tmp_path / "elsewhere" / "dumped.toml"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text)
        again = load_config(out, Cfg)
        assert again == c and dump_config(again) == text and config_hash(again) == config_hash(c)
    c = load_config(full, Cfg)
    assert config_hash(c) != config_hash(load_config(full, Cfg, ["run.hours=49"]))
    assert len(config_hash(c)) == 64


def test_dump_writes_every_field_and_omits_none(full):
    doc = tomllib.loads(dump_config(load_config(full, Cfg)))
    assert set(doc["run"]) == {"name", "hours", "bits"}  # seed is None
    assert set(doc["grid"]) == {"voll_usd_per_mwh", "noise", "case", "copperplate", "demand_csv"}
    assert doc["grid"]["demand_csv"] == str(full.parent / "data" / "demand.csv")
    assert doc["miners"][1] == {"name": "m1", "strategy": "hodl", "mw": 3.0, "shares": []}


def test_overrides(full, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.csv").write_text("x\n")
    c = load_config(full, Cfg, [
        "run.hours=100", "run.hours=0x10",        # applied in order: the last wins; hex works
        "run.name=2024",                          # a number where text is wanted stays text
        "grid.case=ieee14",                       # a bare string
        "grid.copperplate=true",
        "grid.demand_csv=other.csv",              # relative to the current folder
        "miners[1].strategy=profit_max",          # into the file's array of tables
        "counts.profit_max=4",                    # one entry of a dict, the others kept
        'weights."S19 XP"=0.5', "weights.S21 = 1",  # quoted and bare dict keys
        "tags=['x']",
        "windows=[{start = 1, end = 2}, {start = 3, end = 9}]",
        ("run.seed", 7),                          # a (key, python value) pair
    ])
    assert (c.run.hours, c.run.name, c.run.seed) == (16, "2024", 7)
    assert (c.grid.case, c.grid.copperplate, c.grid.demand_csv) == ("ieee14", True, tmp_path / "other.csv")
    assert [m.strategy for m in c.miners] == ["profit_max", "profit_max"]
    assert c.counts == {"hodl": 7, "profit_max": 4}
    assert c.weights == {"S19 XP": 0.5, "S21": 1.0} and c.tags == ("x",)
    assert c.windows == [Window(start=1, end=2), Window(start=3, end=9)]


def test_overrides_on_defaults_fill_tables_and_replace_whole_tables():
    c = load_config(None, Cfg, ["counts.hodl=5", "script.baseline=3.5", "run={hours = 5}"])
    assert c.counts == {"hodl": 5, "profit_max": 1}  # merged into the default dict
    assert c.script == Script(baseline=3.5)  # an absent optional table is created
    assert c.run == Run(hours=5)  # a table value replaces the whole table
    c = load_config(None, Cfg, ["counts={}"])
    assert c.counts == {}
    assert config_from_dict({"run": {"hours": 3}}, Cfg, overrides="run.name=x").run == Run(hours=3, name="x")


def test_describe_schema_lists_every_key_with_type_default_unit_and_range():
    text = describe_schema(Cfg)
    lines = text.splitlines()
    assert lines[0] == "| key | type | default | unit | allowed | meaning |"
    rows = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    assert rows["`run.hours`"] == "| `run.hours` | integer | `24` | h | >= 1 | simulated hours |"
    assert rows["`grid.voll_usd_per_mwh`"] == ("| `grid.voll_usd_per_mwh` | number | `5000.0` | USD/MWh | > 0 | "
                                               "value of lost load |")
    assert "relative noise \\| of demand" in rows["`grid.noise`"]  # pipes escaped
    assert rows["`miners[].strategy`"].startswith('| `miners[].strategy` | one of "hodl", "profit_max" | `"hodl"` |')
    assert "| table of integer | `{hodl = 2, profit_max = 1}` |" in rows["`counts`"]
    assert "keys hodl, profit_max" in rows["`counts`"]
    assert rows["`grid.demand_csv`"].startswith("| `grid.demand_csv` | path (optional) | (none) |")
    assert "must exist" in rows["`grid.demand_csv`"]
    assert '`script.baseline` | one of "implied" or number' in rows["`script.baseline`"]
    assert "(required)" in describe_schema(Needs)


@dataclass(frozen=True, kw_only=True)
class TypoMeta:
    x: float = field(default=1.0, metadata={"gte": 0})


@dataclass(frozen=True, kw_only=True)
class BoundOnText:
    x: str = field(default="a", metadata={"ge": 0})


@dataclass(frozen=True, kw_only=True)
class BadDefault:
    x: float = field(default=-1.0, metadata={"ge": 0})


@dataclass(frozen=True, kw_only=True)
class BadType:
    x: set[int] = field(default_factory=set)


def test_schema_bugs_are_type_errors():
    with pytest.raises(TypeError, match=r"TypoMeta.x: unknown metadata key 'gte'; did you mean 'ge'\?"):
        check_schema(TypoMeta)
    with pytest.raises(TypeError, match=r"BoundOnText.x: metadata 'ge' needs an int or float field"):
        check_schema(BoundOnText)
    with pytest.raises(TypeError, match=r"BadDefault.x: default -1.0 is invalid: must be >= 0 \(got -1.0\)"):
        load_config(None, BadDefault)
    with pytest.raises(TypeError, match=r"BadType.x: unsupported type"):
        check_schema(BadType)
    check_schema(Cfg)


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(name=names, hours=st.integers(1, 2**63 - 1), noise=st.floats(0, 0.5),
       voll=st.floats(min_value=1e-300, allow_infinity=True), copper=st.booleans(),
       shares=st.lists(st.floats(0, 1), max_size=3), counts=st.dictionaries(st.sampled_from(["hodl", "profit_max"]),
                                                                            st.integers(0, 10**6)),
       weights=st.dictionaries(names, st.floats(allow_nan=False), max_size=3),
       baseline=st.one_of(st.just("implied"), st.floats(allow_nan=False)))
def test_any_valid_config_round_trips(name, hours, noise, voll, copper, shares, counts, weights, baseline):
    c = Cfg(run=Run(name=name, hours=hours), grid=Grid(noise=noise, voll_usd_per_mwh=voll, copperplate=copper),
            miners=[Miner(name=name, shares=shares)], counts=counts, weights=weights, script=Script(baseline=baseline))
    text = dump_config(c)
    again = config_from_dict(tomllib.loads(text), Cfg)
    assert again == c and dump_config(again) == text
    assert math.isinf(voll) == math.isinf(again.grid.voll_usd_per_mwh)
