"""Tenants' demand and site choice (simulation/markets/tenant_demand.py), the pivot's quarterly
table and the causes contrasts (simulation/analysis/pivot.py, causes.py): hand-computed values."""

import calendar
import math

import numpy as np
import pandas as pd
import pytest

from simulation.analysis import causes, pivot
from simulation.markets.tenant_demand import (TenantDemand, capex_busd_per_year, first_year_rent_usd_per_mw_month,
                                              grid_wait_years,
                                              greenfield_rent_usd_per_mw_month, site_fee_usd_per_mw_month,
                                              split_request)

YEARS, CAPEX = [2023, 2024, 2025], [150.0, 230.0, 375.0]


def test_capex_path_mid_year_knots_linear_and_flat_beyond():
    mid = lambda y: calendar.timegm((y, 7, 2, 0, 0, 0))  # noqa: E731
    assert capex_busd_per_year(mid(2024), YEARS, CAPEX) == pytest.approx(230.0)
    half = (mid(2024) + mid(2025)) / 2
    assert capex_busd_per_year(half, YEARS, CAPEX) == pytest.approx((230.0 + 375.0) / 2)
    assert capex_busd_per_year(mid(2022), YEARS, CAPEX) == 150.0
    assert capex_busd_per_year(mid(2027), YEARS, CAPEX) == 375.0
    with pytest.raises(ValueError, match="years must increase"):
        capex_busd_per_year(0, [2024, 2023], [1.0, 2.0])


def test_greenfield_rent_recovers_the_build_at_the_developers_rate():
    # 9.3 M USD per MW of IT, 8 %/yr, 144 months, NOI margin 0.85, by hand: the monthly rate
    # m = 1.08^(1/12) - 1 = 0.0064340; level payment 9.3e6 m / (1 - 1.08^-12) = 99,249 USD; / 0.85
    rent = greenfield_rent_usd_per_mw_month(9.3e6, 0.08, 144, 0.85)
    assert rent == pytest.approx(116_765, rel=1e-4)
    # the rent's NOI, discounted monthly at the developer's rate over the term, is the build cost
    m = 1.08 ** (1 / 12) - 1
    pv = sum(rent * 0.85 / (1 + m) ** k for k in range(1, 145))
    assert pv == pytest.approx(9.3e6, rel=1e-9)
    with pytest.raises(ValueError, match="noi_margin"):
        greenfield_rent_usd_per_mw_month(9.3e6, 0.08, 144, 0.0)


def test_grid_wait_grows_with_size():
    assert grid_wait_years(1000.0, 4.0, 0.25) == pytest.approx(4.0)
    assert grid_wait_years(16.0, 4.0, 0.25) == pytest.approx(4.0 * 0.016 ** 0.25)  # 1.42 years
    assert grid_wait_years(200.0, 4.0, 0.0) == 4.0
    with pytest.raises(ValueError, match="it_mw"):
        grid_wait_years(0.0, 4.0, 0.25)


def test_site_fee_is_greenfield_rent_plus_a_share_of_time_to_power():
    # margin 400 k, greenfield 116,765 from year 2.5, the miner's site from year 1.5, 8 %:
    # f_max = 400,000 - 283,235 x 1.08^-1 = 137,745; fee = 116,765 + 0.5 x 20,980 = 127,255
    f = site_fee_usd_per_mw_month(116_765.0, 400_000.0, 2.5, 1.5, 0.08, 0.5)
    assert f == pytest.approx(127_255, abs=1.0)
    # the tenant is indifferent at f_max: (margin - f_max) from L = (margin - f_g) from W
    f_max = site_fee_usd_per_mw_month(116_765.0, 400_000.0, 2.5, 1.5, 0.08, 1.0)
    assert (400_000 - f_max) * 1.08 ** -1.5 == pytest.approx((400_000 - 116_765) * 1.08 ** -2.5)
    assert site_fee_usd_per_mw_month(116_765.0, 400_000.0, 2.5, 1.5, 0.08, 0.0) == 116_765.0
    # greenfield as fast as the miner's retrofit: no offer
    assert math.isnan(site_fee_usd_per_mw_month(116_765.0, 400_000.0, 1.5, 1.5, 0.08, 0.5))
    # a richer tenant (a boom) pays more for the same time saved
    assert site_fee_usd_per_mw_month(116_765.0, 650_000.0, 2.5, 1.5, 0.08, 0.5) > f


