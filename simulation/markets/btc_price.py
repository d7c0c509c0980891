"""BTC price paths, one value per simulated hour: geometric Brownian motion with Poisson
log-normal jumps (Merton 1976), or a replayed series from a CSV file."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from simulation.timecolumn import check_time_column, read_csv_rows

HOURS_PER_YEAR = 8760.0


class GbmJumpPrice:
    """Merton jump-diffusion sampled hourly, with `drift_per_year` (mu) the expected growth rate
    of the *price*: E[S_t] = s0 e^(mu t), so mu = 0 is a martingale, whatever the volatility and
    the jumps. Each hour the log price moves by

        (mu - sigma^2 / 2 - lambda k) dt + sigma sqrt(dt) Z + (the hour's jumps),
        k = E[e^J] - 1 = exp(m_J + s_J^2 / 2) - 1

    (Merton 1976: -sigma^2/2 is the lognormal's convexity, lambda k compensates the jumps' mean
    effect on the price). With `n_paths` the price is an array of that many independent paths
    (for checking the expectation; the model runs one path)."""

    def __init__(self, s0_usd: float, drift_per_year: float, vol_per_year: float, jump_rate_per_year: float,
                 jump_mean_log: float, jump_std_log: float, rng: np.random.Generator,
                 n_paths: int | None = None) -> None:
        if not s0_usd > 0:
            raise ValueError(f"markets.btc_price.s0_usd: {s0_usd} must be > 0")
        dt = 1.0 / HOURS_PER_YEAR
        self.n_paths = n_paths
        self.price_usd = float(s0_usd) if n_paths is None else np.full(int(n_paths), float(s0_usd))
        self._mu = log_drift_per_year(drift_per_year, vol_per_year, jump_rate_per_year, jump_mean_log,
                                      jump_std_log) * dt
        self._sigma = vol_per_year * math.sqrt(dt)
        self._jump_p = jump_rate_per_year * dt
        self._jump_mean, self._jump_std = jump_mean_log, jump_std_log
        self._rng = rng

    def step(self):
        """Advance one hour; the new price (USD; an array with `n_paths`)."""
        r = self._rng
        if self.n_paths is not None:
            x = self._mu + self._sigma * r.standard_normal(self.n_paths)
            n = r.poisson(self._jump_p, self.n_paths)
            if n.any():
                x += np.where(n > 0, r.normal(self._jump_mean * n, self._jump_std * np.sqrt(n)), 0.0)
            self.price_usd = self.price_usd * np.exp(x)
            return self.price_usd
        x = self._mu + self._sigma * r.standard_normal()
        n = r.poisson(self._jump_p)
        if n:
            x += r.normal(self._jump_mean * n, self._jump_std * math.sqrt(n))
        self.price_usd *= math.exp(x)
        return self.price_usd


def log_drift_per_year(drift_per_year: float, vol_per_year: float, jump_rate_per_year: float = 0.0,
                       jump_mean_log: float = 0.0, jump_std_log: float = 0.0) -> float:
    """The drift of the log price (1/yr) that gives the price an expected growth of
    `drift_per_year`: mu - sigma^2/2 - lambda (exp(m_J + s_J^2/2) - 1)."""
    return (drift_per_year - 0.5 * vol_per_year ** 2
            - jump_rate_per_year * math.expm1(jump_mean_log + 0.5 * jump_std_log ** 2))


class SeriesPrice:
    """Replay an hourly series: the first `step()` gives element 0, the next element 1, ..."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, float)
        self._i = 0

    def step(self) -> float:
        if self._i >= len(self.values):
            raise ValueError(f"markets.btc_price.csv: the series has {len(self.values)} hours but the run needs "
                             "more; give a longer series or fewer run.hours")
        v = float(self.values[self._i])
        self._i += 1
        return v


def load_price_csv(path: str | Path, column: str, hours: int | None = None) -> np.ndarray:
    """One positive, finite number per hour from `column` of a CSV file with a header row (a
    time column, if any, must run hour by hour: see `simulation.timecolumn`). With `hours`, the
    file needs at least that many rows. Bad input is one ValueError line naming the file and row."""
    header, rows = read_csv_rows(path)
    if column not in header:
        raise ValueError(f"{path}: no column '{column}' (columns: {', '.join(header)}); add a '{column}' column")
    check_time_column(str(path), header, rows)
    if hours is not None and len(rows) < hours:
        raise ValueError(f"{path}: has {len(rows)} hours but the run needs {hours}; give a longer series or "
                         "fewer run.hours")
    j = header.index(column)
    out = np.empty(len(rows))
    for i, (line, row) in enumerate(rows):
        text = row[j].strip() if j < len(row) else ""
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{path}: row {line} has {column}={text!r}; every hour needs a positive number "
                             "(fill or interpolate the gap)")
        out[i] = v
    return out


def load_price_times(path: str | Path) -> np.ndarray | None:
    """The `time_unix` column of a price CSV (start of each hour, unix s), or None without one."""
    with Path(path).open(newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        if rows.fieldnames is None or "time_unix" not in rows.fieldnames:
            return None
        try:
            return np.array([int(r["time_unix"]) for r in rows], np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"markets.btc_price.csv: {path} has a time_unix that is not a whole number of "
                             "seconds; write unix times") from None


def price_window(values: np.ndarray, times: np.ndarray, start_unix: int, hours: int, path: str | Path,
                 *, field: str = "markets.btc_price.csv") -> np.ndarray:
    """The `hours` hourly prices of a run starting at `start_unix` from a timed series (rows one
    hour apart): from the row whose hour holds the start. A series that does not cover the run
    is a one-line error naming the file and the key."""
    import datetime as _dt

    iso = lambda t: _dt.datetime.fromtimestamp(int(t), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
    if len(times) != len(values) or (len(times) > 1 and not np.all(np.diff(times) == 3600)):
        raise ValueError(f"{field}: {path} time_unix must rise by 3,600 s from row to row; give one row per hour")
    end_needed = start_unix + 3600 * hours
    covers = f"covers {iso(times[0])} to {iso(times[-1] + 3600)}" if len(times) else "has no rows"
    if not len(times) or not times[0] <= start_unix < times[-1] + 3600:
        raise ValueError(f"{field}: {path} {covers} but the run starts at {iso(start_unix)} (bitcoin.time); "
                         "give a series covering the run")
    i0 = int((start_unix - times[0]) // 3600)
    if len(values) - i0 < hours:
        raise ValueError(f"{field}: {path} {covers} but the run needs prices to {iso(end_needed)} (run.hours = "
                         f"{hours}); give a series covering the run or fewer run.hours")
    return values[i0:i0 + hours]
