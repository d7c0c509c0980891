"""The pivot decision by hand at the start of 2024 (the first retarget of 2024, block 824,544,
2024-01-06; BTC ~44,000 USD, fees 0.3 BTC a block), at the default deal terms
(docs/deal_terms.md) and each use's own discount rate: present value per facility MW of a
CoreWeave-like lease (with its project debt), of the same lease at hashing's rate, of hashing
each ASIC class over the lease's horizon (18 + 144 months; with and without the halving the
miners see coming), and of an own-GPU cloud. Power: a flat 35 USD/MWh (the synthetic grid's
typical price). Prints Markdown tables; `tests/test_pivot.py` checks the same numbers by hand.

    python docs/pivot_values.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.hardware import ASIC_MODELS, NEWEST_ASIC  # noqa: E402
from simulation.bitcoin import bits_to_difficulty  # noqa: E402
from simulation.bitcoin.economics import expected_hashprice_path  # noqa: E402
from simulation.bitcoin.history import difficulty_growth_per_year, load_chain_history  # noqa: E402
from simulation.config import load_scenario  # noqa: E402
from simulation.markets.finance import project_debt_usd  # noqa: E402
from simulation.markets.valuation import (hashing_value_usd_per_mw, hosting_value_usd_per_mw,  # noqa: E402
                                          own_gpu_value_usd_per_mw)

HEIGHT, TIME, BITS, BTC_USD, FEES_BTC = 824_544, 1_704_501_692, 0x1703D869, 44_000.0, 0.3
#: H100 rental on the log-linear path through ~8 USD (mid-2023) and ~2.5 (mid-2025), as in configs/texas_2024.toml
GPU_USD_PER_H, GPU_TREND = 5.9, -0.58
POWER = np.full(24, 35.0)


def main() -> None:
    sc = load_scenario(None)
    h, fin, inv = sc.markets.ai.hosting, sc.finance, sc.investment
    months = h.lead_months + h.term_months
    chain = load_chain_history()
    g = difficulty_growth_per_year(chain.time_unix, chain.difficulty, TIME, 365)
    kw = dict(btc_price_usd=BTC_USD, fees_btc_per_block=FEES_BTC, difficulty=bits_to_difficulty(BITS), height=HEIGHT,
              difficulty_growth_per_year=g)
    paths = {"with": expected_hashprice_path(months, **kw), "without": expected_hashprice_path(months, **kw,
                                                                                               subsidy_frozen_at=HEIGHT)}
    new = ASIC_MODELS[NEWEST_ASIC]
    capex = new.usd_per_th * 1e6 / new.j_per_th
    lease = dict(fee_usd_per_it_mw_month=h.fee_usd_per_mw_month, term_months=h.term_months, lead_months=h.lead_months,
                 build_usd_per_it_mw=h.build_usd_per_it_mw, pue=h.pue, escalator_per_year=h.escalator_per_year,
                 noi_margin=h.noi_margin)
    lease_value = hosting_value_usd_per_mw(**lease, rate_per_year=fin.lease_rate_per_year)
    lease_at_hashing = hosting_value_usd_per_mw(**lease, rate_per_year=fin.hashing_rate_per_year)
    noi = h.fee_usd_per_mw_month * 12 * h.noi_margin
    debt = project_debt_usd(h.build_usd_per_it_mw, noi, fin.lease_rate_per_year, h.term_months / 12,
                            fin.project_loan_to_cost, fin.project_dscr)
    gpu = own_gpu_value_usd_per_mw(price0_usd_per_gpu_hour=GPU_USD_PER_H, trend_per_year=GPU_TREND,
                                   utilisation=sc.markets.ai.demand_mean, gpu_kw_all_in=1.7,
                                   gpu_usd=35_000.0, retrofit_usd_per_mw=inv.ai_site_capex_usd_per_mw,
                                   lead_months=round(inv.gpu_lead_time_weeks * 7 / 30.44),
                                   life_months=round(inv.gpu_life_years * 12), rate_per_year=fin.own_gpu_rate_per_year,
                                   power_usd_per_mwh=35.0)
    print(f"2024-01-06 (block {HEIGHT:,}): hashprice now {paths['with'][0]:.1f} USD/PH/s/day, difficulty growth "
          f"expected {g:.3f}/yr; M USD per facility MW\n")
    print("| use | discount rate | value (M USD per facility MW) |")
    print("|---|---|---|")
    print(f"| lease at the filings' terms (project debt {debt / 1e6:.2f} M + equity "
          f"{(h.build_usd_per_it_mw - debt) / 1e6:.2f} M per MW of IT) | {fin.lease_rate_per_year:.1%} | "
          f"**{lease_value / 1e6:+.2f}** |")
    print(f"| the same lease at hashing's rate | {fin.hashing_rate_per_year:.1%} | {lease_at_hashing / 1e6:+.2f} |")
    for m in ASIC_MODELS.values():
        v = {k: hashing_value_usd_per_mw(p, m.j_per_th, POWER, fin.hashing_rate_per_year, new.j_per_th, capex,
                                         inv.asic_life_years) / 1e6 for k, p in paths.items()}
        median = " (the default fleet's median)" if m.name == "S19 XP" else ""
        print(f"| hashing on {m.name}{median}, {m.j_per_th:.1f} J/TH, {months} months (without the halving) | "
              f"{fin.hashing_rate_per_year:.1%} | {v['with']:+.2f} ({v['without']:+.2f}) |")
    print(f"| own-GPU cloud (H100 at {GPU_USD_PER_H} USD/GPU-h, {GPU_TREND:+.0%}/yr log, "
          f"{sc.markets.ai.demand_mean:.0%} utilised, 5 years) | {fin.own_gpu_rate_per_year:.1%} | {gpu / 1e6:+.2f} |")


if __name__ == "__main__":
    main()
