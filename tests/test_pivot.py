"""Why miners pivot: the value of a megawatt in each use (hand-computed NPVs), offers compared
with the best alternative, the balance sheet, the halving the miners see coming."""

import math

import numpy as np
import pytest

from agents.balance_sheet import ASIC, Ledger
from agents.investment import (Outlook, hashing_block_value_usd, hosting_offer_value_usd, lease_project_debt_usd,
                               place_offers)
from simulation.bitcoin import bits_to_difficulty
from simulation.bitcoin.economics import expected_hashprice_path, scheduled_subsidy_btc
from simulation.bitcoin.history import difficulty_growth_per_year, load_chain_history
from simulation.config import load_scenario
from simulation.markets import HostingOffer
from simulation.markets.finance import annuity_usd_per_year, lending_capacity_usd, monthly_discount, project_debt_usd
from simulation.markets.valuation import (hash_margin_usd_per_mwh, hashing_value_usd_per_mw, hosting_value_usd_per_mw,
                                          own_gpu_value_usd_per_mw)
from simulation.model import GridPivotModel


# -- value functions, by hand -------------------------------------------------------------------
def test_discounting_is_yearly_compounding_at_mid_month():
    d = monthly_discount(24, 0.12)
    assert d[0] == pytest.approx(1.12 ** (-0.5 / 12))
    assert d[12] == pytest.approx(1.12 ** (-12.5 / 12))
    assert np.all(monthly_discount(5, 0.0) == 1.0)
    with pytest.raises(ValueError, match="rate_per_year"):
        monthly_discount(3, -1.0)


def test_flexible_hash_margin_is_the_mean_of_max_value_minus_price():
    prices = np.array([10.0, 30.0, 50.0, 200.0])
    # v = 40: (30 + 10 + 0 + 0) / 4; v = 0: nothing; v = 300: 300 - mean
    assert hash_margin_usd_per_mwh([40.0, 0.0, 300.0], prices) == pytest.approx([10.0, 0.0, 300.0 - 72.5])
    rng = np.random.default_rng(0)
    p, v = rng.lognormal(3.5, 0.6, 500), rng.uniform(0, 150, 50)
    brute = np.maximum(v[:, None] - p[None, :], 0.0).mean(axis=1)
    assert hash_margin_usd_per_mwh(v, p) == pytest.approx(brute)


def test_hashing_hosting_and_own_gpu_values_by_hand():
    # hashing: 50 USD/PH/day flat for 12 months at 25 J/TH is worth 50/24*1000/25 = 83.33 USD/MWh;
    # with power at 40 in every hour the margin is 43.33 USD/MWh, 730 h a month, undiscounted
    v = hashing_value_usd_per_mw(np.full(12, 50.0), 25.0, np.full(10, 40.0), 0.0)
    assert v == pytest.approx(12 * 730 * (50 / 24 * 1000 / 25 - 40))
    # hosting: 100,000 USD per IT MW-month at PUE 1.25 = 80,000 per facility MW-month, for 24
    # months after a 6-month build of 1.875 M USD per IT MW (1.5 M per facility MW), undiscounted
    h = hosting_value_usd_per_mw(fee_usd_per_it_mw_month=100_000.0, term_months=24, lead_months=6,
                                 build_usd_per_it_mw=1.875e6, rate_per_year=0.0, pue=1.25)
    assert h == pytest.approx(24 * 80_000 - 1.5e6)
    # the miner paying power at 40 USD/MWh; the tenant funding half the build
    h2 = hosting_value_usd_per_mw(fee_usd_per_it_mw_month=100_000.0, term_months=24, lead_months=6,
                                  build_usd_per_it_mw=1.875e6, rate_per_year=0.0, pue=1.25, power_paid_by_miner=True,
                                  power_usd_per_mwh=40.0, tenant_capex_share=0.5)
    assert h2 == pytest.approx(24 * (80_000 - 40 * 730) - 0.75e6)
    # discounted at 10 %/yr: each month's fee at (m + 0.5) / 12 years
    h3 = hosting_value_usd_per_mw(fee_usd_per_it_mw_month=100_000.0, term_months=12, lead_months=0,
                                  build_usd_per_it_mw=0.0, rate_per_year=0.10, pue=1.0)
    assert h3 == pytest.approx(sum(100_000 * 1.1 ** (-(m + 0.5) / 12) for m in range(12)))
    # a 3 % escalator from the first anniversary, an 85 % NOI margin: 12 months at 85,000, 12 at 87,550
    h4 = hosting_value_usd_per_mw(fee_usd_per_it_mw_month=100_000.0, term_months=24, lead_months=0,
                                  build_usd_per_it_mw=0.0, rate_per_year=0.0, pue=1.0, escalator_per_year=0.03,
                                  noi_margin=0.85)
    assert h4 == pytest.approx(12 * 85_000 + 12 * 87_550)
    # own GPUs: 588.2 GPUs per MW at 1.7 kW, 2 USD/GPU-h flat, 50 % utilised, 12 months, power 40
    g = own_gpu_value_usd_per_mw(price0_usd_per_gpu_hour=2.0, trend_per_year=0.0, utilisation=0.5, gpu_kw_all_in=1.7,
                                 gpu_usd=25_000.0, retrofit_usd_per_mw=1e6, lead_months=0, life_months=12,
                                 rate_per_year=0.0, power_usd_per_mwh=40.0)
    gpus = 1000 / 1.7
    assert g == pytest.approx(12 * 730 * 0.5 * (2.0 * gpus - 40.0) - gpus * 25_000 - 1e6)


