"""Each hour's money for every miner at once: power bills, BTC mined, hosting fees and spot AI
revenue, SLA penalties, checkpoints, demand-response credits, fixed costs, depreciation and debt
service (vectorised over the fleet)."""

from __future__ import annotations

import numpy as np

from agents.balance_sheet import Ledger
from agents.fleet import SLOT_FIRM, SLOT_SPOT, SLOT_TRAINING, Fleet, row_sum
from agents.valuation import MarketSignals
from simulation.markets.finance import HOURS_PER_MONTH
#: EWMA weight of one hour in the margins miners invest on (about a week of memory)
MARGIN_ALPHA = 1.0 / 168.0
#: EWMA weight of one hour in the demand-response baseline (about half a day)
BASELINE_ALPHA = 0.1


def settle_hour(fleet: Fleet, ledger: Ledger, s: MarketSignals, lmp_usd_per_mwh: np.ndarray, btc_mined: np.ndarray,
                prev_training_mw: np.ndarray, enrolled: np.ndarray, dr_payment_usd_per_mwh: float,
                fixed_cost_usd_per_mw_month: float, power_passthrough: bool, ebitda_alpha: float,
                lease_opex_share: float = 0.0) -> None:
    """Book one hour for every miner; `lmp_usd_per_mwh` and `btc_mined` are per miner. A hosted
    site's operating costs are `lease_opex_share` of its rent (1 - the NOI margin)."""
    f = fleet
    cleared = f.cleared_mw
    drawn = row_sum(cleared)
    f.power_cost_usd[:] = drawn * lmp_usd_per_mwh

    # Bitcoin: mined BTC valued at the hour's price; a share is sold, the rest held (and revalued).
    f.revaluation_usd[:] = f.btc * (s.btc_price_usd - f.btc_price_usd) if f.btc_price_usd else 0.0
    f.btc_price_usd = s.btc_price_usd
    f.revenue_hash_usd[:] = btc_mined * s.btc_price_usd
    sold = btc_mined * f.sell_fraction
    f.btc += btc_mined - sold

    # AI: hosting leases pay their take-or-pay fee whatever runs (power passed through to the
    # tenant when so agreed); own GPUs sell spot GPU-hours at the hour's price.
    spot_usd_per_mwh = s.spot_values_usd_per_mwh(f)
    hosted = cleared[:, SLOT_FIRM] + cleared[:, SLOT_TRAINING]
    passthrough = hosted * lmp_usd_per_mwh if power_passthrough else 0.0
    f.revenue_ai_usd[:] = f.lease_fee_usd_per_h * f.active + passthrough + cleared[:, SLOT_SPOT] * spot_usd_per_mwh

    # SLA: firm shortfall beyond the allowance (1 - uptime) x required MWh is penalised once.
    firm_due_mw = f.firm_mw * f.active
    f.required_firm_mwh += firm_due_mw
    f.short_firm_mwh += np.maximum(firm_due_mw - cleared[:, SLOT_FIRM], 0.0)
    excess = np.maximum(f.short_firm_mwh - (1.0 - f.sla_uptime) * f.required_firm_mwh - f.penalised_mwh, 0.0)
    f.penalised_mwh += excess
    penalty = excess * f.penalty_usd_per_mwh
    checkpoint = np.maximum(prev_training_mw - cleared[:, SLOT_TRAINING], 0.0) * s.checkpoint_usd_per_mw
    fixed = fixed_cost_usd_per_mw_month / HOURS_PER_MONTH * f.interconnect_mw * f.active
    f.other_cost_usd[:] = penalty + checkpoint + fixed
    if lease_opex_share:
        f.other_cost_usd += f.lease_fee_usd_per_h * f.active * lease_opex_share

    # Demand response: paid for MW below the baseline in stress hours; the baseline learns
    # from normal hours only.
    if s.grid_stress:
        f.revenue_dr_usd[:] = np.maximum(f.baseline_mw - drawn, 0.0) * dr_payment_usd_per_mwh * enrolled
    else:
        f.revenue_dr_usd[:] = 0.0
        f.baseline_mw += BASELINE_ALPHA * (drawn - f.baseline_mw)

    # The balance sheet: depreciation (and write-offs), interest and repayments.
    f.depreciation_usd[:], f.interest_usd[:], principal = ledger.book_hour(s.hour)
    f.cash_usd += (sold * s.btc_price_usd + f.revenue_ai_usd + f.revenue_dr_usd
                   - f.power_cost_usd - f.other_cost_usd - f.interest_usd - principal)
    f.book_usd[:] = ledger.book_usd
    f.debt_usd[:] = ledger.debt_usd
    # A miner short of cash sells held BTC first.
    short = (f.cash_usd < 0) & (f.btc > 0)
    if short.any():
        sell = np.minimum(f.btc, -f.cash_usd / s.btc_price_usd) * short
        f.btc -= sell
        f.cash_usd += sell * s.btc_price_usd
    # What lenders look at: trailing EBITDA (the first hour seeds it).
    a = 1.0 if s.hour == 0 else ebitda_alpha
    f.ebitda_usd_per_h += a * (f.margin_usd - f.ebitda_usd_per_h)

    # Margins the slow clock invests on (USD/MWh of capacity): what the MW earns over the local
    # power price when it runs, 0 when it would not (hashing and spot AI are interruptible, so a
    # scarcity hour costs them nothing). The first hour seeds them so a run does not start
    # from a week of zero margins.
    a = 1.0 if s.hour == 0 else MARGIN_ALPHA
    hash_value = s.hash_values_usd_per_mwh(f)
    f.hash_margin_ewma += a * (np.maximum(hash_value - lmp_usd_per_mwh[:, None], 0.0) - f.hash_margin_ewma)
    f.lmp_ewma += a * (lmp_usd_per_mwh - f.lmp_ewma)


def charge_four_cp(fleet: Fleet, drawn_at_peak_mw: np.ndarray, usd_per_mw: float) -> np.ndarray:
    """Transmission charge for the load each miner drew at a summer monthly system peak (4CP)."""
    charge = drawn_at_peak_mw * usd_per_mw
    fleet.cash_usd -= charge
    fleet.other_cost_usd += charge
    return charge


__all__ = ["settle_hour", "charge_four_cp"]
