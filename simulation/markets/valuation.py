"""What one megawatt of a mining site is worth over a horizon in each of its three uses, as a
present value (USD per facility MW) at the rate of that use's own risk (the caller passes it:
`FinanceConfig.hashing_rate_per_year`, `lease_rate_per_year`, `own_gpu_rate_per_year`). Pure
numpy; the miners' investment rule (`agents/investment.py`) compares them.

- **hashing** on a block of ASICs: every hour the block hashes when its hash value beats the
  power price and curtails otherwise, so a month earns E_p[max(v_m - p, 0)] per MWh over the
  site's own recent hourly prices p; v_m follows the expected hashprice path (subsidy schedule,
  difficulty growth, the BTC price's expected drift: a martingale by default). The site may
  also swap in the newest ASIC when that pays better net of its capital cost.
- **hosting lease** (colocation, the Core Scientific - CoreWeave model): the tenant owns the GPUs;
  the miner pays the build now, is paid a take-or-pay rent per MW of critical IT load per month
  (escalated yearly) from the end of the lead time for the term, keeps its NOI margin of it, and
  power is passed through to the tenant (or paid by the miner, a config choice).
- **own-GPU AI cloud**: GPUs plus retrofit now; GPU-hours sold at a price that follows the AI
  market's trend, at a utilisation, less power, for the GPUs' life.

Months are counted from the decision; cash flows sit at mid-month. Costs common to every use
(site O&M, staff) are left out: they do not change the comparison.
"""

from __future__ import annotations

import numpy as np

from simulation.bitcoin.economics import hashvalue_usd_per_mwh
from simulation.markets.finance import HOURS_PER_MONTH, HOURS_PER_YEAR, annuity_usd_per_year, monthly_discount


def hash_value_usd_per_mwh(hashprice_usd_per_ph_day, j_per_th: np.ndarray) -> np.ndarray:
    """What a MWh hashing earns on ASICs of `j_per_th` (any shape) at the hashprice: 0 where
    there are none (J/TH 0)."""
    jpt = np.asarray(j_per_th, float)
    return np.where(jpt > 0, hashvalue_usd_per_mwh(hashprice_usd_per_ph_day, np.where(jpt > 0, jpt, 1.0)), 0.0)


