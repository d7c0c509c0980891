"""The power network: buses, lines and generators as a frozen `Grid` of numpy arrays.

A `networkx` graph is the form users build and read (`Grid.from_graph`, `Grid.graph`); the
arrays are what the dispatch uses. DC power-flow conventions (all lossless, per unit on
`base_mva`):

- line flow from `line_from` to `line_to` = b (theta_from - theta_to), b = 1 / x_pu;
- `bbus` (bus susceptance, p.u.) = A^T diag(b) A with A the line-bus incidence matrix;
- `ptdf` (MW of line flow per MW injected at a bus and withdrawn at the slack bus): the
  slack bus is `slack` (a MATPOWER case's reference bus, else the first bus). Flows of a
  balanced injection do not depend on the slack; an unbalanced one is settled at the slack.

Graph form (`Grid.graph`, and what `Grid.from_graph` reads):

- nodes = bus ids, with `demand_share` (share of system demand, >= 0; normalised to sum 1)
  and `zone` (a name);
- edges = lines, with `x_pu` (series reactance, nonzero; < 0 for series compensation) and `limit_mw` (thermal limit; absent or
  inf = unlimited). Parallel lines are parallel edges of a `MultiGraph`, each its own line.
  Optional `line` (position) and `from_bus` (orientation) fix the line order and flow sign;
  without them lines come in `G.edges` order (networkx lists edges node by node, not in the
  order they were added), oriented as `G.edges` yields them. `Grid.graph` writes both;
- `G.graph["generators"]`: a list of dicts with `bus`, `cap_mw`, `cost_usd_per_mwh`,
  `co2_t_per_mwh`, `kind` and optionally `name`;
- optional `G.graph` keys: `name`, `base_mva` (100), `slack` (a bus id), `peak_demand_mw`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

#: generator technologies the model knows; wind and solar output is cap x hourly capacity factor
KINDS = ("nuclear", "coal", "gas_cc", "gas_ct", "oil", "hydro", "wind", "solar", "other")
RENEWABLE_KINDS = ("wind", "solar")
#: zero-marginal-cost kinds miners like to sit next to
CHEAP_KINDS = ("wind", "solar", "hydro")
#: default emission rates by kind, tCO2/MWh (domain notes: coal ~1.0, gas CT ~0.55-0.6, gas CC
#: ~0.37-0.4, nuclear/wind/solar/hydro ~0; oil-fired ~0.8 (EIA); "other" = unknown thermal,
#: taken between gas CC and coal)
DEFAULT_CO2_T_PER_MWH = {"nuclear": 0.0, "coal": 1.0, "gas_cc": 0.37, "gas_ct": 0.58, "oil": 0.8,
                         "hydro": 0.0, "wind": 0.0, "solar": 0.0, "other": 0.6}


def zone_column(zone: str) -> str:
    """A zone's name as it appears in column names of the logs: lower case, spaces as '_'
    ('Far West' -> 'far_west')."""
    return "_".join(str(zone).lower().split())


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)  # a private copy
    a.flags.writeable = False
    return a


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, (float, np.floating)) else repr(x)


@dataclass(frozen=True, eq=False)
class Grid:
    """A power network as arrays. Indices (`line_from`, `gen_bus`, `slack`) are bus positions."""

    bus_ids: np.ndarray  # (n_bus,) bus names (ints or strings), unique
    bus_zone: np.ndarray  # (n_bus,) zone names (str)
    demand_share: np.ndarray  # (n_bus,) share of system demand, >= 0, sums to 1 (or all 0)
    line_from: np.ndarray  # (n_line,) int bus index
    line_to: np.ndarray  # (n_line,) int bus index
    line_x_pu: np.ndarray  # (n_line,) series reactance, p.u. on base_mva, nonzero (< 0: series compensation)
    line_limit_mw: np.ndarray  # (n_line,) thermal limit, MW (inf: unlimited)
    gen_bus: np.ndarray  # (n_gen,) int bus index
    gen_cap_mw: np.ndarray  # (n_gen,) installed capacity, MW
    gen_cost_usd_per_mwh: np.ndarray  # (n_gen,) marginal cost
    gen_co2_t_per_mwh: np.ndarray  # (n_gen,) emission rate
    gen_kind: np.ndarray  # (n_gen,) one of KINDS
    gen_name: np.ndarray | None = None  # (n_gen,) optional names (default "g<i>")
    slack: int = 0  # bus index of the reference bus (angle 0)
    base_mva: float = 100.0
    peak_demand_mw: float = 0.0  # the case's system peak demand (default for hourly series)
    name: str = "grid"
    #: (n_gen,) minimum output when committed, MW (None: all 0, every unit can run down to 0)
    gen_min_mw: np.ndarray | None = None
    #: (n_gen,) quadratic cost coefficient c2, USD/MW^2/h: cost = c2 p^2 + cost_usd_per_mwh p
    #: (None: all 0, linear costs); the dispatch uses piecewise-linear segments of it
    gen_cost_quad_usd_per_mw2h: np.ndarray | None = None
    #: (n_bus,) optional display names from the case (e.g. MATPOWER mpc.bus_name; None: none)
    bus_name: np.ndarray | None = None
    _derived: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "bus_ids", _frozen(np.asarray(self.bus_ids)))
        set_(self, "bus_zone", _frozen(np.asarray(self.bus_zone, dtype=str)))
        for name in ("demand_share", "line_x_pu", "line_limit_mw", "gen_cap_mw", "gen_cost_usd_per_mwh",
                     "gen_co2_t_per_mwh"):
            set_(self, name, _frozen(np.asarray(getattr(self, name), dtype=float)))
        for name in ("line_from", "line_to", "gen_bus"):
            set_(self, name, _frozen(np.asarray(getattr(self, name), dtype=np.int64)))
        set_(self, "gen_kind", _frozen(np.asarray(self.gen_kind, dtype=str)))
        names = self.gen_name if self.gen_name is not None else [f"g{i}" for i in range(len(self.gen_bus))]
        set_(self, "gen_name", _frozen(np.asarray(names, dtype=str)))
        ng = len(self.gen_bus)
        for name in ("gen_min_mw", "gen_cost_quad_usd_per_mw2h"):
            v = getattr(self, name)
            set_(self, name, _frozen(np.zeros(ng) if v is None else np.asarray(v, dtype=float)))
        if self.bus_name is not None:
            set_(self, "bus_name", _frozen(np.asarray(self.bus_name, dtype=str)))
            if len(self.bus_name) != len(self.bus_ids):
                raise ValueError(f"Grid: {len(self.bus_name)} bus names for {len(self.bus_ids)} buses; "
                                 "give one name per bus or none")
        set_(self, "slack", int(self.slack))
        set_(self, "base_mva", float(self.base_mva))
        set_(self, "peak_demand_mw", float(self.peak_demand_mw))
        self._validate()

    # -- validation ------------------------------------------------------------------------------
    def bus_id(self, i: int):
        """The id of the bus at position i, as a plain Python value."""
        v = self.bus_ids[i]
        return v.item() if isinstance(v, np.generic) else v

    def _bus(self, i: int) -> str:
        return f"bus {_fmt(self.bus_id(i))}"

    def _line(self, k: int) -> str:
        return f"line {k} ({self._bus(self.line_from[k])} - {self._bus(self.line_to[k])})"

    def _validate(self) -> None:
        nb, nl, ng = self.n_bus, self.n_line, self.n_gen
        if nb == 0:
            raise ValueError("grid: no buses; add at least one bus")
        for name, n in (("bus_zone", nb), ("demand_share", nb), ("line_to", nl), ("line_x_pu", nl),
                        ("line_limit_mw", nl), ("gen_cap_mw", ng), ("gen_cost_usd_per_mwh", ng),
                        ("gen_co2_t_per_mwh", ng), ("gen_kind", ng), ("gen_name", ng),
                        ("gen_min_mw", ng), ("gen_cost_quad_usd_per_mw2h", ng)):
            if len(getattr(self, name)) != n:
                raise ValueError(f"grid.{name}: has {len(getattr(self, name))} entries, expected {n}; "
                                 "give one entry per bus, line or generator")
        if len(set(self.bus_ids.tolist())) != nb:
            dup = [b for b in self.bus_ids.tolist() if self.bus_ids.tolist().count(b) > 1][0]
            raise ValueError(f"grid.bus_ids: bus {dup!r} appears twice; give every bus a unique id")
        if not 0 <= self.slack < nb:
            raise ValueError(f"grid.slack: bus index {self.slack} is out of range 0..{nb - 1}; "
                             "give the position of an existing bus")
        if not (math.isfinite(self.base_mva) and self.base_mva > 0):
            raise ValueError(f"grid.base_mva must be > 0 (got {self.base_mva}); use the case's MVA base, e.g. 100")
        if not (math.isfinite(self.peak_demand_mw) and self.peak_demand_mw >= 0):
            raise ValueError(f"grid.peak_demand_mw must be >= 0 (got {self.peak_demand_mw}); give the system peak in MW")
        for name in ("line_from", "line_to", "gen_bus"):
            idx = getattr(self, name)
            bad = np.flatnonzero((idx < 0) | (idx >= nb))
            if bad.size:
                raise ValueError(f"grid.{name}[{bad[0]}]: bus index {idx[bad[0]]} is out of range 0..{nb - 1}; "
                                 "refer to an existing bus")
        share = self.demand_share
        bad = np.flatnonzero(~np.isfinite(share) | (share < 0))
        if bad.size:
            raise ValueError(f"{self._bus(bad[0])}: demand_share must be a finite number >= 0 (got {share[bad[0]]}); "
                             "give the bus's share of system demand")
        if share.sum() > 0 and abs(share.sum() - 1.0) > 1e-9:
            raise ValueError(f"grid.demand_share: sums to {share.sum():.12g}, not 1; normalise the shares "
                             "(Grid.from_graph does this for you)")
        loops = np.flatnonzero(self.line_from == self.line_to)
        if loops.size:
            raise ValueError(f"{self._line(loops[0])}: connects a bus to itself; join two different buses")
        x = self.line_x_pu
        bad = np.flatnonzero(~np.isfinite(x) | (x == 0))
        if bad.size:
            raise ValueError(f"{self._line(bad[0])}: x_pu must be a finite, nonzero reactance (got {x[bad[0]]}); "
                             "give the line its series reactance in per unit (negative only for series "
                             "compensation or a transformer's star-point leg)")
        lim = self.line_limit_mw
        bad = np.flatnonzero(np.isnan(lim) | (lim <= 0))
        if bad.size:
            raise ValueError(f"{self._line(bad[0])}: limit_mw must be > 0 (got {lim[bad[0]]}); "
                             "give the thermal limit in MW, or inf for an unlimited line")
        for name, what in (("gen_cap_mw", "capacity in MW"), ("gen_co2_t_per_mwh", "emission rate in tCO2/MWh")):
            v = getattr(self, name)
            bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
            if bad.size:
                g = bad[0]
                raise ValueError(f"generator {self.gen_name[g]} at {self._bus(self.gen_bus[g])}: "
                                 f"{name.removeprefix('gen_')} must be a finite number >= 0 (got {v[g]}); give its {what}")
        v, cap = self.gen_min_mw, self.gen_cap_mw
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0) | (v > cap))
        if bad.size:
            g = bad[0]
            raise ValueError(f"generator {self.gen_name[g]} at {self._bus(self.gen_bus[g])}: min_mw must be in "
                             f"[0, cap_mw = {cap[g]:g}] (got {v[g]}); give its minimum output when running")
        v = self.gen_cost_quad_usd_per_mw2h
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if bad.size:
            g = bad[0]
            raise ValueError(f"generator {self.gen_name[g]} at {self._bus(self.gen_bus[g])}: cost_quad_usd_per_mw2h "
                             f"must be a finite number >= 0 (got {v[g]}); give the quadratic cost term (convex)")
        c = self.gen_cost_usd_per_mwh
        bad = np.flatnonzero(~np.isfinite(c))
        if bad.size:
            g = bad[0]
            raise ValueError(f"generator {self.gen_name[g]} at {self._bus(self.gen_bus[g])}: cost_usd_per_mwh "
                             f"must be finite (got {c[g]}); give its marginal cost in USD/MWh")
        bad = [i for i, k in enumerate(self.gen_kind.tolist()) if k not in KINDS]
        if bad:
            g = bad[0]
            raise ValueError(f"generator {self.gen_name[g]} at {self._bus(self.gen_bus[g])}: kind "
                             f"{self.gen_kind[g]!r} is unknown; use one of {', '.join(KINDS)}")
        if nb > 1:
            adj = sp.coo_matrix((np.ones(nl), (self.line_from, self.line_to)), shape=(nb, nb))
            n_comp, label = connected_components(adj, directed=False)
            if n_comp > 1:
                main = label[self.slack]
                cut = [self.bus_id(i) for i in np.flatnonzero(label != main)]
                shown = ", ".join(_fmt(b) for b in cut[:6]) + (" ..." if len(cut) > 6 else "")
                raise ValueError(f"grid: network is disconnected: {len(cut)} bus(es) ({shown}) have no path to "
                                 f"{self._bus(self.slack)}; add lines joining them or remove them")
        if (x < 0).any() and nb > 1:  # negative reactances can cancel: the angles must still be defined
            keep = np.flatnonzero(np.arange(nb) != self.slack)
            b_red = self.bbus[keep][:, keep].tocsc()
            try:
                splu(b_red)
            except RuntimeError:
                raise ValueError("grid: the bus susceptance matrix is singular: negative reactances cancel "
                                 f"positive ones (line {self._line(int(np.flatnonzero(x < 0)[0]))} is one); "
                                 "check the series-compensated lines' reactances") from None

    # -- sizes and simple views ------------------------------------------------------------------
    @property
    def n_bus(self) -> int:
        return len(self.bus_ids)

    @property
    def n_line(self) -> int:
        return len(self.line_from)

    @property
    def n_gen(self) -> int:
        return len(self.gen_bus)

    @property
    def is_renewable(self) -> np.ndarray:
        """(n_gen,) bool: wind or solar (output = cap x capacity factor, curtailable)."""
        return np.isin(self.gen_kind, RENEWABLE_KINDS)

    def bus_index(self, bus_id) -> int:
        """Position of a bus id; ValueError naming the id if it is not in the grid."""
        lookup = self._derived.get("index")
        if lookup is None:
            lookup = self._derived["index"] = {b: i for i, b in enumerate(self.bus_ids.tolist())}
        try:
            return lookup[bus_id]
        except (KeyError, TypeError):
            raise ValueError(f"bus {bus_id!r} is not in grid {self.name!r}; use one of its bus ids") from None

    def capacity_by_kind_mw(self) -> dict[str, float]:
        """Installed MW per generator kind (kinds present only)."""
        return {k: float(self.gen_cap_mw[self.gen_kind == k].sum()) for k in KINDS if (self.gen_kind == k).any()}

    def cheap_capacity_mw(self) -> np.ndarray:
        """(n_bus,) MW of wind, solar and hydro capacity at each bus (where miners like to sit)."""
        w = self.gen_cap_mw * np.isin(self.gen_kind, CHEAP_KINDS)
        return np.bincount(self.gen_bus, weights=w, minlength=self.n_bus)

    def available_mw(self, wind_cf: float = 1.0, solar_cf: float = 1.0) -> np.ndarray:
        """(n_gen,) MW available in an hour: cap for dispatchable units, cap x cf for wind/solar."""
        cf = np.where(self.gen_kind == "wind", wind_cf, np.where(self.gen_kind == "solar", solar_cf, 1.0))
        return self.gen_cap_mw * cf

    # -- network matrices (computed once) -------------------------------------------------------
    @property
    def line_b_pu(self) -> np.ndarray:
        """(n_line,) series susceptance 1/x, p.u."""
        return 1.0 / self.line_x_pu

    @cached_property
    def incidence(self) -> sp.csr_matrix:
        """(n_line, n_bus) A: +1 at the from bus, -1 at the to bus."""
        nl = self.n_line
        rows = np.repeat(np.arange(nl), 2)
        cols = np.column_stack([self.line_from, self.line_to]).ravel()
        vals = np.tile([1.0, -1.0], nl)
        return sp.csr_matrix((vals, (rows, cols)), shape=(nl, self.n_bus))

    @cached_property
    def bbus(self) -> sp.csr_matrix:
        """(n_bus, n_bus) bus susceptance matrix B = A^T diag(b) A, p.u. (P = B theta)."""
        a = self.incidence
        return (a.T @ sp.diags(self.line_b_pu) @ a).tocsr()

    @cached_property
    def ptdf(self) -> np.ndarray:
        """(n_line, n_bus) power transfer distribution factors, MW/MW, slack bus = `slack`.

        Column j: line flows when 1 MW is injected at bus j and withdrawn at the slack bus.
        """
        nb, s = self.n_bus, self.slack
        keep = np.flatnonzero(np.arange(nb) != s)
        out = np.zeros((self.n_line, nb))
        if keep.size:
            b_red = self.bbus[keep][:, keep].toarray()
            bf_red = (sp.diags(self.line_b_pu) @ self.incidence).tocsc()[:, keep].toarray()
            out[:, keep] = np.linalg.solve(b_red.T, bf_red.T).T  # Bf_red @ inv(B_red)
        out.flags.writeable = False
        return out

    def dc_power_flow(self, injection_mw: np.ndarray) -> np.ndarray:
        """(n_line,) DC line flows, MW (from -> to), for net bus injections in MW.

        The injections should sum to 0; any imbalance is taken up at the slack bus.
        """
        p = np.asarray(injection_mw, float)
        if p.shape != (self.n_bus,):
            raise ValueError(f"injection_mw: shape {p.shape}, expected ({self.n_bus},); give one MW value per bus")
        return self.ptdf @ p

    # -- graph form --------------------------------------------------------------------------------
    @property
    def graph(self) -> nx.MultiGraph:
        """A fresh `networkx.MultiGraph` of this grid (see the module docstring for its form)."""
        g = nx.MultiGraph(name=self.name, base_mva=self.base_mva, slack=self.bus_id(self.slack),
                          peak_demand_mw=self.peak_demand_mw)
        ids = self.bus_ids.tolist()
        for i, b in enumerate(ids):
            g.add_node(b, demand_share=float(self.demand_share[i]), zone=str(self.bus_zone[i]),
                       **({} if self.bus_name is None else {"name": str(self.bus_name[i])}))
        for k in range(self.n_line):
            f, t = ids[self.line_from[k]], ids[self.line_to[k]]
            g.add_edge(f, t, line=k, from_bus=f, x_pu=float(self.line_x_pu[k]),
                       limit_mw=float(self.line_limit_mw[k]))
        g.graph["generators"] = [
            dict(name=str(self.gen_name[i]), bus=ids[self.gen_bus[i]], cap_mw=float(self.gen_cap_mw[i]),
                 cost_usd_per_mwh=float(self.gen_cost_usd_per_mwh[i]),
                 co2_t_per_mwh=float(self.gen_co2_t_per_mwh[i]), kind=str(self.gen_kind[i]),
                 min_mw=float(self.gen_min_mw[i]), cost_quad_usd_per_mw2h=float(self.gen_cost_quad_usd_per_mw2h[i]))
            for i in range(self.n_gen)]
        return g

    @classmethod
    def from_graph(cls, g: nx.Graph) -> Grid:
        """Build a Grid from a (Multi)Graph in the form of the module docstring; validates it."""
        ids = list(g.nodes)
        if not ids:
            raise ValueError("graph: no buses; add nodes (bus ids) with demand_share and zone")
        index = {b: i for i, b in enumerate(ids)}
        share = np.array([_num(g.nodes[b].get("demand_share", 0.0), f"bus {b!r}", "demand_share") for b in ids])
        bad = np.flatnonzero(~np.isfinite(share) | (share < 0))
        if bad.size:
            raise ValueError(f"bus {ids[bad[0]]!r}: demand_share must be a finite number >= 0 "
                             f"(got {share[bad[0]]}); give the bus's share of system demand")
        if share.sum() > 0 and abs(share.sum() - 1.0) > 1e-12:  # relative weights -> shares
            share = share / share.sum()
        zone = [str(g.nodes[b].get("zone", "")) for b in ids]
        named = any("name" in g.nodes[b] for b in ids)
        bus_name = [str(g.nodes[b].get("name", b)) for b in ids] if named else None

        edges = list(g.edges(keys=True, data=True)) if g.is_multigraph() else \
            [(u, v, 0, d) for u, v, d in g.edges(data=True)]
        if any("line" in d for _, _, _, d in edges):
            edges.sort(key=lambda e: e[3].get("line", math.inf))
        lf, lt, lx, ll = [], [], [], []
        for u, v, _, d in edges:
            if d.get("from_bus", u) == v:
                u, v = v, u
            where = f"line {u!r} - {v!r}"
            if "x_pu" not in d:
                raise ValueError(f"{where}: no x_pu; give the line's series reactance in per unit (> 0)")
            lf.append(index[u])
            lt.append(index[v])
            lx.append(_num(d["x_pu"], where, "x_pu"))
            lim = d.get("limit_mw", math.inf)
            ll.append(math.inf if lim is None else _num(lim, where, "limit_mw"))

        gens = list(g.graph.get("generators", []))
        gb, cap, cost, co2, kind, names, pmin, quad = [], [], [], [], [], [], [], []
        for i, gen in enumerate(gens):
            nm = str(gen.get("name", f"g{i}"))
            where = f"generator {nm} (graph['generators'][{i}])"
            bus = gen.get("bus")
            if bus not in index:
                near = ", ".join(repr(b) for b in ids[:6]) + (" ..." if len(ids) > 6 else "")
                raise ValueError(f"{where}: bus {bus!r} is not in the network; put it on one of its buses ({near})")
            for key in ("cap_mw", "cost_usd_per_mwh", "co2_t_per_mwh", "kind"):
                if key not in gen:
                    raise ValueError(f"{where}: no {key}; give cap_mw, cost_usd_per_mwh, co2_t_per_mwh and kind")
            gb.append(index[bus])
            cap.append(_num(gen["cap_mw"], where, "cap_mw"))
            cost.append(_num(gen["cost_usd_per_mwh"], where, "cost_usd_per_mwh"))
            co2.append(_num(gen["co2_t_per_mwh"], where, "co2_t_per_mwh"))
            kind.append(str(gen["kind"]))
            names.append(nm)
            pmin.append(_num(gen.get("min_mw", 0.0), where, "min_mw"))
            quad.append(_num(gen.get("cost_quad_usd_per_mw2h", 0.0), where, "cost_quad_usd_per_mw2h"))
        slack_id = g.graph.get("slack", ids[0])
        if slack_id not in index:
            raise ValueError(f"graph['slack']: bus {slack_id!r} is not in the network; name one of its buses")
        return cls(bus_ids=_id_array(ids), bus_zone=zone, demand_share=share,
                   line_from=np.array(lf, dtype=np.int64), line_to=np.array(lt, dtype=np.int64),
                   line_x_pu=np.array(lx, float), line_limit_mw=np.array(ll, float),
                   gen_bus=np.array(gb, dtype=np.int64), gen_cap_mw=np.array(cap, float),
                   gen_cost_usd_per_mwh=np.array(cost, float), gen_co2_t_per_mwh=np.array(co2, float),
                   gen_kind=np.array(kind, dtype=str), gen_name=np.array(names, dtype=str),
                   slack=index[slack_id], base_mva=float(g.graph.get("base_mva", 100.0)),
                   peak_demand_mw=float(g.graph.get("peak_demand_mw", 0.0)), name=str(g.graph.get("name", "grid")),
                   gen_min_mw=np.array(pmin, float), gen_cost_quad_usd_per_mw2h=np.array(quad, float), bus_name=bus_name)

    def with_changes(self, **changes) -> Grid:
        """A copy with some fields replaced (validated again), e.g. `grid.with_changes(line_limit_mw=lim)`."""
        fields = {k: getattr(self, k) for k in ("bus_ids", "bus_zone", "demand_share", "line_from", "line_to",
                                               "line_x_pu", "line_limit_mw", "gen_bus", "gen_cap_mw",
                                               "gen_cost_usd_per_mwh", "gen_co2_t_per_mwh", "gen_kind", "gen_name",
                                               "slack", "base_mva", "peak_demand_mw", "name", "gen_min_mw",
                                               "gen_cost_quad_usd_per_mw2h", "bus_name")}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"Grid.with_changes: unknown field(s) {sorted(unknown)}; use Grid's field names")
        fields.update(changes)
        return Grid(**fields)


def _num(v, where: str, key: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {key} must be a number (got {v!r})") from None


def _id_array(ids: list) -> np.ndarray:
    """Bus ids as an int array when all are ints, else as an object array of the ids themselves."""
    if all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in ids):
        return np.array(ids, dtype=np.int64)
    if all(isinstance(b, str) for b in ids):
        return np.array(ids, dtype=str)
    out = np.empty(len(ids), dtype=object)
    out[:] = ids
    return out
