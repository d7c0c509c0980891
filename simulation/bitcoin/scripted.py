"""A network-only run: the Bitcoin network under a scripted hash-rate path, hour by hour.

No grid and no miners: a hash-rate path (a baseline and segments of hours at a factor of it or
at an absolute EH/s) drives `BitcoinNetwork.advance`, and the run is summarised per difficulty
epoch. Takes plain arguments; reading a scenario file is the caller's job.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, fields
from typing import Iterable, Mapping

import numpy as np

from simulation.bitcoin.consensus import COIN_SAT, RETARGET_INTERVAL, bits_to_difficulty, block_subsidy
from simulation.bitcoin.economics import hashprice_usd_per_ph_day
from simulation.bitcoin.network import BitcoinNetwork, Block, Retarget

_EH = 1e18
_STEP_S = 3600


@dataclass(frozen=True)
class HashrateSegment:
    """Hours [start_hour, end_hour) at `factor` x the baseline, or at an absolute `eh_s`."""

    start_hour: int
    end_hour: int
    factor: float | None = None
    eh_s: float | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.start_hour < self.end_hour):
            raise ValueError(f"segment hours must satisfy 0 <= start_hour < end_hour "
                             f"(got start_hour={self.start_hour}, end_hour={self.end_hour})")
        if (self.factor is None) == (self.eh_s is None):
            raise ValueError(f"segment {self.start_hour}-{self.end_hour}: give exactly one of factor or eh_s")
        v = self.factor if self.factor is not None else self.eh_s
        if not (0.0 <= v < math.inf):
            raise ValueError(f"segment {self.start_hour}-{self.end_hour}: factor/eh_s must be finite and >= 0 "
                             f"(got {v!r})")

    @classmethod
    def coerce(cls, x) -> "HashrateSegment":
        """A segment from itself, a mapping or any object with the same attribute names."""
        if isinstance(x, cls):
            return x
        get = x.get if isinstance(x, Mapping) else (lambda k, d=None: getattr(x, k, d))
        return cls(int(get("start_hour")), int(get("end_hour")), get("factor"), get("eh_s"))


class HashratePath:
    """Piecewise-constant network hash rate per hour.

    `baseline` is "implied" (the start's difficulty x 2^32 / 600) or a number of EH/s (also as a
    string); a segment's `factor` multiplies the baseline. Segments may not overlap.
    """

    def __init__(self, segments: Iterable = (), baseline: float | str = "implied") -> None:
        self.segments = sorted((HashrateSegment.coerce(s) for s in segments), key=lambda s: s.start_hour)
        for a, b in zip(self.segments, self.segments[1:]):
            if b.start_hour < a.end_hour:
                raise ValueError(f"segments overlap: {a.start_hour}-{a.end_hour} and {b.start_hour}-{b.end_hour}")
        if isinstance(baseline, str) and baseline.strip().lower() == "implied":
            self.baseline_eh_s = None
        else:
            try:
                self.baseline_eh_s = float(baseline)
            except (TypeError, ValueError):
                raise ValueError(f"baseline must be 'implied' or a number of EH/s (got {baseline!r})") from None
            if not (0.0 <= self.baseline_eh_s < math.inf):
                raise ValueError(f"baseline must be finite and >= 0 EH/s (got {baseline!r})")

    def hourly_hs(self, hours: int, implied_hs: float) -> np.ndarray:
        """Hash rate (H/s) of each hour 0..hours-1, given the start's implied hash rate."""
        base = implied_hs if self.baseline_eh_s is None else self.baseline_eh_s * _EH
        hs = np.full(hours, base, dtype=float)
        for s in self.segments:
            hs[s.start_hour:s.end_hour] = base * s.factor if s.factor is not None else s.eh_s * _EH
        return hs


@dataclass(frozen=True)
class EpochRow:
    """One difficulty epoch (or the part of it inside the run).

    epoch_start_height: first block of the epoch (height % 2016 == 0); start_time / end_time:
    unix s of the part simulated (the first row starts at the chain point, the last ends with the
    run); blocks: simulated blocks in it; mean_block_interval_s: over those blocks (nan if none);
    hashrate_eh_s: time-weighted scripted hash rate; hashprice at the epoch's difficulty, first
    simulated block's subsidy and the fee model's mean; next_change_pct: difficulty change at the
    retarget ending the epoch (nan if the run ends first).
    """

    epoch_start_height: int
    start_time: int
    end_time: int
    bits: int
    difficulty: float
    blocks: int
    mean_block_interval_s: float
    hashrate_eh_s: float
    hashprice_usd_per_ph_day: float
    next_change_pct: float


