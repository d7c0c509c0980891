"""Typed TOML configs on pydantic v2: load, override, validate, dump, describe, hash.

A schema is a tree of `ConfigModel`s (pydantic models: frozen, unknown keys refused, strict
types, finite floats). A field is one line with `_f(default, doc, unit, ge=.., gt=.., le=.., lt=..)`;
a sub-table `_sub(Class, doc)`, an array of tables `_list(doc)`. The loader turns every problem,
pydantic's or a validator's, into one line naming the file and the key path:

    configs/x.toml: grid.voll_usd_per_mwh: must be > 0 (got -5); set a value > 0 (USD/MWh)
    configs/x.toml: miners[3].stratgy: unknown key 'stratgy'; did you mean 'strategy'?
    --set: run.hours: expected an integer, got string "abc"; write a whole number, e.g. hours = 2160

Types: int (TOML integers only: no booleans, no floats), float (TOML float or integer, never
nan/inf), str, bool, Literal[...], `DataFile` (a path string, resolved against the config file's
folder, or the current folder for `--set` values and without a file; it must exist), a
ConfigModel (a table), list[X] (an array), dict[str, X] (a table with free keys), X | None (TOML
has no null: None means "key absent").

Validators: a `model_validator(mode="after")` raises `bad(key, problem, fix)`, `key` relative to
its model ("" for the model itself), and the message names the full key path.

Overrides (`--set`): `KEY=VALUE` with KEY a dotted path (`grid.copperplate`, `miners[0].bus`,
`population.asic_models."S19 XP"`) and VALUE a TOML value (`24`, `0x1d00ffff`, `true`, `[1, 2]`,
`{a = 1}`, `"text"`); a VALUE that is not TOML, or that is not text where the field wants text,
is taken as the bare string. A table value replaces the table; a dotted key into a dict field
changes that entry only; array indexes must exist. Overrides may also be `(key, value)` pairs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

__all__ = ["ConfigError", "ConfigModel", "DataFile", "bad", "load_config", "config_from_dict", "dump_config",
           "config_to_dict", "describe_schema", "config_hash", "format_override", "toml_inline", "_f", "_sub", "_list"]


class ConfigError(ValueError):
    """A problem with a config, as one line: `<source>: <key.path>: <problem>; <fix>`.
    `source` is the config file as given, `--set` for an override, `defaults` without a file."""

    def __init__(self, source: str, key: str, problem: str, fix: str = "") -> None:
        self.source, self.key, self.problem, self.fix = source, key, problem, fix
        text = ": ".join(p for p in (source, key, problem) if p) + (f"; {fix}" if fix else "")
        super().__init__(" ".join(text.split()))


class ConfigModel(BaseModel):
    """Base of every config table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=False, validate_default=False)


def _f(default: Any, doc: str, unit: str = "", **bounds: Any) -> Any:
    """A field: default, one-line meaning, unit, bounds (ge, gt, le, lt)."""
    bounds.pop("must_exist", None)  # every DataFile must exist
    extra = {"unit": unit} if unit else None
    if isinstance(default, (list, dict)):
        extra = {**(extra or {}), "default": default}
        return Field(default_factory=lambda: type(default)(default), description=doc, json_schema_extra=extra,
                     **bounds)
    return Field(default=default, description=doc, json_schema_extra=extra, **bounds)


def _sub(cls: type, doc: str) -> Any:
    return Field(default_factory=cls, description=doc)


def _list(doc: str) -> Any:
    return Field(default_factory=list, description=doc)


def bad(key: str, problem: str, fix: str = "") -> PydanticCustomError:
    """The error a validator raises: `key` relative to its model, one-line problem and fix."""
    return PydanticCustomError("gridpivot", "{problem}", {"key": key, "problem": problem, "fix": fix})


def _data_path(v: Any, info: ValidationInfo) -> Any:
    if isinstance(v, PurePath):
        v = str(v)
    if not isinstance(v, str):
        return v  # the strict Path check reports the type
    if v == "":
        raise bad("", "expected a file path, got an empty string", "write the path in double quotes")
    ctx = info.context or {}
    p = Path(v).expanduser()
    if not p.is_absolute():
        base = ctx.get("base_dir")
        p = Path(os.path.abspath((base or Path.cwd()) / p))
    if ctx.get("check_files", True) and not p.is_file():
        rel = ("the config file's folder (in --set: to the current folder)" if ctx.get("base_dir")
               else "the current folder")
        what = "is a folder, not a file" if p.is_dir() else "no such file"
        raise bad("", f'{what} "{p}"', f"fix the path (a relative path is relative to {rel})")
    return p


