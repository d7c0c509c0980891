"""Money over time, pure: discounting at a hurdle rate, loan annuities, a lender's limit."""

from __future__ import annotations

import numpy as np

HOURS_PER_YEAR = 8760.0
#: hours in an average month (8,760 / 12)
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0


def monthly_discount(months: int, rate_per_year: float) -> np.ndarray:
    """Discount factor of a cash flow in each of the next `months` months (at mid-month) at an
    annual rate (0.12 = 12 %/yr, compounded yearly)."""
    if not rate_per_year > -1.0:
        raise ValueError(f"rate_per_year must be > -1 (got {rate_per_year}); e.g. 0.12 for 12 %/yr")
    m = np.arange(int(months)) + 0.5
    return (1.0 + rate_per_year) ** (-m / 12.0)


def annuity_usd_per_year(principal_usd: float, rate_per_year: float, years: float) -> float:
    """Level yearly payment that repays `principal_usd` with interest over `years`."""
    if years <= 0:
        raise ValueError(f"years must be > 0 (got {years})")
    r = rate_per_year
    return principal_usd / years if abs(r) < 1e-12 else principal_usd * r / (1.0 - (1.0 + r) ** -years)


def lending_capacity_usd(ebitda_usd_per_year, debt_usd, leverage_limit: float, contracted_pv_usd=0.0,
                         advance_share: float = 0.0):
    """New debt a lender grants: up to `leverage_limit` x trailing EBITDA in total, plus an advance
    on the present value of signed take-or-pay fees (project finance), less what is owed."""
    limit = leverage_limit * np.maximum(ebitda_usd_per_year, 0.0) + advance_share * np.asarray(contracted_pv_usd)
    return np.maximum(limit - debt_usd, 0.0)
