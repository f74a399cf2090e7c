"""A DuckDB connection that adds up each statement's time, for the benchmarks that time SQL
by statement (`loading_by_statement.py`, `staging_by_feed.py`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable


def statement_key(sql: str, width: int = 60) -> str:
    """A statement named by its first `width` characters, whitespace collapsed."""
    return re.sub(r"\s+", " ", sql)[:width]


class TimedConnection:
    """`inner`, with each `execute`'s seconds added to `totals` under `key(sql)`."""

    def __init__(
        self,
        inner: object,
        totals: dict,
        key: Callable[[str], Hashable] = statement_key,
    ) -> None:
        self.inner, self.totals, self.key = inner, totals, key

    def execute(self, sql: str, parameters: object = None) -> object:
        started = time.perf_counter()
        result = self.inner.execute(sql, parameters)  # type: ignore[attr-defined]
        name = self.key(sql)
        self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - started
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)