#: a data file named by the config: resolved to an absolute path that exists
DataFile = Annotated[Path, BeforeValidator(_data_path)]


# --------------------------------------------------------------------------------------------
# the schema at a key path
def _inner(tp: Any) -> Any:
    """Strip Annotated and Optional."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(rest) == 1:
                tp = rest[0]
                continue
        return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _node(cls: type, loc: Iterable) -> tuple[Any, Any]:
    """(type, FieldInfo or None) at `loc` inside model `cls`; (None, None) when it is not in the schema."""
    tp, info = cls, None
    for part in loc:
        tp = _inner(tp)
        origin = typing.get_origin(tp)
        if _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
            info = tp.model_fields[part]
            tp = info.annotation
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict and isinstance(part, str):
            tp = typing.get_args(tp)[1]
        else:
            return None, None
    return tp, info


def _wants_text(tp: Any) -> bool:
    tp = _inner(tp)
    if tp in (str, Path):
        return True
    return typing.get_origin(tp) is Literal and all(isinstance(a, str) for a in typing.get_args(tp))


def _is_path(tp: Any) -> bool:
    return _inner(tp) is Path


# --------------------------------------------------------------------------------------------
# formatting
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(path: Iterable) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + (p if _BARE_KEY.fullmatch(p) else json.dumps(p, ensure_ascii=False))
    return out


def _inline(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (str, PurePath)):
        return json.dumps(str(v), ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key([str(k)])} = {_inline(x)}" for k, x in v.items()) + "}"
    if hasattr(v, "isoformat"):  # TOML dates and times
        return v.isoformat()
    return str(v)


def toml_inline(v: Any) -> str:
    """`v` (a value as tomllib reads it: bool, number, string, date/time, array, table) as an
    inline TOML value that `tomllib` reads back equal."""
    return _inline(v)


def format_override(key: str, value: Any) -> str:
    """The `--set` text of the override pair `(key, value)`: `key=<inline TOML value>`."""
    return f"{key}={_inline(value)}"


def _got(v: Any) -> str:
    s = _inline(v)
    s = s if len(s) <= 48 else s[:45] + "..."
    kind = ("boolean" if isinstance(v, bool) else "integer" if isinstance(v, int) else "number"
            if isinstance(v, float) else "string" if isinstance(v, str) else "array" if isinstance(v, list)
            else "table" if isinstance(v, dict) else "date/time" if hasattr(v, "isoformat") else type(v).__name__)
    return f"{kind} {s}"


_EXPECT = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
           "model": "a table", "dict": "a table", "list": "an array", "path": "a file path (string)"}
_FIX = {"int": "write a whole number", "float": "write a number", "bool": "write true or false",
        "string": "write text in double quotes", "model": "write a [table] of keys", "dict": "write a table",
        "list": "write an array [...]", "path": "write the path in double quotes"}


def _range(meta: Mapping) -> str:
    lo = ("ge", meta["ge"]) if "ge" in meta else ("gt", meta["gt"]) if "gt" in meta else None
    hi = ("le", meta["le"]) if "le" in meta else ("lt", meta["lt"]) if "lt" in meta else None
    n = lambda v: str(v) if isinstance(v, int) else f"{v:g}"  # noqa: E731
    if lo and hi and lo[0] == "ge" and hi[0] == "le":
        return f"between {n(lo[1])} and {n(hi[1])}"
    sym = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{sym[k]} {n(v)}" for k, v in (x for x in (lo, hi) if x))


def _bounds(info: Any) -> dict:
    out = {}
    for m in getattr(info, "metadata", []) or []:
        for k in ("ge", "gt", "le", "lt"):
            if getattr(m, k, None) is not None:
                out[k] = getattr(m, k)
    return out


def _unit(info: Any) -> str:
    extra = getattr(info, "json_schema_extra", None)
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6) or [o for o in options if o.startswith(word)][:1]
    return f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(options)}"


def _translate(err: Mapping, cls: type) -> tuple[tuple, str, str]:
    """(key path, problem, fix) of one pydantic error."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    typ, v, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if typ == "gridpivot":
        sub = tuple(p for p in re.split(r"\.(?![^\[]*\])", ctx["key"]) if p) if ctx.get("key") else ()
        parts: list = []
        for s in sub:  # "miners[2].bus" -> "miners", 2, "bus"
            m = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", s)
            parts.append(m.group(1))
            parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
        return loc + tuple(parts), ctx["problem"], ctx.get("fix", "")
    tp, info = _node(cls, loc)
    name = next((p for p in reversed(loc) if isinstance(p, str)), "value")
    if typ == "extra_forbidden":
        parent, _ = _node(cls, loc[:-1])
        parent = _inner(parent)
        options = list(parent.model_fields) if _is_model(parent) else []
        return loc, f"unknown key '{loc[-1]}'", _did_you_mean(str(loc[-1]), options)
    if typ == "missing":
        return loc, "missing required key", f"add {name} = ..."
    if typ == "finite_number":
        return loc, f"must be a finite number (got {_inline(v)})", "write a number"
    if typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        meta = _bounds(info) if info is not None else {}
        meta = meta or {{"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
                         "less_than_equal": "le"}[typ]: next(iter(ctx.values()))}
        unit = f" ({_unit(info)})" if _unit(info) else ""
        return loc, f"must be {_range(meta)} (got {_inline(v)})", f"set a value {_range(meta)}{unit}"
    if typ == "literal_error":
        allowed = typing.get_args(_inner(tp)) if tp is not None else ()
        close = difflib.get_close_matches(str(v), [str(a) for a in allowed], n=1)
        fix = f"did you mean {_inline(close[0])}?" if close else "use one of those"
        return loc, f"must be one of {', '.join(_inline(a) for a in allowed)} (got {_inline(v)})", fix
    kind = typ.split("_")[0] if typ.endswith(("_type", "_parsing")) else None
    if typ in ("int_from_float",):
        kind = "int"
    if typ == "is_instance_of" or typ.startswith("path"):
        kind = "path"
    if kind in _EXPECT:
        example = ""
        if info is not None and isinstance(info.default, (int, float, str, bool)) and not isinstance(name, int):
            example = f", e.g. {name} = {_inline(info.default)}"
        return loc, f"expected {_EXPECT[kind]}, got {_got(v)}", _FIX[kind] + example
    return loc, err["msg"], ""


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
        where = f"line {m.group(2)}, column {m.group(3)}" if m else "end of file"
        msg = m.group(1) if m else msg.removesuffix(" (at end of document)")
        if msg.startswith(("Cannot overwrite a value", "Cannot declare")):
            msg = "a key or table is defined twice"
        raise ConfigError(source, where, f"invalid TOML ({msg[:1].lower() + msg[1:]})",
                          "fix the TOML syntax there") from None


