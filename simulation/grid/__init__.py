"""PURE power-grid mechanism: buses, lines and generators (`Grid`), a MATPOWER reader, hourly
demand/wind/solar series, and the hourly DC-OPF market clearing with flexible bids (`Dispatcher`).

Imports nothing of agents, model, logs or viz. Conventions and sources: `README.md` here.
"""

from simulation.grid.cases import load_grid
from simulation.grid.dispatch import BID_PRIORITY_MARGIN_USD_PER_MWH, DispatchResult, Dispatcher
from simulation.grid.matpower import (DEFAULT_COST_USD_PER_MWH, grid_from_mpc, ieee14, ieee118, load_matpower,
                                      read_matpower)
from simulation.grid.network import CHEAP_KINDS, DEFAULT_CO2_T_PER_MWH, KINDS, RENEWABLE_KINDS, Grid
from simulation.grid.pandapower_cases import pandapower_case
from simulation.grid.series import HourlySeries, load_series_csv, synthetic_series
from simulation.grid.synthetic import synthetic_graph, synthetic_grid

__all__ = [
    "BID_PRIORITY_MARGIN_USD_PER_MWH", "CHEAP_KINDS", "DEFAULT_CO2_T_PER_MWH", "DEFAULT_COST_USD_PER_MWH",
    "DispatchResult", "Dispatcher", "Grid", "HourlySeries", "KINDS", "RENEWABLE_KINDS", "grid_from_mpc", "ieee118",
    "ieee14", "load_grid", "load_matpower", "load_series_csv", "pandapower_case", "read_matpower", "synthetic_graph",
    "synthetic_grid", "synthetic_series",
]
