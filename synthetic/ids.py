"""IdCounters: the ids of the keyed feed files, unique across every month of a run.

The generator keeps one IdCounters for the whole run and the hospital and social-care
writers draw from it, so `attendance_id`, `appointment_id`, `spell_id` and `service_id`
never repeat, as the spec requires. An id never depends on anything but the row's place
in its month's sorted rows and the months before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass
class IdCounters:
    """Next number for each id kind; ids stay unique across every month of a run."""

    attendance: int = 1
    appointment: int = 1
    spell: int = 1
    service: int = 1

    def number(self, frame: pl.DataFrame, kind: str, prefix: str, column: str) -> pl.DataFrame:
        """Sort a month's rows into a stable order, then give them the next ids of `kind`."""
        frame = frame.sort(frame.columns, nulls_last=True, maintain_order=True)
        start = getattr(self, kind)
        setattr(self, kind, start + frame.height)
        return frame.insert_column(0, _ids(prefix, start, frame.height).alias(column))


def _ids(prefix: str, start: int, count: int) -> pl.Series:
    numbers = pl.DataFrame({"number": np.arange(start, start + count, dtype=np.int64)})
    return numbers.select(
        (pl.lit(prefix) + pl.col("number").cast(pl.String).str.zfill(9)).alias("id")
    ).to_series()
