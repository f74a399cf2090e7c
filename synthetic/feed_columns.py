"""What the three feed writers share: when extracts are made, the spec's column formats,
and the two draws every feed makes.

Columns come out exactly as docs/landing-zone.md writes them: ISO dates, codes from a fixed
list, `Y`/`N` flags, empty for null. Nothing here knows which feed it is writing.
"""

from __future__ import annotations

import numpy as np
import polars as pl

EXTRACT_LAG_DAYS = 10  # hospital and social care are extracted this many days after the month ends


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Days since 1970-01-01 as a date column; null where `null` is set."""
    series = pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)
    if null is not None and null.any():
        series = series.scatter(np.nonzero(null)[0], None)
    return series


def lookup(
    values: tuple[str, ...] | list[str], index: np.ndarray, null: np.ndarray | None = None
) -> pl.Series:
    """The codes `values[index]` as a text column; null where `null` is set."""
    series = pl.Series(list(values), dtype=pl.String).gather(np.asarray(index, dtype=np.int64))
    if null is not None and null.any():
        series = series.scatter(np.nonzero(null)[0], None)
    return series


def yes_no(flags: np.ndarray) -> pl.Series:
    """Booleans as the spec's `Y`/`N` flags."""
    return lookup(("N", "Y"), flags.astype(np.int64))


def choice(rng: np.random.Generator, shares: tuple[float, ...], size: int) -> np.ndarray:
    """`size` indices into `shares`, drawn in proportion to them."""
    probabilities = np.asarray(shares, dtype=float)
    return rng.choice(probabilities.size, size=size, p=probabilities / probabilities.sum())


def uniform_day(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A day drawn uniformly from each `[first, last]`."""
    return first + (rng.random(first.size) * (last - first + 1)).astype(np.int64)
