"""Tables a person reads in the Dagster UI, as Dagster's own table metadata (not markdown)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Mapping[str, str],
    *,
    limit: int | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dg.TableMetadataValue:
    """A table of `rows` with `columns` {name: Dagster type: "string", "int" or "float"},
    and a description for any column whose name alone would not say what it holds."""
    records = [
        dg.TableRecord({name: row[name] for name in columns})
        for index, row in enumerate(rows)
        if limit is None or index < limit
    ]
    described = descriptions or {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind, description=described.get(name))
            for name, kind in columns.items()
        ]
    )
    return dg.MetadataValue.table(records=records, schema=schema)
