"""`GridPivotModel`: Bitcoin miners on a power grid, deciding every hour between hashing, AI
compute and curtailment, with grid prices, hash rate and difficulty feeding back.

One `step()` is one hour, a pipeline of values (each phase a function of the ones before):

    drivers.advance -> HourInputs -> signals -> MarketSignals -> bids -> dispatch -> DispatchResult
    -> allocate (cleared MW) -> mine -> Mined (blocks, hash rates) -> settle (BTC won)
    -> HourResult -> recorder.record -> (on its clock) investment review -> its events recorded

On a grid with a unit commitment, an hour whose dispatch sheds demand gets a reliability
commitment inside `dispatch_grid` (idle units the shortage's prices reach are committed for the
rest of the day, and the hour is cleared again; `simulation.grid.commitment`).

The investment review comes after the hour is recorded: what it changes (retired ASICs, signed
leases) takes effect from the next hour, so every recorded hour is consistent in itself. The model
object keeps only what persists between hours: the fleet and its ledger, the LMPs cleared so far
(`lmp_history`, the one record of prices), the Bitcoin side, the drivers, the 4CP peak tracker;
`last_hour` is the latest `HourResult`, for views and tests (no phase reads it).

This module alone knows that order. The mechanisms (`simulation.bitcoin`, `.grid`, `.markets`)
are pure; the miners' decisions live in `agents/`. docs/architecture.md draws the data flow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import Network

from agents.accounting import charge_four_cp, settle_hour
from agents.balance_sheet import ASIC, GPU, RETROFIT, Ledger
from agents.fleet import SLOT_FIRM, SLOT_HASH0, SLOT_SPOT, SLOT_TRAINING, Fleet, row_sum
from agents.hardware import ASIC_MODELS
from agents.investment import InvestmentEvent, Outlook, place_offers, review_fleet
from agents.miner import MinerAgent, MinerState
from agents.population import BusInfo, MinerSpec, explicit_miners, generated_miners
from agents.storage import BatteryAgent, StorageFleet, day_schedule, hour_offers
from agents.strategies import firm_twin, strategy_class
from agents.valuation import MarketSignals, fit_to_interconnect, slot_values
from simulation.bitcoin_side import BitcoinSide
from simulation.config import Scenario, resolve_scenario
from simulation.drivers import Drivers, HourInputs
from simulation.records import HourRecorder
from simulation.bitcoin.economics import expected_hashprice_path
from simulation.grid import Dispatcher
from simulation.grid.commitment import reliability_units, scarcity_price
from simulation.grid.dispatch import DispatchResult
from simulation.grid.history import LmpHistory
from simulation.grid.storage import StorageOffers, place_sites, site_durations_h
from simulation.markets import expected_rewards, sampled_rewards, split_request
from simulation.markets.finance import HOURS_PER_YEAR
from simulation.markets.valuation import PriceSample


@dataclass(frozen=True)
class Cleared:
    """What the grid did with the hour's bids."""

    dispatch: DispatchResult
    own_served_mw: np.ndarray  # self-scheduled (firm) hashing served, per bid slot (MW)
    consumer_shed_mw: np.ndarray  # consumers' load shed per bus (MW)
    lme_t_per_mwh: np.ndarray  # locational marginal emissions per bus (tCO2/MWh)
    inputs: HourInputs  # the hour's inputs as cleared (with the units reliability commitment added)
    ruc_units: int | None  # units the reliability commitment added this hour (None: no commitment)


@dataclass(frozen=True)
class StorageHour:
    """The batteries' hour (arrays per unit): what they offered, what cleared, the state of charge
    after it and what they earned at their bus's LMP."""

    offers: StorageOffers
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc_mwh: np.ndarray  # after the hour
    revenue_usd: np.ndarray  # LMP x (discharge - charge)
    lmp_usd_per_mwh: np.ndarray  # at each unit's bus


@dataclass(frozen=True)
class Mined:
    """The network's hour: blocks found and who hashed."""

    blocks: list
    retargets: list  # difficulty adjustments in this hour's blocks
    hashing_th_s: np.ndarray  # (miners, cohorts) TH/s our miners ran
    miner_th_s: np.ndarray  # per miner, TH/s (the row sums of hashing_th_s)
    local_th_s: float
    row_th_s: float  # the rest of the world
    network_hs: float
    pool_shares: np.ndarray  # the rest of the world's pools (sum 1)
    difficulty: float  # after the hour's blocks
    height: int


