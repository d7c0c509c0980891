"""ERCOT's 2024 hours: native load by weather zone and generation by fuel, hour by hour.

Source: ERCOT's public 2024 reports "Native Load" (hourly, by weather zone) and "Fuel Mix /
Interval Generation by Fuel" (hourly, by fuel; November and December are ERCOT's initial
settlement, the other months final), converted from ERCOT's spreadsheets into one table,
shipped as `data/ercot_2024_hourly.csv.gz` (values as ERCOT publishes them, MW to 0.1):

- `time_utc`: the start of the hour in UTC. ERCOT's hours are Central Prevailing Time,
  2024-01-01 00:00 to 2024-12-31 23:00 (the skipped spring hour absent, the repeated autumn
  hour twice), so in UTC the 8,784 hours run without a gap from 2024-01-01T06:00Z.
- native load MW by weather zone: `COAST, EAST, FWEST, NORTH, NCENT, SOUTH, SCENT, WEST`
  (`WEATHER_ZONES` names them as the case's zones; ACTIVSg2000's eight areas are these zones);
- generation MW by fuel: `biomass, coal, gas` (combustion turbines and steam), `gas_cc, hydro,
  nuclear, other` (includes storage discharge), `solar, wsl` (storage charging, < 0), `wind`.

Wind and solar are system totals (ERCOT's report has no zonal split): an hour's capacity factor
is the output over ERCOT's installed fleet at the end of 2024 (`WIND_MW_END_2024`,
`SOLAR_MW_END_2024`, domain notes: EIA-860 basis), the same in every zone. With a model fleet of
those capacities the year's wind and solar energy are ERCOT's (its fleet grew through 2024, so
the hourly factors of early 2024 are a little low against the fleet then installed).

A run hour maps to the data hour that holds its start (`ErcotYear.rows`); a run that goes past
the data's last hour (2025-01-01 05:00 UTC) takes the hour 364 days (52 weeks: same weekday,
same season) earlier, so a year from 2024-01-06 ends on 2024's first days of January.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulation.grid.matpower import DATA_DIR
from simulation.grid.network import zone_column

#: the shipped table (see the module docstring)
SHIPPED = DATA_DIR / "ercot_2024_hourly.csv.gz"
#: ERCOT's weather-zone columns -> the zone names of ACTIVSg2000 (its areas, `matpower.AREA_NAMES`)
WEATHER_ZONES = {"COAST": "Coast", "EAST": "East", "FWEST": "Far West", "NORTH": "North",
                 "NCENT": "North Central", "SOUTH": "South", "SCENT": "South Central", "WEST": "West"}
FUELS = ("biomass", "coal", "gas", "gas_cc", "hydro", "nuclear", "other", "solar", "wsl", "wind")
#: 2024-01-01 00:00 CST = 06:00 UTC: the first hour's start (unix s)
START_UNIX = 1_704_088_800
HOURS = 8784
#: hours a run past the data's end steps back (52 weeks: the same weekday)
WRAP_HOURS = 364 * 24
#: installed at the end of 2024 (domain notes "ERCOT 2024": EIA-860 basis, approximate), MW
WIND_MW_END_2024 = 38_700.0
SOLAR_MW_END_2024 = 22_200.0
#: ERCOT's 2024 hourly peak (native load, 2024-08-20; domain notes and the data), MW
PEAK_MW_2024 = 85_198.9


#: ERCOT's load zones as the weather zones they mostly cover (simulation/analysis/ercot.py says how)
LOAD_ZONES = {"LZ_HOUSTON": ("Coast",), "LZ_NORTH": ("North Central", "North", "East"),
              "LZ_SOUTH": ("South Central", "South"), "LZ_WEST": ("West", "Far West")}
#: price spike threshold of the load-zone report and summary, USD/MWh
SPIKE_USD_PER_MWH = 1000.0


def has_ercot_zones(hourly) -> bool:
    """Whether an hourly log (a mapping of columns) has every weather zone's price and demand."""
    return all(f"lmp_zone_{zone_column(z)}_usd_per_mwh" in hourly and f"demand_zone_{zone_column(z)}_mw" in hourly
               for zones in LOAD_ZONES.values() for z in zones)


def load_zone_prices(hourly) -> dict[str, np.ndarray]:
    """Each load zone's hourly price (USD/MWh) from an hourly log's zone columns: the
    demand-weighted mean of its weather zones' prices; and 'ERCOT', over all of them."""
    out, num_all, den_all = {}, 0.0, 0.0
    for lz, zones in LOAD_ZONES.items():
        num, den = 0.0, 0.0
        for z in zones:
            c = zone_column(z)
            d = np.asarray(hourly[f"demand_zone_{c}_mw"], float)
            num = num + np.asarray(hourly[f"lmp_zone_{c}_usd_per_mwh"], float) * d
            den = den + d
        out[lz] = num / np.where(den > 0, den, np.nan)
        num_all, den_all = num_all + num, den_all + den
    out["ERCOT"] = num_all / np.where(den_all > 0, den_all, np.nan)
    return out


