"""The model's Bitcoin side: the network (consensus, blocks, retargets), the rest of the world's
hash supply answering the hashprice, and what miners estimate from the chain they have seen (fees
per block, difficulty growth). Endogenous: our miners' hashing moves it, and it moves them back.

`GridPivotModel` owns one; the exogenous drivers (`simulation.drivers`) know nothing of it.
"""

from __future__ import annotations

import numpy as np

from simulation.bitcoin import HALVING_2024, BitcoinNetwork, bits_to_difficulty, make_fee_model
from simulation.bitcoin.economics import PH_DAY_PER_DIFFICULTY
from simulation.bitcoin.history import check_retarget_point, difficulty_growth_per_year, load_chain_history
from simulation.markets import DEFAULT_POOL_SHARES, HashrateShock, RestOfWorldFleet

#: weight of one hour in the fee-per-block estimate miners value blocks with (~a day)
FEE_ALPHA = 1.0 / 144.0


def bitcoin_network(b, rng: np.random.Generator, backtest: bool = False) -> BitcoinNetwork:
    """The Bitcoin network at the scenario's chain point (`[bitcoin]`); a backtest's chain point
    must be a real retarget boundary of the shipped chain data."""
    if backtest:
        check_retarget_point(b.height, b.time, b.bits, b.window_first_time or b.time)
    wft = b.window_first_time or (HALVING_2024.window_first_time if b.height == HALVING_2024.height else 0)
    if not wft:
        raise ValueError("bitcoin.window_first_time: required when the chain point is not the default "
                         "2024 halving; give the unix time of block height - height % 2016")
    return BitcoinNetwork(height=b.height, time=b.time, bits=b.bits, window_first_time=wft,
                          fees=make_fee_model(b.fees), rng=rng, halving=b.halving)


class BitcoinSide:
    """The network, the rest of the world's fleet and the miners' chain-based estimates."""

    def __init__(self, sc, rng: np.random.Generator) -> None:
        self.sc = sc
        self.network = bitcoin_network(sc.bitcoin, rng, backtest=sc.backtest.enabled)
        chain = load_chain_history()
        before = chain.time_unix <= sc.bitcoin.time
        self._chain_seen = (chain.time_unix[before].astype(float), chain.difficulty[before])
        self._retargets_seen = 0
        self.expected_fees_btc = sc.bitcoin.fees.btc_per_block
        self.rest_of_world: RestOfWorldFleet | None = None
        shares = np.asarray(list(DEFAULT_POOL_SHARES.values()), float)
        self.pool_shares = shares / shares.sum()  # the rest of the world's pools, summing to 1

    def calibrate_rest_of_world(self, local_th_s: float, btc_price_usd: float) -> None:
        """Size the rest of the world so the network starts at the chain point's implied rate."""
        rw = self.sc.rest_of_world
        implied_eh_s = self.network.implied_hashrate_hs() / 1e18
        target = rw.eh_s or max(implied_eh_s - local_th_s / 1e6, 0.1 * implied_eh_s)
        self.rest_of_world = RestOfWorldFleet.calibrated(
            target_eh_s=target, hashprice_usd_per_ph_day=self.hashprice_usd_per_ph_day(btc_price_usd),
            mean_j_per_th=rw.mean_j_per_th, median_power_cost_usd_per_mwh=rw.power_cost_usd_per_mwh,
            response_hours=rw.response_hours, growth_eh_s_per_month=rw.growth_eh_s_per_month,
            new_j_per_th=rw.new_j_per_th,
            shocks=[HashrateShock(s.start_hour, s.end_hour, s.fraction) for s in rw.shocks])

    def hashprice_usd_per_ph_day(self, btc_price_usd: float) -> float:
        """Hashprice (USD per PH/s per day) from the current difficulty, the next block's subsidy
        and the expected fees per block, at `btc_price_usd`."""
        net = self.network
        reward = net.subsidy_sat(net.height + 1) / 1e8 + self.expected_fees_btc
        return btc_price_usd * reward * PH_DAY_PER_DIFFICULTY / net.difficulty

    def rest_of_world_responds(self, hashprice_usd_per_ph_day: float, hour: int) -> float:
        """The rest of the world's hash rate online this hour (EH/s), having moved toward what the
        hashprice pays."""
        return self.rest_of_world.step(hashprice_usd_per_ph_day, hour)

    def mine(self, seconds: float, network_hs: float) -> tuple[list, list]:
        """The network finds blocks for `seconds` at `network_hs` (H/s); (blocks, retargets
        that happened), and the fee estimate learns from the blocks."""
        n = len(self.network.retargets)
        blocks = self.network.advance(seconds, network_hs)
        for b in blocks:
            self.expected_fees_btc += FEE_ALPHA * (b.fees_sat / 1e8 - self.expected_fees_btc)
        return blocks, self.network.retargets[n:]

    def difficulty_growth_per_year(self, now_unix: float) -> float:
        """The difficulty growth miners expect (continuous, 1/yr): a fixed rate, or estimated on the
        chain seen so far: the real retargets before the start, then the simulated ones."""
        e = self.sc.expectations
        if e.difficulty_growth == "fixed":
            return e.difficulty_growth_per_year
        times, diffs = self._chain_seen
        sim = self.network.retargets[self._retargets_seen:]
        if sim:
            times = np.append(times, [r.time for r in sim])
            diffs = np.append(diffs, [bits_to_difficulty(r.new_bits) for r in sim])
            self._chain_seen = (times, diffs)
            self._retargets_seen = len(self.network.retargets)
        try:
            return difficulty_growth_per_year(times, diffs, now_unix, e.difficulty_window_days)
        except ValueError as err:
            raise ValueError(f"{err} (the run starts at unix time {self.sc.bitcoin.time})") from None
