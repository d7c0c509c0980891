"""The built-in default grid: 30 buses in four zones, ~9 GW peak, a remote wind zone.

Deterministic (no randomness). Built as a `networkx` graph, the form users edit, then
`Grid.from_graph`.

Zones and roles (demand shares of the 9,000 MW peak):
- `metro` (10 buses, 58 %): the load centre; gas CC, gas CT peakers, an oil peaker, coal, solar.
- `north` (8 buses, 18 %): nuclear, coal, hydro, some gas and wind.
- `south` (7 buses, 21 %): gas CC and CT, solar, coastal wind.
- `west` (5 buses, 3 %): 4,000 MW of wind and 700 MW of solar, far from load, tied to the rest
  by one corridor: a double-circuit 345 kV line W1 - N6 (2 x 1,000 MW). When the west makes
  more than its load plus 2,000 MW (wind above ~half its capacity) the corridor congests: west
  prices fall to the wind's 0 USD/MWh, wind is curtailed there, and the rest pays a thermal
  unit's cost. Cheap, curtailed power: where miners want to be.

Capacity (MW): nuclear 1,200; coal 2,000; gas CC 4,400; gas CT 1,800; oil 200; hydro 400
(dispatchable 10,000); wind 5,300; solar 2,000. Miners have room off-peak (a few GW); at a
summer peak with little wind the system is tight, as a heat wave should make it.

Marginal costs (USD/MWh), EIA-like 2023-24 figures (fuel price x heat rate + variable O&M):
nuclear 9 (fuel ~6-7 + VOM); coal 26-29 (~2.1 USD/MMBtu x 10-10.5 MMBtu/MWh + ~4.5);
gas CC 30-34.5 (~3.9 USD/MMBtu x 6.7-7.5 + ~3); gas CT 50-70 (10-14 MMBtu/MWh + ~5);
oil peaker 200 (diesel ~20 USD/MMBtu x ~10.5); hydro 6; wind and solar 0.
Unit costs differ slightly so the merit order has no ties. CO2 (tCO2/MWh, domain notes):
coal 1.0, gas CT 0.58, gas CC 0.37, oil 0.8, nuclear/hydro/wind/solar 0.

Reactances are per unit on 100 MVA (345 kV lines ~0.01-0.03 p.u. within zones, 0.03-0.08 for
the longer ties); limits are thermal ratings in MW.
"""

from __future__ import annotations

import networkx as nx

from simulation.grid.network import DEFAULT_CO2_T_PER_MWH, Grid

PEAK_DEMAND_MW = 9000.0

#: (zone, bus count, share of system demand per bus)
_ZONES = {
    "metro": [0.08, 0.07, 0.06, 0.07, 0.05, 0.06, 0.05, 0.05, 0.05, 0.04],  # 0.58
    "north": [0.03, 0.02, 0.02, 0.03, 0.02, 0.02, 0.02, 0.02],  # 0.18
    "south": [0.04, 0.03, 0.03, 0.03, 0.03, 0.03, 0.02],  # 0.21
    "west": [0.01, 0.005, 0.005, 0.005, 0.005],  # 0.03
}
_PREFIX = {"metro": "M", "north": "N", "south": "S", "west": "W"}

