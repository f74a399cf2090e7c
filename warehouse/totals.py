"""What a home's warehouse holds, in the few totals a run's summary prints.

Read back from the tables rather than tallied during the run, so the summary is true of
the warehouse even after an interrupted or partial run. Plain code: never imports dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class WarehouseTotals:
    rows_loaded: int = 0
    files_rejected: int = 0
    people: int = 0
    rows_quarantined: int = 0


def warehouse_totals(connection: duckdb.DuckDBPyConnection) -> WarehouseTotals:
    tables = {
        f"{schema}.{name}"
        for schema, name in connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()"
        ).fetchall()
    }

    def count(table: str, sql: str) -> int:
        if table not in tables:
            return 0
        row = connection.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    return WarehouseTotals(
        rows_loaded=count("raw.delivery_files", "SELECT sum(loaded_rows) FROM raw.delivery_files"),
        files_rejected=count(
            "raw.delivery_files",
            "SELECT count(*) FROM raw.delivery_files WHERE status = 'rejected'",
        ),
        people=count(
            "staged.registrations", "SELECT count(DISTINCT nhs_number) FROM staged.registrations"
        ),
        rows_quarantined=count(
            "quarantine.rows",
            "SELECT count(*) FROM (SELECT DISTINCT delivery_month, source_file, line_number "
            "FROM quarantine.rows)",
        ),
    )
