"""Bitcoin's proof-of-work consensus rules with Python ints, mirroring Bitcoin Core.

Sources (behaviour mirrored, not code): `src/arith_uint256.cpp` (SetCompact / GetCompact),
`src/pow.cpp` (DeriveTarget, CheckProofOfWork range check, CalculateNextWorkRequired) and
`src/validation.cpp` (GetBlockSubsidy). 256-bit arithmetic is reproduced by masking to 2^256.
"""

from __future__ import annotations

import operator
from fractions import Fraction

#: arith_uint256 width
_MASK256 = (1 << 256) - 1
_U32 = 1 << 32

#: mainnet powLimit: 0x00000000ffff...ff (2^224 - 1)
POW_LIMIT = (1 << 224) - 1
#: powLimit in compact form (its GetCompact(); also the genesis block's nBits)
POW_LIMIT_BITS = 0x1D00FFFF
#: blocks per difficulty epoch
RETARGET_INTERVAL = 2016
#: nPowTargetTimespan: two weeks
TARGET_TIMESPAN_S = 1_209_600
#: nPowTargetSpacing: ten minutes
TARGET_SPACING_S = 600
#: nSubsidyHalvingInterval
HALVING_INTERVAL = 210_000
#: satoshis per BTC
COIN_SAT = 100_000_000
#: the retarget clamp on the measured timespan: [timespan / 4, timespan * 4]
MIN_TIMESPAN_S = TARGET_TIMESPAN_S // 4
MAX_TIMESPAN_S = TARGET_TIMESPAN_S * 4
#: the difficulty-1 target: decode(0x1d00ffff) = 0xffff * 2^208 (difficulty is relative to it)
DIFF1_TARGET = 0xFFFF << 208
#: expected hashes per block at difficulty 1 (the usual convention: difficulty * 2^32)
HASHES_PER_DIFFICULTY = 1 << 32
_INITIAL_SUBSIDY_SAT = 50 * COIN_SAT


def _as_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """An integer field in [lo, hi), or a one-line ValueError naming it."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer (got {value!r}): pass an int") from None
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be >= {lo} (got {v})")
    if hi is not None and v >= hi:
        raise ValueError(f"{name} must be < {hi:#x} (got {v:#x})")
    return v


def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """nBits -> (target, negative, overflow), exactly as `arith_uint256::SetCompact`.

    The target is what Core stores (truncated to 256 bits); `negative` and `overflow` are its
    pfNegative / pfOverflow flags. Nothing is rejected here: see `bits_to_target`.
    """
    bits = _as_int("bits", bits, 0, _U32)
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = (word << (8 * (size - 3))) & _MASK256
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return target, negative, overflow


def bits_to_target(bits: int) -> int:
    """The target of a valid mainnet nBits; ValueError where Core's `DeriveTarget` fails.

    Core rejects a negative, zero or overflowing compact, and a target easier than powLimit.
    """
    target, negative, overflow = decode_compact(bits)
    if negative:
        raise ValueError(f"bits {bits:#010x} is negative (sign bit 0x00800000 set): pass a positive compact target")
    if overflow:
        raise ValueError(f"bits {bits:#010x} overflows 256 bits: the exponent is too large for the mantissa")
    if target == 0:
        raise ValueError(f"bits {bits:#010x} encodes a zero target: no hash can meet it")
    if target > POW_LIMIT:
        raise ValueError(f"bits {bits:#010x} is easier than powLimit ({POW_LIMIT_BITS:#010x}): pass a harder target")
    return target


def target_to_bits(target: int, negative: bool = False) -> int:
    """Target -> nBits, exactly as `arith_uint256::GetCompact(fNegative)`.

    Lossy: keeps the top 3 significant bytes. A mantissa with bit 0x00800000 set would read as
    negative, so Core shifts it one byte right and bumps the exponent.
    """
    target = _as_int("target", target, 0, 1 << 256)
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & 0x007FFFFF:
        compact |= 0x00800000
    return compact


def target_to_difficulty(target: int) -> float:
    """Difficulty of a target: target(0x1d00ffff) / target, exact then rounded once to float."""
    return float(Fraction(DIFF1_TARGET, target))


def bits_to_difficulty(bits: int) -> float:
    """Difficulty of nBits relative to 0x1d00ffff (0x17034219 -> 86,388,558,925,171.02)."""
    return target_to_difficulty(bits_to_target(bits))


def retarget_timespan_s(window_first_time: int, window_last_time: int) -> int:
    """Measured timespan of a window (last block's time minus first's), clamped as Core does."""
    span = window_last_time - window_first_time
    if span < MIN_TIMESPAN_S:
        return MIN_TIMESPAN_S
    if span > MAX_TIMESPAN_S:
        return MAX_TIMESPAN_S
    return span


def next_bits(bits: int, window_first_time: int, window_last_time: int) -> int:
    """nBits of the next epoch, exactly as Core's `CalculateNextWorkRequired` on mainnet.

    `bits` is the ending epoch's nBits, `window_first_time` the time of its first block
    (height % 2016 == 0) and `window_last_time` the time of its last (height % 2016 == 2015).
    The timespan is clamped to [302,400, 4,838,400] s; the 256-bit target is multiplied by it,
    then divided by 1,209,600 (integer, truncating), capped at powLimit and rounded through
    the compact form.
    """
    target = bits_to_target(bits)
    first = _as_int("window_first_time", window_first_time)
    last = _as_int("window_last_time", window_last_time)
    new = ((target * retarget_timespan_s(first, last)) & _MASK256) // TARGET_TIMESPAN_S
    if new > POW_LIMIT:
        new = POW_LIMIT
    return target_to_bits(new)


def block_subsidy(height: int) -> int:
    """New coins in the block at `height`, in satoshis, exactly as Core's `GetBlockSubsidy`."""
    if height < 0:
        raise ValueError(f"height must be >= 0 (got {height}): block heights start at 0 (genesis)")
    halvings = height // HALVING_INTERVAL
    if halvings >= 64:
        return 0
    return _INITIAL_SUBSIDY_SAT >> halvings