def test_expected_hashprice_sees_the_halving_coming_and_the_counterfactual_does_not():
    # from the retarget at 834,624: block 840,000 is ~5,376 blocks (~1.2 months) ahead
    kw = dict(btc_price_usd=71_000.0, fees_btc_per_block=0.0, difficulty=83.1e12, height=834_624,
              difficulty_growth_per_year=0.0)
    with_halving = expected_hashprice_path(4, **kw)
    without = expected_hashprice_path(4, **kw, subsidy_frozen_at=834_624)
    assert with_halving[0] == pytest.approx(without[0])
    assert with_halving[2] == pytest.approx(0.5 * without[2])
    # and it is the consensus subsidy: 6.25 BTC before 840,000, 3.125 after; frozen stays 6.25
    assert scheduled_subsidy_btc([839_999, 840_000, 1_050_000]) == pytest.approx([6.25, 3.125, 1.5625])
    assert scheduled_subsidy_btc([840_000, 1_050_000], frozen_at_height=834_624) == pytest.approx([6.25, 6.25])
    # 1 PH/s for a day at 6.25 BTC and 71k USD: 1e15 x 86,400 / (D x 2^32) blocks' worth of reward
    assert with_halving[0] == pytest.approx(71_000 * 6.25 * 1e15 * 86_400 / (83.1e12 * 2 ** 32))


def test_difficulty_growth_is_estimated_from_the_real_chain_before_the_decision():
    chain = load_chain_history()
    # every boundary of the bundled history decodes, in height order, 2016 blocks apart
    assert np.all(np.diff(chain.height) == 2016) and chain.height[0] == 2016 and chain.height[-1] == 878_976
    i = chain.at(834_624)
    g = difficulty_growth_per_year(chain.time_unix, chain.difficulty, chain.time_unix[i], 365)
    # the year to 2024-03-14: difficulty rose from ~43 T (2023-03) to ~83 T, ~+80 %/yr
    d_year_ago = chain.difficulty[np.searchsorted(chain.time_unix, chain.time_unix[i] - 365 * 86400)]
    assert math.exp(g) == pytest.approx(chain.difficulty[i] / d_year_ago, rel=0.15)
    assert 0.5 < g < 0.7
    # exact on a pure exponential; nothing after `until` is seen
    t = np.arange(0, 3 * 365) * 86400.0
    d = 1e12 * np.exp(0.4 * t / (365.25 * 86400))
    assert difficulty_growth_per_year(t, d, t[400], 365) == pytest.approx(0.4)
    d2 = d.copy()
    d2[401:] *= 100
    assert difficulty_growth_per_year(t, d2, t[400], 365) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="difficulty_window_days"):
        difficulty_growth_per_year(t, d, t[0], 365)


