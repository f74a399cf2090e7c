"""Which month `riskstrat run` makes lists for."""

from __future__ import annotations

from pathlib import Path

from warehouse.connection import connect

CURRENT_MODEL = Path("models") / "current.json"


def month_for_lists(home: Path) -> str | None:
    """The latest loaded month once a current model exists; None before the first model."""
    if not (home / CURRENT_MODEL).is_file():
        return None
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        rows = connection.execute(
            "SELECT max(delivery_month) FROM raw.delivery_months WHERE status = 'loaded'"
        ).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else None