def test_first_year_rent_of_an_escalating_lease_is_worth_the_level_rent():
    f1 = first_year_rent_usd_per_mw_month(130_000.0, 0.08, 0.03, 144)
    m = np.arange(1, 145)
    d = 1.08 ** (-m / 12)
    assert (f1 * 1.03 ** ((m - 1) // 12) * d).sum() == pytest.approx((130_000.0 * d).sum())
    assert 105_000 < f1 < 130_000    # lower than the level rent, by ~half the escalation over the term
    assert first_year_rent_usd_per_mw_month(130_000.0, 0.08, 0.0, 144) == pytest.approx(130_000.0)


def test_split_request_fills_the_largest_sites_first():
    assert split_request(150.0, [40.0, 100.0, 10.0, 5.0], 3, 1.0) == [100.0, 40.0, 10.0]
    assert split_request(120.0, [40.0, 100.0, 10.0], 3, 1.0) == [100.0, 20.0]
    assert split_request(150.0, [40.0, 100.0, 10.0, 5.0], 2, 1.0) == [100.0, 40.0]
    assert split_request(150.0, [40.0, 100.0, 10.0], 3, 20.0) == [100.0, 40.0]   # no part below 20 MW
    assert split_request(50.0, [0.5, 0.2], 3, 1.0) == []
    assert split_request(33.37, [100.0], 3, 1.0) == [33.3]                       # whole tenths


def _demand(flat: bool, seed: int = 7, reach: float = 0.5) -> TenantDemand:
    return TenantDemand(
        start_unix=1_704_501_692, years=YEARS, capex_busd=CAPEX, flat=flat, it_mw_per_busd=26.0, reach_share=reach,
        size_median_it_mw=100.0, size_sigma=1.0, wait_1gw_years=4.0, wait_size_exponent=0.25,
        greenfield_build_usd_per_it_mw=9.3e6, developer_rate_per_year=0.08, noi_margin=0.85,
        margin_ref_usd_per_mw_month=400_000.0, capex_ref_busd=230.0, margin_elasticity=1.0, miner_share=0.5,
        term_months=144, lead_months=18, training_share=0.3, sla_uptime=0.999, penalty_usd_per_mwh=500.0,
        min_part_it_mw=1.0, escalator_per_year=0.03, rng=np.random.default_rng(seed))


def test_requests_follow_the_demand_path_with_common_random_numbers():
    hours = 17_000
    cap, flat = _demand(False), _demand(True)
    for _ in range(hours):
        cap.step()
        flat.step()
    # the same requests in the same order; the 2024-25 path has more of them, and earlier
    k = len(flat.requests)
    assert len(cap.requests) > k > 10
    assert [r.it_mw for r in cap.requests[:k]] == [r.it_mw for r in flat.requests]
    assert all(a.hour <= b.hour for a, b in zip(cap.requests, flat.requests))
    # the expected number of requests is the path's integral / the mean size: within 4 SE
    expected = sum(cap.demand_it_mw_per_month_at(h) for h in range(hours)) / 730.0 / cap.mean_size
    assert abs(len(cap.requests) - expected) < 4 * math.sqrt(expected)
    # fees: NaN (greenfield) exactly for requests whose grid wait is within the 18-month lead
    for r in cap.requests:
        assert math.isnan(r.fee_usd_per_mw_month) == (r.wait_years <= 1.5)
    # a later request of the same size pays more on the rising path, the same on the flat one
    assert cap.fee_for(200.0, 15_000)[0] > cap.fee_for(200.0, 0)[0]
    assert flat.fee_for(200.0, 15_000)[0] == flat.fee_for(200.0, 0)[0]


def test_offers_are_the_requests_an_energised_site_wins():
    d = _demand(False, reach=8.0)
    offers = [o for _ in range(4000) for o in d.step()]
    won = [r for r in d.requests if math.isfinite(r.fee_usd_per_mw_month)]
    assert [o.it_mw for o in offers] == [r.it_mw for r in won] and len(won) < len(d.requests)
    assert all(o.request_it_mw == o.it_mw and o.lead_months == 18 and o.term_months == 144 for o in offers)


def test_tenants_config_checks_the_path():
    from simulation.config import load_scenario
    from simulation.config.loader import ConfigError

    with pytest.raises(ConfigError, match="capex_busd_per_year.*one value per year"):
        load_scenario(None, ["markets.ai.tenants.capex_years=[2023, 2024]"])
    with pytest.raises(ConfigError, match="capex_years.*must increase"):
        load_scenario(None, ["markets.ai.tenants.capex_years=[2024, 2023, 2025]"])


def test_quarterly_table_by_hand():
    t0 = calendar.timegm((2024, 1, 6, 0, 0, 0))
    hourly = pd.DataFrame({"unix_time": [t0, calendar.timegm((2025, 3, 1, 0, 0, 0))]})
    at = lambda y, m, d: calendar.timegm((y, m, d, 0, 0, 0))  # noqa: E731
    leases = pd.DataFrame({"unix_time": [at(2024, 5, 1), at(2024, 6, 1), at(2024, 11, 1)],
                           "it_mw": [100.0, 50.0, 200.0], "facility_mw": [130.0, 65.0, 260.0],
                           "fee_usd_per_it_mw_month": [120_000.0, 150_000.0, 140_000.0]})
    t = pivot.quarterly_table(leases, hourly, fleet_mw=1000.0)
    assert t["quarter"].tolist() == ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"]
    assert t["signed_it_mw"].tolist() == [0.0, 150.0, 0.0, 200.0, 0.0]
    assert t["cumulative_it_mw"].tolist() == [0.0, 150.0, 150.0, 350.0, 350.0]
    assert t["share_of_fleet"].tolist() == pytest.approx([0.0, 0.195, 0.195, 0.455, 0.455])
    assert t["fee_usd_per_kw_month"].iloc[1] == pytest.approx((100 * 120 + 50 * 150) / 150)
    assert t["period"].tolist() == ["calibration"] * 3 + ["prediction"] * 2
    # the real deals, cumulative: 16 (Feb), 216 (June), 398 (Aug); none shown after the window
    assert t["real_cumulative_it_mw"].iloc[:3].tolist() == [16.0, 216.0, 398.0]
    assert t["real_cumulative_it_mw"].iloc[3:].isna().all()


def test_causes_contrasts_by_hand():
    rows = []
    # seed 0: on/capex 300, off/capex 200, on/flat 120, off/flat 100; seed 1: 260, 220, 100, 80
    for rep, vals in enumerate([(300, 200, 120, 100), (260, 220, 100, 80)]):
        for (h, d), v in zip([(True, "capex"), (False, "capex"), (True, "flat"), (False, "flat")], vals):
            rows.append({"replication": rep, "halving": h, "demand": d, "signed_it_mw": float(v)})
    c = causes.contrasts(pd.DataFrame(rows), "signed_it_mw")
    assert c["halving effect (mean over demand)"].tolist() == [(100 + 20) / 2, (40 + 20) / 2]
    assert c["demand effect (mean over halving)"].tolist() == [(180 + 100) / 2, (160 + 140) / 2]
    assert c["interaction (halving x demand)"].tolist() == [80.0, 20.0]
    table = causes.effects_table(pd.DataFrame(rows))
    row = table[table["contrast"] == "interaction (halving x demand)"].iloc[0]
    assert row["mean"] == 50.0 and row["n"] == 2 and row["seeds_positive"] == 2
    # t(0.975, 1) = 12.706: half-width 12.706 x sd(80, 20) / sqrt(2) = 12.706 x 30
    assert row["ci_high"] - row["mean"] == pytest.approx(12.7062 * 30.0, rel=1e-4)


def test_a_run_with_tenants_logs_each_signed_lease_with_its_date_and_it_mw(tmp_path):
    import datetime as dt

    from simulation.config import load_scenario
    from simulation.output import read_run
    from simulation.runner import run_scenario

    out = tmp_path / "run"
    # rich tenants (a margin of 2 M USD per MW of IT a month, all of the time value to the miner), so leases sign
    sc = load_scenario(None, ["run.hours=900", "markets.ai.tenants.enabled=true", "markets.ai.tenants.reach_share=1.0",
                              "markets.ai.tenants.size_median_it_mw=40.0", "markets.ai.tenants.margin_usd_per_it_mw_month=2e6",
                              "markets.ai.tenants.miner_share=1.0", "run.agent_log=none", "run.bus_log=none"])
    run_scenario(sc, out, progress=False)
    t = read_run(out)
    leases, inv, info = t["leases"], t["investments"], t["miner_info"]
    assert len(leases) >= 2
    for r in leases.itertuples():
        assert r.date == dt.datetime.fromtimestamp(r.unix_time, dt.timezone.utc).strftime("%Y-%m-%d")
        assert r.facility_mw == pytest.approx(r.it_mw * 1.3)
        assert r.it_mw <= info.loc[info["name"] == r.miner, "interconnect_mw"].iloc[0] / 1.3 + 1e-9
        assert r.lead_months == pytest.approx(18.0, abs=0.01) and r.fee_usd_per_it_mw_month > 100_000
    signed = inv[inv["kind"] == "lease_signed"]
    assert sorted(signed["mw"].round(6)) == sorted(leases["facility_mw"].round(6))
    assert (signed["hour"].to_numpy() == leases["hour"].to_numpy()).all()
