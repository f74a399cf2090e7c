"""Read the SQL files that define the warehouse's tables (`warehouse/sql/<layer>/<table>.sql`)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_sql(relative_path: str) -> str:
    return resources.files("warehouse").joinpath("sql", relative_path).read_text(encoding="utf-8")