def test_lending_capacity_and_project_debt_by_hand():
    # corporate: 3 x 10 M EBITDA less 25 M owed
    assert lending_capacity_usd(10e6, 25e6, 3.0) == pytest.approx(5e6)
    assert lending_capacity_usd(-5e6, 0.0, 3.0) == 0.0
    # project debt on a 100 M build with 12 M of first-year NOI at 7 % over 12 years: a level
    # payment of 8,760 i / (1 - (1 + i)^-N) = 0.12318 per USD a year (i = 0.07 / 8,760, N = 12 x
    # 8,760), so DSCR 1.3 allows 12 / (1.3 x 0.12318) = 74.94 M, below 80 % of cost
    i, n = 0.07 / 8760, 12 * 8760
    a = 8760 * i / (1 - (1 + i) ** -n)
    assert a == pytest.approx(0.12318, abs=1e-5)
    assert project_debt_usd(100e6, 12e6, 0.07, 12, 0.8, 1.3) == pytest.approx(12e6 / (1.3 * a))
    assert project_debt_usd(100e6, 12e6, 0.07, 12, 0.8, 1.3) == pytest.approx(74.94e6, rel=1e-3)
    # a rich rent: the loan-to-cost cap binds
    assert project_debt_usd(100e6, 20e6, 0.07, 12, 0.8, 1.3) == pytest.approx(80e6)
    # the ledger repays a project loan by that level payment: after 12 years nothing is owed
    led = Ledger(1, interest_rate_per_year=0.09, loan_years=5.0)
    led.borrow(0, 1e6, years=12.0, rate_per_year=0.07, project=True)
    assert led.debt_service_usd_per_h(0) == pytest.approx(1e6 * a / 8760)
    paid = 0.0
    for h in range(n):
        _, interest, principal = led.book_hour(h)
        paid += interest[0] + principal[0]
    assert led.debt_of(0) == pytest.approx(0.0, abs=1e-3) and paid == pytest.approx(1e6 * a * 12)


# -- offers against the best alternative --------------------------------------------------------
def _one_miner(strategy="profit_max", extra=()):
    ov = ["run.hours=48", "population.counts={}", "grid.copperplate=true", "markets.ai.hosting.offers_per_month=0",
          f'miners=[{{name="m", bus="M1", strategy="{strategy}", interconnect_mw=30, cash_usd=5e8, '
          'asics=[{model="S19 XP", units=5000, age_months=0}, {model="S21", units=2000, age_months=0}]}]', *extra]
    return GridPivotModel(None, overrides=ov, collect_mesa=False)


def _outlook(m, hashprice=50.0, months=200, rate=0.0):
    sc = m.config
    fin = type(sc.finance)(**{**sc.finance.__dict__, "risk_free_rate_per_year": rate, "lease_spread_per_year": 0.0,
                              "hashing_premium_per_year": 0.0, "own_gpu_premium_per_year": 0.0})
    return Outlook(hour=m.hour + 1, hashprice_path=np.full(months, hashprice), ai_price_usd_per_gpu_hour=2.0,
                   ai_trend_per_year=-0.5, ai_utilisation=0.7, cfg=sc.investment, fin=fin, hosting=sc.markets.ai.hosting)


def _offer(fee, it_mw=4.0, term=24, lead=0):
    return HostingOffer(it_mw=it_mw, fee_usd_per_mw_month=fee, kind="inference", sla_uptime=0.999,
                        penalty_usd_per_mwh=500.0, term_months=term, lead_months=lead)


def test_hashing_block_value_takes_the_least_efficient_asics_first_by_hand():
    m = _one_miner()
    m.run_hours(24)
    a, o = m.agents[0], _outlook(m)
    power = np.full(50, 40.0)
    # S19 XP: 140 TH/s x 5,000 at 21.5 J/TH = 15.05 MW; the S21s (17.5 J/TH) come after
    value, taken = hashing_block_value_usd(a, 10.0, 24, o, power)
    assert taken == [(0, 10.0)]
    xp = max(50 / 24 * 1000 / 21.5 - 40.0, 50 / 24 * 1000 / 13.5 - 40.0 - o.newest_capex_usd_per_mw / (4 * 8760))
    assert value == pytest.approx(10.0 * 24 * 730 * xp)


