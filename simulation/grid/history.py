"""The hourly LMPs a grid has cleared, per bus, for the last few weeks (a ring buffer; the model's
one record of the prices cleared): the latest price, the day-ahead forecast price-taking load
schedules on, and the price sample miners value flexible hashing on."""

from __future__ import annotations

import numpy as np

#: days of the same hour the day-ahead forecast takes the median of
FORECAST_DAYS = 7


class LmpHistory:
    """The last `hours` LMP vectors (USD/MWh per bus), oldest first once full."""

    def __init__(self, n_bus: int, hours: int = 672) -> None:
        if hours < 24 * FORECAST_DAYS:
            raise ValueError(f"hours must be >= {24 * FORECAST_DAYS} (got {hours}): the forecast needs a week")
        self._buf = np.zeros((int(hours), n_bus))
        self._n = 0  # vectors pushed so far

    def push(self, lmp_usd_per_mwh: np.ndarray) -> None:
        self._buf[self._n % len(self._buf)] = lmp_usd_per_mwh
        self._n += 1

    @property
    def latest(self) -> np.ndarray:
        """The last LMP vector pushed (USD/MWh per bus): the price the grid last cleared at."""
        if not self._n:
            raise ValueError("latest: no prices pushed yet")
        return self._buf[(self._n - 1) % len(self._buf)]

    def day_ahead(self, buses: np.ndarray | None = None) -> np.ndarray:
        """Forecast of the next hour's LMP at every bus (or at `buses` only): the median of the
        same hour over the last week's days (as many as seen). A scarcity hour caused by load
        reacting to the forecast itself moves the median only when it repeats for days, so the
        forecast does not flip between scarcity and normal prices hour after hour (a cobweb)."""
        if self._n < 24:
            raise ValueError("day_ahead: push at least a day of prices first")
        lags = np.arange(24, 24 * FORECAST_DAYS + 1, 24)
        lags = lags[lags <= self._n]
        rows = (self._n - lags) % len(self._buf)
        days = self._buf[rows]  # (days, buses): a copy, rows of the buffer read whole
        if buses is not None:
            days = days.take(buses, axis=1)
        days.sort(axis=0)
        k = len(rows)
        return days[k // 2] if k % 2 else 0.5 * (days[k // 2 - 1] + days[k // 2])

    def day_ahead_profile(self, buses: np.ndarray | None = None) -> np.ndarray:
        """(24, buses) forecast of the LMP at every bus (or at `buses`) for the next hour and the 23
        after it: row k is the median of the hour k hours ahead's same hour of the day over the last
        week's days (as many whole days as seen). Row 0 is `day_ahead`."""
        if self._n < 24:
            raise ValueError("day_ahead_profile: push at least a day of prices first")
        days = min(FORECAST_DAYS, self._n // 24)
        rows = (self._n - 24 * days + np.arange(24 * days)) % len(self._buf)
        block = self._buf[rows] if buses is None else self._buf[rows[:, None], buses]
        block = block.reshape(days, 24, -1)  # [day, k]: 24 (days - day) - k hours before the next
        block.sort(axis=0)
        return block[days // 2] if days % 2 else 0.5 * (block[days // 2 - 1] + block[days // 2])

    def at_bus(self, bus: int) -> np.ndarray:
        """Every recorded hour's LMP at `bus` (USD/MWh), in no particular order."""
        return self._buf[:min(self._n, len(self._buf)), bus].copy()
