"""Bitcoin's security in money: what the chain pays its miners, and what a majority attack costs.

- Security budget: USD per day paid to miners (subsidy + fees at the BTC price). Over one hour,
  blocks x (subsidy + fees) x price, scaled to a day.
- Renting a 51 % attack for an hour: an attacker needs as much hash rate as the honest network
  (then holds half or more of the total); renting it costs the network's hash rate at hashprice,
  the going revenue of that hash rate: PH/s x USD/PH/day / 24 per hour.
- Building it: ASICs for that hash rate (TH/s x USD/TH) plus the power to run them for the
  attack's hours (TH/s x J/TH -> MW, x USD/MWh).

Pure functions of plain numbers (numpy-vectorised); no model, no logs.
"""

from __future__ import annotations

import math

import numpy as np


def _nonneg(name: str, x):
    if type(x) is float or type(x) is int:  # the hourly log's scalars: no array round trip
        if not (0 <= x < math.inf):
            raise ValueError(f"{name} must be finite and >= 0 (got {x!r})")
        return float(x)
    a = np.asarray(x, dtype=float)
    if not (np.all(np.isfinite(a)) and np.all(a >= 0)):
        raise ValueError(f"{name} must be finite and >= 0 (got {x!r})")
    return a


def security_budget_usd(reward_btc, btc_price_usd):
    """USD paid to miners for blocks rewarding `reward_btc` in total (subsidy + fees, BTC)."""
    return _nonneg("reward_btc", reward_btc) * _nonneg("btc_price_usd", btc_price_usd)


def security_budget_usd_per_day(reward_btc_in_hours, btc_price_usd, hours=1.0):
    """The security budget as a daily rate: USD paid for the blocks of `hours` hours (their
    subsidy + fees, `reward_btc_in_hours` BTC) x 24 / hours."""
    return security_budget_usd(reward_btc_in_hours, btc_price_usd) * 24.0 / _positive("hours", hours)


def attack_rent_usd_per_h(network_eh_s, hashprice_usd_per_ph_day):
    """Cost of renting the network's hash rate for one hour at hashprice (USD): enough to match
    the honest network, i.e. half or more of all hash rate. 1 EH/s = 1,000 PH/s."""
    return (_nonneg("network_eh_s", network_eh_s) * 1000.0
            * _nonneg("hashprice_usd_per_ph_day", hashprice_usd_per_ph_day) / 24.0)


def attack_build_usd(network_eh_s, asic_usd_per_th, j_per_th, power_usd_per_mwh, hours=1.0):
    """Cost of building the network's hash rate and running it for `hours` (USD): ASIC capex
    (TH/s x USD/TH) plus power (TH/s x J/TH = W, over `hours`, at USD/MWh)."""
    th_s = _nonneg("network_eh_s", network_eh_s) * 1e6
    capex = th_s * _nonneg("asic_usd_per_th", asic_usd_per_th)
    mw = th_s * _nonneg("j_per_th", j_per_th) / 1e6
    return capex + mw * _nonneg("hours", hours) * _nonneg("power_usd_per_mwh", power_usd_per_mwh)


def _positive(name: str, x):
    if type(x) is float or type(x) is int:
        if not (0 < x < math.inf):
            raise ValueError(f"{name} must be finite and > 0 (got {x!r})")
        return float(x)
    a = np.asarray(x, dtype=float)
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):
        raise ValueError(f"{name} must be finite and > 0 (got {x!r})")
    return a


__all__ = ["attack_build_usd", "attack_rent_usd_per_h", "security_budget_usd", "security_budget_usd_per_day"]