def test_an_offer_below_the_best_alternative_is_refused_and_one_above_is_signed():
    m = _one_miner()
    m.run_hours(24)
    a, o = m.agents[0], _outlook(m)
    sample = lambda row: np.full(50, 40.0)  # noqa: E731
    h = o.hosting
    mw = 4.0 * h.pue
    hash_value, _ = hashing_block_value_usd(a, mw, 24, o, sample(0))
    # the fee at which the lease is worth exactly what hashing those MW is (undiscounted, by hand:
    # 12 months at the fee, 12 escalated once, times the NOI margin, less the build)
    fee0 = (hash_value / mw + h.build_usd_per_it_mw / h.pue) * h.pue / (h.noi_margin * 12 * (2 + h.escalator_per_year))
    assert hosting_offer_value_usd(_offer(fee0), o, 40.0) == pytest.approx(hash_value)
    asic_before = m.fleet.asic_mw_of(0).sum()
    refused = place_offers([_offer(fee0 * 0.98)], [a], m.ledger, o, sample)
    assert [e.kind for e in refused] == ["lease_refused", "offer_lapsed"]
    assert refused[0].usd == pytest.approx(hosting_offer_value_usd(_offer(fee0 * 0.98), o, 40.0) - hash_value)
    assert a.state.leases == [] and m.fleet.asic_mw_of(0).sum() == asic_before
    events = place_offers([_offer(fee0 * 1.02)], [a], m.ledger, o, sample)
    assert [e.kind for e in events][0] == "lease_signed"
    lease = a.state.leases[0]
    assert lease.facility_mw == pytest.approx(mw) and lease.fee_usd_per_mw_month == pytest.approx(fee0 * 1.02)
    # the MW left hashing (whole machines, least efficient first) and the retrofit was paid
    assert asic_before - m.fleet.asic_mw_of(0).sum() == pytest.approx(mw, abs=0.01)
    assert m.fleet.capex_usd[0] == pytest.approx(4.0 * h.build_usd_per_it_mw)
    assert m.fleet.lease_mw[0] == pytest.approx(mw) and m.fleet.converting_mw[0] == pytest.approx(0.0)


def test_accepting_never_lowers_expected_value():
    """Whatever the fee, the miner's expected value after deciding (lease + what it still hashes)
    is at least what it had by hashing those MW."""
    rng = np.random.default_rng(3)
    for fee in rng.uniform(40_000, 200_000, 12):
        m = _one_miner()
        m.run_hours(24)
        a, o = m.agents[0], _outlook(m, rate=0.1, months=60)
        sample = lambda row: np.full(50, 40.0)  # noqa: E731
        offer = _offer(float(fee), term=36)
        mw = offer.it_mw * o.hosting.pue
        before, _ = hashing_block_value_usd(a, mw, 36, o, sample(0))
        signed = [e for e in place_offers([offer], [a], m.ledger, o, sample) if e.kind == "lease_signed"]
        after = hosting_offer_value_usd(offer, o, 40.0) if signed else before
        assert after >= before
        assert bool(signed) == (hosting_offer_value_usd(offer, o, 40.0) > before)


def test_an_offer_beyond_the_miners_capital_is_refused():
    m = _one_miner(extra=["finance.leverage_limit=0", "finance.project_loan_to_cost=0"])
    m.run_hours(24)
    m.fleet.cash_usd[0] = 1e6  # a 4 MW-of-IT build costs 38 M
    a, o = m.agents[0], _outlook(m)
    events = place_offers([_offer(600_000.0)], [a], m.ledger, o, lambda r: np.full(50, 40.0))
    assert [e.kind for e in events] == ["lease_unfunded", "offer_lapsed"]
    assert m.fleet.cash_usd[0] == 1e6 and m.ledger.debt_of(0) == pytest.approx(m.fleet.debt_usd[0])


# -- the balance sheet ---------------------------------------------------------------------------
def test_ledger_depreciates_straight_line_and_repays_after_the_grace_period():
    led = Ledger(2, interest_rate_per_year=0.0876, loan_years=1.0)
    led.add_asset(0, 8760.0, 8760.0, kind=ASIC, tag=0)                 # 1 USD an hour
    led.add_asset(1, 100.0, 10.0, kind=ASIC, tag=0, start_hour=5)      # 10 USD an hour from hour 5
    led.borrow(0, 8760.0, repay_from_hour=2)
    dep, interest, principal = led.book_hour(0)
    assert dep == pytest.approx([1.0, 0.0]) and interest == pytest.approx([0.0876, 0.0]) and principal[0] == 0.0
    for h in range(1, 20):
        dep, interest, principal = led.book_hour(h)
    assert led.book_usd[1] == 0.0 and led.debt_usd[0] == pytest.approx(8760.0 - 18.0)
    off = led.write_off(0, ASIC, 0, 0.5)
    assert off == pytest.approx((8760.0 - 20.0) / 2)
    assert led.book_hour(20)[0][0] == pytest.approx(off + 0.5)