#: (from, to, x_pu, limit_mw)
_LINES = [
    # metro: a ring with chords
    *[(f"M{i}", f"M{i % 10 + 1}", 0.012, 2500.0) for i in range(1, 11)],
    ("M1", "M5", 0.018, 2000.0), ("M3", "M8", 0.018, 2000.0), ("M2", "M7", 0.018, 2000.0),
    # north
    *[(f"N{i}", f"N{i % 8 + 1}", 0.02, 2000.0) for i in range(1, 9)],
    ("N1", "N4", 0.025, 1500.0), ("N2", "N6", 0.025, 1500.0),
    # south
    *[(f"S{i}", f"S{i % 7 + 1}", 0.02, 2000.0) for i in range(1, 8)],
    ("S1", "S4", 0.025, 1500.0),
    # west collector system
    ("W1", "W2", 0.015, 2500.0), ("W2", "W3", 0.015, 2500.0), ("W3", "W4", 0.015, 2500.0),
    ("W4", "W5", 0.015, 2500.0), ("W5", "W1", 0.015, 2500.0), ("W2", "W4", 0.02, 2500.0),
    # ties between the main zones
    ("N1", "M1", 0.03, 1500.0), ("N3", "M3", 0.03, 1500.0), ("N5", "M10", 0.03, 1500.0),
    ("S1", "M5", 0.03, 1400.0), ("S3", "M6", 0.03, 1400.0), ("S6", "M8", 0.03, 1400.0),
    ("N7", "S2", 0.05, 1000.0),
    # the west corridor: a radial double circuit W1 - N6
    ("W1", "N6", 0.06, 1000.0), ("W1", "N6", 0.06, 1000.0),
]

#: (name, bus, kind, cap_mw, cost_usd_per_mwh)
_GENERATORS = [
    ("nuclear-N2", "N2", "nuclear", 1200.0, 9.0),
    ("coal-N4", "N4", "coal", 700.0, 26.0),
    ("coal-N5", "N5", "coal", 650.0, 27.5),
    ("coal-M4", "M4", "coal", 650.0, 29.0),
    ("hydro-N8", "N8", "hydro", 400.0, 6.0),
    ("gas_cc-M2", "M2", "gas_cc", 800.0, 30.0),
    ("gas_cc-M6", "M6", "gas_cc", 800.0, 31.5),
    ("gas_cc-S2", "S2", "gas_cc", 700.0, 32.0),
    ("gas_cc-N6", "N6", "gas_cc", 600.0, 33.0),
    ("gas_cc-S6", "S6", "gas_cc", 700.0, 33.5),
    ("gas_cc-M9", "M9", "gas_cc", 800.0, 34.5),
    ("gas_ct-M3", "M3", "gas_ct", 400.0, 50.0),
    ("gas_ct-M7", "M7", "gas_ct", 400.0, 55.0),
    ("gas_ct-S4", "S4", "gas_ct", 300.0, 58.0),
    ("gas_ct-N3", "N3", "gas_ct", 300.0, 62.0),
    ("gas_ct-M8", "M8", "gas_ct", 400.0, 70.0),
    ("oil-M10", "M10", "oil", 200.0, 200.0),
    ("wind-W2", "W2", "wind", 1500.0, 0.0),
    ("wind-W3", "W3", "wind", 1300.0, 0.0),
    ("wind-W4", "W4", "wind", 1200.0, 0.0),
    ("wind-N7", "N7", "wind", 500.0, 0.0),
    ("wind-S7", "S7", "wind", 800.0, 0.0),
    ("solar-W5", "W5", "solar", 700.0, 0.0),
    ("solar-S3", "S3", "solar", 700.0, 0.0),
    ("solar-M5", "M5", "solar", 600.0, 0.0),
]


def synthetic_graph() -> nx.MultiGraph:
    """The default grid as an editable graph (see the module docstring)."""
    g = nx.MultiGraph(name="synthetic", base_mva=100.0, slack="M1", peak_demand_mw=PEAK_DEMAND_MW)
    for zone, shares in _ZONES.items():
        for i, share in enumerate(shares, start=1):
            g.add_node(f"{_PREFIX[zone]}{i}", demand_share=share, zone=zone)
    for k, (f, t, x, lim) in enumerate(_LINES):
        g.add_edge(f, t, line=k, from_bus=f, x_pu=x, limit_mw=lim)
    g.graph["generators"] = [
        dict(name=name, bus=bus, kind=kind, cap_mw=cap, cost_usd_per_mwh=cost,
             co2_t_per_mwh=DEFAULT_CO2_T_PER_MWH[kind])
        for name, bus, kind, cap, cost in _GENERATORS]
    return g


def synthetic_grid() -> Grid:
    """The built-in default grid (30 buses, 4 zones, 9 GW peak; see the module docstring)."""
    return Grid.from_graph(synthetic_graph())
