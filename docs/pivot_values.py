"""The pivot decision at the start of `configs/pivot_2024.toml` (2024-03-14, block 834,624), by hand:
present value per facility MW of hashing each ASIC class over a lease's horizon (18 + 144
months), with and without the halving, against a CoreWeave-like lease at three retrofit costs.
Power: a flat 35 USD/MWh (the synthetic grid's typical price). Prints a Markdown table.

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
from simulation.markets.valuation import hashing_value_usd_per_mw, hosting_value_usd_per_mw  # noqa: E402

HEIGHT, TIME, BITS = 834_624, 1_710_397_689, 0x17035A59
RATE, LEAD, TERM, POWER = 0.12, 18, 144, np.full(24, 35.0)


def main() -> None:
    chain = load_chain_history()
    g = difficulty_growth_per_year(chain.time_unix, chain.difficulty, TIME, 365)
    kw = dict(btc_price_usd=71_000.0, fees_btc_per_block=0.15, difficulty=bits_to_difficulty(BITS), height=HEIGHT,
              difficulty_growth_per_year=g)
    paths = {"with the halving": expected_hashprice_path(LEAD + TERM, **kw),
             "without": expected_hashprice_path(LEAD + TERM, **kw, subsidy_frozen_at=HEIGHT)}
    new = ASIC_MODELS[NEWEST_ASIC]
    capex = new.usd_per_th * 1e6 / new.j_per_th
    print(f"difficulty growth expected: {g:.3f}/yr; values in M USD per facility MW at {RATE:.0%}/yr\n")
    print("| ASICs (J/TH) | hashing, with the halving | hashing, without |")
    print("|---|---|---|")
    for m in ASIC_MODELS.values():
        v = [hashing_value_usd_per_mw(p, m.j_per_th, POWER, RATE, new.j_per_th, capex) / 1e6 for p in paths.values()]
        print(f"| {m.name} ({m.j_per_th:.1f}) | {v[0]:.2f} | {v[1]:.2f} |")
    print("\n| lease, retrofit (M USD/MW) | lease value |\n|---|---|")
    for retrofit in (3e6, 5e6, 8e6):
        h = hosting_value_usd_per_mw(fee_usd_per_it_mw_month=121_180.0, term_months=TERM, lead_months=LEAD,
                                     retrofit_usd_per_mw=retrofit, rate_per_year=RATE, pue=1.3)
        print(f"| {retrofit / 1e6:.0f} | {h / 1e6:.2f} |")


if __name__ == "__main__":
    main()
