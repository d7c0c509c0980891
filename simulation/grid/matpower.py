"""A reader for MATPOWER case files (`.m`, case format version 2) into a `Grid`.

Only what a DC market model needs is read, by these documented rules:

- `mpc.baseMVA`; `mpc.bus` (BUS_I, BUS_TYPE, PD, GS, BUS_AREA); `mpc.gen` (GEN_BUS, GEN_STATUS,
  PMAX); `mpc.branch` (F_BUS, T_BUS, BR_X, RATE_A, TAP, BR_STATUS); optional `mpc.gencost` and
  `mpc.genfuel`. Other fields and columns are ignored.
- Isolated buses (type 4), out-of-service branches and generators (status 0) are dropped.
- Bus demand = Pd + Gs (MW; MATPOWER's DC model counts the shunt conductance as load at 1 p.u.
  voltage). Demand shares = demand / total; the total is the grid's `peak_demand_mw`.
  A negative bus demand (a net injection) is rejected: model it as a generator.
- Bus zone = the bus's area number (as a string). Slack = the first reference bus (type 3).
- Branch reactance for the DC flow = x x tap ratio (ratio 0 means 1), as in MATPOWER's makeBdc.
  Phase-shift angles are ignored (none in the shipped IEEE cases). rateA = 0 means unlimited.
- Generator capacity = max(Pmax, 0); Pmin is ignored (every unit can run down to 0: no unit
  commitment in an hourly LP).
- Marginal cost: for a polynomial cost (model 2) the linear coefficient c1 (quadratic and
  constant terms dropped); for a piecewise-linear cost (model 1) the average slope
  (y_n - y_1) / (x_n - x_1). A generator without a cost row gets `DEFAULT_COST_USD_PER_MWH`.
- Kind: from `mpc.genfuel` when present (coal, ng -> gas_cc, nuclear, hydro, wind, solar,
  oil/dfo/rfo -> oil, anything else -> other); otherwise every unit is `other` (unknown
  thermal). CO2 = `DEFAULT_CO2_T_PER_MWH` of the kind (other: 0.6 tCO2/MWh).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from simulation.grid.network import DEFAULT_CO2_T_PER_MWH, Grid

#: marginal cost given to generators with no `mpc.gencost` row, USD/MWh (~ a gas CC's fuel cost)
DEFAULT_COST_USD_PER_MWH = 35.0
FUEL_KIND = {"coal": "coal", "ng": "gas_cc", "gas": "gas_cc", "nuclear": "nuclear", "hydro": "hydro",
             "wind": "wind", "solar": "solar", "oil": "oil", "dfo": "oil", "rfo": "oil"}

DATA_DIR = Path(__file__).resolve().parent / "data"

_ASSIGN = re.compile(r"\bmpc\.(\w+)\s*=\s*")


def _strip_comments(text: str) -> str:
    out = []
    for line in text.splitlines():
        quoted = False
        for i, ch in enumerate(line):
            if ch == "'":
                quoted = not quoted
            elif ch == "%" and not quoted:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def _fields(text: str, where: str) -> dict[str, str]:
    """Raw text of each `mpc.name = value;` assignment."""
    fields = {}
    for m in _ASSIGN.finditer(text):
        start = m.end()
        opener = text[start:start + 1]
        close = {"[": "]", "{": "}"}.get(opener)
        if close:
            end = text.find(close, start)
            if end < 0:
                raise ValueError(f"{where}: mpc.{m.group(1)} opens {opener!r} but never closes it with {close!r}; "
                                 "fix the case file")
            fields[m.group(1)] = text[start:end + 1]
        else:
            end = text.find(";", start)
            fields[m.group(1)] = text[start:end if end >= 0 else len(text)].strip()
    return fields


def _matrix(raw: str, where: str, name: str, min_cols: int) -> np.ndarray:
    rows = []
    for chunk in re.split(r"[;\n]", raw.strip()[1:-1]):
        vals = chunk.replace(",", " ").split()
        if not vals:
            continue
        try:
            rows.append([float(v) for v in vals])
        except ValueError:
            bad = next(v for v in vals if not _is_number(v))
            raise ValueError(f"{where}: mpc.{name} row {len(rows) + 1}: {bad!r} is not a number; "
                             "fix the case file") from None
    if not rows:
        return np.zeros((0, min_cols))
    width = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{where}: mpc.{name} row {r + 1} has {len(row)} values but row 1 has {width}; "
                             "every row of a MATPOWER matrix needs the same number of columns")
    if width < min_cols:
        raise ValueError(f"{where}: mpc.{name} has {width} columns, needs at least {min_cols}; "
                         "use MATPOWER case format version 2")
    return np.array(rows)


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _cells(raw: str) -> list[str]:
    return [s.strip() for s in re.findall(r"'([^']*)'", raw)]


def _check_finite(m: np.ndarray, cols: dict[str, int], where: str, name: str) -> None:
    for col_name, c in cols.items():
        bad = np.flatnonzero(~np.isfinite(m[:, c])) if len(m) else []
        if len(bad):
            raise ValueError(f"{where}: mpc.{name} row {bad[0] + 1}, column {col_name}: {m[bad[0], c]} is not a "
                             "finite number; fix the case file")


def read_matpower(path: str | Path) -> dict:
    """The raw tables of a MATPOWER `.m` case, as a PYPOWER-style dict of numpy arrays:
    `baseMVA` (float), `bus`, `gen`, `branch`, and when present `gencost` (2-D arrays, MATPOWER
    columns and 1-based bus numbers) and `genfuel` (list of str)."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: not UTF-8 text (bad byte at offset {e.start}); save the case file as UTF-8") \
            from None
    except OSError as e:
        raise ValueError(f"{where}: cannot read the case file ({e.strerror}); give the path of a MATPOWER .m file") \
            from None
    f = _fields(_strip_comments(text), where)
    for key in ("baseMVA", "bus", "gen", "branch"):
        if key not in f:
            raise ValueError(f"{where}: no mpc.{key}; give a MATPOWER case in format version 2 "
                             "(mpc.baseMVA, mpc.bus, mpc.gen, mpc.branch)")
    try:
        base_mva = float(f["baseMVA"])
    except ValueError:
        raise ValueError(f"{where}: mpc.baseMVA = {f['baseMVA']!r} is not a number; fix the case file") from None
    out = {"baseMVA": base_mva, "bus": _matrix(f["bus"], where, "bus", 7), "gen": _matrix(f["gen"], where, "gen", 10),
           "branch": _matrix(f["branch"], where, "branch", 11)}
    if "gencost" in f:
        out["gencost"] = _matrix(f["gencost"], where, "gencost", 4)
    if "genfuel" in f:
        out["genfuel"] = _cells(f["genfuel"])
    return out


