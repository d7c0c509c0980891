"""Typed TOML configs from nested dataclasses: load, override, validate, dump, describe, hash.

Generic: nothing here knows the scenario. A schema is a tree of dataclasses (normally
`@dataclass(frozen=True, kw_only=True)`, every field with a default); the loader does all the
checking, so every problem is one line naming the file and the key path:

    configs/x.toml: grid.voll_usd_per_mwh: must be > 0 (got -5); set a value > 0 (USD/MWh)
    configs/x.toml: miners[3].stratgy: unknown key 'stratgy'; did you mean 'strategy'?
    --set: run.hours: expected an integer, got string "abc"; write a whole number, e.g. hours = 2160

Field types
    int                 TOML integer (hex/octal/binary literals too); booleans and floats are refused
    float               TOML float or integer (stored as float); nan is refused, +-inf allowed
    str, bool           TOML string; TOML boolean
    pathlib.Path        TOML string; a relative path is resolved against the config file's folder
                        (against the current folder for --set values and when there is no file);
                        defaults are used as written, so give Path fields None or absolute defaults
    Literal[...]        one of the literal values (type and value must match)
    a dataclass         a TOML table; missing keys take the class defaults (so a sub-table's field
                        default should be `default_factory=TheClass`)
    list[X], tuple[X, ...]  a TOML array (of tables for a dataclass X: `[[miners]]`)
    dict[str, X]        a TOML table with free keys (restrict them with `key_choices`)
    X | None, Optional[X]   TOML has no null: None means "key absent"; give such fields the
                        default None (dump_config omits None, so another default would not round-trip)
    X | Y               a union of the above: the first member whose kind fits the value is used
    Fields with init=False are neither loaded nor dumped. A field without a default is required.

Field metadata (all optional), e.g.
    voll_usd_per_mwh: float = field(default=5000.0, metadata={"doc": "value of lost load",
                                                              "unit": "USD/MWh", "gt": 0})
    doc          str     one-line meaning, shown by describe_schema
    unit         str     unit, shown by describe_schema and in range errors' fixes
    ge gt le lt  number  bounds (>=, >, <=, <) on an int/float value; on a list or dict of numbers,
                         on each element / each value
    choices      tuple   allowed values (of the value, each list element or each dict value)
    key_choices  tuple   allowed keys of a dict field (unknown keys get "did you mean")
    must_exist   bool    a Path value must exist (file or folder) after resolution
    fix          str     the text after "; " in every error about this field's value, replacing
                         the generated one (e.g. "set a positive value of lost load in USD/MWh")
Unknown metadata keys, bounds on non-numbers and defaults that break their own checks are schema
bugs: `check_schema` raises TypeError for them (load_config and describe_schema call it).
Cross-field rules can live in the dataclass's `__post_init__`: a ValueError raised there is
reported as `<file>: <table path>: <first line of its message>`.

Overrides (`--set`): `KEY=VALUE` with KEY a dotted path (`grid.copperplate`, `miners[0].bus`,
`population.asic_models."S19 XP"`) and VALUE parsed as a TOML value (`24`, `0x1d00ffff`, `true`,
`[1, 2]`, `{a = 1}`, `"text"`); a VALUE that is not TOML, or that is not text where the field
wants text, is taken as the bare string. A table value replaces the table; a dotted key into a
dict field changes that entry only. Overrides may also be `(key, python_value)` pairs. Array
indexes must exist already (`--set` never adds items).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import json
import math
import numbers
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any, Literal, Union

import tomli_w

__all__ = [
    "ConfigError", "load_config", "config_from_dict", "dump_config", "config_to_dict",
    "describe_schema", "config_hash", "check_schema", "format_override", "toml_inline", "METADATA_KEYS",
]

#: field metadata keys the loader understands (anything else in a schema is a TypeError)
METADATA_KEYS = ("doc", "unit", "ge", "gt", "le", "lt", "choices", "key_choices", "must_exist", "fix")


class ConfigError(ValueError):
    """A problem with a config, as one line: `<source>: <key.path>: <problem>; <fix>`.

    `source` is the config file as given, `--set` for an override, `defaults` without a file."""

    def __init__(self, source: str, key: str, problem: str, fix: str = "") -> None:
        self.source, self.key, self.problem, self.fix = source, key, problem, fix
        text = ": ".join(p for p in (source, key, problem) if p) + (f"; {fix}" if fix else "")
        super().__init__(" ".join(text.split("\n")))


# --------------------------------------------------------------------------------------------
# the schema's types, parsed once per class
@dataclasses.dataclass(frozen=True)
class _Type:
    kind: str  # int float str bool path literal table list tuple dict optional union
    args: tuple = ()  # literal values; element / value type; union members; optional's inner
    cls: Any = None  # the dataclass of a table


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    type: _Type
    meta: Mapping
    field: dataclasses.Field

    @property
    def required(self) -> bool:
        return self.field.default is dataclasses.MISSING and self.field.default_factory is dataclasses.MISSING

    def default(self) -> Any:
        if self.field.default is not dataclasses.MISSING:
            return self.field.default
        return self.field.default_factory()


_SCALARS = {int: "int", float: "float", str: "str", bool: "bool"}


def _type_of(tp: Any, where: str) -> _Type:
    if tp in _SCALARS:
        return _Type(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return _Type("path")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _Type("table", cls=tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        if not args or not all(isinstance(a, (str, int, float, bool)) for a in args):
            raise TypeError(f"schema {where}: Literal values must be strings, numbers or booleans")
        return _Type("literal", args)
    if origin is list and len(args) == 1:
        return _Type("list", (_type_of(args[0], where),))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _Type("tuple", (_type_of(args[0], where),))
    if origin is dict and len(args) == 2:
        if args[0] is not str:
            raise TypeError(f"schema {where}: dict keys must be str (TOML keys are strings)")
        return _Type("dict", (_type_of(args[1], where),))
    if origin is Union or isinstance(tp, types.UnionType):
        rest = [_type_of(a, where) for a in args if a is not type(None)]
        inner = rest[0] if len(rest) == 1 else _Type("union", tuple(rest))
        return _Type("optional", (inner,)) if len(rest) < len(args) else inner
    raise TypeError(f"schema {where}: unsupported type {tp!r}; use int, float, str, bool, Path, Literal, "
                    "a dataclass, list[X], tuple[X, ...], dict[str, X] or X | None")


def _unwrap(t: _Type) -> _Type:
    return t.args[0] if t.kind == "optional" else t


def _leaves(t: _Type) -> list[_Type]:
    """The scalar (or table) types a field's checks apply to, through optional/list/dict/union."""
    if t.kind in ("optional", "list", "tuple", "dict", "union"):
        return [leaf for a in t.args for leaf in _leaves(a)]
    return [t]


