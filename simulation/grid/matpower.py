"""A reader for MATPOWER case files (`.m`, case format version 2) into a `Grid`.

Only what a DC market model needs is read, by these documented rules:

- `mpc.baseMVA`; `mpc.bus` (BUS_I, BUS_TYPE, PD, GS, BUS_AREA); `mpc.gen` (GEN_BUS, GEN_STATUS,
  PMAX); `mpc.branch` (F_BUS, T_BUS, BR_X, RATE_A, TAP, BR_STATUS); optional `mpc.gencost` and
  `mpc.genfuel`; optional `mpc.bus_name` (display names, kept when there is one per bus). Other
  fields and columns are ignored.
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

Full reading (`full=True`; the `matpower:<case>` names of `load_grid`, e.g. ACTIVSg2000) keeps
what the plain reading drops, for cases built for market studies:
- Minimum output `gen_min_mw` = Pmin (clipped to [0, capacity]) for thermal units; 0 for wind,
  solar (weather-driven, curtailable) and hydro (the ACTIVSg cases set hydro Pmin = Pmax, a
  snapshot's dispatch point). The dispatch enforces it only for committed units
  (`simulation.grid.commitment`).
- The quadratic cost term c2 (`gen_cost_quad_usd_per_mw2h`; model 2, at most quadratic), which
  the dispatch turns into piecewise-linear segments; the constant term c0 is dropped (it does
  not change the dispatch of a committed unit).
- Gas units (`ng`) with a linear cost >= `GAS_CT_COST_USD_PER_MWH` are `gas_ct` (peakers), the
  rest `gas_cc` (the cost as a heat-rate proxy; the ACTIVSg cases type every gas unit `GT`).
- Bus names (`mpc.bus_name`) and, for ACTIVSg2000, its areas named as ERCOT weather zones.
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
#: full reading: gas units with a linear cost at or above this are combustion turbines (peakers),
#: the rest combined cycles (ACTIVSg2000's gas costs cluster at 15-19 USD/MWh, CC heat rates at its
#: gas price, with a handful of peakers at 26-30)
GAS_CT_COST_USD_PER_MWH = 20.0
#: full reading: kinds whose minimum output is dropped (wind/solar follow the weather and can be
#: curtailed; the case's hydro Pmin = Pmax is a snapshot's dispatch point, not a technical minimum)
NO_MIN_KINDS = ("wind", "solar", "hydro")
#: zone names of cases whose areas are known regions (full reading); ACTIVSg2000's eight areas
#: are ERCOT's weather zones (Birchfield et al. 2017; checked against the bus names: Odessa and
#: Midland in 1, Dallas-Fort Worth in 5, Houston in 7, ...)
AREA_NAMES = {"case_ACTIVSg2000": {"1": "Far West", "2": "North", "3": "West", "4": "South", "5": "North Central",
                                   "6": "South Central", "7": "Coast", "8": "East"}}

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
    columns and 1-based bus numbers), `genfuel` and `bus_name` (lists of str)."""
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
    for key in ("genfuel", "bus_name"):
        if key in f:
            out[key] = _cells(f[key])
    return out


def load_matpower(path: str | Path, name: str | None = None, full: bool = False) -> Grid:
    """Read a MATPOWER `.m` case into a Grid (see the module docstring for the rules; `full`:
    keep minimum outputs, quadratic costs and bus names)."""
    path = Path(path)
    return grid_from_mpc(read_matpower(path), name or path.stem, str(path), full=full)


def grid_from_mpc(mpc: dict, name: str, where: str, full: bool = False) -> Grid:
    """A Grid from MATPOWER tables (a PYPOWER-style dict as `read_matpower` returns: `baseMVA`,
    `bus`, `gen`, `branch`, optional `gencost`, `genfuel`, `bus_name`), by the module
    docstring's rules. `where` names the source in error messages. `full` keeps what the
    `matpower:` cases need (see "Full reading" in the module docstring)."""
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
    area_names = AREA_NAMES.get(name, {}) if full else {}
    zone = [area_names.get(z, z) for z in zone]
    ref = np.flatnonzero(bus[:, 1] == 3)
    slack = int(ref[0]) if ref.size else 0

    def bus_of(number: float, table: str, row: int) -> int | None:
        n = int(number)
        if n != number or n not in known:
            raise ValueError(f"{where}: mpc.{table} row {row + 1}: bus {number:g} is not in mpc.bus; "
                             "refer to an existing bus number")
        return index.get(n)  # None: an isolated bus (dropped with it)

    names_in = mpc.get("bus_name")
    bus_name = None
    if names_in is not None and len(names_in) == len(numbers):  # display only: a mismatch is ignored
        bus_name = np.array([" ".join(str(n).split()) for n in names_in], dtype=str)[keep_bus]

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
    gb, cap, cost, kind, names, pmin, quad = [], [], [], [], [], [], []
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
        k = FUEL_KIND.get(fuels[r].lower(), "other") if fuels is not None else "other"
        if full and k == "gas_cc" and cost[-1] >= GAS_CT_COST_USD_PER_MWH:
            k = "gas_ct"
        kind.append(k)
        names.append(f"gen{r + 1}")
        if full:
            quad.append(_quadratic_cost(cost_rows[r], where, r) if r < len(cost_rows) else 0.0)
            floor = float(row[9]) if np.isfinite(row[9]) else 0.0
            pmin.append(0.0 if k in NO_MIN_KINDS else min(max(floor, 0.0), cap[-1]))
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
                    name=name, gen_min_mw=np.array(pmin, float) if full else None,
                    gen_cost_quad_usd_per_mw2h=np.array(quad, float) if full else None, bus_name=bus_name)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _quadratic_cost(row: np.ndarray, where: str, r: int) -> float:
    """c2 of a polynomial cost row (model 2, n = 3), USD/MW^2/h; 0 for linear and piecewise rows."""
    if row[0] != 2 or int(row[3]) < 3:
        return 0.0
    n = int(row[3])
    if n > 3 and np.any(row[4:4 + n - 3] != 0):
        raise ValueError(f"{where}: mpc.gencost row {r + 1}: a polynomial of degree {n - 1} is not supported; "
                         "give at most quadratic costs")
    c2 = float(row[4 + n - 3])
    if c2 < 0:
        raise ValueError(f"{where}: mpc.gencost row {r + 1}: quadratic term {c2:g} < 0 (a concave cost); "
                         "give a convex cost")
    return c2


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