def test_balance_identity_every_hour_for_every_miner_over_a_full_run():
    """change in (cash + BTC x price + book value - debt) = revenue + revaluation - costs -
    interest - depreciation, from the run's own logs; leases, retrofits, ASIC buys and
    retirements happen on the way."""
    from simulation.output import read_run
    from simulation.runner import run_scenario
    import tempfile

    sc = load_scenario("configs/pivot_2024.toml", ["run.hours=2400", "run.agent_log=\"hourly\"",
                                                   "markets.ai.hosting.offers_per_month=6",
                                                   "population.counts={profit_max=6, hodl_hasher=2, ai_host=2, adaptive=2}"])
    with tempfile.TemporaryDirectory() as tmp:
        run_scenario(sc, tmp, progress=False)
        t = read_run(tmp)
    h, a, inv = t["hourly"], t["agents"], t["investments"]
    assert {"lease_signed", "asic_retire"} <= set(inv["kind"]), "the run should exercise the balance sheet"
    price = h.set_index("hour")["btc_price_usd"]
    a = a.sort_values(["miner", "hour"])
    equity = a["cash_usd"] + a["btc"] * a["hour"].map(price) + a["book_usd"] - a["debt_usd"]
    income = (a["revenue_hash_usd"] + a["revenue_ai_usd"] + a["revenue_dr_usd"] + a["revaluation_usd"]
              - a["power_cost_usd"] - a["other_cost_usd"] - a["interest_usd"] - a["depreciation_usd"])
    d_equity = equity.groupby(a["miner"]).diff()
    rows = d_equity.notna()
    err = (d_equity - income)[rows].abs()
    scale = np.maximum(1.0, np.abs(income[rows]))
    assert (err / scale).max() < 1e-6, f"identity broken by {err.max():.3g} USD"
    assert a["capex_usd"].max() > 0 and a["debt_usd"].max() > 0


def test_counterfactual_changes_only_the_subsidy():
    """`bitcoin.halving = false`: the same random streams (BTC price, demand, blocks found in the
    first hours), only the subsidy after block 840,000 differs."""
    kw = dict(overrides=["run.hours=240", "bitcoin.height=839500", "bitcoin.time=1713300000",
                         "bitcoin.window_first_time=1712783853", "bitcoin.bits=0x17034219",
                         "population.counts={profit_max=4}"], collect_mesa=False)
    on, off = GridPivotModel(None, **kw), GridPivotModel(None, **kw, bitcoin__halving=False)
    on.run_hours()
    off.run_hours()
    ton, toff = on.recorder.drain(), off.recorder.drain()
    b_on, b_off = ton["blocks"], toff["blocks"]
    np.testing.assert_array_equal(ton["hourly"]["btc_price_usd"], toff["hourly"]["btc_price_usd"])
    np.testing.assert_array_equal(ton["hourly"]["demand_mw"], toff["hourly"]["demand_mw"])
    assert set(b_on["subsidy_btc"][b_on["height"] >= 840_000]) == {3.125}
    assert set(b_off["subsidy_btc"]) == {6.25}
    first = min(len(b_on["height"]), len(b_off["height"]))
    k = int(np.argmax(b_on["height"][:first] >= 840_000))
    np.testing.assert_array_equal(b_on["time"][:k + 1], b_off["time"][:k + 1])


def test_halving_2024_hashprice_falls_40_to_60_percent_across_block_840000():
    """The domain figure: hashprice went from ~100-120 to ~40-60 USD/PH/day at the 2024 halving."""
    m = GridPivotModel("configs/halving_2024.toml", overrides=["run.hours=1100"], collect_mesa=False)
    hashprice, height = [], []
    while m.running:
        m.step()
        hashprice.append(m.recorder.last["hashprice_usd_per_ph_day"])
        height.append(m.recorder.last["height"])
    hp, height = np.array(hashprice), np.array(height)
    t = int(np.argmax(height >= 840_000))
    assert 700 < t < 1050
    before, after = hp[t - 48:t - 1].mean(), hp[t + 1:t + 48].mean()
    assert 0.40 <= 1 - after / before <= 0.60, (before, after)