_KEY_PART = re.compile(r'\s*(?:"([^"]*)"|([^.\[\]"=]+))((?:\[\d+\])*)\s*(\.|$)')


def _parse_key(text: str) -> list | None:
    """`a.b[2]."c d"` -> ["a", "b", 2, "c d"]; None if malformed."""
    parts: list = []
    i = 0
    while i < len(text):
        m = _KEY_PART.match(text, i)
        if not m or not (m.group(1) if m.group(1) is not None else m.group(2).strip()):
            return None
        parts.append(m.group(1) if m.group(1) is not None else m.group(2).strip())
        parts += [int(x) for x in re.findall(r"\d+", m.group(3))]
        i = m.end()
        if m.group(4) == "." and i == len(text):
            return None
    return parts or None


def _plain(v: Any) -> Any:
    """Model instances and Python values -> TOML-ready data (None dropped, paths as strings)."""
    if isinstance(v, BaseModel):
        return {k: _plain(x) for k, x in v if x is not None}
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, PurePath):
        return str(v)
    if type(v).__module__ == "numpy" and hasattr(v, "item"):
        return v.item()
    return v


def _apply_override(data: dict, cls: type, override: str | tuple, overridden: set) -> None:
    if isinstance(override, str):
        key_text, sep, raw = override.partition("=")
        if not sep:
            raise ConfigError("--set", "", f"{_inline(override)} is not KEY=VALUE",
                              "write a dotted key path, '=' and a TOML value, e.g. section.key=1")
        try:
            doc = tomllib.loads(f"v = {raw}")
            value = doc["v"] if list(doc) == ["v"] else raw.strip()
        except tomllib.TOMLDecodeError:
            value = raw.strip()
    else:
        key_text, value = override
        raw = None
        value = _plain(value)
    parts = _parse_key(key_text.strip())
    if parts is None:
        raise ConfigError("--set", "", f"{_inline(key_text.strip())} is not a key path",
                          'write names joined by dots, with [i] for array items and "quotes" around odd names')
    tp: Any = cls
    node: Any = data
    for i, part in enumerate(parts):
        here, above = tuple(parts[: i + 1]), _key(parts[:i]) or "the config"
        tp = _inner(tp)
        origin = typing.get_origin(tp)
        if _is_model(tp):
            if isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{above} is a table, not an array", f"drop the [{part}]")
            if part not in tp.model_fields:
                raise ConfigError("--set", _key(here), f"unknown key '{part}'",
                                  _did_you_mean(part, list(tp.model_fields)))
            info = tp.model_fields[part]
            child_tp = info.annotation
            seed = info.get_default(call_default_factory=True)
        elif origin is dict:
            if isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{above} is a table of names, not an array",
                                  f"write {above}.NAME")
            child_tp, seed = typing.get_args(tp)[1], None
        elif origin is list:
            if not isinstance(part, int):
                raise ConfigError("--set", _key(here), f"{above} is an array, not a table", f"index its items: {above}[0]")
            if not isinstance(node, list) or part >= len(node):
                n = len(node) if isinstance(node, list) else 0
                raise ConfigError("--set", _key(here), f"index {part} is out of range ({n} items)",
                                  "use an existing index (--set does not add items; add them in the config file)")
            child_tp, seed = typing.get_args(tp)[0], None
        else:
            raise ConfigError("--set", _key(here), f"{above} is a single value, not a table",
                              f"set it whole: --set {above}=VALUE")
        if i == len(parts) - 1:
            if raw is not None and not isinstance(value, str) and _wants_text(child_tp):
                value = raw.strip()
            if _is_path(child_tp) and isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                value = os.path.abspath(Path.cwd() / Path(value).expanduser())
            node[part] = value
            overridden.add(here)
            return
        child = node[part] if isinstance(node, list) else node.get(part)
        inner = _inner(child_tp)
        want = list if typing.get_origin(inner) is list else dict
        if not isinstance(child, want):
            child = _plain(seed) if isinstance(_plain(seed), want) else want()
            node[part] = child
        node, tp = child, child_tp


