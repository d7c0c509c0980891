"""What the model records each hour, as columns: the model table, per-agent and per-bus tables,
blocks, retargets and investment events.

`record(result)` takes one hour's `HourResult` (the model's pipeline output) and nothing else of
the model; `record_investments(events)` takes the investment review's events. The recorder knows
the fleet by its named quantities (MW hashing, hosting, own GPUs...), not by its bid-slot layout.

The recorder buffers rows columnar (per-miner and per-bus values in preallocated hour x entity
blocks, scalars as rows); whoever writes logs calls `drain()` every so often (so a year of
1,000 miners never sits in memory). `last` holds the latest hour for live views,
and `mesa_datacollector()` exposes the headline series through Mesa's own DataCollector.
Column names carry their units; docs/guide/logs.md documents each one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np

from agents.fleet import row_sum
from simulation.grid.network import KINDS, zone_column
from simulation.bitcoin.security import attack_build_usd, attack_rent_usd_per_h, security_budget_usd_per_day
from simulation.markets import hhi_and_nakamoto
from simulation.markets.finance import HOURS_PER_MONTH

#: zones logged one column each in the hourly table (grids with more get none)
MAX_ZONE_COLUMNS = 32


#: the headline series Mesa's DataCollector reports (model table columns)
MESA_REPORTERS = ("network_eh_s", "local_eh_s", "difficulty", "btc_price_usd", "hashprice_usd_per_ph_day",
                  "mw_hashing", "mw_ai", "mw_curtailed", "lmp_mean_usd_per_mwh", "consumer_shed_mwh")


class _Panel:
    """Hour-by-entity rows (miners or buses): each record adds one row of `width` values per
    column, kept in preallocated (rows, width) blocks; `take` hands them over in long form
    (hour, entity, columns...) as views of the blocks, which the next rows reuse (whoever
    takes them copies what it keeps: the run log's writer does), so a run's log rows are
    written into the same memory week after week."""

    def __init__(self, key: str, width: int) -> None:
        self.key = key
        self.width = width
        self._hours: list[int] = []
        self._blocks: dict[str, np.ndarray] | None = None

    def add(self, hour: int, cols: dict[str, np.ndarray]) -> None:
        n = len(self._hours)
        if self._blocks is None:
            self._blocks = {k: np.empty((168, self.width), np.asarray(v).dtype) for k, v in cols.items()}
        elif n == len(next(iter(self._blocks.values()))):
            self._blocks = {k: np.concatenate([b, np.empty_like(b)]) for k, b in self._blocks.items()}
        for k, v in cols.items():
            self._blocks[k][n] = v
        self._hours.append(hour)

    def take(self) -> dict[str, np.ndarray] | None:
        n = len(self._hours)
        if not n:
            return None
        out = {"hour": np.repeat(np.array(self._hours, np.int64), self.width),
               self.key: np.tile(np.arange(self.width), n),
               **{k: b[:n].reshape(-1) for k, b in self._blocks.items()}}
        self._hours = []
        return out


class _Day:
    """One day's running sums per entity, for the daily logs: `add` each hour's columns, `take`
    the day's row: means over the hours added for the columns `is_mean` picks, sums for the rest
    (MW and prices are means, USD and BTC sums)."""

    def __init__(self, is_mean: Callable[[str], bool]) -> None:
        self.is_mean = is_mean
        self._acc: dict[str, np.ndarray] | None = None
        self._hours = 0

    def add(self, cols: dict[str, np.ndarray]) -> None:
        if self._acc is None:
            self._acc = {k: np.zeros(len(v)) for k, v in cols.items()}
        for k, v in cols.items():
            self._acc[k] += v
        self._hours += 1

    def take(self) -> dict[str, np.ndarray]:
        out = {k: v / float(self._hours) if self.is_mean(k) else v for k, v in self._acc.items()}
        self._acc, self._hours = None, 0
        return out


class _Once:
    """A table written once, at the start of the run (who the miners and buses are)."""

    def __init__(self) -> None:
        self.cols: dict[str, np.ndarray] | None = None

    def take(self) -> dict[str, np.ndarray] | None:
        cols, self.cols = self.cols, None
        return cols


class _Rows:
    """Rows of scalars (the hourly table, blocks, events), turned into columns when taken."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def take(self) -> dict[str, np.ndarray] | None:
        if not self.rows:
            return None
        keys = self.rows[0]
        out = {k: np.array([r[k] for r in self.rows]) for k in keys}
        self.rows = []
        return out


class HourRecorder:
    def __init__(self, n_miners: int, grid, agent_log: str, chain_time: float,
                 attack_costs: tuple[float, float, float], bus_log: str = "hourly",
                 last_hour: int | None = None) -> None:
        """Tables for `n_miners` miners on `grid`; `chain_time` is the last block's time (unix s)
        before the run (the first block interval counts from it); `attack_costs` are what a
        majority attacker pays to build (ASIC USD/TH, new J/TH, power USD/MWh). The per-agent and
        per-bus tables are kept `agent_log` / `bus_log`: "hourly", "daily" (one row per entity at
        each day's last hour, and at `last_hour`, the run's, for a last day cut short) or "none"."""
        self.grid = grid
        self.attack_costs = attack_costs
        self.agent_log = agent_log
        self.bus_log = bus_log
        self.last_hour = last_hour
        self.tables = {"hourly": _Rows(), "agents": _Panel("miner", n_miners),
                       "buses": _Panel("bus", grid.n_bus), "blocks": _Rows(), "retargets": _Rows(),
                       "investments": _Rows(), "leases": _Rows(), "miner_info": _Once(), "bus_info": _Once()}
        names = grid.bus_name if grid.bus_name is not None else np.full(grid.n_bus, "")
        self.tables["bus_info"].cols = {"bus": np.arange(grid.n_bus), "bus_id": np.asarray(grid.bus_ids),
                                        "name": np.asarray(names, str), "zone": np.asarray(grid.bus_zone, str)}
        self.last: dict[str, float] = {}
        self._prev_block_time = float(chain_time)
        self._agent_day = _Day(is_mean=lambda column: column.startswith("mw_"))
        # energy by kind and prices by zone (hourly table): the kinds the grid has, its zones
        kinds = [k for k in KINDS if np.any(grid.gen_kind == k)]
        self._kinds = kinds
        self._gen_kind = np.array([kinds.index(k) for k in grid.gen_kind.tolist()], np.int64)
        zones = sorted(set(grid.bus_zone.tolist()))
        self._zones = zones if 1 < len(zones) <= MAX_ZONE_COLUMNS else []
        self._zone_slug = [zone_column(z) for z in self._zones]
        self._bus_zone = np.array([self._zones.index(z) for z in grid.bus_zone.tolist()], np.int64) \
            if self._zones else None
        self._bus_day = _Day(is_mean=lambda column: True)
        self.storage_log = "none"
        self._storage_day = _Day(is_mean=lambda column: not column.endswith("_usd"))

    def _per_day(self, day: _Day, cols: dict[str, np.ndarray], hour: int) -> dict[str, np.ndarray] | None:
        """A daily log's row: None until the day's last hour (or the run's), then the day's."""
        day.add(cols)
        return day.take() if (hour + 1) % 24 == 0 or hour == self.last_hour else None

    # ------------------------------------------------------------------------------------------
    def record(self, r) -> None:
        """Record one hour from its `HourResult`."""
        f, d, s, mined = r.fleet, r.dispatch, r.signals, r.mined
        hour = r.hour
        times = np.array([b.time for b in mined.blocks], float)
        intervals = np.diff(np.concatenate([[self._prev_block_time], times])) if len(times) else np.array([])
        if len(times):
            self._prev_block_time = times[-1]
        # per-miner MW, computed once for the hourly, agent and bus tables
        drawn = f.drawn_mw
        hash_mw, ai_mw = f.hash_mw * f.active, f.ai_mw * f.active
        asic_mw = row_sum(f.asic_mw)
        curtailed = np.maximum(f.capacity_mw_with(asic_mw) - drawn, 0.0)
        hosting_mw = f.hosting_running_mw * f.active
        mw_hashing, mw_ai = float(hash_mw.sum()), float(ai_mw.sum())
        demand = r.inputs.bus_demand_mw
        demand_mw = float(demand.sum())
        shed = float(r.consumer_shed_mw.sum())
        served_load = float(demand_mw - shed + drawn.sum())
        per_mwh = float(d.emissions_t) / served_load if served_load > 0 else 0.0
        hhi, nakamoto = hhi_and_nakamoto(_entity_shares(mined))
        lmp = d.lmp_usd_per_mwh
        network_hs = mined.network_hs
        lme = r.lme_t_per_mwh
        lme_at_miner = lme[f.bus]
        security = self._security(s, mined)
        row = {
            "hour": hour,
            "unix_time": r.unix_time,
            "btc_price_usd": s.btc_price_usd,
            "hashprice_usd_per_ph_day": s.hashprice_usd_per_ph_day,
            "ai_price_usd_per_gpu_hour": s.ai_price_usd_per_gpu_hour,
            "ai_demand_fraction": s.ai_demand_fraction,
            "difficulty": mined.difficulty,
            "height": mined.height,
            "blocks": len(mined.blocks),
            "mean_block_interval_s": float(intervals.mean()) if len(intervals) else math.nan,
            "network_eh_s": network_hs / 1e18,
            "local_eh_s": mined.local_th_s / 1e6,
            "row_eh_s": mined.row_th_s / 1e6,
            "mw_hashing": mw_hashing,
            "mw_ai": mw_ai,
            "mw_curtailed": float(curtailed.sum()),
            "mw_ai_hosting": float(hosting_mw.sum()),
            "mw_ai_own_gpu": float((f.own_gpu_running_mw * f.active).sum()),
            "mw_converting": float((f.converting_mw * f.active).sum()),
            "mw_lease": float((f.lease_mw * f.active).sum()),
            "mw_own_gpu": float(((f.gpu_mw + f.gpu_on_order_mw) * f.active).sum()),
            "mw_committed_ai": float(((f.lease_mw + f.gpu_mw + f.gpu_on_order_mw) * f.active).sum()),
            "mw_asic": float((asic_mw * f.active).sum()),
            "demand_mw": demand_mw,
            "consumer_shed_mwh": shed,
            "miner_unserved_mwh": float(r.miner_unserved_mw),
            "curtailed_renewables_mwh": float(d.curtailed_mw.sum()),
            "lmp_mean_usd_per_mwh": float(lmp.mean()),
            "lmp_max_usd_per_mwh": float(lmp.max()),
            "lmp_min_usd_per_mwh": float(lmp.min()),
            "congested_lines": int(np.count_nonzero(d.congested)),
            "emissions_t": float(d.emissions_t),
            "emissions_hashing_t": per_mwh * mw_hashing,
            "emissions_ai_t": per_mwh * mw_ai,
            "emissions_hashing_marginal_t": float(hash_mw @ lme_at_miner),
            "emissions_ai_marginal_t": float(ai_mw @ lme_at_miner),
            "emissions_rate_t_per_mwh": per_mwh,
            "lme_mean_t_per_mwh": float(lme @ demand / demand_mw) if demand_mw > 0 else float(lme.mean()),
            "grid_stress": bool(s.grid_stress),
            "dr_mw": float(np.maximum(f.baseline_mw - drawn, 0).sum() * s.grid_stress * 1.0),
            "hhi": hhi,
            "nakamoto": nakamoto,
            **security,
            "active_miners": int(np.count_nonzero(f.active)),
            "revenue_hash_usd": float(f.revenue_hash_usd.sum()),
            "revenue_ai_usd": float(f.revenue_ai_usd.sum()),
            "revenue_dr_usd": float(f.revenue_dr_usd.sum()),
            "power_cost_usd": float(f.power_cost_usd.sum()),
            "other_cost_usd": float(f.other_cost_usd.sum()),
            "interest_usd": float(f.interest_usd.sum()),
            "depreciation_usd": float(f.depreciation_usd.sum()),
            "miner_cash_usd": float(f.cash_usd.sum()),
            "miner_debt_usd": float(f.debt_usd.sum()),
            "miner_book_usd": float(f.book_usd.sum()),
            "capex_usd": float(f.capex_usd.sum()),
            "hashrate_moved_to_ai_share": float(f.th_moved_to_ai.sum() * 1e12 / network_hs) if network_hs > 0 else 0.0,
        }
        row.update(self._by_kind_and_zone(d, demand))
        if r.ruc_units is not None:  # grids with a unit commitment: units the reliability commitment added
            row["ruc_units"] = int(r.ruc_units)
        if r.storage is not None:  # grids with batteries: the fleet's totals
            st = r.storage
            charge, discharge = float(st.charge_mw.sum()), float(st.discharge_mw.sum())
            row |= {"storage_charge_mw": charge, "storage_discharge_mw": discharge,
                    "storage_mw": discharge - charge, "storage_soc_mwh": float(st.soc_mwh.sum()),
                    "storage_revenue_usd": float(st.revenue_usd.sum())}
            self._record_storage(hour, st)
        self.last = row
        self.tables["hourly"].rows.append(row)
        self._record_agents(r, {"mw_hashing": hash_mw, "mw_ai": ai_mw, "mw_curtailed": curtailed,
                                "mw_ai_hosting": hosting_mw})
        self._record_buses(r, drawn)
        self._record_blocks(mined.blocks, intervals)
        self._record_retargets(mined.retargets)

    def _by_kind_and_zone(self, d, demand: np.ndarray) -> dict[str, float]:
        """The hour's generation by kind (`gen_<kind>_mwh`), wind and solar curtailed
        (`curtailed_<kind>_mwh`), and per zone the inflexible demand (`demand_zone_<zone>_mw`) and
        the demand-weighted mean LMP (`lmp_zone_<zone>_usd_per_mwh`; the plain mean of its buses'
        LMPs in an hour without demand there)."""
        nk = len(self._kinds)
        gen = np.bincount(self._gen_kind, weights=d.gen_mw, minlength=nk)
        cut = np.bincount(self._gen_kind, weights=d.curtailed_mw, minlength=nk)
        out = {f"gen_{k}_mwh": float(gen[i]) for i, k in enumerate(self._kinds)}
        out.update({f"curtailed_{k}_mwh": float(cut[i]) for i, k in enumerate(self._kinds) if k in ("wind", "solar")})
        if self._bus_zone is not None:
            nz = len(self._zones)
            lmp = d.lmp_usd_per_mwh
            dz = np.bincount(self._bus_zone, weights=demand, minlength=nz)
            pz = np.bincount(self._bus_zone, weights=lmp * demand, minlength=nz)
            plain = np.bincount(self._bus_zone, weights=lmp, minlength=nz) / np.bincount(self._bus_zone, minlength=nz)
            price = np.where(dz > 0, pz / np.where(dz > 0, dz, 1.0), plain)
            for i, slug in enumerate(self._zone_slug):
                out[f"demand_zone_{slug}_mw"] = float(dz[i])
                out[f"lmp_zone_{slug}_usd_per_mwh"] = float(price[i])
        return out

    def _security(self, s, mined) -> dict[str, float]:
        """The hour's security outcomes: the budget paid for its blocks (as USD per day), and the
        cost of a majority attack on the network's hash rate, rented or built."""
        reward_btc = sum(b.subsidy_sat + b.fees_sat for b in mined.blocks) / 1e8
        network_eh_s = float(mined.network_hs) / 1e18  # (a Python float: the formulas' scalar path)
        asic_usd_per_th, new_j_per_th, power_cost_usd_per_mwh = self.attack_costs
        return {
            "security_budget_usd_per_day": float(security_budget_usd_per_day(reward_btc, s.btc_price_usd)),
            "attack_rent_usd_per_h": float(attack_rent_usd_per_h(network_eh_s, s.hashprice_usd_per_ph_day)),
            "attack_build_usd": float(attack_build_usd(network_eh_s, asic_usd_per_th, new_j_per_th,
                                                       power_cost_usd_per_mwh)),
        }

    def _record_agents(self, r, mw: dict[str, np.ndarray]) -> None:
        if self.agent_log == "none":
            return
        f, hour = r.fleet, r.hour
        cols = {**mw, "revenue_hash_usd": f.revenue_hash_usd, "revenue_ai_usd": f.revenue_ai_usd,
                "revenue_dr_usd": f.revenue_dr_usd, "power_cost_usd": f.power_cost_usd,
                "other_cost_usd": f.other_cost_usd, "interest_usd": f.interest_usd,
                "depreciation_usd": f.depreciation_usd, "revaluation_usd": f.revaluation_usd,
                "btc_mined": r.btc_mined}
        if self.agent_log == "daily" and (cols := self._per_day(self._agent_day, cols, hour)) is None:
            return
        self.tables["agents"].add(hour, {**cols, "lmp_usd_per_mwh": r.dispatch.lmp_usd_per_mwh[f.bus],
                                         "cash_usd": f.cash_usd, "btc": f.btc, "debt_usd": f.debt_usd,
                                         "book_usd": f.book_usd, "capex_usd": f.capex_usd,
                                         "mw_converting": f.converting_mw, "active": f.active})

    def _record_buses(self, r, drawn: np.ndarray) -> None:
        if self.bus_log == "none":
            return
        d, nb = r.dispatch, self.grid.n_bus
        cols = {"lmp_usd_per_mwh": d.lmp_usd_per_mwh, "demand_mw": r.inputs.bus_demand_mw,
                "miner_mw": np.bincount(r.fleet.bus, weights=drawn, minlength=nb),
                "generation_mw": np.bincount(self.grid.gen_bus, weights=d.gen_mw, minlength=nb),
                "shed_mw": r.consumer_shed_mw, "lme_t_per_mwh": r.lme_t_per_mwh}
        if self.bus_log == "daily" and (cols := self._per_day(self._bus_day, cols, r.hour)) is None:
            return
        self.tables["buses"].add(r.hour, cols)

    def _record_storage(self, hour: int, st) -> None:
        if self.storage_log == "none":
            return
        cols = {"storage_mw": st.discharge_mw - st.charge_mw, "charge_mw": st.charge_mw,
                "discharge_mw": st.discharge_mw, "soc_mwh": st.soc_mwh, "lmp_usd_per_mwh": st.lmp_usd_per_mwh,
                "revenue_usd": st.revenue_usd}
        if self.storage_log == "daily" and (cols := self._per_day(self._storage_day, cols, hour)) is None:
            return
        self.tables["storage"].add(hour, cols)

    def record_storage_units(self, name: list[str], bus: np.ndarray, power_mw: np.ndarray, energy_mwh: np.ndarray,
                             round_trip: np.ndarray, log: str) -> None:
        """Who the batteries are (row i is `unit` i of the storage table), written once; `log` is the
        storage table's granularity ("hourly", "daily" or "none")."""
        self.storage_log = log
        self.tables["storage"] = _Panel("unit", len(name))
        self.tables["storage_info"] = _Once()
        zone = np.asarray(self.grid.bus_zone, str)[np.asarray(bus)]
        self.tables["storage_info"].cols = {"unit": np.arange(len(name)), "name": np.asarray(name, str),
                                            "bus": np.asarray(bus), "zone": zone,
                                            "power_mw": np.asarray(power_mw, float),
                                            "energy_mwh": np.asarray(energy_mwh, float),
                                            "round_trip_efficiency": np.asarray(round_trip, float)}

    def _record_blocks(self, blocks: list, intervals: np.ndarray) -> None:
        rows = self.tables["blocks"].rows
        for b, interval in zip(blocks, intervals.tolist()):
            rows.append({"height": b.height, "time": b.time, "subsidy_btc": b.subsidy_sat / 1e8,
                         "fees_btc": b.fees_sat / 1e8, "bits": b.bits, "interval_s": interval})

    def _record_retargets(self, retargets: list) -> None:
        rows = self.tables["retargets"].rows
        for r in retargets:
            rows.append({"height": r.height, "time": r.time, "old_bits": r.old_bits, "new_bits": r.new_bits,
                         "actual_timespan_s": r.actual_timespan_s, "clamped": bool(r.clamped),
                         "ratio": float(r.ratio)})

    def record_miners(self, name: list[str], strategy: list[str], bus: np.ndarray,
                      interconnect_mw: np.ndarray) -> None:
        """Who the miners are (row i is `miner` i of the agent table): name, strategy, bus index
        (into `bus_info`) and interconnect (MW); written once, before the first hour's rows."""
        self.tables["miner_info"].cols = {"miner": np.arange(len(name)), "name": np.asarray(name, str),
                                          "strategy": np.asarray(strategy, str), "bus": np.asarray(bus),
                                          "interconnect_mw": np.asarray(interconnect_mw, float)}

    def record_investments(self, events: list) -> None:
        """Record the investment review's events (each carries its own hour)."""
        rows = self.tables["investments"].rows
        for e in events:
            rows.append({"hour": e.hour, "miner": e.miner, "kind": e.kind, "mw": e.mw, "usd": e.usd})

    def record_leases(self, signed: list, start_time: int) -> None:
        """One row per lease signed (`SignedLease`s): when (hour, unix time, UTC date), who, IT and
        facility MW, the fee, term and lead time; `start_time` is the run's first hour (unix s)."""
        rows = self.tables["leases"].rows
        for s in signed:
            x = s.lease
            t = int(start_time + 3600 * s.hour)
            rows.append({"hour": s.hour, "unix_time": t,
                         "date": dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d"),
                         "miner": s.miner, "it_mw": float(x.it_mw), "facility_mw": float(x.facility_mw),
                         "fee_usd_per_it_mw_month": float(x.fee_usd_per_mw_month), "kind": x.kind,
                         "lead_months": (x.start_hour - s.hour) / HOURS_PER_MONTH,
                         "term_months": (x.end_hour - x.start_hour) / HOURS_PER_MONTH})

    # ------------------------------------------------------------------------------------------
    def drain(self) -> dict[str, dict[str, np.ndarray]]:
        """Hand over everything buffered since the last drain, one column dict per table. The
        agent and bus columns are views of buffers the next hours overwrite: copy what you keep
        past the next `record` (`TableWriter.append` copies; `TableWriter.write`, as the runner
        uses, writes them before it returns)."""
        out = {}
        for name, table in self.tables.items():
            cols = table.take()
            if cols is not None:
                out[name] = cols
        return out

    def mesa_datacollector(self):
        """Mesa's DataCollector over the headline series (for `mesa.batch_run` and notebooks)."""
        import mesa

        return mesa.DataCollector(model_reporters={k: (lambda m, k=k: m.recorder.last.get(k, math.nan))
                                                   for k in MESA_REPORTERS})


def _entity_shares(mined) -> np.ndarray:
    """Hash-rate shares of every entity: our miners and the rest of the world's pools."""
    total = mined.local_th_s + mined.row_th_s
    if total <= 0:
        return np.array([1.0])
    ours = mined.miner_th_s
    pools = mined.pool_shares * mined.row_th_s
    return np.concatenate([ours, pools]) / total
