"""The Bitcoin network mechanism: consensus rules (compact bits, retarget, subsidy), block
discovery under a given hash rate, fees and hashprice. Pure: imports nothing of agents, the
model, logs or visualisation.
"""

from simulation.bitcoin.consensus import (COIN_SAT, DIFF1_TARGET, HALVING_INTERVAL, HASHES_PER_DIFFICULTY,
                                          MAX_TIMESPAN_S, MIN_TIMESPAN_S, POW_LIMIT, POW_LIMIT_BITS,
                                          RETARGET_INTERVAL, TARGET_SPACING_S, TARGET_TIMESPAN_S, bits_to_difficulty,
                                          bits_to_target, block_subsidy, decode_compact, next_bits,
                                          retarget_timespan_s, target_to_bits, target_to_difficulty)
from simulation.bitcoin.economics import expected_btc_per_th_hour, hashprice_usd_per_ph_day, hashvalue_usd_per_mwh
from simulation.bitcoin.fees import ConstantFees, FeeModel, NoisyFees, SeriesFees, make_fee_model
from simulation.bitcoin.network import HALVING_2024, BitcoinNetwork, Block, ChainPoint, Retarget
from simulation.bitcoin.security import (attack_build_usd, attack_rent_usd_per_h, security_budget_usd,
                                         security_budget_usd_per_day)
from simulation.bitcoin.scripted import (EpochRow, HashratePath, HashrateSegment, ScriptedResult, format_epochs,
                                         simulate_scripted)

__all__ = [
    "COIN_SAT", "DIFF1_TARGET", "HALVING_INTERVAL", "HASHES_PER_DIFFICULTY", "MAX_TIMESPAN_S", "MIN_TIMESPAN_S",
    "POW_LIMIT", "POW_LIMIT_BITS", "RETARGET_INTERVAL", "TARGET_SPACING_S", "TARGET_TIMESPAN_S",
    "bits_to_difficulty", "bits_to_target", "block_subsidy", "decode_compact", "next_bits", "retarget_timespan_s",
    "target_to_bits", "target_to_difficulty",
    "expected_btc_per_th_hour", "hashprice_usd_per_ph_day", "hashvalue_usd_per_mwh",
    "ConstantFees", "FeeModel", "NoisyFees", "SeriesFees", "make_fee_model",
    "HALVING_2024", "BitcoinNetwork", "Block", "ChainPoint", "Retarget",
    "attack_build_usd", "attack_rent_usd_per_h", "security_budget_usd", "security_budget_usd_per_day",
    "EpochRow", "HashratePath", "HashrateSegment", "ScriptedResult", "format_epochs", "simulate_scripted",
]