@dataclass
class ScriptedResult:
    """A network-only run: per-epoch rows, hourly columns, every block and retarget."""

    epochs: list[EpochRow]
    hourly: dict[str, np.ndarray]
    blocks: list[Block]
    retargets: list[Retarget]
    start_time: int
    hours: int

    @property
    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Column tables (name -> {column: array}) for a run log."""
        names = [f.name for f in fields(EpochRow)]
        t = {"epochs": {n: np.array([getattr(e, n) for e in self.epochs]) for n in names},
             "hourly": dict(self.hourly)}
        if self.blocks:
            t["blocks"] = {n: np.array([getattr(b, n) for b in self.blocks]) for n in Block._fields}
        if self.retargets:
            rows = [asdict(r) for r in self.retargets]
            t["retargets"] = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        return t

    @property
    def summary(self) -> dict:
        """Headline numbers of the run (units in the keys)."""
        n = len(self.blocks)
        h = self.hourly
        return {
            "hours": self.hours,
            "blocks": n,
            "mean_block_interval_s": self.hours * _STEP_S / n if n else math.nan,
            "retargets": len(self.retargets),
            "difficulty_start": float(self.epochs[0].difficulty),
            "difficulty_end": float(h["difficulty"][-1]) if self.hours else float(self.epochs[0].difficulty),
            "largest_drop_pct": min(((r.ratio - 1) * 100 for r in self.retargets), default=math.nan),
            "fees_btc": sum(b.fees_sat for b in self.blocks) / COIN_SAT,
        }


class _Epoch:
    """Accumulator for the epoch being simulated: from `start_time`, with nBits `bits`, the next
    block at `next_height`, the last block before it found at `prev_block_time`."""

    def __init__(self, next_height: int, bits: int, start_time: float, prev_block_time: int) -> None:
        self.start_height = next_height - next_height % RETARGET_INTERVAL
        self.start_time = start_time
        self.bits, self.difficulty = bits, bits_to_difficulty(bits)
        self.subsidy_sat = block_subsidy(next_height)
        self.prev_block_time = self.last_block_time = prev_block_time
        self.blocks = 0
        self.hash_seconds = 0.0
        self.seconds = 0.0

    def add_time(self, hashrate_hs: float, seconds: float) -> None:
        self.hash_seconds += hashrate_hs * seconds
        self.seconds += seconds

    def row(self, end_time: float, change_pct: float, btc_price_usd: float, fees_btc: float) -> EpochRow:
        hp = hashprice_usd_per_ph_day(btc_price_usd, self.subsidy_sat / COIN_SAT + fees_btc, self.difficulty)
        return EpochRow(
            epoch_start_height=self.start_height, start_time=int(self.start_time), end_time=int(end_time),
            bits=self.bits, difficulty=self.difficulty, blocks=self.blocks,
            mean_block_interval_s=((self.last_block_time - self.prev_block_time) / self.blocks
                                   if self.blocks else math.nan),
            hashrate_eh_s=self.hash_seconds / self.seconds / _EH if self.seconds > 0 else math.nan,
            hashprice_usd_per_ph_day=float(hp), next_change_pct=change_pct)


def simulate_scripted(network: BitcoinNetwork, path: HashratePath, hours: int, btc_price_usd: float) -> ScriptedResult:
    """Advance `network` hour by hour along `path` for `hours`; summarise per epoch.

    The network is advanced in place. `btc_price_usd` (constant) only enters the hashprice column.
    """
    if not (isinstance(hours, (int, np.integer)) and hours >= 0):
        raise ValueError(f"hours must be an integer >= 0 (got {hours!r})")
    if not (0.0 < btc_price_usd < math.inf):
        raise ValueError(f"btc_price_usd must be finite and > 0 (got {btc_price_usd!r})")
    hs = path.hourly_hs(int(hours), network.implied_hashrate_hs())
    fees_btc = float(network.fees.mean_btc)
    start_time = network.time
    cols = {k: np.empty(hours, dtype) for k, dtype in (
        ("hour", np.int64), ("time", np.int64), ("hashrate_eh_s", float), ("blocks", np.int64),
        ("height", np.int64), ("bits", np.int64), ("difficulty", float))}
    blocks_all: list[Block] = []
    rows: list[EpochRow] = []
    n_rt0 = len(network.retargets)
    ep = _Epoch(network.height + 1, network.bits, network.clock_s, network.time)
    for hour in range(hours):
        h = float(hs[hour])
        seg_start = network.clock_s
        blocks = network.advance(_STEP_S, h)
        for b in blocks:
            ep.blocks += 1
            ep.last_block_time = b.time
            if b.height % RETARGET_INTERVAL == RETARGET_INTERVAL - 1:  # closes the window: retarget
                r = next(r for r in reversed(network.retargets) if r.height == b.height + 1)
                t = max(float(b.time), seg_start)
                ep.add_time(h, t - seg_start)
                seg_start = t
                rows.append(ep.row(b.time, (r.ratio - 1.0) * 100.0, btc_price_usd, fees_btc))
                ep = _Epoch(r.height, r.new_bits, t, b.time)
        ep.add_time(h, network.clock_s - seg_start)
        blocks_all.extend(blocks)
        cols["hour"][hour] = hour
        cols["time"][hour] = int(network.clock_s)
        cols["hashrate_eh_s"][hour] = h / _EH
        cols["blocks"][hour] = len(blocks)
        cols["height"][hour] = network.height
        cols["bits"][hour] = network.bits
        cols["difficulty"][hour] = network.difficulty
    rows.append(ep.row(network.clock_s, math.nan, btc_price_usd, fees_btc))
    return ScriptedResult(epochs=rows, hourly=cols, blocks=blocks_all, retargets=network.retargets[n_rt0:],
                          start_time=start_time, hours=int(hours))


def _utc(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def format_epochs(result: ScriptedResult) -> str:
    """The per-epoch rows as an aligned text table."""
    head = ("height", "start (UTC)", "end (UTC)", "bits", "difficulty T", "blocks", "interval s", "EH/s",
            "USD/PH/day", "next chg %")
    body = []
    for e in result.epochs:
        body.append((f"{e.epoch_start_height:,}", _utc(e.start_time), _utc(e.end_time), f"{e.bits:#010x}",
                     f"{e.difficulty / 1e12:,.2f}", f"{e.blocks:,}",
                     "-" if math.isnan(e.mean_block_interval_s) else f"{e.mean_block_interval_s:,.0f}",
                     "-" if math.isnan(e.hashrate_eh_s) else f"{e.hashrate_eh_s:,.1f}",
                     f"{e.hashprice_usd_per_ph_day:,.2f}",
                     "-" if math.isnan(e.next_change_pct) else f"{e.next_change_pct:+.2f}"))
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    left = {1, 2, 3}

    def fmt(r):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    lines = [fmt(head), "  ".join("-" * w for w in widths), *map(fmt, body)]
    return "\n".join(lines)
