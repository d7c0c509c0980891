"""The scenario's cross-field rules, checked when it loads (so a bad scenario stops before a run
starts): names that must be known (strategies, ASIC models, buses, zones), shares, the chain
point, times in range, and the data files a scenario names (grid case, demand, price and fee
series), each read once per file version and checked against the run. Every problem raises
`bad(key, problem, fix)`; the loader prefixes the config file and the key path."""

from __future__ import annotations

import datetime as dt
import os

from simulation.config.loader import bad

_CACHE: dict = {}


def _cached(kind: str, path, extra, load):
    """`load()` once per (file, modification time, size, extra)."""
    key = (kind, str(path), extra)
    try:
        st = os.stat(path)
        key += (st.st_mtime_ns, st.st_size)
    except (OSError, ValueError):
        pass
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]


def _data_error(key: str, e: Exception):
    """A data reader's "<file>: <where>: problem; fix" as bad(key, ...)."""
    text = " ".join(str(e).split()) or type(e).__name__
    problem, _, fix = text.partition("; ")
    return bad(key, problem, fix)


def strategy_known(name: str, key: str) -> None:
    from agents.strategies import STRATEGIES

    if name not in STRATEGIES:
        import difflib

        close = difflib.get_close_matches(name, list(STRATEGIES), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise bad(key, f"unknown strategy '{name}'", f"{hint}use one of {', '.join(sorted(STRATEGIES))}")


def asic_model_known(name: str, key: str, explicit: bool = False) -> None:
    from agents.hardware import ASIC_MODELS

    if not explicit and name not in ASIC_MODELS:
        raise bad(key, f"unknown ASIC model '{name}'",
                  f"use one of {', '.join(ASIC_MODELS)} or give th_per_unit and j_per_th")


def population(pop) -> None:
    for name in pop.counts:
        strategy_known(name, f'counts."{name}"' if " " in name else f"counts.{name}")
    for table in ("gpu_share", "lease_share"):
        for name in getattr(pop, table, {}):
            strategy_known(name, f'{table}."{name}"' if " " in name else f"{table}.{name}")
    for name in pop.asic_models:
        asic_model_known(name, f'asic_models."{name}"' if " " in name else f"asic_models.{name}")
    if sum(pop.counts.values()) and not sum(pop.asic_models.values()) > 0:
        raise bad("asic_models", "shares sum to 0", "give at least one positive share")
    rule = pop.placement
    if rule not in ("cheap", "load", "uniform") and not (rule.startswith("zone:") and rule[5:]) \
            and not (rule.startswith("zones:") and rule[6:]):
        raise bad("placement", f"unknown rule '{rule}'",
                  "use 'cheap', 'load', 'uniform', 'zone:<name>' or 'zones:<name>=<share>,...'")


def chain_point(b) -> None:
    from simulation.bitcoin import HALVING_2024, bits_to_target

    try:
        bits_to_target(b.bits)
    except ValueError as e:
        raise bad("bits", str(e).split(":")[0] if "zero target" in str(e) else str(e),
                  "give the compact target (nBits) of a real block, e.g. 0x17034219") from None
    wft = b.window_first_time or (HALVING_2024.window_first_time if b.height == HALVING_2024.height else 0)
    if not wft:
        raise bad("window_first_time", "required when the chain point is not the default 2024 halving",
                  "give the unix time of block height - height % 2016")
    if wft > b.time:
        raise bad("window_first_time", f"{wft} is after the tip's time {b.time}",
                  "the window's first block cannot come after the tip")
    if b.height % 2016 == 0 and wft != b.time:
        raise bad("window_first_time", f"must equal time ({b.time}) when height {b.height} starts a retarget window",
                  "set window_first_time = time")


def hashrate_script(h) -> None:
    from simulation.bitcoin import HashratePath

    try:
        HashratePath([{"start_hour": s.start_hour, "end_hour": s.end_hour, "factor": s.factor} for s in h.segments],
                     h.baseline)
    except ValueError as e:
        key = "baseline" if "baseline" in str(e) else "segments"
        raise bad(key, str(e), "fix the script") from None


def _grid(case: str):
    from simulation.grid import load_grid

    key = case if not case.lower().endswith(".m") else os.path.abspath(case)
    return _cached("grid", key, None, lambda: load_grid(case))


def scenario(sc, ctx: dict) -> None:
    """Rules across sections, and the data files (unless ctx['check_files'] is False)."""
    from simulation.config.schema import MAX_UNIX_TIME

    end = sc.bitcoin.time + 3600 * sc.run.hours
    if end > MAX_UNIX_TIME:
        raise bad("run.hours", f"the run would end after 2100 ({sc.run.hours} h from bitcoin.time {sc.bitcoin.time})",
                  "simulate fewer hours or start earlier")
    dt.datetime.fromtimestamp(end, dt.timezone.utc)  # in range by the bound above
    if sc.hashrate is not None:
        return
    e = sc.expectations
    if e.difficulty_growth == "chain":  # the real retargets the miners see before the start
        from simulation.bitcoin.history import difficulty_growth_per_year, load_chain_history

        h = load_chain_history()
        try:
            difficulty_growth_per_year(h.time_unix, h.difficulty, sc.bitcoin.time, e.difficulty_window_days)
        except ValueError as err:
            problem = str(err).removeprefix("expectations.difficulty_window_days: ").split("; ")[0]
            raise bad("expectations.difficulty_window_days", problem,
                      "widen the window, or set expectations.difficulty_growth = 'fixed'") from None
    gc = sc.grid
    if gc.hours == "ercot_2024":  # ERCOT's hours replace the synthetic shapes' settings
        for key, on in (("zone_flatness", bool(gc.zone_flatness)), ("coastal_wind_zones", bool(gc.coastal_wind_zones)),
                        ("heatwave.start_day", gc.heatwave.start_day >= 0), ("peak_demand_mw", gc.peak_demand_mw > 0)):
            if on:
                raise bad(f"grid.{key}", "shapes the synthetic hours, but grid.hours = 'ercot_2024' takes ERCOT's",
                          "remove it, or set grid.hours = 'synthetic'")
    elif gc.flexible_load_mw:
        raise bad("grid.flexible_load_mw", "is taken out of ERCOT's native load, but grid.hours is 'synthetic'",
                  "remove it, or set grid.hours = 'ercot_2024'")
    pue = sc.markets.ai.hosting.pue
    for i, m in enumerate(sc.miners):
        ai_mw = m.gpus.units * m.gpus.kw_per_gpu / 1e3 + sum(c.mw * pue for c in m.leases)
        if ai_mw > m.interconnect_mw + 1e-9:
            raise bad(f"miners[{i}].leases", f"{ai_mw:g} facility MW of GPUs and leases (IT MW x markets.ai.hosting.pue) "
                      f"exceed the interconnect of {m.interconnect_mw:g} MW", "raise interconnect_mw or lease less")
    mp, fees = sc.markets.btc_price, sc.bitcoin.fees
    if mp.model == "series" and mp.csv is None:
        raise bad("markets.btc_price.csv", "the 'series' model needs a CSV file", 'set csv = "path.csv"')
    if fees.model == "series" and fees.series_csv is None:
        raise bad("bitcoin.fees.series_csv", "the 'series' fee model needs a CSV file",
                  "give a CSV with a 'fees_btc' column")
    if not ctx.get("check_files", True):
        return

    try:  # a MATPOWER path is relative to the current folder, as the model reads it
        grid = _grid(sc.grid.case)
    except (ValueError, OSError) as e:
        raise _data_error("grid.case", e) from None
    zones = {str(z) for z in grid.bus_zone}
    for key, names in (("flexible_load_mw", gc.flexible_load_mw), ("line_zone_factor", gc.line_zone_factor), ("fleet.wind_zones", gc.fleet.wind_zones),
                       ("fleet.solar_zones", gc.fleet.solar_zones)):
        unknown = sorted(set(names) - zones)
        if unknown:
            raise bad(f"grid.{key}", f"zone '{unknown[0]}' is not in grid '{gc.case}'", f"zones are {', '.join(sorted(zones))}")
    ids = [str(b) for b in grid.bus_ids]
    for i, m in enumerate(sc.miners):
        if m.bus not in ids:
            near = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "")
            raise bad(f"miners[{i}].bus", f"bus '{m.bus}' is not in grid '{sc.grid.case}'", f"use one of its bus ids ({near})")
    rule = sc.population.placement
    if rule.startswith("zone:") and sum(sc.population.counts.values()):
        zones = sorted({str(z) for z in grid.bus_zone})
        if rule[5:] not in zones:
            raise bad("population.placement", f"no bus in zone '{rule[5:]}'", f"zones are {', '.join(zones)}")

    st = sc.storage
    if st.enabled and st.zone_share:
        zones = sorted({str(z) for z in grid.bus_zone})
        for z in st.zone_share:
            if z not in zones:
                raise bad("storage.zone_share", f"no bus in zone '{z}' of grid '{sc.grid.case}'", f"zones are {', '.join(zones)}")
        if sum(st.zone_share.values()) <= 0:
            raise bad("storage.zone_share", "the shares sum to 0", "give at least one zone a share > 0")

    hours = sc.run.hours
    if sc.grid.demand_csv is not None:
        try:
            _cached("series", sc.grid.demand_csv, hours, lambda: _demand_ok(sc.grid.demand_csv, hours))
        except ValueError as e:
            raise _data_error("grid.demand_csv", e) from None
    if mp.model == "series":
        from simulation.markets import load_price_csv

        try:
            _cached("price", mp.csv, hours, lambda: load_price_csv(mp.csv, "btc_usd", hours))
        except ValueError as e:
            raise _data_error("markets.btc_price.csv", e) from None
    if fees.model == "series":
        from simulation.bitcoin import SeriesFees

        try:
            _cached("fees", fees.series_csv, None, lambda: SeriesFees.from_csv(fees.series_csv))
        except ValueError as e:
            raise _data_error("bitcoin.fees.series_csv", e) from None


def _demand_ok(path, hours: int) -> bool:
    """Read the demand CSV against a flat base series (its values are checked, not kept)."""
    import numpy as np

    from simulation.grid import HourlySeries, load_series_csv

    flat = np.zeros(hours)
    load_series_csv(path, hours, base=HourlySeries(flat, flat, flat))
    return True
