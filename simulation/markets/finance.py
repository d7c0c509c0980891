"""Money over time, pure: discounting, loan annuities, a corporate lender's limit and project
debt sized on contracted rent."""

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


def lending_capacity_usd(ebitda_usd_per_year, debt_usd, leverage_limit: float):
    """New corporate debt a lender grants: up to `leverage_limit` x trailing EBITDA (after
    project debt service, which the projects' own cash pays) in total, less what is owed."""
    return np.maximum(leverage_limit * np.maximum(ebitda_usd_per_year, 0.0) - debt_usd, 0.0)


def level_payment_usd_per_h(principal_usd, rate_per_year: float, years: float):
    """Level hourly payment (interest + principal) that repays `principal_usd` over `years` at
    `rate_per_year` charged hourly on what is owed (i = r / 8,760 per hour, N = 8,760 n hours):
    P i / (1 - (1 + i)^-N), or P / N without interest."""
    if years <= 0:
        raise ValueError(f"years must be > 0 (got {years})")
    i, n = rate_per_year / HOURS_PER_YEAR, years * HOURS_PER_YEAR
    p = np.asarray(principal_usd, float)
    return p / n if abs(i) < 1e-15 else p * i / -np.expm1(-n * np.log1p(i))


def project_debt_usd(build_usd: float, noi_usd_per_year: float, rate_per_year: float, years: float,
                     loan_to_cost: float, dscr: float) -> float:
    """Project debt a lender advances against a lease's contracted rent: at most `loan_to_cost`
    of the build, and at most what the first operating year's NOI covers `dscr` times over,
    the debt repaid by a level payment over `years` (the term; `level_payment_usd_per_h`), so
    with an escalating rent the first year is the tightest:

        D = min(LTC x build, NOI_1 / (DSCR x a)),  a = 8,760 x level_payment_usd_per_h(1, r, n)
    """
    if years <= 0 or dscr <= 0:
        raise ValueError(f"years and dscr must be > 0 (got {years}, {dscr})")
    a = float(level_payment_usd_per_h(1.0, rate_per_year, years)) * HOURS_PER_YEAR
    return float(max(min(loan_to_cost * build_usd, noi_usd_per_year / (dscr * a)), 0.0))
