"""Hourly exogenous series for the grid: system demand, wind and solar capacity factors.

`synthetic_series` draws them from simple, documented shapes (all randomness from the passed
`numpy.random.Generator`, in a fixed order, so a seed gives the same series bit for bit);
`load_series_csv` reads measured ones from a CSV file.

Synthetic demand (MW) = peak_mw x shape / max(shape over a year) x noise x heat wave, where
shape = daily x seasonal x weekday:
- daily: overnight trough (~4 am), a morning shoulder and an early-evening peak (~5-6 pm);
  the evening peak is sharper in summer (air conditioning);
- seasonal: a summer peak (late July) and a smaller winter one (mid January), as in ERCOT;
- weekday: Saturdays and Sundays at `weekend_factor` (0.93);
- noise: multiplicative AR(1), hourly autocorrelation 0.9, stationary std `noise`;
- heat wave: x `heatwave_demand_factor` over [start_day, start_day + days) (whole days of 24 h
  from the series start); wind output x `heatwave_wind_factor` there (still, hot air).
So demand peaks near `peak_mw` on a summer weekday evening (noise and heat waves go above).

Solar capacity factor: clear-sky from the sun's elevation at `latitude_deg` (declination by
day of year, hour angle by clock hour), 0.9 x sin(elevation)^0.7 (flat-topped, like a
tracking plant), times a clearness index: a day-to-day AR(1) cloud state (autocorrelation
0.6) plus hourly flicker, in [0.15, 1]. Annual mean ~0.2 (utility PV in Texas: ~0.2-0.25).

Wind capacity factor: logistic of an hourly AR(1) Gaussian state (autocorrelation 0.97,
weather systems lasting ~1-2 days), plus a diurnal term (windier at night) and a seasonal one
(windier in spring, calmer in late summer); annual mean ~0.35-0.4.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SERIES_COLUMNS = ("demand_mw", "wind_cf", "solar_cf")
#: CSV columns that are read past (an index or time stamp)
INDEX_COLUMNS = ("time", "timestamp", "datetime", "hour")


@dataclass(frozen=True, eq=False)
class HourlySeries:
    """Hourly system demand (MW) and wind/solar capacity factors (0-1), one entry per hour."""

    demand_mw: np.ndarray
    wind_cf: np.ndarray
    solar_cf: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in SERIES_COLUMNS:
            a = np.array(getattr(self, name), dtype=float)
            if a.ndim != 1:
                raise ValueError(f"HourlySeries.{name}: must be 1-D (got shape {a.shape}); give one value per hour")
            n = len(a) if n is None else n
            if len(a) != n:
                raise ValueError(f"HourlySeries.{name}: has {len(a)} hours, demand_mw has {n}; give equal lengths")
            bad = np.flatnonzero(~np.isfinite(a) | (a < 0) | ((a > 1) if name != "demand_mw" else False))
            if bad.size:
                rng = ">= 0" if name == "demand_mw" else "in [0, 1]"
                raise ValueError(f"HourlySeries.{name}[{bad[0]}] = {a[bad[0]]} must be finite and {rng}")
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @property
    def hours(self) -> int:
        return len(self.demand_mw)


def _calendar(start, hours: int):
    """(hour of day, weekday 0=Monday, fractional day of year 0-365) per hour, local clock."""
    if isinstance(start, dt.datetime):
        hour0, wd0 = start.hour + start.minute / 60.0, start.weekday()
        doy0 = start.timetuple().tm_yday - 1
    elif isinstance(start, (int, float, np.integer, np.floating)) and 1 <= start <= 366:
        hour0, wd0, doy0 = 0.0, 0, float(start) - 1.0  # day 1 counted as a Monday
    else:
        raise ValueError(f"start: {start!r} is neither a datetime nor a day of year in 1..366; "
                         "give the local start time (datetime) or the day of year")
    t = hour0 + np.arange(hours, dtype=float)
    day = np.floor(t / 24.0)
    hod = t - 24.0 * day
    weekday = (wd0 + day.astype(np.int64)) % 7
    doy = (doy0 + t / 24.0) % 365.25
    return hod, weekday, doy


def _demand_shape(hod, weekday, doy, weekend_factor: float, summer_peak_doy: float = 205.0):
    yr = 2 * np.pi * doy / 365.25
    summer = np.clip(np.cos(yr - 2 * np.pi * summer_peak_doy / 365.25), 0, None)  # 0..1, peak ~24 July by default
    winter = np.clip(np.cos(yr - 2 * np.pi * 15 / 365.25), 0, None)  # 0..1, peak ~15 January
    seasonal = 1.0 + 0.22 * summer ** 1.5 + 0.08 * winter ** 2
    evening = np.exp(-0.5 * ((hod - 17.5) / (2.6 - 0.6 * summer)) ** 2)
    morning = np.exp(-0.5 * ((hod - 8.0) / 2.0) ** 2)
    night = np.exp(-0.5 * (((hod - 4.0 + 12) % 24 - 12) / 3.0) ** 2)
    daily = 0.82 + (0.16 + 0.10 * summer) * evening + (0.05 + 0.05 * winter) * morning - 0.10 * night
    week = np.where(weekday >= 5, weekend_factor, 1.0)
    return daily * seasonal * week


_SHAPE_MAX: dict[tuple[float, float], float] = {}


def _shape_max(weekend_factor: float, summer_peak_doy: float = 205.0) -> float:
    """Largest value of the deterministic demand shape over a year of weekdays (15-min grid)."""
    key = (weekend_factor, summer_peak_doy)
    if key not in _SHAPE_MAX:
        t = np.arange(0, 365.25 * 24, 0.25)
        _SHAPE_MAX[key] = float(_demand_shape(t % 24, np.zeros(t.size), t / 24.0, weekend_factor,
                                              summer_peak_doy).max())
    return _SHAPE_MAX[key]


def _ar1(rng: np.random.Generator, n: int, phi: float, std: float) -> np.ndarray:
    """Stationary AR(1) with autocorrelation phi and standard deviation std (n draws from rng)."""
    eps = rng.standard_normal(n)
    if n == 0:
        return eps
    # x[t] = phi x[t-1] + std sqrt(1 - phi^2) eps[t], in plain Python: the same numbers as
    # scipy.signal.lfilter (2 ms a year), without importing scipy.signal (0.5 s)
    x = (eps * (std * math.sqrt(1 - phi * phi))).tolist()
    x[0] = std * float(eps[0])
    for t in range(1, n):
        x[t] += phi * x[t - 1]
    return np.array(x)


def synthetic_series(*, hours: int, start, peak_mw: float, rng: np.random.Generator, noise: float = 0.02,
                     weekend_factor: float = 0.93, latitude_deg: float = 32.0,
                     heatwave_start_day: int | None = None, heatwave_days: int = 7,
                     heatwave_demand_factor: float = 1.18, heatwave_wind_factor: float = 0.7,
                     summer_peak_doy: float = 205.0) -> HourlySeries:
    """Synthetic hourly demand, wind and solar (see the module docstring for the shapes).

    start: local start time (`datetime`) or day of year (1-366). peak_mw: system peak demand.
    summer_peak_doy: day of year of the summer peak (205: late July; ERCOT's are mid-August, ~225).
    """
    if not 1 <= summer_peak_doy <= 366:
        raise ValueError(f"summer_peak_doy must be a day of year in 1..366 (got {summer_peak_doy}); e.g. 225 (mid-August)")
    if not isinstance(hours, (int, np.integer)) or hours < 1:
        raise ValueError(f"hours must be an integer >= 1 (got {hours!r}); give the number of hours to simulate")
    if not (isinstance(peak_mw, (int, float, np.integer, np.floating)) and math.isfinite(peak_mw) and peak_mw >= 0):
        raise ValueError(f"peak_mw must be a finite number >= 0 (got {peak_mw!r}); give the system peak demand in MW")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (got {type(rng).__name__}); "
                         "pass numpy.random.default_rng(seed)")
    if not 0 <= noise <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5] (got {noise}); give the relative std of hourly demand noise")
    if not 0 < weekend_factor <= 1.5:
        raise ValueError(f"weekend_factor must be in (0, 1.5] (got {weekend_factor}); e.g. 0.93")
    if not -66 <= latitude_deg <= 66:
        raise ValueError(f"latitude_deg must be in [-66, 66] (got {latitude_deg}); give the grid's latitude")
    if heatwave_start_day is not None:
        if heatwave_start_day < 0 or heatwave_days < 1:
            raise ValueError(f"heatwave: start_day {heatwave_start_day} must be >= 0 and days {heatwave_days} >= 1; "
                             "give the first day (from the series start) and the length in days")
        if heatwave_demand_factor < 0 or not 0 <= heatwave_wind_factor <= 1:
            raise ValueError(f"heatwave: demand_factor ({heatwave_demand_factor}) must be >= 0 and wind_factor "
                             f"({heatwave_wind_factor}) in [0, 1]")
    hod, weekday, doy = _calendar(start, int(hours))
    n = int(hours)

    # demand (random draws: 1. demand noise)
    shape = (_demand_shape(hod, weekday, doy, weekend_factor, summer_peak_doy)
             / _shape_max(weekend_factor, summer_peak_doy))
    demand = float(peak_mw) * shape * np.maximum(1.0 + _ar1(rng, n, 0.9, noise), 0.0)

    # wind (2. wind state)
    yr = 2 * np.pi * doy / 365.25
    z = _ar1(rng, n, 0.97, 1.0)
    x = -0.55 + 1.25 * z + 0.35 * np.cos(2 * np.pi * (hod - 2.0) / 24) + 0.30 * np.cos(yr - 2 * np.pi * 100 / 365.25)
    wind = 1.0 / (1.0 + np.exp(-x))

    # solar (3. daily cloud state, 4. hourly flicker)
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    lat = math.radians(latitude_deg)
    omega = np.radians(15.0 * (hod - 12.0))
    sin_elev = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(omega)
    clear = 0.9 * np.clip(sin_elev, 0.0, None) ** 0.7
    day = np.floor((np.arange(n) + hod[0]) / 24.0).astype(np.int64)
    cloud_day = _ar1(rng, int(day[-1]) + 1, 0.6, 1.0)[day]
    flicker = rng.standard_normal(n)
    clearness = np.clip(0.78 + 0.22 * cloud_day + 0.06 * flicker, 0.15, 1.0)
    solar = np.clip(clear * clearness, 0.0, 1.0)

    if heatwave_start_day is not None:
        days_from_start = np.arange(n) // 24  # whole days since the series start
        on = (days_from_start >= heatwave_start_day) & (days_from_start < heatwave_start_day + heatwave_days)
        demand = np.where(on, demand * heatwave_demand_factor, demand)
        wind = np.where(on, wind * heatwave_wind_factor, wind)
    return HourlySeries(demand_mw=demand, wind_cf=wind, solar_cf=solar)


def coastal_wind_cf(*, hours: int, start, rng: np.random.Generator, heatwave_start_day: int | None = None,
                    heatwave_days: int = 7, heatwave_wind_factor: float = 0.7) -> np.ndarray:
    """Synthetic hourly capacity factor of coastal wind (stated synthetic, shaped after ERCOT's
    Gulf-coast fleet): a sea breeze that peaks in the late afternoon (~5 pm), strongest in summer,
    when inland West Texas wind is weakest, on top of its own weather state (an hourly AR(1),
    autocorrelation 0.95); annual mean ~0.35. Draws from `rng` only (one normal per hour)."""
    hod, _, doy = _calendar(start, int(hours))
    yr = 2 * np.pi * doy / 365.25
    summer = np.clip(np.cos(yr - 2 * np.pi * 205 / 365.25), 0, None)
    z = _ar1(rng, int(hours), 0.95, 1.0)
    x = -0.75 + 1.1 * z + (0.35 + 0.45 * summer) * np.cos(2 * np.pi * (hod - 17.0) / 24)
    cf = 1.0 / (1.0 + np.exp(-x))
    if heatwave_start_day is not None:
        day = np.arange(int(hours)) // 24
        on = (day >= heatwave_start_day) & (day < heatwave_start_day + heatwave_days)
        cf = np.where(on, cf * heatwave_wind_factor, cf)
    return cf


def zonal_demand_mw(system_mw: float, mean_mw: float, share: np.ndarray, flatness: np.ndarray) -> np.ndarray:
    """(n_bus,) demand per bus for one hour: zones with `flatness` f > 0 follow the system's shape
    only in part (an industrial zone's load hardly moves with the weather: f = 1 is flat at its
    share of the mean), `(1 - f) + f x mean / system` times the bus's share; then scaled so the
    buses add up to the system's demand."""
    w = share * ((1.0 - flatness) + flatness * (mean_mw / system_mw if system_mw > 0 else 1.0))
    total = w.sum()
    return w * (system_mw / total) if total > 0 else share * system_mw


def load_series_csv(path: str | Path, hours: int | None = None, base: HourlySeries | None = None) -> HourlySeries:
    """Hourly series from a CSV file with a header row and one column per series.

    Columns: any of `demand_mw` (MW, >= 0), `wind_cf`, `solar_cf` (0-1); an index column
    (`time`, `timestamp`, `datetime` or `hour`) is read past. Series missing from the file
    come from `base`. With `hours`, the file needs at least that many data rows (the first
    `hours` are used). Bad input raises ValueError naming the file, column and row (data rows
    count from 1; the header is line 1 of the file).
    """
    from simulation.timecolumn import check_time_column, read_csv_rows

    path = Path(path)
    where = str(path)
    try:
        header, numbered = read_csv_rows(path)
    except ValueError as e:
        if "cannot read" in str(e):
            raise ValueError(f"{where}: cannot read the series file; give the path of a CSV file") from None
        raise
    rows = [header] + [cells for _, cells in numbered]
    header = [c.strip() for c in rows[0]]
    for c in header:
        if c not in SERIES_COLUMNS and c.lower() not in INDEX_COLUMNS:
            raise ValueError(f"{where}: column {c!r} is unknown; use {', '.join(SERIES_COLUMNS)} "
                             f"(and optionally one of {', '.join(INDEX_COLUMNS)})")
    dup = [c for c in header if header.count(c) > 1]
    if dup:
        raise ValueError(f"{where}: column {dup[0]!r} appears twice; keep one")
    cols = [c for c in header if c in SERIES_COLUMNS]
    if not cols:
        raise ValueError(f"{where}: no series column; the header needs at least one of {', '.join(SERIES_COLUMNS)}")
    data = rows[1:]
    n = len(data) if hours is None else int(hours)
    if hours is not None and (n < 1 or len(data) < n):
        raise ValueError(f"{where}: has {len(data)} data rows, needs {n} (one per simulated hour); "
                         "give a longer series or simulate fewer hours")
    if n < 1:
        raise ValueError(f"{where}: no data rows under the header; give one row per hour")
    check_time_column(where, header, numbered[:n])
    values = {}
    for c in cols:
        j = header.index(c)
        out = np.empty(n)
        for r in range(n):
            row = data[r]
            cell = row[j].strip() if j < len(row) else ""
            try:
                v = float(cell)
            except ValueError:
                raise ValueError(f"{where}: column {c!r}, row {r + 1}: {cell!r} is not a number; "
                                 "give a number in every cell") from None
            if not math.isfinite(v):
                raise ValueError(f"{where}: column {c!r}, row {r + 1}: {cell!r} is not a finite number; "
                                 "fill the gap (e.g. interpolate)")
            if v < 0 or (c != "demand_mw" and v > 1):
                need = ">= 0 MW" if c == "demand_mw" else "a capacity factor in [0, 1]"
                raise ValueError(f"{where}: column {c!r}, row {r + 1}: {v:g} must be {need}; fix the value")
            out[r] = v
        values[c] = out
    for c in SERIES_COLUMNS:
        if c not in values:
            if base is None:
                raise ValueError(f"{where}: column {c!r} is missing and no base series was given; "
                                 "add the column or pass base=")
            b = getattr(base, c)
            if len(b) < n:
                raise ValueError(f"{where}: base series has {len(b)} hours, the file {n}; give a base at least as long")
            values[c] = np.asarray(b[:n], float)
    return HourlySeries(**values)
