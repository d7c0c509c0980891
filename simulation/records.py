"""What the model records each hour, as columns: the model table, per-agent and per-bus tables,
blocks, retargets and investment events.

The recorder buffers rows as numpy arrays; whoever writes logs calls `drain()` every so often
(so a year of 1,000 miners never sits in memory). `last` holds the latest hour for live views,
and `mesa_datacollector()` exposes the headline series through Mesa's own DataCollector.
Column names carry their units; the README's schema table documents each one.
"""

from __future__ import annotations

import math

import numpy as np

from agents.fleet import SLOT_FIRM, SLOT_HASH0, SLOT_SPOT, SLOT_TRAINING
from simulation.markets import hhi_and_nakamoto

#: the headline series Mesa's DataCollector reports (model table columns)
MESA_REPORTERS = ("network_eh_s", "local_eh_s", "difficulty", "btc_price_usd", "hashprice_usd_per_ph_day",
                  "mw_hashing", "mw_ai", "mw_curtailed", "lmp_mean_usd_per_mwh", "unserved_mwh")


class HourRecorder:
    def __init__(self, model) -> None:
        self.model = model
        self.agent_log = model.config.run.agent_log
        self.buffers: dict[str, list[dict[str, np.ndarray]]] = {
            "hourly": [], "agents": [], "buses": [], "blocks": [], "retargets": [], "investments": []}
        self.last: dict[str, float] = {}
        self._n_retargets = 0
        self._n_investments = 0
        self._prev_block_time = float(model.bitcoin.time)
        self._day: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------------------------------
    def record(self) -> None:
        m = self.model
        f, d, s = m.fleet, m.dispatch, m.signals
        hour = m.hour
        times = np.array([b.time for b in m.blocks], float)
        intervals = np.diff(np.concatenate([[self._prev_block_time], times])) if len(times) else np.array([])
        if len(times):
            self._prev_block_time = times[-1]
        hash_mw, ai_mw, curtailed = f.hash_mw * f.active, f.ai_mw * f.active, f.curtailed_mw
        demand = m.drivers.bus_demand_mw
        served_load = float(demand.sum() - d.shed_mw.sum() + f.drawn_mw.sum())
        per_mwh = float(d.emissions_t) / served_load if served_load > 0 else 0.0
        taker = f.bid_usd_per_mwh >= s.voll_usd_per_mwh
        unserved = float(d.shed_mw.sum() + ((f.bid_mw - f.cleared_mw) * taker).sum())
        shares = self._entity_shares()
        hhi, nakamoto = hhi_and_nakamoto(shares)
        row = {
            "hour": hour,
            "unix_time": m.unix_time,
            "btc_price_usd": s.btc_price_usd,
            "hashprice_usd_per_ph_day": s.hashprice_usd_per_ph_day,
            "ai_price_usd_per_gpu_hour": s.ai_price_usd_per_gpu_hour,
            "ai_demand_fraction": s.ai_demand_fraction,
            "difficulty": m.bitcoin.difficulty,
            "height": m.bitcoin.height,
            "blocks": len(m.blocks),
            "mean_block_interval_s": float(intervals.mean()) if len(intervals) else math.nan,
            "network_eh_s": m.network_hs / 1e18,
            "local_eh_s": m.local_th_s / 1e6,
            "row_eh_s": m.row_th_s / 1e6,
            "mw_hashing": float(hash_mw.sum()),
            "mw_ai": float(ai_mw.sum()),
            "mw_curtailed": float(curtailed.sum()),
            "mw_ai_contract": float(f.cleared_mw[:, SLOT_FIRM].sum() + f.cleared_mw[:, SLOT_TRAINING].sum()),
            "mw_ai_spot": float(f.cleared_mw[:, SLOT_SPOT].sum()),
            "demand_mw": float(demand.sum()),
            "unserved_mwh": unserved,
            "curtailed_renewables_mwh": float(d.curtailed_mw.sum()),
            "lmp_mean_usd_per_mwh": float(d.lmp_usd_per_mwh.mean()),
            "lmp_max_usd_per_mwh": float(d.lmp_usd_per_mwh.max()),
            "lmp_min_usd_per_mwh": float(d.lmp_usd_per_mwh.min()),
            "congested_lines": int(np.count_nonzero(d.congested)),
            "emissions_t": float(d.emissions_t),
            "emissions_hashing_t": per_mwh * float(hash_mw.sum()),
            "emissions_ai_t": per_mwh * float(ai_mw.sum()),
            "grid_stress": bool(s.grid_stress),
            "dr_mw": float(np.maximum(f.baseline_mw - f.drawn_mw, 0).sum() * s.grid_stress * 1.0),
            "hhi": hhi,
            "nakamoto": nakamoto,
            "active_miners": int(f.active.sum()),
            "revenue_hash_usd": float(f.revenue_hash_usd.sum()),
            "revenue_ai_usd": float(f.revenue_ai_usd.sum()),
            "revenue_dr_usd": float(f.revenue_dr_usd.sum()),
            "power_cost_usd": float(f.power_cost_usd.sum()),
            "other_cost_usd": float(f.other_cost_usd.sum()),
            "miner_cash_usd": float(f.cash_usd.sum()),
        }
        self.last = row
        self.buffers["hourly"].append({k: np.array([v]) for k, v in row.items()})
        self._record_agents(hour)
        self._record_buses(hour)
        self._record_blocks(intervals)
        self._record_events()

    def _entity_shares(self) -> np.ndarray:
        """Hash-rate shares of every entity: our miners and the rest of the world's pools."""
        m = self.model
        total = m.local_th_s + m.row_th_s
        if total <= 0:
            return np.array([1.0])
        ours = m.fleet.hashing_th_s.sum(axis=1)
        pools = m.drivers.rest_of_world_pool_shares * m.row_th_s
        return np.concatenate([ours, pools]) / total

    def _agent_columns(self) -> dict[str, np.ndarray]:
        f = self.model.fleet
        return {
            "mw_hashing": f.hash_mw * f.active, "mw_ai": f.ai_mw * f.active, "mw_curtailed": f.curtailed_mw,
            "revenue_hash_usd": f.revenue_hash_usd.copy(), "revenue_ai_usd": f.revenue_ai_usd.copy(),
            "revenue_dr_usd": f.revenue_dr_usd.copy(), "power_cost_usd": f.power_cost_usd.copy(),
            "other_cost_usd": f.other_cost_usd.copy(), "btc_mined": self.model.btc_mined.copy(),
        }

    def _record_agents(self, hour: int) -> None:
        if self.agent_log == "none":
            return
        m, f = self.model, self.model.fleet
        cols = self._agent_columns()
        if self.agent_log == "daily":
            if self._day is None:
                self._day = {k: np.zeros(f.n) for k in cols}
            for k, v in cols.items():
                self._day[k] += v
            if (hour + 1) % 24:
                return
            cols = {k: v / 24.0 if k.startswith("mw_") else v for k, v in self._day.items()}
            self._day = None
        self.buffers["agents"].append({
            "hour": np.full(f.n, hour), "miner": np.arange(f.n), **cols,
            "lmp_usd_per_mwh": f.lmp_usd_per_mwh.copy(), "cash_usd": f.cash_usd.copy(), "btc": f.btc.copy(),
            "active": f.active.copy()})

    def _record_buses(self, hour: int) -> None:
        m, d = self.model, self.model.dispatch
        nb = m.grid.n_bus
        miner_mw = np.bincount(m.fleet.bus, weights=m.fleet.drawn_mw, minlength=nb)
        gen = np.bincount(m.grid.gen_bus, weights=d.gen_mw, minlength=nb)
        self.buffers["buses"].append({
            "hour": np.full(nb, hour), "bus": np.arange(nb), "lmp_usd_per_mwh": d.lmp_usd_per_mwh.copy(),
            "demand_mw": m.drivers.bus_demand_mw.copy(), "miner_mw": miner_mw, "generation_mw": gen,
            "shed_mw": d.shed_mw.copy()})

    def _record_blocks(self, intervals: np.ndarray) -> None:
        b = self.model.blocks
        if not b:
            return
        self.buffers["blocks"].append({
            "height": np.array([x.height for x in b]), "time": np.array([x.time for x in b]),
            "subsidy_btc": np.array([x.subsidy_sat / 1e8 for x in b]),
            "fees_btc": np.array([x.fees_sat / 1e8 for x in b]),
            "bits": np.array([x.bits for x in b]), "interval_s": intervals})

    def _record_events(self) -> None:
        rt = self.model.bitcoin.retargets
        for r in rt[self._n_retargets:]:
            self.buffers["retargets"].append({
                "height": np.array([r.height]), "time": np.array([r.time]),
                "old_bits": np.array([r.old_bits]), "new_bits": np.array([r.new_bits]),
                "actual_timespan_s": np.array([r.actual_timespan_s]), "clamped": np.array([bool(r.clamped)]),
                "ratio": np.array([float(r.ratio)])})
        self._n_retargets = len(rt)
        inv = self.model.investments
        for e in inv[self._n_investments:]:
            self.buffers["investments"].append({
                "hour": np.array([e.hour]), "miner": np.array([e.miner]), "kind": np.array([e.kind]),
                "mw": np.array([e.mw]), "usd": np.array([e.usd])})
        self._n_investments = len(inv)

    # ------------------------------------------------------------------------------------------
    def drain(self) -> dict[str, dict[str, np.ndarray]]:
        """Hand over everything buffered since the last drain, one column dict per table."""
        out = {}
        for name, chunks in self.buffers.items():
            if chunks:
                out[name] = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
                chunks.clear()
        return out

    def mesa_datacollector(self):
        """Mesa's DataCollector over the headline series (for `mesa.batch_run` and notebooks)."""
        import mesa

        return mesa.DataCollector(model_reporters={k: (lambda m, k=k: m.recorder.last.get(k, math.nan))
                                                   for k in MESA_REPORTERS})
