"""Which month `riskstrat run` makes lists for."""

from __future__ import annotations

from pathlib import Path

from models.registry import CURRENT_FILE
from warehouse.home import Home


def month_for_lists(home: Path) -> str | None:
    """The latest loaded month once a current model exists; None before the first model."""
    paths = Home.at(home)
    if not (paths.models / CURRENT_FILE).is_file():
        return None
    with paths.connect(read_only=True) as connection:
        rows = connection.execute(
            "SELECT max(delivery_month) FROM raw.delivery_months WHERE status = 'loaded'"
        ).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else None