@functools.cache
def _fields(cls: type) -> tuple[_Field, ...]:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"schema: {cls!r} is not a dataclass")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as e:  # noqa: BLE001 - unresolvable annotation: a schema bug
        raise TypeError(f"schema {cls.__qualname__}: cannot resolve its annotations ({e})") from None
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        where = f"{cls.__qualname__}.{f.name}"
        t = _type_of(hints[f.name], where)
        _check_meta(f.metadata, t, where)
        out.append(_Field(f.name, t, f.metadata, f))
    return tuple(out)


_META_ALIASES = {"gte": "ge", "lte": "le", "min": "ge", "max": "le", "minimum": "ge", "maximum": "le",
                 "description": "doc", "help": "doc", "units": "unit", "exists": "must_exist",
                 "options": "choices", "values": "choices", "keys": "key_choices"}


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_meta(meta: Mapping, t: _Type, where: str) -> None:
    kinds = {leaf.kind for leaf in _leaves(t)}
    for key, value in meta.items():
        if key not in METADATA_KEYS:
            close = [_META_ALIASES[key]] if key in _META_ALIASES else difflib.get_close_matches(key, METADATA_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"use {', '.join(METADATA_KEYS)}"
            raise TypeError(f"schema {where}: unknown metadata key '{key}'; {hint}")
        if key in ("doc", "unit", "fix") and not isinstance(value, str):
            raise TypeError(f"schema {where}: metadata '{key}' must be a string")
        if key in ("ge", "gt", "le", "lt"):
            if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
                raise TypeError(f"schema {where}: metadata '{key}' must be a number (got {value!r})")
            if not kinds & {"int", "float"}:
                raise TypeError(f"schema {where}: metadata '{key}' needs an int or float field")
        if key in ("choices", "key_choices"):
            if not isinstance(value, (tuple, list, frozenset, set)) or not value:
                raise TypeError(f"schema {where}: metadata '{key}' must be a non-empty tuple")
        if key == "choices" and not kinds & {"int", "float", "str"}:
            raise TypeError(f"schema {where}: metadata 'choices' needs an int, float or str field "
                            "(use Literal for fixed strings)")
        if key == "key_choices" and not (_unwrap(t).kind == "dict" and all(isinstance(k, str) for k in value)):
            raise TypeError(f"schema {where}: metadata 'key_choices' needs a dict[str, X] field and string keys")
        if key == "must_exist" and (not isinstance(value, bool) or "path" not in kinds):
            raise TypeError(f"schema {where}: metadata 'must_exist' must be True/False on a Path field")


@functools.cache
def check_schema(schema_cls: type) -> None:
    """Raise TypeError for a schema the loader cannot serve: unsupported types, unknown metadata
    keys, checks on the wrong types, defaults violating their own checks. Cached per class."""
    seen: set[type] = set()

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        ctx = _Ctx(source="", base_dir=None, check_files=False)
        for f in _fields(cls):
            if not f.required:
                default = f.default()
                if default is not None:
                    try:
                        _convert(_plain(default), f.type, f.meta, (f.name,), ctx)
                    except (ConfigError, TypeError) as e:
                        problem = e.problem if isinstance(e, ConfigError) else str(e)
                        raise TypeError(f"schema {cls.__qualname__}.{f.name}: default {_inline(_plain(default))} "
                                        f"is invalid: {problem}") from None
            for leaf in _leaves(f.type):
                if leaf.kind == "table":
                    walk(leaf.cls)

    walk(schema_cls)


# --------------------------------------------------------------------------------------------
# formatting
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(path: Iterable[str | int]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + (p if _BARE_KEY.fullmatch(p) else json.dumps(p, ensure_ascii=False))
    return out


def _num(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    return str(x)


def _inline(v: Any) -> str:
    """`v` (plain: no dataclasses) as an inline TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key([k])} = {_inline(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return repr(v)


def toml_inline(v: Any) -> str:
    """`v` (a value as tomllib reads it: bool, number, string, date/time, array, table) as an
    inline TOML value that `tomllib` reads back equal."""
    return _inline(v)


def format_override(key: str, value: Any) -> str:
    """The `--set` text of the override pair `(key, value)`: `key=<inline TOML value>`."""
    return f"{key}={_inline(value)}"


def _short(s: str, n: int = 48) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _got(v: Any) -> str:
    if isinstance(v, bool):
        return f"boolean {_inline(v)}"
    if isinstance(v, numbers.Integral):
        return f"integer {v}"
    if isinstance(v, numbers.Real):
        return f"number {_num(float(v))}"
    if isinstance(v, str):
        return f"string {_short(_inline(v))}"
    if isinstance(v, (list, tuple)):
        return f"array {_short(_inline(list(v)))}"
    if isinstance(v, dict):
        return f"table {_short(_inline(v))}"
    if isinstance(v, (dt.date, dt.time)):
        return f"date/time {v.isoformat()}"
    if v is None:
        return "nothing"
    return type(v).__name__


def _a(t: _Type) -> str:
    """What a type expects, as a noun phrase ("an integer")."""
    k = t.kind
    if k == "optional":
        return _a(t.args[0])
    if k == "union":
        return " or ".join(_a(m) for m in t.args)
    if k in ("list", "tuple"):
        return "an array of tables" if _unwrap(t.args[0]).kind == "table" else "an array"
    return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
            "path": "a file path (string)", "literal": "one of " + ", ".join(_inline(a) for a in t.args),
            "table": "a table", "dict": "a table"}[k]


def _type_name(t: _Type) -> str:
    """A type for people (describe_schema)."""
    k = t.kind
    if k == "optional":
        return f"{_type_name(t.args[0])} (optional)"
    if k == "union":
        return " or ".join(_type_name(m) for m in t.args)
    if k in ("list", "tuple"):
        inner = t.args[0]
        return "array of tables" if _unwrap(inner).kind == "table" else f"array of {_type_name(inner)}"
    if k == "dict":
        return f"table of {_type_name(t.args[0])}"
    if k == "literal":
        return "one of " + ", ".join(_inline(a) for a in t.args)
    return {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "path": "path",
            "table": "table"}[k]


def _range(meta: Mapping) -> str:
    b = {k: meta[k] for k in ("gt", "ge", "lt", "le") if k in meta}
    if set(b) == {"ge", "le"}:
        return f"between {_num(b['ge'])} and {_num(b['le'])}"
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{ops[k]} {_num(v)}" for k, v in b.items())


def _suggest_key(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if not close:  # a cut-short name: "vol" for "voll_usd_per_mwh"
        close = [k for k in valid if k.startswith(key)] if len(key) >= 2 else []
    if len(close) == 1:
        return f"did you mean '{close[0]}'?"
    return f"valid keys: {', '.join(valid)}" if valid else "this table takes no keys"


def _suggest_value(v: Any, choices: Iterable[Any]) -> str:
    if isinstance(v, str):
        texts = [c for c in choices if isinstance(c, str)]
        close = difflib.get_close_matches(v, texts, n=1, cutoff=0.6)
        if close:
            return f"did you mean {_inline(close[0])}?"
    return "pick one of those"


# --------------------------------------------------------------------------------------------
# building an instance from plain data
@dataclasses.dataclass
class _Ctx:
    source: str
    base_dir: Path | None
    overridden: set = dataclasses.field(default_factory=set)
    check_files: bool = True

    def from_override(self, path: tuple) -> bool:
        return any(path[:i] in self.overridden for i in range(1, len(path) + 1))

    def fail(self, path: tuple, problem: str, fix: str = "") -> typing.NoReturn:
        raise ConfigError("--set" if self.from_override(path) else self.source, _key(path), problem, fix)


def _type_fix(t: _Type, meta: Mapping, path: tuple, example: str | None) -> str:
    if "fix" in meta:
        return meta["fix"]
    u = _unwrap(t)
    k = u.kind
    if k in ("list", "tuple") and _unwrap(u.args[0]).kind == "table":
        fix = f"write one [[{_key(path)}]] table per item"
    elif k in ("list", "tuple"):
        ek = _unwrap(u.args[0]).kind
        fix = "write an array in square brackets, e.g. " + {"int": "[1, 2]", "float": "[0.5, 1.0]",
                                                             "bool": "[true, false]"}.get(ek, '["a", "b"]')
    elif k in ("table", "dict"):
        fix = f"write a [{_key(path)}] table or an inline table {{key = value}}"
    else:
        fix = {"int": "write a whole number", "float": "write a number", "str": "write text in double quotes",
               "bool": "write true or false (no quotes)", "path": "write the path in double quotes",
               "literal": "pick one of those", "union": f"write {_a(u)}"}[k]
    return fix + (f", e.g. {example}" if example and k not in ("table", "dict", "list", "tuple") else "")


def _example(f: _Field) -> str | None:
    if f.required:
        return None
    default = f.default()
    if default is None or dataclasses.is_dataclass(default):
        return None
    text = f"{_key([f.name])} = {_inline(_plain(default))}"
    return text if len(text) <= 60 else None


def _fits(v: Any, t: _Type) -> bool:
    """Whether `v` has the kind of value `t` takes (for unions and --set text fallbacks)."""
    k = t.kind
    if k == "optional":
        return v is None or _fits(v, t.args[0])
    if k == "union":
        return any(_fits(v, m) for m in t.args)
    if k == "int":
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)
    if k == "float":
        return isinstance(v, numbers.Real) and not isinstance(v, bool)
    if k == "bool":
        return isinstance(v, bool)
    if k == "str":
        return isinstance(v, str)
    if k == "path":
        return isinstance(v, (str, PurePath))
    if k == "literal":
        return any(type(v) is type(a) for a in t.args)
    if k == "table":
        return isinstance(v, (dict, t.cls))
    if k == "dict":
        return isinstance(v, dict)
    return isinstance(v, (list, tuple))


def _convert(v: Any, t: _Type, meta: Mapping, path: tuple, ctx: _Ctx, example: str | None = None) -> Any:
    k = t.kind
    if k == "optional":
        return None if v is None else _convert(v, t.args[0], meta, path, ctx, example)
    if not _fits(v, t):
        ctx.fail(path, f"expected {_a(t)}, got {_got(v)}", _type_fix(t, meta, path, example))
    if k == "union":
        member = next(m for m in t.args if _fits(v, m))
        return _convert(v, member, meta, path, ctx, example)
    if k == "table":
        return _build(t.cls, _plain(v) if isinstance(v, t.cls) else v, path, ctx)
    if k in ("list", "tuple"):
        items = [_convert(x, t.args[0], meta, path + (i,), ctx) for i, x in enumerate(v)]
        return items if k == "list" else tuple(items)
    if k == "dict":
        out = {}
        allowed = meta.get("key_choices")
        for key, x in v.items():
            if allowed is not None and key not in allowed:
                ctx.fail(path + (key,), f"unknown key '{key}'", _suggest_key(key, list(allowed)))
            out[key] = _convert(x, t.args[0], meta, path + (key,), ctx)
        return out
    if k == "literal":
        if not any(type(v) is type(a) and v == a for a in t.args):
            ctx.fail(path, f"must be one of {', '.join(_inline(a) for a in t.args)} (got {_inline(v)})",
                     meta.get("fix") or _suggest_value(v, t.args))
        return v
    if k == "int":
        value: Any = int(v)
    elif k == "float":
        value = float(v)
        if math.isnan(value):
            ctx.fail(path, "nan is not allowed", meta.get("fix") or "write a number")
    elif k == "path":
        value = _path(v, meta, path, ctx)
    else:
        value = v
    if k in ("int", "float") and any(b in meta for b in ("gt", "ge", "lt", "le")):
        x = value
        ok = (("gt" not in meta or x > meta["gt"]) and ("ge" not in meta or x >= meta["ge"])
              and ("lt" not in meta or x < meta["lt"]) and ("le" not in meta or x <= meta["le"]))
        if not ok:
            unit = f" ({meta['unit']})" if meta.get("unit") else ""
            ctx.fail(path, f"must be {_range(meta)} (got {_num(v if isinstance(v, (int, float)) else value)})",
                     meta.get("fix") or f"set a value {_range(meta)}{unit}")
    if "choices" in meta and k in ("int", "float", "str") and value not in meta["choices"]:
        ctx.fail(path, f"must be one of {', '.join(_inline(c) for c in meta['choices'])} (got {_inline(value)})",
                 meta.get("fix") or _suggest_value(value, meta["choices"]))
    return value


def _path(v: str | PurePath, meta: Mapping, path: tuple, ctx: _Ctx) -> Path:
    if str(v) == "":
        ctx.fail(path, "expected a file path, got an empty string", meta.get("fix") or "write the path in double quotes")
    p = Path(v).expanduser()
    if not ctx.check_files:
        return p
    from_set = ctx.from_override(path) or ctx.base_dir is None
    if not p.is_absolute():
        p = Path(os.path.abspath((Path.cwd() if from_set else ctx.base_dir) / p))
    if meta.get("must_exist") and not p.exists():
        rel = "the current folder" if from_set else "the config file's folder"
        ctx.fail(path, f'no such file "{p}"',
                 meta.get("fix") or f"fix the path (a relative path is relative to {rel})")
    return p


def _build(cls: type, data: dict, path: tuple, ctx: _Ctx) -> Any:
    fields = _fields(cls)
    names = [f.name for f in fields]
    for key in data:
        if key not in names:
            ctx.fail(path + (key,), f"unknown key '{key}'", _suggest_key(key, names))
    kwargs = {}
    for f in fields:
        if f.name in data:
            kwargs[f.name] = _convert(data[f.name], f.type, f.meta, path + (f.name,), ctx, _example(f))
        elif f.required:
            ctx.fail(path + (f.name,), "missing required key", f"add {_key([f.name])} = <{_type_name(f.type)}>")
    try:
        return cls(**kwargs)
    except ValueError as e:  # the schema's own cross-field checks (__post_init__)
        text = str(e).strip()
        ctx.fail(path, text.splitlines()[0] if text else type(e).__name__)


# --------------------------------------------------------------------------------------------
# reading files and applying overrides
def _read_toml(path: Path, source: str) -> dict:
    if not path.exists():
        raise ConfigError(source, "", "no such config file", "pass the path of an existing TOML file")
    if path.is_dir():
        raise ConfigError(source, "", "is a folder, not a config file", "pass a TOML file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(source, "", f"not UTF-8 text (bad byte at offset {e.start})", "save the file as UTF-8") from None
    except OSError as e:
        raise ConfigError(source, "", f"cannot read the file ({e.strerror})", "check its permissions") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", msg, re.S)
        if m:
            msg, where = m.group(1), f"line {m.group(2)}, column {m.group(3)}"
        elif msg.endswith(" (at end of document)"):
            msg, where = msg[: -len(" (at end of document)")], "end of file"
        else:
            where = ""
        if msg.startswith("Cannot overwrite a value") or msg.startswith("Cannot declare"):
            msg = "a key or table is defined twice"
        raise ConfigError(source, where, f"invalid TOML ({msg[:1].lower() + msg[1:]})",
                          "fix the TOML syntax there") from None


_KEY_PART = re.compile(r'"([^"]*)"|([^.\[\]"=]+)')
_INDEX = re.compile(r"\[(\d+)\]")


def _parse_key(text: str) -> list[str | int] | None:
    """`a.b[2]."c d"` -> ["a", "b", 2, "c d"]; None if malformed."""
    parts: list[str | int] = []
    i, n = 0, len(text)
    while True:
        m = _KEY_PART.match(text, i)
        if not m:
            return None
        part = m.group(1) if m.group(1) is not None else m.group(2).strip()
        if not part:
            return None
        parts.append(part)
        i = m.end()
        while (m := _INDEX.match(text, i)) is not None:
            parts.append(int(m.group(1)))
            i = m.end()
        if i == n:
            return parts
        if text[i] != ".":
            return None
        i += 1


def _parse_value(raw: str) -> Any:
    try:
        doc = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        return raw.strip()
    return doc["v"] if list(doc) == ["v"] else raw.strip()


def _seed(f_or_t: _Field | _Type) -> Any:
    """A fresh raw container for a missing table/dict/list on the way to an overridden key."""
    t = f_or_t.type if isinstance(f_or_t, _Field) else f_or_t
    u = _unwrap(t)
    if u.kind in ("dict", "list", "tuple") and isinstance(f_or_t, _Field) and not f_or_t.required:
        default = f_or_t.default()
        if default is not None:
            return _plain(default)
    return [] if u.kind in ("list", "tuple") else {}


def _apply_override(data: dict, schema_cls: type, override: str | tuple, ctx: _Ctx) -> None:
    if isinstance(override, str):
        key_text, sep, raw = override.partition("=")
        if not sep:
            raise ConfigError("--set", "", f"{_inline(override)} is not KEY=VALUE",
                              "write a dotted key path, '=' and a TOML value, e.g. section.key=1")
        text_value: str | None = raw
        value = _parse_value(raw)
    else:
        key_text, value = override
        text_value = None
    parts = _parse_key(key_text.strip())
    if parts is None:
        raise ConfigError("--set", "", f"{_inline(key_text.strip())} is not a key path",
                          'write names joined by dots, with [i] for array items and "quotes" around odd names')
    t, meta, node = _Type("table", cls=schema_cls), {}, data
    for i, part in enumerate(parts):
        here, above = tuple(parts[: i + 1]), tuple(parts[:i])
        t = _unwrap(t)
        seed_from: _Field | _Type
        if t.kind == "table":
            if isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{_key(above) or 'the config'} is a table, not an array",
                                  f"drop the [{part}]")
            fields = {f.name: f for f in _fields(t.cls)}
            if part not in fields:
                raise ConfigError("--set", _key(here), f"unknown key '{part}'", _suggest_key(part, list(fields)))
            f = fields[part]
            child_t, meta, seed_from = f.type, f.meta, f
        elif t.kind == "dict":
            if isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{_key(above)} is a table of names, not an array",
                                  f"write {_key(above)}.NAME")
            allowed = meta.get("key_choices")
            if allowed is not None and part not in allowed:
                raise ConfigError("--set", _key(here), f"unknown key '{part}'", _suggest_key(part, list(allowed)))
            child_t = seed_from = t.args[0]
        elif t.kind in ("list", "tuple"):
            if not isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{_key(above)} is an array, not a table",
                                  f"index its items: {_key(above)}[0]")
            if part >= len(node):
                raise ConfigError("--set", _key(here), f"index {part} is out of range ({len(node)} items)",
                                  "use an existing index (--set does not add items; add them in the config file)")
            child_t = seed_from = t.args[0]
        else:
            raise ConfigError("--set", _key(here), f"{_key(above)} is {_a(t)}, not a table",
                              f"set it whole: --set {_key(above)}=VALUE")
        if i == len(parts) - 1:
            if text_value is not None and not _fits(value, child_t) and _fits("", child_t):
                value = text_value.strip()
            node[part] = value
            ctx.overridden.add(here)
            return
        u = _unwrap(child_t)
        want = list if u.kind in ("list", "tuple") else dict if u.kind in ("table", "dict") else None
        child = node[part] if isinstance(node, list) else node.get(part)
        if want is not None and not isinstance(child, want):
            child = _plain(child) if dataclasses.is_dataclass(child) and want is dict else _seed(seed_from)
            node[part] = child
        node, t = child, child_t


def config_from_dict(data: Mapping, schema_cls: type, *, source: str = "<dict>", base_dir: str | Path | None = None,
                     overrides: Iterable[str | tuple[str, Any]] = ()) -> Any:
    """Build and validate `schema_cls` from parsed TOML data (not modified), after `overrides`.
    Relative paths resolve against `base_dir` (the current folder if None)."""
    check_schema(schema_cls)
    data = copy.deepcopy(dict(data))
    ctx = _Ctx(source=source, base_dir=Path(os.path.abspath(base_dir)) if base_dir is not None else None)
    if isinstance(overrides, str):
        overrides = [overrides]
    for ov in overrides:
        _apply_override(data, schema_cls, ov, ctx)
    return _build(schema_cls, data, (), ctx)


def load_config(path: str | Path | None, schema_cls: type, overrides: Iterable[str | tuple[str, Any]] = ()) -> Any:
    """Read the TOML file `path` (None: defaults only), apply `--set` overrides in order, validate
    and build `schema_cls`. Every problem raises a one-line ConfigError."""
    check_schema(schema_cls)
    if path is None:
        return config_from_dict({}, schema_cls, source="defaults", overrides=overrides)
    p = Path(path)
    data = _read_toml(p, str(path))
    return config_from_dict(data, schema_cls, source=str(path), base_dir=p.parent, overrides=overrides)


# --------------------------------------------------------------------------------------------
# dumping, describing, hashing
def _plain(v: Any) -> Any:
    """Instances -> TOML-ready plain data: dataclasses as dicts (None fields omitted), paths as
    strings, tuples as lists, numpy scalars as Python numbers."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out = {}
        for f in dataclasses.fields(v):
            if f.init and (x := getattr(v, f.name)) is not None:
                out[f.name] = _plain(x)
        return out
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, PurePath):
        return str(v)
    if isinstance(v, (bool, int, float, str, dt.date, dt.time)):
        return v
    if type(v).__module__ == "numpy" and hasattr(v, "item"):
        return _plain(v.item())
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to TOML")


def config_to_dict(instance: Any) -> dict:
    """The instance as plain TOML data (what dump_config writes)."""
    return _plain(instance)


def dump_config(instance: Any) -> str:
    """The instance as TOML: every field with its value, None omitted, paths as strings.
    `load_config` of the result gives back an equal instance."""
    return tomli_w.dumps(_plain(instance))


def config_hash(instance: Any) -> str:
    """Stable identity of a config: sha256 (hex) of its dumped TOML."""
    return hashlib.sha256(dump_config(instance).encode("utf-8")).hexdigest()


def describe_schema(schema_cls: type) -> str:
    """Every key of the schema as a markdown table: key path, type, default, unit, allowed
    values, meaning. Array-of-table items show as `name[].key`, dict entries as `name.<name>.key`."""
    check_schema(schema_cls)
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    rows = []

    def walk(cls: type, prefix: str, stack: tuple) -> None:
        for f in _fields(cls):
            key = prefix + _key([f.name])
            u = _unwrap(f.type)
            if f.required:
                default = "(required)"
            elif u.kind == "table":
                default = "" if f.default() is not None else "(none)"
            else:
                d = f.default()
                default = "(none)" if d is None else f"`{_inline(_plain(d))}`"
            allowed = []
            if any(b in f.meta for b in ("gt", "ge", "lt", "le")):
                allowed.append(_range(f.meta))
            if "choices" in f.meta:
                allowed.append("one of " + ", ".join(_inline(c) for c in f.meta["choices"]))
            if "key_choices" in f.meta:
                allowed.append("keys " + ", ".join(f.meta["key_choices"]))
            if f.meta.get("must_exist"):
                allowed.append("must exist")
            rows.append((f"`{key}`", _type_name(f.type), default, f.meta.get("unit", ""), "; ".join(allowed),
                         f.meta.get("doc", "")))
            sub, sub_prefix = None, ""
            if u.kind == "table":
                sub, sub_prefix = u.cls, key + "."
            elif u.kind in ("list", "tuple") and _unwrap(u.args[0]).kind == "table":
                sub, sub_prefix = _unwrap(u.args[0]).cls, key + "[]."
            elif u.kind == "dict" and _unwrap(u.args[0]).kind == "table":
                sub, sub_prefix = _unwrap(u.args[0]).cls, key + ".<name>."
            if sub is not None and sub not in stack:
                walk(sub, sub_prefix, stack + (sub,))

    walk(schema_cls, "", (schema_cls,))
    head = ("key", "type", "default", "unit", "allowed", "meaning")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
