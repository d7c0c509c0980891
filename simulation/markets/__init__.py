"""The markets the miners face: the BTC price, AI compute (spot and hosting leases), the
rest of the world's hash supply, and how block rewards are shared. Pure: imports nothing of
agents, the model, logs or visualisation.
"""

from simulation.markets.ai_compute import AiSpotMarket, HostingOffer, HostingOffers
from simulation.markets.btc_price import GbmJumpPrice, SeriesPrice, load_price_csv, load_price_times, price_window
from simulation.markets.rest_of_world import (DEFAULT_POOL_SHARES, HashrateShock, RestOfWorldFleet,
                                              breakeven_hashprice_usd_per_ph_day)
from simulation.markets.tenant_demand import TenantDemand, TenantRequest, split_request
from simulation.markets.rewards import expected_rewards, hhi_and_nakamoto, sampled_rewards

__all__ = [
    "AiSpotMarket", "HostingOffer", "HostingOffers",
    "GbmJumpPrice", "SeriesPrice", "load_price_csv", "load_price_times", "price_window",
    "DEFAULT_POOL_SHARES", "HashrateShock", "RestOfWorldFleet", "breakeven_hashprice_usd_per_ph_day",
    "TenantDemand", "TenantRequest", "split_request",
    "expected_rewards", "hhi_and_nakamoto", "sampled_rewards",
]
