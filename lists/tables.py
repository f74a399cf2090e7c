"""The scores schema's tables (``lists/sql/``): scores, practice lists, tier policies."""

from __future__ import annotations

import duckdb

from warehouse.connection import table_exists, transaction
from warehouse.opt_outs import OPT_OUTS, ensure_opt_outs
from warehouse.sql_files import read_sql

RISK_SCORES = "scores.risk_scores"
PRACTICE_LISTS = "scores.practice_lists"
TIER_POLICIES = "scores.tier_policies"


def ensure_scores_schema(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("CREATE SCHEMA IF NOT EXISTS scores")
    ensure_opt_outs(connection)
    connection.execute(read_sql("risk_scores.sql", "lists"))
    connection.execute(read_sql("practice_lists.sql", "lists"))
    connection.execute(read_sql("tier_policies.sql", "lists"))


def delete_opted_out_scores(connection: duckdb.DuckDBPyConnection) -> int:
    """Delete every score and list row of anyone whose latest delivery carries an opt-out.

    From the delivery that records the opt-out on, the person is in no table a later output
    is made from, for any month. Returns the rows deleted.
    """
    ensure_scores_schema(connection)
    if not table_exists(connection, "staged.registrations"):
        return 0
    deleted = 0
    with transaction(connection):
        for table in (RISK_SCORES, PRACTICE_LISTS):
            row = fetch_one(
                connection,
                f"DELETE FROM {table} WHERE nhs_number IN (SELECT nhs_number FROM {OPT_OUTS})",
            )
            deleted += int(row[0]) if row else 0
    return deleted


def fetch_one(
    connection: duckdb.DuckDBPyConnection, query: str, parameters: object = None
) -> tuple | None:
    """The first row of a query, read to its end (DuckDB 2 frees the connection only then)."""
    rows = connection.execute(query, parameters).fetchall()
    return tuple(rows[0]) if rows else None