def spot_value_usd_per_mwh(price_usd_per_gpu_hour: float, gpu_kw_all_in: np.ndarray) -> np.ndarray:
    """What a MWh of own GPUs earns selling GPU-hours at the spot price (a GPU draws
    `gpu_kw_all_in` kW): 0 where there are none (kW 0)."""
    kw = np.asarray(gpu_kw_all_in, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(kw > 0, price_usd_per_gpu_hour * 1e3 / kw, 0.0)


class PriceSample:
    """A site's recent hourly power prices (USD/MWh), sorted once with their running sums, so the
    hash margins of many hash values (`hash_margin_usd_per_mwh`) cost a search each; its mean is
    the plain mean of the prices in their given order."""

    def __init__(self, prices_usd_per_mwh) -> None:
        p = np.asarray(prices_usd_per_mwh, float)
        self.n = p.size
        self.mean_usd_per_mwh = float(np.mean(p)) if p.size else float("nan")
        self.sorted_usd_per_mwh = np.sort(p)
        self.running_sum_usd_per_mwh = np.concatenate([[0.0], np.cumsum(self.sorted_usd_per_mwh)])

    def __len__(self) -> int:
        return self.n


def price_sample(prices_usd_per_mwh) -> PriceSample:
    """`prices_usd_per_mwh` as a `PriceSample` (itself when it is one)."""
    return prices_usd_per_mwh if isinstance(prices_usd_per_mwh, PriceSample) else PriceSample(prices_usd_per_mwh)


def hash_margin_usd_per_mwh(hashvalue_usd_per_mwh, power_sample_usd_per_mwh) -> np.ndarray:
    """Mean over the power-price sample (prices or a `PriceSample`) of max(v - p, 0) for each hash
    value v (USD/MWh): what a MWh of flexible hashing earns when it runs only in hours it pays."""
    v = np.atleast_1d(np.asarray(hashvalue_usd_per_mwh, float))
    s = price_sample(power_sample_usd_per_mwh)
    if s.n == 0:
        return np.maximum(v, 0.0)
    # sum over p < v of (v - p) = k v - cumsum(p)[k-1], with k = #p below v
    k = np.searchsorted(s.sorted_usd_per_mwh, v, side="left")
    return (k * v - s.running_sum_usd_per_mwh[k]) / s.n


class HashingValue:
    """Present value (USD per MW) of hashing over a hashprice path's months on ASICs of `j_per_th`,
    for any site's power prices (`at`); with `new_j_per_th` > 0 the site may run the newest ASICs
    instead in any month where their margin, net of their capital cost spread over
    `new_life_years`, is higher. What does not depend on the site is computed once."""

    def __init__(self, hashprice_path_usd_per_ph_day, j_per_th: float, rate_per_year: float,
                 new_j_per_th: float = 0.0, new_capex_usd_per_mw: float = 0.0, new_life_years: float = 4.0) -> None:
        hp = np.asarray(hashprice_path_usd_per_ph_day, float)
        self.discount = monthly_discount(hp.size, rate_per_year)
        self.value_usd_per_mwh = hashvalue_usd_per_mwh(hp, j_per_th)
        self.new_value_usd_per_mwh = None
        if new_j_per_th > 0:
            self.new_value_usd_per_mwh = hashvalue_usd_per_mwh(hp, new_j_per_th)
            self.capital_usd_per_mwh = annuity_usd_per_year(new_capex_usd_per_mw, rate_per_year,
                                                            new_life_years) / HOURS_PER_YEAR

    def at(self, power_sample_usd_per_mwh) -> float:
        """The value on the site's recent hourly prices (an array or a `PriceSample`)."""
        prices = price_sample(power_sample_usd_per_mwh)  # sorted once for both margins
        margin = hash_margin_usd_per_mwh(self.value_usd_per_mwh, prices)
        if self.new_value_usd_per_mwh is not None:
            new = hash_margin_usd_per_mwh(self.new_value_usd_per_mwh, prices) - self.capital_usd_per_mwh
            margin = np.maximum(margin, new)
        return float(self.discount @ margin) * HOURS_PER_MONTH


def hashing_value_usd_per_mw(hashprice_path_usd_per_ph_day, j_per_th: float, power_sample_usd_per_mwh,
                             rate_per_year: float, new_j_per_th: float = 0.0,
                             new_capex_usd_per_mw: float = 0.0, new_life_years: float = 4.0) -> float:
    """`HashingValue` of one site: present value (USD per MW) of hashing over the path's months on
    ASICs of `j_per_th` on its power prices (with the option of the newest ASICs when
    `new_j_per_th` > 0)."""
    return HashingValue(hashprice_path_usd_per_ph_day, j_per_th, rate_per_year, new_j_per_th, new_capex_usd_per_mw,
                        new_life_years).at(power_sample_usd_per_mwh)


def lease_rent_usd_per_month(fee_usd_per_month: float, term_months: int, escalator_per_year: float = 0.0) -> np.ndarray:
    """Rent in each month of a lease's term: the first year's rent, raised by the escalator at
    every anniversary of the start (fee x (1 + e)^floor(k / 12) in operating month k)."""
    k = np.arange(int(term_months))
    return fee_usd_per_month * (1.0 + escalator_per_year) ** (k // 12)


def hosting_value_usd_per_mw(*, fee_usd_per_it_mw_month: float, term_months: int, lead_months: int,
                             build_usd_per_it_mw: float, rate_per_year: float, pue: float = 1.3,
                             escalator_per_year: float = 0.0, noi_margin: float = 1.0,
                             power_paid_by_miner: bool = False, power_usd_per_mwh: float = 0.0,
                             tenant_capex_share: float = 0.0) -> float:
    """Present value (USD per facility MW) of a take-or-pay hosting lease: from month `lead_months`
    for `term_months`, the rent per MW of critical IT load (escalated yearly; a facility MW
    carries 1/PUE of IT load) times the NOI margin (what is left after the site's operating
    costs), less power at `power_usd_per_mwh` when the miner pays it; less the build paid now
    (per MW of IT, the tenant's share aside). Discount at the rate of the lease's risk: a
    contracted, guaranteed rent is worth about what the tenant's lenders pay for it.

        V = sum_k rent_k x NOI / PUE x d(lead + k) - build x (1 - tenant share) / PUE
    """
    months = int(lead_months) + int(term_months)
    disc = monthly_discount(months, rate_per_year)
    cash = np.zeros(months)
    cash[int(lead_months):] = lease_rent_usd_per_month(fee_usd_per_it_mw_month, term_months,
                                                       escalator_per_year) * noi_margin / pue
    if power_paid_by_miner:
        cash[int(lead_months):] -= power_usd_per_mwh * HOURS_PER_MONTH
    return float(disc @ cash) - build_usd_per_it_mw / pue * (1.0 - tenant_capex_share)


def own_gpu_value_usd_per_mw(*, price0_usd_per_gpu_hour: float, trend_per_year: float, utilisation: float,
                             gpu_kw_all_in: float, gpu_usd: float, retrofit_usd_per_mw: float, lead_months: int,
                             life_months: int, rate_per_year: float, power_usd_per_mwh: float) -> float:
    """Present value (USD per facility MW) of buying GPUs to sell GPU-hours: price
    p0 e^(trend t) per GPU-hour at `utilisation`, from month `lead_months` for `life_months`, power
    drawn in proportion to utilisation, less GPUs and retrofit paid now."""
    months = int(lead_months) + int(life_months)
    disc = monthly_discount(months, rate_per_year)
    t_years = (np.arange(months) + 0.5) / 12.0
    gpus_per_mw = 1000.0 / gpu_kw_all_in
    cash = np.zeros(months)
    running = slice(int(lead_months), months)
    revenue = price0_usd_per_gpu_hour * np.exp(trend_per_year * t_years[running]) * gpus_per_mw
    cash[running] = (revenue - power_usd_per_mwh) * utilisation * HOURS_PER_MONTH
    return float(disc @ cash) - gpus_per_mw * gpu_usd - retrofit_usd_per_mw