@pytest.mark.parametrize("overrides", [
    # AI worth building and cash to build it, room for new ASICs: conversions, GPU arrivals, purchases
    ["population.overbuild=0.5", "markets.btc_price.s0_usd=150000.0", "population.cash_usd_per_mw=5e7",
     "markets.ai.price0_usd_per_gpu_hour=12.0"],
    # no cash and a low BTC price: retirements and exits
    ["markets.btc_price.s0_usd=15000.0", "population.cash_usd_per_mw=0.0"],
])
def test_the_review_screen_only_skips_miners_the_rules_leave_alone(monkeypatch, overrides):
    """The weekly review runs the convert and buy rules only for miners its screen finds could
    act: with the screen letting every miner through, the same events and the same fleet."""
    import agents.investment as investment

    def run():
        m = GridPivotModel(None, overrides=["run.hours=1400", *overrides], collect_mesa=False)
        events, invest = [], m.invest

        def recorded(inputs):
            review = invest(inputs)  # (events, leases signed)
            events.extend(review[0])
            return review

        m.invest = recorded
        m.run_hours()
        return m, events

    screened, events = run()
    kinds = {e.kind for e in events}
    assert kinds & {"gpu_order", "asic_buy", "exit"}  # the rules had something to do
    let_through = lambda agents, rows, o, samples: (np.ones(len(agents), bool), np.ones(len(agents), bool))  # noqa: E731
    monkeypatch.setattr(investment, "_screen", let_through)
    unscreened, events_all = run()
    assert events == events_all
    for name in ("asic_units", "asic_age_h", "gpu_units", "cash_usd", "btc", "active", "converting_mw", "capex_usd"):
        assert np.array_equal(getattr(screened.fleet, name), getattr(unscreened.fleet, name)), name
    assert np.array_equal(screened.ledger.a_book, unscreened.ledger.a_book)
    assert np.array_equal(screened.ledger.l_balance, unscreened.ledger.l_balance)


# -- each use at the filings' terms, by hand, at the start of 2024 --------------------------------
#: the first retarget of 2024 (block 824,544, 2024-01-06; configs/texas_2024.toml) and its market
START_2024 = dict(height=824_544, time=1_704_501_692, bits=0x1703D869, btc_usd=44_000.0, fees_btc=0.3,
                  gpu_usd_per_h=5.9, gpu_trend=-0.58)
POWER_USD_PER_MWH = 35.0  # a flat power price (the synthetic grid's typical LMP)


def _defaults():
    sc = load_scenario(None)
    return sc.markets.ai.hosting, sc.finance, sc.investment


