"""Transaction fees per block: constant, noisy (gamma) or a replayed series, in integer satoshis.

Each model draws fees for `n` new blocks at once (`sample_sat(n, rng)`), so the network makes one
call per step however many blocks it found. `mean_btc` is the expected fees per block, for
valuing a future block (hashprice).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from simulation.bitcoin.consensus import COIN_SAT


class FeeModel(Protocol):
    mean_btc: float

    def sample_sat(self, n: int, rng: np.random.Generator) -> list[int]:
        """Fees of the next `n` blocks in satoshis (Python ints)."""
        ...


def _btc_to_sat(name: str, btc: float) -> int:
    if not (0.0 <= btc < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0 BTC (got {btc!r})")
    return round(btc * COIN_SAT)


class ConstantFees:
    """The same fees in every block."""

    def __init__(self, btc_per_block: float) -> None:
        self.fee_sat = _btc_to_sat("btc_per_block", btc_per_block)
        self.mean_btc = self.fee_sat / COIN_SAT

    def sample_sat(self, n: int, rng: np.random.Generator) -> list[int]:
        return [self.fee_sat] * n

    def __repr__(self) -> str:
        return f"ConstantFees(btc_per_block={self.mean_btc})"


class NoisyFees:
    """Independent gamma-distributed fees per block with a given mean and coefficient of variation.

    Gamma (shape 1/cv^2, scale mean*cv^2) is positive and right-skewed like real fee totals;
    cv = 0 gives constant fees.
    """

    def __init__(self, btc_per_block: float, cv: float) -> None:
        self.mean_sat = _btc_to_sat("btc_per_block", btc_per_block)
        if not (0.0 <= cv < math.inf):
            raise ValueError(f"cv must be a finite number >= 0 (got {cv!r}): the fees' std / mean")
        self.mean_btc = self.mean_sat / COIN_SAT
        self.cv = float(cv)
        self._shape = 1.0 / (cv * cv) if cv > 0 else math.inf
        self._scale = self.mean_sat * cv * cv

    def sample_sat(self, n: int, rng: np.random.Generator) -> list[int]:
        if self.cv == 0.0 or self.mean_sat == 0:
            return [self.mean_sat] * n
        return np.rint(rng.gamma(self._shape, self._scale, n)).astype(np.int64).tolist()

    def __repr__(self) -> str:
        return f"NoisyFees(btc_per_block={self.mean_btc}, cv={self.cv})"


class SeriesFees:
    """Fees replayed from a series, block after block, starting over at the end."""

    def __init__(self, fees_btc: Sequence[float]) -> None:
        arr = np.asarray(fees_btc, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError("fees_btc must be a non-empty 1-D series of BTC per block")
        if not np.all(np.isfinite(arr) & (arr >= 0)):
            raise ValueError("fees_btc must hold finite values >= 0 BTC: check the series for blanks or negatives")
        self._sat = np.rint(arr * COIN_SAT).astype(np.int64).tolist()
        self.mean_btc = float(np.mean(self._sat)) / COIN_SAT
        self._next = 0

    @classmethod
    def from_csv(cls, path: str | Path, column: str = "fees_btc") -> "SeriesFees":
        """Read one column of BTC per block from a CSV file with a header row."""
        from simulation.timecolumn import read_csv_rows

        header, rows = read_csv_rows(path)
        if column not in header:
            raise ValueError(f"{path}: no column '{column}' (columns: {', '.join(header)}); add a '{column}' "
                             "column (series_csv)")
        j = header.index(column)
        values = []
        for line, row in rows:
            text = row[j].strip() if j < len(row) else ""
            try:
                v = float(text)
            except ValueError:
                v = math.nan
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{path}: row {line} has {column}={text!r}; every block needs a number >= 0 BTC "
                                 "(fill the gap)")
            values.append(v)
        if not values:
            raise ValueError(f"{path}: no rows under the header; give fees per block in BTC")
        return cls(values)

    def sample_sat(self, n: int, rng: np.random.Generator) -> list[int]:
        s, i, m = self._sat, self._next, len(self._sat)
        out = []
        while len(out) < n:
            take = min(n - len(out), m - i)
            out.extend(s[i:i + take])
            i = (i + take) % m
        self._next = i
        return out

    def __repr__(self) -> str:
        return f"SeriesFees(blocks={len(self._sat)}, mean_btc={self.mean_btc})"


def make_fee_model(spec=None, /, *, model: str | None = None, btc_per_block: float | None = None,
                   cv: float | None = None, series_csv: str | Path | None = None) -> FeeModel:
    """A fee model from plain arguments or any object with those attributes (e.g. a fees config).

    model: "constant" | "noisy" | "series"; btc_per_block: mean fees (BTC); cv: coefficient of
    variation (noisy); series_csv: CSV with a 'fees_btc' column (series).
    """
    get = (lambda k, v: v if v is not None else getattr(spec, k, None)) if spec is not None else (lambda k, v: v)
    model = get("model", model) or "noisy"
    btc = get("btc_per_block", btc_per_block)
    btc = 0.1 if btc is None else btc
    if model == "constant":
        return ConstantFees(btc)
    if model == "noisy":
        c = get("cv", cv)
        return NoisyFees(btc, 0.5 if c is None else c)
    if model == "series":
        path = get("series_csv", series_csv)
        if path is None:
            raise ValueError("fees.series_csv: required by the 'series' fee model; give a CSV with a 'fees_btc' column")
        return SeriesFees.from_csv(path)
    raise ValueError(f"fees.model must be 'constant', 'noisy' or 'series' (got {model!r})")