@dataclass(frozen=True)
class HourResult:
    """Everything one hour produced, as the recorder takes it (the fleet's arrays hold the
    miners' side of the hour until the next step)."""

    hour: int
    unix_time: int
    inputs: HourInputs
    signals: MarketSignals
    dispatch: DispatchResult
    consumer_shed_mw: np.ndarray  # per bus
    lme_t_per_mwh: np.ndarray  # locational marginal emissions per bus (tCO2/MWh)
    miner_unserved_mw: float  # price-taking miner load not served
    mined: Mined
    btc_mined: np.ndarray  # per miner, this hour
    fleet: Fleet
    ruc_units: int | None = None  # units the reliability commitment added this hour (None: no commitment)
    storage: StorageHour | None = None  # the batteries' hour (None: the grid has no storage)

    @property
    def lmp_usd_per_mwh(self) -> np.ndarray:
        return self.dispatch.lmp_usd_per_mwh


#: a few more cohort slots than any miner starts with, for the ASICs it buys later
SPARE_COHORTS = 1
#: reliability commitment: at most this many commit-and-clear-again rounds in an hour
RUC_MAX_ROUNDS = 10
#: reliability commitment: an hour shedding more than this (MW of inflexible demand) calls it
RUC_MIN_SHED_MW = 0.01


@dataclass(frozen=True)
class SignedLease:
    """A lease signed at a review: its hour (as the investment events'), the miner, the `Lease`."""

    hour: int
    miner: str
    lease: object