def config_from_dict(data: Mapping, cls: type, *, source: str = "<dict>", base_dir: str | Path | None = None,
                     overrides: Iterable[str | tuple[str, Any]] = (), check_files: bool = True) -> Any:
    """Validate `cls` from parsed TOML data (not modified) after `overrides`; one-line ConfigError.
    Relative paths resolve against `base_dir` (the current folder if None)."""
    data = json.loads(json.dumps(_plain(dict(data)), default=str)) if data else {}
    overridden: set = set()
    for ov in [overrides] if isinstance(overrides, str) else overrides:
        _apply_override(data, cls, ov, overridden)
    ctx = {"base_dir": Path(os.path.abspath(base_dir)) if base_dir is not None else None, "check_files": check_files,
           "source": source}
    try:
        return cls.model_validate(data, context=ctx)
    except ValidationError as e:
        loc, problem, fix = _translate(e.errors(include_url=False)[0], cls)
        from_set = any(loc[: len(o)] == o for o in overridden)
        raise ConfigError("--set" if from_set else source, _key(loc), problem, fix) from None


def load_config(path: str | Path | None, cls: type, overrides: Iterable[str | tuple[str, Any]] = ()) -> Any:
    """Read the TOML file `path` (None: defaults only), apply `--set` overrides in order, validate
    and build `cls`. Every problem raises a one-line ConfigError."""
    if path is None:
        return config_from_dict({}, cls, source="defaults", overrides=overrides)
    p = Path(path)
    return config_from_dict(_read_toml(p, str(path)), cls, source=str(path), base_dir=p.parent, overrides=overrides)