def load_zone_summary(hourly) -> dict[str, float]:
    """Per load zone the mean and peak price (USD/MWh), and the hours ERCOT's load-weighted
    price exceeds `SPIKE_USD_PER_MWH` (summary keys)."""
    out = {}
    for lz, p in load_zone_prices(hourly).items():
        key = lz.lower()
        out[f"price_{key}_mean_usd_per_mwh"] = float(np.nanmean(p))
        out[f"price_{key}_peak_usd_per_mwh"] = float(np.nanmax(p))
    out["hours_price_above_1000"] = int(np.count_nonzero(load_zone_prices(hourly)["ERCOT"] > SPIKE_USD_PER_MWH))
    return out


@dataclass(frozen=True, eq=False)
class ErcotYear:
    """The shipped hours as arrays: `zone_load_mw` (hours, 8) in `zones` order (case names),
    `generation_mw` by fuel (hours,), `time_utc` (hours,) unix s of each hour's start."""

    time_utc: np.ndarray
    zones: tuple[str, ...]
    zone_load_mw: np.ndarray
    generation_mw: dict[str, np.ndarray]

    @property
    def hours(self) -> int:
        return len(self.time_utc)

    def rows(self, start_unix: float, hours: int) -> np.ndarray:
        """The data row of each of `hours` run hours from `start_unix` (the row holding the
        hour's start; past the end, 364 days earlier)."""
        t = float(start_unix) + 3600.0 * np.arange(int(hours))
        row = np.floor((t - self.time_utc[0]) / 3600.0).astype(np.int64)
        if row.size and row[0] < 0:
            first = dt_text(self.time_utc[0])
            raise ValueError(f"bitcoin.time: the run starts before ERCOT's data ({first}); start in 2024 or use "
                             "grid.hours = 'synthetic'")
        while np.any(row >= self.hours):
            row = np.where(row >= self.hours, row - WRAP_HOURS, row)
        return row

    def wind_cf(self, rows: np.ndarray, fleet_mw: float = WIND_MW_END_2024) -> np.ndarray:
        """Hourly wind capacity factor: ERCOT's wind output over `fleet_mw`, in [0, 1]."""
        return np.clip(self.generation_mw["wind"][rows] / fleet_mw, 0.0, 1.0)

    def solar_cf(self, rows: np.ndarray, fleet_mw: float = SOLAR_MW_END_2024) -> np.ndarray:
        """Hourly solar capacity factor: ERCOT's solar output over `fleet_mw`, in [0, 1]."""
        return np.clip(self.generation_mw["solar"][rows] / fleet_mw, 0.0, 1.0)


def dt_text(unix: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(float(unix), dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


_CACHE: dict[str, ErcotYear] = {}


def load_ercot_2024(path: str | Path = SHIPPED) -> ErcotYear:
    """The shipped ERCOT 2024 table (read once per process; arrays read-only)."""
    key = str(path)
    if key not in _CACHE:
        _CACHE[key] = _read(Path(path))
    return _CACHE[key]


def _read(path: Path) -> ErcotYear:
    import datetime as dt

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        text = fh.read()
    want = ["time_utc", *WEATHER_ZONES, *FUELS]
    if header != want:
        raise ValueError(f"{path}: columns {header} are not {want}; rebuild it with simulation.grid.ercot.write_shipped")
    lines = text.split()
    times = np.array([dt.datetime.strptime(s.split(",", 1)[0], "%Y-%m-%dT%H:%M:%SZ")
                     .replace(tzinfo=dt.timezone.utc).timestamp() for s in lines])
    values = np.loadtxt(io.StringIO(text), delimiter=",", usecols=range(1, len(want)))
    if np.any(np.diff(times) != 3600.0) or times[0] != START_UNIX:
        raise ValueError(f"{path}: hours must run hour by hour from 2024-01-01T06:00Z; rebuild it")
    for a in (times, values):
        a.flags.writeable = False
    nz = len(WEATHER_ZONES)
    return ErcotYear(time_utc=times, zones=tuple(WEATHER_ZONES.values()), zone_load_mw=values[:, :nz],
                     generation_mw={f: values[:, nz + i] for i, f in enumerate(FUELS)})


def write_shipped(src_dir: str | Path, out: str | Path = SHIPPED) -> Path:
    """Build the shipped table from ERCOT's two converted files in `src_dir`
    (`load_by_weather_zone_2024.csv`, `generation_by_fuel_2024.csv`: `time_utc` then MW columns),
    joined on `time_utc`, values copied as text (no rounding); gzip without a time stamp, so the
    same input gives the same bytes."""
    import csv

    src = Path(src_dir)
    with open(src / "load_by_weather_zone_2024.csv", newline="") as fh:
        load = list(csv.DictReader(fh))
    with open(src / "generation_by_fuel_2024.csv", newline="") as fh:
        gen = list(csv.DictReader(fh))
    if [r["time_utc"] for r in load] != [r["time_utc"] for r in gen]:
        raise ValueError(f"{src}: the load and generation files' hours differ; give ERCOT's files for the same year")
    rows = [",".join(["time_utc", *WEATHER_ZONES, *FUELS])]
    for a, b in zip(load, gen):
        rows.append(",".join([a["time_utc"], *(a[z] for z in WEATHER_ZONES), *(b[f] for f in FUELS)]))
    out = Path(out)
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
        fh.write(("\n".join(rows) + "\n").encode())
    return out


if __name__ == "__main__":  # python -m simulation.grid.ercot SRC_DIR: rebuild the shipped table
    import sys

    print(write_shipped(sys.argv[1]))
