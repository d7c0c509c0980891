"""Hourly series: the synthetic shapes, reproducibility, the heat wave, and CSV loading."""

import datetime as dt

import numpy as np
import pytest

from simulation.grid import HourlySeries, load_series_csv, synthetic_series

START = dt.datetime(2024, 1, 1)  # a Monday


def year(seed=1, **kw):
    return synthetic_series(hours=8784, start=START, peak_mw=9000.0, rng=np.random.default_rng(seed), **kw)


def test_same_seed_same_series_bit_for_bit_and_different_seed_differs():
    a, b, c = year(3), year(3), year(4)
    for name in ("demand_mw", "wind_cf", "solar_cf"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))


def test_demand_shape_peak_daily_weekly_and_seasonal():
    s = year(noise=0.0)
    d = s.demand_mw
    assert d.max() == pytest.approx(9000.0, rel=0.01)  # peaks at the given peak
    assert 0.55 < d.mean() / d.max() < 0.75  # a realistic load factor
    t = np.arange(d.size)
    hod, day = t % 24, t // 24
    weekday = (day % 7) < 5  # 1 Jan 2024 is a Monday
    days = d.reshape(-1, 24)
    assert np.all(days.argmax(axis=1) >= 15) and np.all(days.argmin(axis=1) <= 6)  # evening peak, night trough
    assert d[weekday].mean() > d[~weekday].mean() * 1.05
    july, april = d[(day >= 182) & (day < 213)].mean(), d[(day >= 91) & (day < 121)].mean()
    assert july > april * 1.1  # summer peak
    peak_at = int(d.argmax())
    assert 150 <= peak_at // 24 <= 260 and 15 <= hod[peak_at] <= 20 and weekday[peak_at]


def test_solar_is_zero_at_night_and_stronger_in_summer_wind_is_persistent():
    s = year()
    t = np.arange(s.hours)
    hod, day = t % 24, t // 24
    assert np.all(s.solar_cf[(hod <= 4) | (hod >= 21)] == 0.0)
    assert np.all((s.solar_cf >= 0) & (s.solar_cf <= 1) & (s.wind_cf >= 0) & (s.wind_cf <= 1))
    noon = hod == 12
    assert s.solar_cf[noon & (day > 160) & (day < 200)].mean() > s.solar_cf[noon & ((day < 20) | (day > 345))].mean()
    assert 0.15 < s.solar_cf.mean() < 0.3 and 0.3 < s.wind_cf.mean() < 0.45
    w = s.wind_cf - s.wind_cf.mean()
    assert (w[1:] @ w[:-1]) / (w @ w) > 0.9  # hour-to-hour persistence
    assert s.wind_cf[(hod >= 0) & (hod < 6)].mean() > s.wind_cf[(hod >= 12) & (hod < 18)].mean()  # windier at night


def test_heat_wave_multiplies_demand_and_stills_wind_in_its_window_only():
    base = synthetic_series(hours=24 * 10, start=START, peak_mw=8000.0, rng=np.random.default_rng(9))
    hot = synthetic_series(hours=24 * 10, start=START, peak_mw=8000.0, rng=np.random.default_rng(9),
                           heatwave_start_day=3, heatwave_days=2, heatwave_demand_factor=1.25,
                           heatwave_wind_factor=0.5)
    on = np.zeros(240, bool)
    on[72:120] = True
    np.testing.assert_allclose(hot.demand_mw[on], base.demand_mw[on] * 1.25)
    np.testing.assert_array_equal(hot.demand_mw[~on], base.demand_mw[~on])
    np.testing.assert_allclose(hot.wind_cf[on], base.wind_cf[on] * 0.5)
    np.testing.assert_array_equal(hot.solar_cf, base.solar_cf)


def test_start_as_day_of_year_and_bad_arguments():
    s = synthetic_series(hours=48, start=200, peak_mw=100.0, rng=np.random.default_rng(0))
    assert s.hours == 48 and s.solar_cf[12] > 0.3
    bad = [
        (dict(hours=0), "hours"), (dict(peak_mw=-1.0), "peak_mw"), (dict(peak_mw=float("nan")), "peak_mw"),
        (dict(rng=np.random.RandomState(0)), "numpy.random.Generator"), (dict(noise=0.9), "noise"),
        (dict(start="monday"), "start"), (dict(heatwave_start_day=-2), "heatwave"),
    ]
    for change, word in bad:
        kw = dict(hours=24, start=START, peak_mw=100.0, rng=np.random.default_rng(0))
        kw.update(change)
        with pytest.raises(ValueError, match=word):
            synthetic_series(**kw)


def test_hourly_series_validates_itself():
    with pytest.raises(ValueError, match="wind_cf"):
        HourlySeries(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"solar_cf\[1\] = 1.5"):
        HourlySeries(np.ones(3), np.ones(3), np.array([0.0, 1.5, 0.0]))


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------
def test_csv_round_trip_and_base_fills_missing_columns(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("time,demand_mw,solar_cf\n2024-01-01T00,100,0\n2024-01-01T01,110.5,0.25\n"
                    "2024-01-01T02,120,0.5\n")
    base = HourlySeries(np.full(5, 7.0), np.full(5, 0.3), np.full(5, 0.9))
    s = load_series_csv(path, hours=2, base=base)
    np.testing.assert_array_equal(s.demand_mw, [100.0, 110.5])
    np.testing.assert_array_equal(s.solar_cf, [0.0, 0.25])
    np.testing.assert_array_equal(s.wind_cf, [0.3, 0.3])  # from base
    assert load_series_csv(path, base=base).hours == 3


@pytest.mark.parametrize("body, hours, words", [
    ("demand_mw,wind_cf\n100,0.2\n,0.3\n", None, ["column 'demand_mw', row 2", "not a number"]),
    ("demand_mw,wind_cf\n100,0.2\nnan,0.3\n", None, ["column 'demand_mw', row 2", "finite"]),
    ("demand_mw,wind_cf\n100,0.2\n-5,0.3\n", None, ["column 'demand_mw', row 2", ">= 0"]),
    ("demand_mw,wind_cf\n100,0.2\n90,1.3\n", None, ["column 'wind_cf', row 2", "[0, 1]"]),
    ("demand_mw,wind_cf\n100,0.2\n90,0.3\n", 5, ["has 2 data rows, needs 5"]),
    ("demand_mw,price\n100,3\n", None, ["column 'price' is unknown", "demand_mw, wind_cf, solar_cf"]),
    ("demand_mw\n100\n", None, ["column 'wind_cf' is missing", "base="]),
    ("", None, ["empty"]),
])
def test_csv_errors_name_file_column_and_row(tmp_path, body, hours, words):
    path = tmp_path / "series.csv"
    path.write_text(body)
    with pytest.raises(ValueError) as e:
        load_series_csv(path, hours=hours)
    msg = str(e.value)
    assert "\n" not in msg and "series.csv" in msg
    for w in words:
        assert w in msg, msg


def test_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match="nope.csv: cannot read"):
        load_series_csv(tmp_path / "nope.csv")