# --------------------------------------------------------------------------------------------
# dumping, describing, hashing
def config_to_dict(instance: Any) -> dict:
    """The instance as plain TOML data (what dump_config writes)."""
    return _plain(instance)


def dump_config(instance: Any) -> str:
    """The instance as TOML: every field, None omitted, paths as strings; loads back equal."""
    return tomli_w.dumps(_plain(instance))


def config_hash(instance: Any) -> str:
    """Stable identity of a config: sha256 (hex) of its dumped TOML."""
    return hashlib.sha256(dump_config(instance).encode("utf-8")).hexdigest()


def describe_schema(cls: type) -> str:
    """Every key of the model's JSON schema as a markdown table: key path, type, default, unit,
    allowed range or values, meaning. Array-of-table items show as `name[].key`."""
    schema = cls.model_json_schema()
    defs = schema.get("$defs", {})
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    rows: list[tuple] = []

    def deref(s: dict) -> tuple[dict, bool]:
        """(the schema behind refs and Optional, optional?)"""
        optional = False
        if "anyOf" in s:
            rest = [x for x in s["anyOf"] if x.get("type") != "null"]
            optional = len(rest) < len(s["anyOf"])
            s = {**rest[0], **{k: v for k, v in s.items() if k != "anyOf"}} if len(rest) == 1 else s
        if "$ref" in s:
            s = {**defs[s["$ref"].split("/")[-1]], **{k: v for k, v in s.items() if k != "$ref"}}
        return s, optional

    def type_name(s: dict) -> str:
        if "enum" in s or "const" in s:
            return "string"
        t = s.get("type")
        if t == "array":
            item, _ = deref(s.get("items", {}))
            return "array of tables" if item.get("type") == "object" and "properties" in item else \
                f"array of {type_name(item)}"
        if t == "object":
            if "properties" in s:
                return "table"
            return f"table of {type_name(deref(s.get('additionalProperties', {}))[0])}"
        if s.get("format") == "path":
            return "file path"
        return {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean"}.get(t, str(t))

    def walk(s: dict, prefix: str) -> None:
        for name, prop in s.get("properties", {}).items():
            p, optional = deref(prop)
            key = prefix + _key([name])
            allowed = []
            lo = ("ge", p["minimum"]) if "minimum" in p else ("gt", p["exclusiveMinimum"]) if "exclusiveMinimum" in p else None
            hi = ("le", p["maximum"]) if "maximum" in p else ("lt", p["exclusiveMaximum"]) if "exclusiveMaximum" in p else None
            if lo or hi:
                allowed.append(_range(dict(x for x in (lo, hi) if x)))
            ap = deref(p.get("additionalProperties") or {})[0] if p.get("type") == "object" else {}
            if "minimum" in ap or "maximum" in ap:
                allowed.append("each value " + _range({k2: ap[k1] for k1, k2 in (("minimum", "ge"), ("maximum", "le"))
                                                       if k1 in ap}))
            if "enum" in p:
                allowed.append("one of " + ", ".join(_inline(x) for x in p["enum"]))
            if p.get("format") == "path":
                allowed.append("must exist")
            is_table = p.get("type") == "object" and "properties" in p
            default = "" if is_table else ("(none)" if "default" in prop and prop["default"] is None
                                           else f"`{_inline(prop['default'])}`" if "default" in prop else "")
            if "default" in p and not default:
                default = f"`{_inline(p['default'])}`"
            tname = type_name(p) + (" (optional)" if optional else "")
            numeric = p.get("type") in ("integer", "number")
            if numeric and not (lo or hi):
                allowed.append("any")
            unit = p.get("unit", "-" if numeric or "minimum" in ap or "maximum" in ap else "")
            rows.append((f"`{key}`", tname, default, unit, "; ".join(allowed), p.get("description", "")))
            if is_table:
                walk(p, key + ".")
            elif p.get("type") == "array":
                item, _ = deref(p.get("items", {}))
                if "properties" in item:
                    walk(item, key + "[].")

    walk(schema, "")
    head = ("key", "type", "default", "unit", "allowed", "meaning")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
