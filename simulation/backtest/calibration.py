"""Calibrating the rest of the world's fleet for the 2024 backtest, on data before block 840,000 only.

Which figures, and how (docs/validation.md, "Backtest", repeats this):

- **Installed hash-rate growth (new ASICs shipped, net of retirements)**: the least-squares slope
  of the hash rate the real chain measured, epoch by epoch (difficulty x 2^32 x 2016 / the
  epoch's timespan; `simulation.bitcoin.history.epoch_rates`), over the epochs of the twelve
  months before the halving that end by block 838,656, the last retarget before 840,000.
  Before the halving hashprice sat far above almost every machine's power cost, so the fleet
  online was the fleet installed and its growth is what was shipped and plugged in.
- **Efficiency mix**: a log-normal around a fleet mean of 24 J/TH (public fleet figures: Core
  Scientific's 2024 fleet ~23.6 J/TH) and new machines at 16 J/TH (manufacturer specs: S21
  17.5, S21+ Hydro ~15, S21 XP 13.5). Figures, not fitted.
- **Power-cost distribution** (log-normal, median 45 USD/MWh, sigma 0.5) and **response speed**
  (72 h time constant): the project's defaults from before this backtest existed, kept as they
  are. The chain before 840,000 cannot identify them: with every cohort profitable nothing
  switched off; the halving is precisely what would identify them, and it is out of sample.
- **Start level**: the chain point's own difficulty (the rest of the world is its implied hash
  rate minus our miners), as in every scenario.

Nothing here reads a row after the calibration end: `calibrate_fleet` refuses to.
Run `python -m simulation.backtest.calibration` to print the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.bitcoin.history import EpochRate, epoch_rates
from simulation.bitcoin.network import HALVING_2024

#: data at or after this height is out of sample (the 2024 halving)
CALIBRATION_END_HEIGHT = 840_000
#: the calibration window: the twelve months before the halving
WINDOW_DAYS = 365.0
SECONDS_PER_MONTH = 730.0 * 3600.0   # the fleet's month (simulation.markets.rest_of_world.HOURS_PER_MONTH)

#: figures taken as they are (not fitted): see the module docstring
MEAN_J_PER_TH = 24.0
NEW_J_PER_TH = 16.0
POWER_COST_USD_PER_MWH = 45.0
RESPONSE_HOURS = 72.0


@dataclass(frozen=True)
class FleetCalibration:
    """The calibrated rest-of-world figures and the evidence behind the fitted one."""

    growth_eh_s_per_month: float
    mean_j_per_th: float
    new_j_per_th: float
    power_cost_usd_per_mwh: float
    response_hours: float
    epochs: tuple[EpochRate, ...]
    trend_eh_s_at_end: float

    def toml(self) -> str:
        """The `[rest_of_world]` table these figures give."""
        return ("[rest_of_world]\n"
                f"growth_eh_s_per_month = {self.growth_eh_s_per_month:.1f}\n"
                f"mean_j_per_th = {self.mean_j_per_th}\n"
                f"new_j_per_th = {self.new_j_per_th}\n"
                f"power_cost_usd_per_mwh = {self.power_cost_usd_per_mwh}\n"
                f"response_hours = {self.response_hours}\n")


def calibration_epochs(end_height: int = CALIBRATION_END_HEIGHT, window_days: float = WINDOW_DAYS,
                       end_time: int = HALVING_2024.time) -> list[EpochRate]:
    """The real epochs of the window: they end at or before the last boundary below `end_height`
    and start no earlier than `window_days` before `end_time`."""
    if end_height > CALIBRATION_END_HEIGHT:
        raise ValueError(f"end_height {end_height:,} is after block {CALIBRATION_END_HEIGHT:,}: the backtest "
                         "calibrates on data before the halving only")
    return [e for e in epoch_rates() if e.end_height < end_height and e.start_time >= end_time - window_days * 86400]


def growth_slope_eh_s_per_month(epochs: list[EpochRate]) -> tuple[float, float]:
    """Least-squares line through the epochs' measured hash rate against their mid time: its slope
    (EH/s per month) and its value at the last epoch's end (EH/s)."""
    if len(epochs) < 3:
        raise ValueError(f"need at least 3 epochs to fit a growth rate (got {len(epochs)})")
    t = np.array([e.mid_time for e in epochs])
    y = np.array([e.eh_s for e in epochs])
    slope, intercept = np.polyfit(t - t[0], y, 1)
    return float(slope * SECONDS_PER_MONTH), float(intercept + slope * (epochs[-1].end_time - t[0]))


def calibrate_fleet() -> FleetCalibration:
    epochs = calibration_epochs()
    growth, at_end = growth_slope_eh_s_per_month(epochs)
    return FleetCalibration(growth_eh_s_per_month=growth, mean_j_per_th=MEAN_J_PER_TH, new_j_per_th=NEW_J_PER_TH,
                            power_cost_usd_per_mwh=POWER_COST_USD_PER_MWH, response_hours=RESPONSE_HOURS,
                            epochs=tuple(epochs), trend_eh_s_at_end=at_end)


def main() -> None:
    import datetime as dt

    c = calibrate_fleet()
    day = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).date()  # noqa: E731
    print(f"calibration window: {len(c.epochs)} real epochs, blocks {c.epochs[0].height:,}..{c.epochs[-1].end_height:,} "
          f"({day(c.epochs[0].start_time)} .. {day(c.epochs[-1].end_time)}), all before block {CALIBRATION_END_HEIGHT:,}")
    for e in c.epochs:
        print(f"  {e.height:>7,}  {day(e.start_time)}  difficulty {e.difficulty / 1e12:6.2f} T  measured {e.eh_s:6.1f} EH/s")
    print(f"installed growth (least-squares slope): {c.growth_eh_s_per_month:.1f} EH/s per month; "
          f"trend at block {c.epochs[-1].end_height:,}: {c.trend_eh_s_at_end:.0f} EH/s\n")
    print(c.toml(), end="")


if __name__ == "__main__":
    main()