def load_matpower(path: str | Path, name: str | None = None) -> Grid:
    """Read a MATPOWER `.m` case into a Grid (see the module docstring for the rules)."""
    path = Path(path)
    return grid_from_mpc(read_matpower(path), name or path.stem, str(path))


def grid_from_mpc(mpc: dict, name: str, where: str) -> Grid:
    """A Grid from MATPOWER tables (a PYPOWER-style dict as `read_matpower` returns: `baseMVA`,
    `bus`, `gen`, `branch`, optional `gencost`, `genfuel`), by the module docstring's rules.
    `where` names the source in error messages."""
    base_mva, bus, gen, branch = mpc["baseMVA"], mpc["bus"], mpc["gen"], mpc["branch"]
    _check_finite(bus, {"BUS_I": 0, "BUS_TYPE": 1, "PD": 2, "GS": 4, "BUS_AREA": 6}, where, "bus")
    _check_finite(gen, {"GEN_BUS": 0, "GEN_STATUS": 7}, where, "gen")
    _check_finite(branch, {"F_BUS": 0, "T_BUS": 1, "BR_X": 3, "RATE_A": 5, "TAP": 8, "BR_STATUS": 10}, where, "branch")
    if len(bus) == 0:
        raise ValueError(f"{where}: mpc.bus is empty; the case needs at least one bus")

    # buses
    keep_bus = bus[:, 1] != 4
    numbers = bus[:, 0]
    if np.any(numbers != np.round(numbers)) or len(set(numbers.tolist())) != len(numbers):
        raise ValueError(f"{where}: mpc.bus BUS_I must be unique integers; fix the bus numbers")
    all_ids = numbers.astype(np.int64)
    known = set(all_ids.tolist())
    bus = bus[keep_bus]
    ids = all_ids[keep_bus]
    index = {b: i for i, b in enumerate(ids.tolist())}
    demand = bus[:, 2] + bus[:, 4]
    neg = np.flatnonzero(demand < 0)
    if neg.size:
        raise ValueError(f"{where}: bus {ids[neg[0]]} has negative demand Pd + Gs = {demand[neg[0]]:g} MW "
                         "(a net injection), which is not supported; model it as a generator in mpc.gen")
    total = float(demand.sum())
    share = demand / total if total > 0 else np.zeros(len(ids))
    zone = [str(int(a)) if float(a).is_integer() else str(a) for a in bus[:, 6]]
    ref = np.flatnonzero(bus[:, 1] == 3)
    slack = int(ref[0]) if ref.size else 0

    def bus_of(number: float, table: str, row: int) -> int | None:
        n = int(number)
        if n != number or n not in known:
            raise ValueError(f"{where}: mpc.{table} row {row + 1}: bus {number:g} is not in mpc.bus; "
                             "refer to an existing bus number")
        return index.get(n)  # None: an isolated bus (dropped with it)

    # branches
    lf, lt, lx, ll = [], [], [], []
    for r, row in enumerate(branch):
        fb, tb = bus_of(row[0], "branch", r), bus_of(row[1], "branch", r)
        if row[10] <= 0 or fb is None or tb is None:
            continue
        tap = row[8] if row[8] != 0 else 1.0
        lf.append(fb)
        lt.append(tb)
        lx.append(row[3] * tap)
        ll.append(row[5] if row[5] > 0 else np.inf)

    # generators
    fuels = mpc.get("genfuel")
    if fuels is not None and len(fuels) != len(gen):
        raise ValueError(f"{where}: mpc.genfuel has {len(fuels)} entries for {len(gen)} generators; "
                         "give one fuel per mpc.gen row")
    cost_rows = mpc.get("gencost", np.zeros((0, 4)))
    gb, cap, cost, kind, names = [], [], [], [], []
    for r, row in enumerate(gen):
        b = bus_of(row[0], "gen", r)
        if row[7] <= 0 or b is None:
            continue
        gb.append(b)
        if not np.isfinite(row[8]):
            raise ValueError(f"{where}: mpc.gen row {r + 1}, column PMAX: {row[8]} is not a finite number; "
                             "give the generator's capacity in MW")
        cap.append(max(float(row[8]), 0.0))
        cost.append(_marginal_cost(cost_rows[r], where, r) if r < len(cost_rows) else DEFAULT_COST_USD_PER_MWH)
        kind.append(FUEL_KIND.get(fuels[r].lower(), "other") if fuels is not None else "other")
        names.append(f"gen{r + 1}")
    if not gb:
        raise ValueError(f"{where}: mpc.gen has no generator in service; give at least one (GEN_STATUS 1, PMAX > 0)")
    co2 = [DEFAULT_CO2_T_PER_MWH[k] for k in kind]
    try:
        return Grid(bus_ids=ids, bus_zone=zone, demand_share=share,
                    line_from=np.array(lf, np.int64), line_to=np.array(lt, np.int64), line_x_pu=np.array(lx, float),
                    line_limit_mw=np.array(ll, float), gen_bus=np.array(gb, np.int64),
                    gen_cap_mw=np.array(cap, float), gen_cost_usd_per_mwh=np.array(cost, float),
                    gen_co2_t_per_mwh=np.array(co2, float), gen_kind=np.array(kind, dtype=str),
                    gen_name=np.array(names, dtype=str), slack=slack, base_mva=base_mva, peak_demand_mw=total,
                    name=name)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _marginal_cost(row: np.ndarray, where: str, r: int) -> float:
    model, n = row[0], int(row[3])
    if model == 2:
        coeffs = row[4:4 + n]
        if len(coeffs) < n or not np.all(np.isfinite(coeffs)):
            raise ValueError(f"{where}: mpc.gencost row {r + 1}: needs {n} finite polynomial coefficients; "
                             "fix the cost row")
        return float(coeffs[-2]) if n >= 2 else 0.0
    if model == 1:
        pts = row[4:4 + 2 * n]
        if len(pts) < 2 * n or not np.all(np.isfinite(pts)):
            raise ValueError(f"{where}: mpc.gencost row {r + 1}: needs {n} finite (MW, USD/h) points; fix the cost row")
        x, y = pts[0::2], pts[1::2]
        return float((y[-1] - y[0]) / (x[-1] - x[0])) if n >= 2 and x[-1] != x[0] else DEFAULT_COST_USD_PER_MWH
    raise ValueError(f"{where}: mpc.gencost row {r + 1}: cost model {model:g} is unknown; use 1 (piecewise "
                     "linear) or 2 (polynomial)")


def ieee14() -> Grid:
    """IEEE 14-bus test case (MATPOWER case14, shipped in `simulation/grid/data`)."""
    return load_matpower(DATA_DIR / "case14.m", name="ieee14")


def ieee118() -> Grid:
    """IEEE 118-bus test case (MATPOWER case118, shipped in `simulation/grid/data`)."""
    return load_matpower(DATA_DIR / "case118.m", name="ieee118")