class GridPivotModel(mesa.Model):
    """The coupled hourly model. Build it from a `Scenario`, a TOML path, or nothing (default).

    `params` are dotted-path overrides with `__` for dots, so Mesa's `batch_run` can sweep
    any field: `GridPivotModel(markets__btc_price__drift_per_year=0.5, rng=3)`.
    `decisions="agents"` makes every miner bid alone in a Python loop (the reference the
    vectorised default is checked against).
    """

    def __init__(self, scenario: Scenario | str | Path | None = None, *, rng=None,
                 overrides: list[str] | tuple[str, ...] = (), decisions: str = "vectorised",
                 collect_mesa: bool = True, **params) -> None:
        self.config = sc = resolve_scenario(scenario, overrides, params)
        super().__init__(rng=sc.run.seed if rng is None else rng)
        if sc.hashrate is not None:
            raise ValueError("hashrate: this scenario is a network-only script; run it with "
                             "`run.py run` (it has no grid or miners to model)")
        if decisions not in ("vectorised", "agents"):
            raise ValueError(f"decisions: {decisions!r} is not 'vectorised' or 'agents'")
        self.decisions = decisions
        streams = self.rng.spawn(8)
        self.hour = 0
        self.hours = sc.run.hours
        self.start_time = sc.bitcoin.time

        self.drivers = Drivers(sc, streams[0:4])
        self.bitcoin = BitcoinSide(sc, streams[4])
        self.grid = self.drivers.grid
        self.space = Network(self.grid.graph, random=self.random, layout=None)
        self._create_miners(streams[5])
        self._strategy_rng = streams[6]
        self._reward_rng = streams[7]
        self._group_strategies()

        self.storage = self._create_storage() if sc.storage.enabled else None
        self.dispatcher = Dispatcher(self.grid, np.repeat(self.fleet.bus, self.fleet.n_slots),
                                     copperplate=sc.grid.copperplate,
                                     voll_usd_per_mwh=sc.grid.voll_usd_per_mwh,
                                     storage_bus=() if self.storage is None else self.storage.bus,
                                     engine=sc.grid.dispatch_engine)
        self.bitcoin.calibrate_rest_of_world(self._local_th_s_at_full_power(), self.drivers.btc_price_usd)
        self._self_scheduled = np.zeros((self.fleet.n, self.fleet.n_slots), bool)
        for strategy, idx in self.strategy_groups:
            if strategy.self_schedules:
                self._self_scheduled[idx, SLOT_HASH0:] = True
        self._self_scheduled = self._self_scheduled.ravel()

        # before the first hour, miners forecast from a day of the grid cleared without them
        self.lmp_history = LmpHistory(self.grid.n_bus, max(sc.expectations.power_memory_hours, 168))
        nothing = np.zeros(self.fleet.bid_mw.size)
        for hour in range(24):
            h0 = min(hour, self.hours - 1)
            self.lmp_history.push(self.dispatcher.solve(*self.drivers.grid_state(h0), nothing, nothing,
                                                        min_mw=self.drivers.min_output(h0)).lmp_usd_per_mwh)
        self._peak = {"month": None, "demand": -1.0, "drawn": np.zeros(self.fleet.n)}
        self.last_hour: HourResult | None = None
        self._scarcity_usd_per_mwh = scarcity_price(self.grid)  # the grid's dearest offer (RUC)
        self.recorder = HourRecorder(self.fleet.n, self.grid, sc.run.agent_log, self.bitcoin.network.time,
                                     (sc.security.asic_usd_per_th, sc.rest_of_world.new_j_per_th,
                                      sc.rest_of_world.power_cost_usd_per_mwh),
                                     bus_log=sc.run.bus_log, last_hour=self.hours - 1)
        miners = sorted(self.miner_agents, key=lambda a: a.row)
        self.recorder.record_miners([a.name for a in miners], [a.strategy_name for a in miners], self.fleet.bus,
                                    self.fleet.interconnect_mw)
        if self.storage is not None:
            st = self.storage
            self.recorder.record_storage_units([a.name for a in sorted(self.battery_agents, key=lambda a: a.row)],
                                               st.bus, st.power_mw, st.energy_mwh, st.round_trip,
                                               sc.storage.log)
        self.datacollector = self.recorder.mesa_datacollector() if collect_mesa else None

    # construction ----------------------------------------------------------------------------
    def _create_miners(self, rng: np.random.Generator) -> None:
        sc, g = self.config, self.grid
        buses = BusInfo(ids=[str(b) for b in g.bus_ids], zones=list(g.bus_zone),
                        load_share=np.asarray(g.demand_share, float), cheap_weight=g.cheap_capacity_mw())
        hosting = sc.markets.ai.hosting
        specs = explicit_miners(sc.miners, buses, hosting) + generated_miners(sc.population, rng, buses, hosting,
                                                                              len(sc.miners))
        if not specs:
            raise ValueError("miners: the scenario has no miners; add [[miners]] or population.counts")
        n_cohorts = max(len(s.cohorts) for s in specs) + SPARE_COHORTS
        self.fleet = _fleet_from_specs(specs, n_cohorts)
        self.ledger = _opening_balance_sheet(specs, sc)
        cells = [self.space[b] for b in g.bus_ids]
        for row, spec in enumerate(specs):  # each joins the model's AgentSet, in row order
            models = [c.model for c in spec.cohorts] + [""] * (n_cohorts - len(spec.cohorts))
            state = MinerState(models, gpu_usd=spec.gpu_usd, leases=list(spec.leases))
            agent = MinerAgent(self, cells[spec.bus], self.fleet, row, spec.name, None, state)
            agent.strategy_name = spec.strategy
        self.fleet.book_usd[:] = self.ledger.book_usd
        self.fleet.debt_usd[:] = self.ledger.debt_usd

    def _create_storage(self) -> StorageFleet:
        """The batteries (`storage` config): sites placed by `place_sites` (zone shares, buses with the
        most line capacity), each a 1- or 2-hour system (`site_durations_h`), at the config's
        round-trip efficiency and initial state of charge; each a `BatteryAgent` on its bus's cell."""
        st, g = self.config.storage, self.grid
        try:
            bus, mw = place_sites(g, st.power_mw, st.site_mw, st.zone_share)
            hours = site_durations_h(len(bus), st.mean_duration_h, st.durations_h[0], st.durations_h[1], mw)
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if msg.startswith("storage.") else f"storage: {msg}") from None
        energy = mw * hours
        eta = np.full(len(bus), np.sqrt(st.round_trip_efficiency))
        fleet = StorageFleet(bus=bus, power_mw=mw, energy_mwh=energy, eta_charge=eta, eta_discharge=eta.copy(),
                             soc_mwh=st.initial_soc_share * energy, cycle_cost_usd_per_mwh=st.cycle_cost_usd_per_mwh)
        cells = [self.space[b] for b in g.bus_ids]
        for row in range(fleet.n):
            BatteryAgent(self, cells[bus[row]], fleet, row, f"battery-{row}")
        self._storage_buses, self._at_storage_bus = np.unique(bus, return_inverse=True)
        return fleet

    @property
    def miner_agents(self) -> mesa.agent.AgentSet:
        """The miners still in the market (Mesa's AgentSet of `MinerAgent`s)."""
        return self.agents_by_type.get(MinerAgent, mesa.agent.AgentSet([], random=self.random))

    @property
    def battery_agents(self) -> mesa.agent.AgentSet:
        """The batteries (an empty AgentSet without storage)."""
        return self.agents_by_type.get(BatteryAgent, mesa.agent.AgentSet([], random=self.random))

    def _group_strategies(self) -> None:
        """One strategy object per strategy name, deciding for all its miners at once."""
        miners = list(self.miner_agents)
        names = sorted({a.strategy_name for a in miners})
        self.strategy_groups = []
        for name, rng in zip(names, self._strategy_rng.spawn(len(names))):
            idx = np.array([a.row for a in miners if a.strategy_name == name])
            cls = strategy_class(name)
            strategy = (cls if self.config.population.flexible else firm_twin(cls))(self.fleet, idx, rng)
            self.strategy_groups.append((strategy, idx))
            for a in miners:
                if a.strategy_name == name:
                    a.strategy = strategy
        for a in miners:
            a.refresh_leases(0)
        # the fleet rows of each group, and of all offering groups, as slices where contiguous
        self._group_rows = [_as_slice(idx) for _, idx in self.strategy_groups]
        self._offer_rows = _as_slice(np.sort(np.concatenate(
            [idx for strategy, idx in self.strategy_groups if strategy.decides_by_offer()] + [np.zeros(0, int)])))
        # the buses with miners, and each miner's among them (forecasts are made there only)
        self._miner_buses, self._at_miner_bus = np.unique(self.fleet.bus, return_inverse=True)
        self.enrolled = np.zeros(self.fleet.n, bool)
        for strategy, idx in self.strategy_groups:
            self.enrolled[idx] = strategy.demand_response

    def _local_th_s_at_full_power(self) -> float:
        f = self.fleet
        return float((f.asic_units * f.asic_th_per_unit).sum())

    # the hour --------------------------------------------------------------------------------
    def step(self) -> None:
        """One simulated hour: each phase takes the values the ones before it produced."""
        self.hour = hour = self.steps - 1
        inputs = self.drivers.advance(hour)
        signals = self.market_signals(inputs)
        bid_mw, bid_usd_per_mwh = self.collect_bids(signals)
        offers = self.storage_offers(signals)
        cleared = self.dispatch_grid(inputs, bid_mw, bid_usd_per_mwh, offers)
        inputs = cleared.inputs
        prev_training_mw, miner_unserved_mw = self.allocate(cleared, bid_mw, bid_usd_per_mwh)
        storage = self.operate_storage(cleared.dispatch, offers)
        mined = self.mine_blocks(signals)
        btc_mined = self.settle(inputs, signals, cleared.dispatch, mined, prev_training_mw)
        self.last_hour = result = HourResult(
            hour=hour, unix_time=self.unix_time, inputs=inputs, signals=signals, dispatch=cleared.dispatch,
            consumer_shed_mw=cleared.consumer_shed_mw, lme_t_per_mwh=cleared.lme_t_per_mwh,
            miner_unserved_mw=miner_unserved_mw, mined=mined,
            btc_mined=btc_mined, fleet=self.fleet, ruc_units=cleared.ruc_units, storage=storage)
        self.recorder.record(result)
        if self.datacollector is not None:
            self.datacollector.collect(self)
        if hour % self.config.investment.period_hours == self.config.investment.period_hours - 1:
            events, signed = self.invest(inputs)
            self.recorder.record_investments(events)
            self.recorder.record_leases(signed, self.start_time)
        if hour + 1 >= self.hours:
            self.running = False

    def market_signals(self, inputs: HourInputs) -> MarketSignals:
        """What every miner knows before the hour clears: the exogenous prices, the hashprice,
        the day-ahead LMP forecast at its bus, and whether the grid is stressed (a likely
        peak, or an hour after scarcity)."""
        sc, local = self.config, self.datetime
        last_lmp = self.lmp_history.latest
        scarce = inputs.hour > 0 and float(np.max(last_lmp)) >= sc.demand_response.stress_lmp_usd_per_mwh
        return MarketSignals(
            hour=inputs.hour, hour_of_day=local.hour, month=local.month,
            btc_price_usd=inputs.btc_price_usd,
            hashprice_usd_per_ph_day=self.bitcoin.hashprice_usd_per_ph_day(inputs.btc_price_usd),
            ai_price_usd_per_gpu_hour=inputs.ai_price_usd_per_gpu_hour,
            ai_demand_fraction=inputs.ai_demand_fraction,
            lmp_forecast_usd_per_mwh=self.lmp_history.day_ahead(self._miner_buses)[self._at_miner_bus],
            grid_stress=bool(inputs.near_peak or scarce),
            voll_usd_per_mwh=sc.grid.voll_usd_per_mwh,
            checkpoint_usd_per_mw=sc.markets.ai.hosting.checkpoint_usd_per_mw)

    def collect_bids(self, s: MarketSignals) -> tuple[np.ndarray, np.ndarray]:
        """Every miner bids its power, slot by slot: (MW, willingness to pay USD/MWh), each
        (miners, slots). Per agent (`decisions="agents"`) through the AgentSet, else one
        vectorised call per strategy."""
        f = self.fleet
        if self.decisions == "agents":
            self.miner_agents.do("bid", s)
            return f.bid_mw, f.bid_usd_per_mwh
        avail, value = slot_values(f, slice(None), s)  # every miner's slots, valued once
        for (strategy, idx), rows in zip(self.strategy_groups, self._group_rows):
            if strategy.decides_by_offer():
                f.bid_mw[rows], f.bid_usd_per_mwh[rows] = strategy.offer(f, rows, s, avail[rows], value[rows])
            else:
                f.bid_mw[rows], f.bid_usd_per_mwh[rows] = strategy.bid(f, idx, s)
        cut = self._offer_rows  # the strategies' offers, cut to the interconnects all at once
        f.bid_mw[cut] = fit_to_interconnect(f.bid_mw[cut], f.bid_usd_per_mwh[cut],
                                            f.interconnect_mw[cut] * f.active[cut])
        f.bid_mw[~f.active] = 0.0
        return f.bid_mw, f.bid_usd_per_mwh

    def storage_offers(self, s: MarketSignals) -> StorageOffers | None:
        """Every battery's offers for the hour (`agents/storage.py`): at local midnight (and in the
        first hour) each plans the day from the day-ahead forecast of its bus's LMP over the day's
        24 hours; every hour it offers from that plan and its state of charge. None without storage."""
        st = self.storage
        if st is None:
            return None
        plan = s.hour == 0 or s.hour_of_day == 0
        agents = self.decisions == "agents"
        if plan:
            forecast = self.lmp_history.day_ahead_profile(self._storage_buses)[:, self._at_storage_bus]
            if agents:
                self.battery_agents.do("plan", forecast)
            else:
                st.day_low_usd_per_mwh, st.day_high_usd_per_mwh = day_schedule(st, slice(None), forecast)
        if agents:
            self.battery_agents.do("bid")
        else:
            (st.offer_charge_mw, st.offer_charge_usd_per_mwh, st.offer_discharge_mw,
             st.offer_discharge_usd_per_mwh) = hour_offers(st, slice(None), st.day_low_usd_per_mwh,
                                                           st.day_high_usd_per_mwh)
        return st.offers()

    def operate_storage(self, dispatch: DispatchResult, offers: StorageOffers | None) -> StorageHour | None:
        """The batteries run what cleared: the state of charge carried through the hour, paid the
        LMP at their bus for what they delivered less what they drew."""
        st = self.storage
        if st is None:
            return None
        charge, discharge = dispatch.storage_charge_mw, dispatch.storage_discharge_mw
        soc = st.operate(charge, discharge)
        lmp = dispatch.lmp_usd_per_mwh[st.bus]
        return StorageHour(offers, charge, discharge, soc.copy(), lmp * (discharge - charge), lmp)

    def dispatch_grid(self, inputs: HourInputs, bid_mw: np.ndarray, bid_usd_per_mwh: np.ndarray,
                      storage: StorageOffers | None = None) -> Cleared:
        """DC-OPF with the miners' bids in it: LMPs per bus and MW cleared per bid.

        Self-scheduled hashing (price-takers) is firm demand the operator cannot curtail: it joins
        the consumers' demand at its bus, and a shortage there sheds both pro rata. Every other
        bid is flexible; bids at the value of lost load (a tenant's inference) are served unless
        that would shed consumers, and are curtailed first when the grid is short.

        On a grid with a unit commitment, an hour that sheds inflexible demand is cleared again
        after a reliability commitment (`reliability_commit`). Batteries' offers (`storage`) clear
        in the same LP."""
        demand, bid, price, own = self.dispatch_inputs(inputs, bid_mw, bid_usd_per_mwh)
        dispatch = self.dispatcher.solve(demand, inputs.gen_available_mw, bid, price, min_mw=inputs.gen_min_mw,
                                         storage=storage)
        ruc_units = None
        if self.drivers.commitment is not None:
            inputs, dispatch, ruc_units = self.reliability_commit(inputs, demand, bid, price, dispatch, storage)
        lme = self.dispatcher.marginal_emissions()  # tCO2/MWh per bus
        shed_share = np.divide(dispatch.shed_mw, demand, out=np.zeros_like(demand), where=demand > 0)
        own_served = own * (1.0 - shed_share[self.dispatcher.bid_bus])
        consumer_shed = shed_share * inputs.bus_demand_mw
        self.lmp_history.push(dispatch.lmp_usd_per_mwh)
        return Cleared(dispatch, own_served, consumer_shed, lme, inputs, ruc_units)

    def reliability_commit(self, inputs: HourInputs, demand: np.ndarray, bid: np.ndarray, price: np.ndarray,
                           dispatch: DispatchResult, storage: StorageOffers | None = None
                           ) -> tuple[HourInputs, DispatchResult, int]:
        """ERCOT-style reliability unit commitment (`simulation.grid.commitment`, RUC): while the
        hour sheds inflexible demand and uncommitted units priced below the shortage's LMPs at
        their buses exist, commit them for the rest of the day and clear the hour again (at most
        `RUC_MAX_ROUNDS` rounds). Hours without shedding are left as cleared. Returns the hour's
        inputs and dispatch as finally cleared and the number of units committed."""
        commitment, added = self.drivers.commitment, 0
        for _ in range(RUC_MAX_ROUNDS):
            shed = float(dispatch.shed_mw.sum())
            if shed <= RUC_MIN_SHED_MW:
                break
            units = reliability_units(self.grid, dispatch.lmp_usd_per_mwh, commitment.uncommitted(inputs.hour), shed,
                                      self._scarcity_usd_per_mwh)
            if not len(units):
                break
            inputs = self.drivers.commit_units(inputs, units)
            dispatch = self.dispatcher.solve(demand, inputs.gen_available_mw, bid, price, min_mw=inputs.gen_min_mw,
                                             storage=storage)
            added += len(units)
        return inputs, dispatch, added

    def dispatch_inputs(self, inputs: HourInputs, bid_mw: np.ndarray, bid_usd_per_mwh: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What the grid clears this hour: demand per bus (consumers plus self-scheduled hashing),
        flexible bid MW and prices per slot, and the self-scheduled MW per slot."""
        bid, price = bid_mw.ravel(), bid_usd_per_mwh.ravel()
        own = np.where(self._self_scheduled, bid, 0.0)
        demand = inputs.bus_demand_mw + np.bincount(self.dispatcher.bid_bus, own, self.grid.n_bus)
        return demand, bid - own, price, own

    def allocate(self, cleared: Cleared, bid_mw: np.ndarray, bid_usd_per_mwh: np.ndarray) -> tuple[np.ndarray, float]:
        """Miners run what cleared: slot MW to inference, training, spot AI and cohorts.
        Returns last hour's training MW (a pause costs a checkpoint) and the price-taking MW
        not served."""
        f = self.fleet
        prev_training_mw = f.cleared_mw[:, SLOT_TRAINING].copy()
        served = cleared.dispatch.bid_cleared_mw + cleared.own_served_mw
        f.cleared_mw[:] = served.reshape(f.n, f.n_slots)
        taker = bid_usd_per_mwh.ravel() >= self.config.grid.voll_usd_per_mwh
        unserved = float(((bid_mw.ravel() - served) * (taker | self._self_scheduled)).sum())
        return prev_training_mw, unserved

    def mine_blocks(self, s: MarketSignals) -> Mined:
        """The rest of the world answers the hour's hashprice; the network (it + our hashing)
        finds blocks for 3,600 s."""
        b = self.bitcoin
        row_th_s = b.rest_of_world_responds(s.hashprice_usd_per_ph_day, s.hour) * 1e6
        hashing_th_s = self.fleet.hashing_th_s  # (miners, cohorts) TH/s running this hour
        local_th_s = float(hashing_th_s.sum())
        network_hs = (local_th_s + row_th_s) * 1e12
        blocks, retargets = b.mine(3600, network_hs)
        return Mined(blocks, retargets, hashing_th_s, row_sum(hashing_th_s), local_th_s, row_th_s, network_hs,
                     b.pool_shares, b.network.difficulty, b.network.height)

    def settle(self, inputs: HourInputs, s: MarketSignals, dispatch: DispatchResult, mined: Mined,
               prev_training_mw: np.ndarray) -> np.ndarray:
        """Rewards, power bills, AI revenue, penalties and credits; strategies learn. Returns the
        BTC each miner won this hour."""
        f, sc = self.fleet, self.config
        reward_btc = np.array([(b.subsidy_sat + b.fees_sat) / 1e8 for b in mined.blocks])
        shares = np.append(mined.miner_th_s, mined.row_th_s) / max(mined.local_th_s + mined.row_th_s, 1e-30)
        if sc.bitcoin.rewards == "sampled":
            won = sampled_rewards(reward_btc, shares, self._reward_rng)
        else:
            won = expected_rewards(reward_btc.sum(), shares)
        btc_mined = won[:-1]
        settle_hour(f, self.ledger, s, dispatch.lmp_usd_per_mwh[f.bus], btc_mined, prev_training_mw, self.enrolled,
                    sc.demand_response.payment_usd_per_mwh, sc.investment.fixed_cost_usd_per_mw_month,
                    sc.markets.ai.hosting.power == "passthrough", 1.0 / (24.0 * sc.finance.ebitda_memory_days),
                    1.0 - sc.markets.ai.hosting.noi_margin)
        self._track_four_cp(inputs)
        for (strategy, _), rows in zip(self.strategy_groups, self._group_rows):
            strategy.learn(f, rows, s)  # (a slice where the group's rows are contiguous: views, not copies)
        return btc_mined

    def invest(self, inputs: HourInputs) -> tuple[list, list]:
        """The slow clock: lease offers are placed, then every miner still in the market (the
        AgentSet) reviews its site. Returns the investment events and the leases signed
        (`SignedLease`s)."""
        outlook = self.outlook()
        prices: dict[int, PriceSample] = {}  # per bus, sorted once for the review

        def sample(row: int) -> PriceSample:
            bus = int(self.fleet.bus[row])
            if bus not in prices:
                prices[bus] = PriceSample(self.lmp_history.at_bus(bus))
            return prices[bus]

        active = list(self.miner_agents)
        held = {a.row: len(a.state.leases) for a in active}
        offers = self.drivers.take_contract_offers()
        t = self.config.markets.ai.tenants
        if t.enabled:
            events = []
            for offer in offers:
                events += self._place_request(offer, active, outlook, sample)
        else:
            events = list(place_offers(offers, active, self.ledger, outlook, sample))
        signed = [SignedLease(outlook.hour, a.name, x) for a in active for x in a.state.leases[held[a.row]:]]
        events += review_fleet(active, self.ledger, outlook, sample)
        self.fleet.book_usd[:] = self.ledger.book_usd
        self.fleet.debt_usd[:] = self.ledger.debt_usd
        return events, signed

    def _place_request(self, offer, active, outlook, sample) -> list:
        """A tenant's request, placed as the tenant chooses: it approaches the site with the most
        room (in MW of IT) with the part that fits there (`split_request`), then the next site
        with what is left, up to `approaches_per_offer` sites; what no site signs goes greenfield
        (one `offer_lapsed` event for it)."""
        h, t = self.config.markets.ai.hosting, self.config.markets.ai.tenants
        f, events, left, tried = self.fleet, [], offer.it_mw, set()
        takers = [a for a in active if a.strategy.accepts_contracts]
        for _ in range(h.approaches_per_offer):
            room = {a.row: (f.interconnect_mw[a.row] - a.committed_ai_mw) / h.pue for a in takers
                    if f.active[a.row] and a.row not in tried}
            if not room:
                break
            part = split_request(left, list(room.values()), 1, t.min_part_it_mw)
            if not part:
                break
            site = next(a for a in takers if a.row in room and room[a.row] == max(room.values()))
            tried.add(site.row)
            got = place_offers([dataclasses.replace(offer, it_mw=part[0])], [site], self.ledger, outlook, sample)
            events += [e for e in got if e.kind != "offer_lapsed"]
            if any(e.kind == "lease_signed" for e in got):
                left = round(left - part[0], 6)
        if left >= t.min_part_it_mw:
            events.append(InvestmentEvent(outlook.hour, "", "offer_lapsed", left * h.pue, 0.0))
        return events

    def outlook(self) -> Outlook:
        """What miners foresee now: the expected hashprice path month by month (the known subsidy
        schedule, difficulty growth estimated from the chain seen, the BTC price model's own
        expected growth: 0, a martingale, by default; a replayed series is not foreseen) and the
        AI market's trend; long enough for the longest horizon any decision looks over."""
        sc, d = self.config, self.drivers
        cfg, h = sc.investment, sc.markets.ai.hosting
        months = max(h.lead_months + h.term_months, round(cfg.gpu_lead_time_weeks / 4.35 + cfg.gpu_life_years * 12),
                     round(cfg.asic_life_years * 12)) + 1
        b, net = self.bitcoin, self.bitcoin.network
        path = expected_hashprice_path(
            months, btc_price_usd=d.btc_price_usd, fees_btc_per_block=b.expected_fees_btc,
            difficulty=net.difficulty, height=net.height,
            difficulty_growth_per_year=b.difficulty_growth_per_year(self.unix_time + 3600),
            subsidy_frozen_at=None if net.halving else net.start_height,
            btc_drift_per_year=sc.markets.btc_price.drift_per_year if sc.markets.btc_price.model == "gbm" else 0.0)
        return Outlook(self.hour + 1, path, d.ai_trend_price_usd_per_gpu_hour(self.hour), sc.markets.ai.trend_per_year,
                       sc.markets.ai.demand_mean, cfg, sc.finance, h)

    def _track_four_cp(self, inputs: HourInputs) -> None:
        """4CP: each summer month, miners pay for what they drew in the system's peak hour."""
        month = self.datetime.month
        p = self._peak
        if p["month"] is not None and month != p["month"] and p["month"] in (6, 7, 8, 9):
            charge_four_cp(self.fleet, p["drawn"], self.config.demand_response.four_cp_usd_per_mw)
        if month != p["month"]:
            p.update(month=month, demand=-1.0)
        demand = float(inputs.bus_demand_mw.sum())
        if demand > p["demand"]:
            p.update(demand=demand, drawn=self.fleet.drawn_mw.copy())

    # observables -------------------------------------------------------------------------------
    @property
    def unix_time(self) -> int:
        """Unix time (s) at the start of the current hour."""
        return self.start_time + 3600 * self.hour

    @property
    def datetime(self) -> dt.datetime:
        """Local wall-clock time at the start of the current hour."""
        tz = dt.timezone(dt.timedelta(hours=self.config.run.utc_offset_h))
        return dt.datetime.fromtimestamp(self.unix_time, tz)

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        """Hashprice from the current difficulty, next block's subsidy and expected fees."""
        return self.bitcoin.hashprice_usd_per_ph_day(self.drivers.btc_price_usd)

    def run_hours(self, hours: int | None = None) -> None:
        """Step until `hours` more hours ran, or the scenario ends."""
        end = self.hours if hours is None else min(self.hours, self.hour + hours + (self.steps > 0))
        while self.running and self.steps < end:
            self.step()


def _as_slice(idx: np.ndarray):
    """`idx` as a slice when it is a run of consecutive rows (views instead of copies), else itself."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _fleet_from_specs(specs: list[MinerSpec], n_cohorts: int) -> Fleet:
    n = len(specs)
    cohort = np.zeros((4, n, n_cohorts))
    for i, s in enumerate(specs):
        for c, co in enumerate(s.cohorts):
            cohort[:, i, c] = (co.units, co.th_per_unit, co.j_per_th, co.age_h)
    return Fleet(
        n=n, n_cohorts=n_cohorts,
        bus=np.array([s.bus for s in specs], int),
        interconnect_mw=np.array([s.interconnect_mw for s in specs], float),
        asic_units=cohort[0], asic_th_per_unit=cohort[1], asic_j_per_th=cohort[2], asic_age_h=cohort[3],
        gpu_units=np.array([s.gpu_units for s in specs], float),
        gpu_kw=np.array([s.gpu_kw for s in specs], float),
        cash_usd=np.array([s.cash_usd for s in specs], float),
        btc=np.zeros(n),
        sell_fraction=np.array([s.sell_fraction for s in specs], float),
        active=np.ones(n, bool),
    )


def _opening_balance_sheet(specs: list[MinerSpec], sc: Scenario) -> Ledger:
    """Every miner's hardware and retrofits at the start, paid for: booked at cost less
    depreciation for their age, and financed by `finance.initial_debt_share` of that in debt."""
    fin, inv, h = sc.finance, sc.investment, sc.markets.ai.hosting
    ledger = Ledger(len(specs), fin.interest_rate_per_year, fin.loan_years)
    asic_life_h = inv.asic_life_years * HOURS_PER_YEAR
    gpu_life_h = inv.gpu_life_years * HOURS_PER_YEAR
    assets = []  # (owner, USD, life h, kind, tag, start hour, age h), miner by miner
    for r, s in enumerate(specs):
        for c, co in enumerate(s.cohorts):
            model = ASIC_MODELS.get(co.model)
            usd_per_th = model.usd_per_th if model is not None else 0.0
            assets.append((r, co.units * co.th_per_unit * usd_per_th, asic_life_h, ASIC, c, 0, co.age_h))
        gpu_mw = s.gpu_units * s.gpu_kw / 1e3
        assets.append((r, s.gpu_units * s.gpu_usd, gpu_life_h, GPU, -1, 0, 0.0))
        assets.append((r, gpu_mw * inv.ai_site_capex_usd_per_mw, gpu_life_h, RETROFIT, -1, 0, 0.0))
        for lease in s.leases:
            assets.append((r, lease.it_mw * h.build_usd_per_it_mw * (1 - h.tenant_capex_share),
                           lease.end_hour - lease.start_hour, RETROFIT, -2, lease.start_hour, 0.0))
    owner, usd, life, kind, tag, start, age = zip(*assets)
    ledger.add_assets(owner, usd, life, kinds=kind, tags=tag, start_hours=start, age_hours=age)
    ledger.borrow_each(np.arange(len(specs)), fin.initial_debt_share * ledger.book_usd)
    return ledger


__all__ = ["GridPivotModel", "SLOT_FIRM", "SLOT_SPOT", "SLOT_HASH0"]