def test_a_lease_at_the_filings_terms_with_project_debt_by_hand():
    """The default lease (121 USD/kW-month first year, +3 %/yr, 12 years after 18 months, NOI 85 %,
    build 9.5 M USD per MW of IT, PUE 1.3) at the lease rate (4.5 % + 2.5 %), and the same lease
    at hashing's rate (4.5 % + 7.5 %): the price of risk, ~2.2 M USD per facility MW."""
    h, fin, _ = _defaults()
    assert (h.fee_usd_per_mw_month, h.escalator_per_year, h.term_months, h.lead_months, h.build_usd_per_it_mw,
            h.noi_margin, h.pue) == (121_180.0, 0.03, 144, 18, 9.5e6, 0.85, 1.3)
    assert fin.lease_rate_per_year == pytest.approx(0.07) and fin.hashing_rate_per_year == pytest.approx(0.12)

    def by_hand(rate):
        pv = sum(121_180 * 1.03 ** (k // 12) * 0.85 / 1.3 * (1 + rate) ** (-(18 + k + 0.5) / 12) for k in range(144))
        return pv - 9.5e6 / 1.3

    kw = dict(fee_usd_per_it_mw_month=121_180.0, term_months=144, lead_months=18, build_usd_per_it_mw=9.5e6, pue=1.3,
              escalator_per_year=0.03, noi_margin=0.85)
    at_lease_rate = hosting_value_usd_per_mw(**kw, rate_per_year=fin.lease_rate_per_year)
    at_hashing_rate = hosting_value_usd_per_mw(**kw, rate_per_year=fin.hashing_rate_per_year)
    assert at_lease_rate == pytest.approx(by_hand(0.07)) and at_hashing_rate == pytest.approx(by_hand(0.12))
    assert at_lease_rate / 1e6 == pytest.approx(0.845, abs=0.001)
    assert at_hashing_rate / 1e6 == pytest.approx(-1.324, abs=0.001)
    # project debt: first-year NOI 121,180 x 12 x 0.85 = 1.236 M per IT MW covers a level 12-year
    # payment at 7 % (0.12318 per USD a year) 1.3 times over for 7.72 M: the 80 % cap (7.6 M) binds
    noi = 121_180 * 12 * 0.85
    assert noi / (1.3 * 0.123177) == pytest.approx(7.719e6, rel=1e-3)
    offer = HostingOffer(it_mw=10.0, fee_usd_per_mw_month=121_180.0, kind="inference", sla_uptime=0.999,
                         penalty_usd_per_mwh=500.0, term_months=144, lead_months=18)
    sc = load_scenario(None)
    o = Outlook(hour=0, hashprice_path=np.zeros(1), ai_price_usd_per_gpu_hour=2.0, ai_trend_per_year=0.0,
                ai_utilisation=0.7, cfg=sc.investment, fin=sc.finance, hosting=sc.markets.ai.hosting)
    assert lease_project_debt_usd(offer, o) == pytest.approx(10 * 0.8 * 9.5e6)   # 76 M; the miner's equity 19 M
    assert hosting_offer_value_usd(offer, o, 0.0) == pytest.approx(13 * at_lease_rate)


def _hashprice_2024(months):
    chain = load_chain_history()
    g = difficulty_growth_per_year(chain.time_unix, chain.difficulty, START_2024["time"], 365)
    d = bits_to_difficulty(START_2024["bits"])
    path = expected_hashprice_path(months, btc_price_usd=START_2024["btc_usd"], fees_btc_per_block=START_2024["fees_btc"],
                                   difficulty=d, height=START_2024["height"], difficulty_growth_per_year=g)
    return path, g, d


def test_hashing_the_same_mw_at_2024_hashprice_on_the_median_asic_by_hand():
    """The default fleet's median ASIC (its main models: 25 % S19 Pro, then 30 % S19 XP: the median
    is an S19 XP, 21.5 J/TH) hashing a facility MW over the lease's 162 months from 2024-01-06, at
    hashing's rate, power at a flat 35 USD/MWh, with the option of the newest ASIC (S21 XP) net
    of its price; worth less than the lease at the lease rate, more than the lease at its own."""
    from agents.hardware import ASIC_MODELS, NEWEST_ASIC

    h, fin, inv = _defaults()
    shares = load_scenario(None).population.asic_models
    cumulative = np.cumsum([shares[k] for k in ("S19 Pro", "S19 XP", "S21", "S21 XP")])
    assert cumulative[0] < 0.5 <= cumulative[1]  # the median is an S19 XP
    path, g, d = _hashprice_2024(162)
    r = fin.hashing_rate_per_year
    new = ASIC_MODELS[NEWEST_ASIC]
    capex = new.usd_per_th * 1e6 / new.j_per_th  # 20 USD/TH at 13.5 J/TH: 1.48 M USD/MW
    capital = annuity_usd_per_year(capex, r, inv.asic_life_years) / 8760  # USD/MWh
    total = 0.0
    for m in range(162):
        t = (m + 0.5) / 12
        height = START_2024["height"] + math.floor((m + 0.5) * 365.25 / 12 * 144)
        subsidy = 6.25 if height < 840_000 else 3.125 if height < 1_050_000 else 1.5625
        hashprice = 44_000 * (subsidy + 0.3) * 1e15 * 86_400 / (d * math.exp(g * t) * 2 ** 32)
        own = max(hashprice * 1000 / 24 / 21.5 - 35.0, 0.0)
        newest = max(hashprice * 1000 / 24 / 13.5 - 35.0, 0.0) - capital
        total += max(own, newest) * 730 * (1 + r) ** (-t)
    value = hashing_value_usd_per_mw(path, 21.5, np.full(24, 35.0), r, 13.5, capex, inv.asic_life_years)
    assert value == pytest.approx(total)
    assert value / 1e6 == pytest.approx(0.464, abs=0.001)
    lease = dict(fee_usd_per_it_mw_month=121_180.0, term_months=144, lead_months=18, build_usd_per_it_mw=9.5e6,
                 pue=1.3, escalator_per_year=0.03, noi_margin=0.85)
    assert (hosting_value_usd_per_mw(**lease, rate_per_year=fin.hashing_rate_per_year) < value
            < hosting_value_usd_per_mw(**lease, rate_per_year=fin.lease_rate_per_year))


def test_an_own_gpu_cloud_at_2024_terms_by_hand():
    """Own GPUs on a facility MW from 2024-01-06: 35 k USD H100s at 1.7 kW all-in (588 per MW),
    GPU-hours at 5.9 USD falling 58 %/yr (log), 70 % utilised, 4 months to deliver, 5 years,
    the site built at 7.3 M USD/MW, power 35 USD/MWh, at the own-GPU rate (4.5 % + 8.5 %)."""
    h, fin, inv = _defaults()
    assert (inv.ai_site_capex_usd_per_mw, load_scenario(None).miners == [], fin.own_gpu_rate_per_year) == \
        (7.3e6, True, pytest.approx(0.13))
    r, gpus = 0.13, 1000 / 1.7
    lead = round(inv.gpu_lead_time_weeks * 7 / 30.44)
    assert lead == 4
    total = sum((5.9 * math.exp(-0.58 * (m + 0.5) / 12) * gpus - 35.0) * 0.7 * 730 * (1 + r) ** (-(m + 0.5) / 12)
                for m in range(lead, lead + 60))
    total -= gpus * 35_000 + 7.3e6
    value = own_gpu_value_usd_per_mw(price0_usd_per_gpu_hour=5.9, trend_per_year=-0.58, utilisation=0.7,
                                     gpu_kw_all_in=1.7, gpu_usd=35_000.0, retrofit_usd_per_mw=7.3e6, lead_months=lead,
                                     life_months=60, rate_per_year=r, power_usd_per_mwh=35.0)
    assert value == pytest.approx(total)
    assert value / 1e6 == pytest.approx(-5.397, abs=0.001)


# -- only feasible alternatives -----------------------------------------------------------------
@pytest.mark.parametrize("cash_usd", [2e6, 5e6, 1e7, 2e7, 6e7, 1.5e8, 4e8])
def test_an_alternative_the_miner_cannot_fund_never_causes_a_refusal(cash_usd):
    """An AI builder for which own GPUs are worth far more than the lease (GPU-hours at 12 USD): a
    lease it refuses for them is one whose GPUs it then orders at once; short of the cash for a
    conversion step, it signs the lease (better than hashing) instead of pointing to GPUs it cannot buy."""
    from agents.investment import _convert_to_own_gpus, best_alternative_usd, own_gpu_value_usd_per_mw_at

    m = _one_miner("ai_host", extra=["finance.leverage_limit=0"])
    m.run_hours(24)
    m.fleet.cash_usd[0] = cash_usd
    a = m.agents[0]
    o = _outlook(m, rate=0.05)
    o = Outlook(**{**{k: getattr(o, k) for k in ("hour", "hashprice_path", "ai_utilisation", "cfg", "fin", "hosting")},
                   "ai_price_usd_per_gpu_hour": 12.0, "ai_trend_per_year": 0.0})
    sample = lambda row: np.full(50, 40.0)  # noqa: E731
    offer = _offer(300_000.0, it_mw=4.0, term=60)
    mw = offer.it_mw * o.hosting.pue
    hash_value, _ = hashing_block_value_usd(a, mw, 60, o, sample(0), m.ledger)
    lease_value = hosting_offer_value_usd(offer, o, 40.0)
    assert own_gpu_value_usd_per_mw_at(a, o, 40.0) * mw > lease_value > hash_value  # GPUs > lease > hashing
    alternative, _ = best_alternative_usd(a, m.ledger, mw, 60, o, sample(0), 40.0)
    events = place_offers([offer], [a], m.ledger, o, sample)
    kinds = [e.kind for e in events]
    if "lease_refused" in kinds:
        assert alternative > lease_value
        assert [e.kind for e in _convert_to_own_gpus(a, m.ledger, o, sample(0), 40.0)][:1] == ["gpu_order"]
    else:
        assert alternative == pytest.approx(hash_value) and kinds[0] in ("lease_signed", "lease_unfunded")
    if cash_usd <= 2e7:  # a 5 MW step of GPUs (~140 M USD) needs ~28 M USD down: not fundable, never refused for
        # the lease's 38 M build takes 30.4 M of project debt (80 %): 7.6 M of equity in cash (no corporate credit)
        assert kinds[0] == ("lease_signed" if cash_usd >= 1e7 else "lease_unfunded")
    # without corporate credit a step is paid in cash: from ~140 M USD on, the GPUs win and are ordered
    assert ("lease_refused" in kinds) == (cash_usd >= 1.5e8)


def test_an_ai_boom_commits_more_mw_to_ai_than_the_default_with_the_same_seed():
    """`configs/ai_boom.toml` (GPU-hours rising, offers four times as frequent and larger) against
    `configs/default.toml`, seed 42, 1,500 hours: more facility MW committed to AI (on main, with
    refusals pointing to own GPUs the miners could not fund, it was fewer)."""
    def run(config):
        m = GridPivotModel(config, overrides=["run.hours=1500", "run.seed=42", "run.agent_log=\"none\"",
                                              "run.bus_log=\"none\""], collect_mesa=False)
        events, invest = [], m.invest

        def recorded(inputs):
            review = invest(inputs)
            events.extend(review[0])  # (events, leases signed)
            return review

        m.invest = recorded
        m.run_hours()
        return float(sum(a.committed_ai_mw for a in m.agents)), events

    default_mw, _ = run("configs/default.toml")
    boom_mw, events = run("configs/ai_boom.toml")
    assert boom_mw > default_mw, (boom_mw, default_mw)
    assert "lease_signed" in [e.kind for e in events]
