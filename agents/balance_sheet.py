"""Every miner's long-lived money: hardware and retrofits on the books (straight-line
depreciation) and loans (equal instalments, interest on what is owed). Flat arrays with an
owner column, so an hour's depreciation and debt service for the whole fleet is a few numpy
calls; the hourly cash flows themselves live in `agents.accounting`.

Identity (tested every hour for every miner): the change in cash + BTC held x price + book value
- debt equals revenue + BTC revaluation - operating costs - interest - depreciation; buying an
asset (cash or debt into book value) and borrowing or repaying (cash against debt) leave it
unchanged.
"""

from __future__ import annotations

import numpy as np

from simulation.markets.finance import HOURS_PER_YEAR, level_payment_usd_per_h

#: what an asset is (the `kind` column), for write-offs by kind
ASIC, GPU, RETROFIT = 0, 1, 2


class Ledger:
    def __init__(self, n_miners: int, interest_rate_per_year: float, loan_years: float) -> None:
        self.n = n_miners
        self.interest_per_h = interest_rate_per_year / HOURS_PER_YEAR
        self.loan_hours = loan_years * HOURS_PER_YEAR
        # assets
        self.a_owner = np.zeros(0, np.int64)
        self.a_kind = np.zeros(0, np.int64)
        self.a_tag = np.zeros(0, np.int64)  # ASIC cohort slot, lease or order number
        self.a_book = np.zeros(0)
        self.a_rate = np.zeros(0)  # USD per hour of depreciation
        self.a_start = np.zeros(0, np.int64)  # first hour it depreciates (when it starts working)
        # loans
        self.l_owner = np.zeros(0, np.int64)
        self.l_balance = np.zeros(0)
        self.l_instalment = np.zeros(0)  # principal repaid per hour
        self.l_start = np.zeros(0, np.int64)  # first hour of repayment (interest is due from the start)
        self.l_rate_per_h = np.zeros(0)  # interest per hour on what is owed
        self.l_project = np.zeros(0, bool)  # project debt of a lease build (serviced by its rent)
        self.l_level_per_h = np.zeros(0)  # > 0: a level payment (interest + principal) per hour instead
        self._any_level = False
        #: write-offs since the last hour was booked (USD per miner), expensed with the next hour
        self.pending_write_off = np.zeros(n_miners)

    # -- changes at a review -------------------------------------------------------------------
    def add_asset(self, owner: int, usd: float, life_hours: float, *, kind: int, tag: int = -1,
                  start_hour: int = 0, age_hours: float = 0.0) -> None:
        """Book `usd` of cost for an asset depreciating over `life_hours` from `start_hour`; an
        asset already `age_hours` old is booked at its remaining value."""
        self.add_assets([owner], [usd], [life_hours], kinds=[kind], tags=[tag], start_hours=[start_hour],
                        age_hours=[age_hours])

    def add_assets(self, owners, usd, life_hours, *, kinds, tags, start_hours, age_hours) -> None:
        """`add_asset` for many assets at once (arrays of one length, booked in their order); those
        of no cost are left out."""
        usd, life = np.asarray(usd, float), np.asarray(life_hours, float)
        keep = usd > 0
        rate = usd[keep] / np.maximum(life[keep], 1.0)
        book = np.maximum(usd[keep] - rate * np.asarray(age_hours, float)[keep], 0.0)
        self.a_owner = np.append(self.a_owner, np.asarray(owners, np.int64)[keep])
        self.a_kind = np.append(self.a_kind, np.asarray(kinds, np.int64)[keep])
        self.a_tag = np.append(self.a_tag, np.asarray(tags, np.int64)[keep])
        self.a_book = np.append(self.a_book, book)
        self.a_rate = np.append(self.a_rate, rate)
        self.a_start = np.append(self.a_start, np.asarray(start_hours, np.int64)[keep])

    def write_off(self, owner: int, kind: int, tag: int, share: float = 1.0) -> float:
        """Remove `share` of the book value of `owner`'s asset(s) of `kind` and `tag` (a retired
        or replaced cohort); expensed with the next hour. Returns USD written off."""
        sel = np.flatnonzero((self.a_owner == owner) & (self.a_kind == kind) & (self.a_tag == tag))
        off = self.a_book[sel] * share
        self.a_book[sel] -= off
        self.a_rate[sel] *= 1.0 - share
        usd = float(off.sum())
        self.pending_write_off[owner] += usd
        return usd

    def write_off_all(self, owner: int) -> float:
        """Everything `owner` holds (it exits)."""
        sel = self.a_owner == owner
        usd = float(self.a_book[sel].sum())
        self.a_book[sel] = 0.0
        self.a_rate[sel] = 0.0
        self.pending_write_off[owner] += usd
        return usd

    def borrow(self, owner: int, usd: float, *, repay_from_hour: int = 0, years: float | None = None,
               rate_per_year: float | None = None, project: bool = False) -> None:
        """A loan of `usd`, repaid in equal instalments over `years` (default: the ledger's loan
        term) from `repay_from_hour` (a grace period while what it paid for is being built), at
        `rate_per_year` (default: the ledger's corporate rate); `project`: a lease build's
        project debt, repaid by a level payment (`level_payment_usd_per_h`, interest included)
        over `years` from `repay_from_hour`, as lenders size it on the rent."""
        self.borrow_each([owner], [usd], repay_from_hour=repay_from_hour, years=years, rate_per_year=rate_per_year,
                         project=project)

    def borrow_each(self, owners, usd, *, repay_from_hour: int = 0, years: float | None = None,
                    rate_per_year: float | None = None, project: bool = False) -> None:
        """`borrow` for many loans at once (in their order); loans of nothing are left out."""
        usd = np.asarray(usd, float)
        keep = usd > 0
        n = np.count_nonzero(keep)
        rate = self.interest_per_h if rate_per_year is None else rate_per_year / HOURS_PER_YEAR
        self.l_rate_per_h = np.append(self.l_rate_per_h, np.full(n, rate))
        self.l_project = np.append(self.l_project, np.full(n, bool(project)))
        hours = self.loan_hours if years is None else years * HOURS_PER_YEAR
        level = level_payment_usd_per_h(usd[keep], rate * HOURS_PER_YEAR, hours / HOURS_PER_YEAR) if project else np.zeros(n)
        self.l_level_per_h = np.append(self.l_level_per_h, level)
        self._any_level = bool(self.l_level_per_h.any())
        self.l_owner = np.append(self.l_owner, np.asarray(owners, np.int64)[keep])
        self.l_balance = np.append(self.l_balance, usd[keep])
        self.l_instalment = np.append(self.l_instalment, usd[keep] / hours)
        self.l_start = np.append(self.l_start, np.full(np.count_nonzero(keep), repay_from_hour, np.int64))

    def debt_service_usd_per_h(self, owner: int, project: bool | None = None) -> float:
        """What `owner` pays an hour on its loans once all are being repaid (interest + principal);
        `project` True/False: on its project / corporate loans only."""
        sel = self._loans_of(owner, project)
        return float(self._service_usd_per_h(sel).sum())

    def _service_usd_per_h(self, sel) -> np.ndarray:
        balance = self.l_balance[sel]
        interest = balance * self.l_rate_per_h[sel]
        level = self.l_level_per_h[sel]
        return np.where(level > 0, np.minimum(level, balance + interest),
                        interest + np.minimum(self.l_instalment[sel], balance))

    def project_service_usd_per_h(self, owner: int, hour: int) -> float:
        """What `owner` pays an hour on the project loans already being repaid at `hour` (those
        of operating leases, whose rent is in its EBITDA)."""
        sel = self._loans_of(owner, True) & (self.l_start <= hour)
        return float(self._service_usd_per_h(sel).sum())

    def _loans_of(self, owner: int, project: bool | None) -> np.ndarray:
        sel = self.l_owner == owner
        return sel if project is None else sel & (self.l_project == project)

    # -- every hour ----------------------------------------------------------------------------
    def book_hour(self, hour: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Depreciation (with pending write-offs), interest and principal of this hour, USD per
        miner; book values and balances move accordingly."""
        n = self.n
        dep_each = np.where(self.a_start <= hour, np.minimum(self.a_rate, self.a_book), 0.0)
        self.a_book -= dep_each
        depreciation = np.bincount(self.a_owner, dep_each, n) + self.pending_write_off
        self.pending_write_off = np.zeros(n)
        due = self.l_balance * self.l_rate_per_h
        interest = np.bincount(self.l_owner, due, n)
        instalment = self.l_instalment
        if self._any_level:  # level payments: the principal is what the payment leaves after interest
            instalment = np.where(self.l_level_per_h > 0, self.l_level_per_h - due, instalment)
        pay = np.where(self.l_start <= hour, np.minimum(instalment, self.l_balance), 0.0)
        self.l_balance -= pay
        principal = np.bincount(self.l_owner, pay, n)
        return depreciation, interest, principal

    @property
    def book_usd(self) -> np.ndarray:
        return np.bincount(self.a_owner, self.a_book, self.n)

    @property
    def debt_usd(self) -> np.ndarray:
        return np.bincount(self.l_owner, self.l_balance, self.n)

    def debt_of(self, owner: int, project: bool | None = None) -> float:
        """What `owner` owes (`project` True/False: on project / corporate loans only)."""
        return float(self.l_balance[self._loans_of(owner, project)].sum())
