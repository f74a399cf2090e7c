"""The scores schema's tables (``lists/sql/``): scores, practice lists, tier policies."""

from __future__ import annotations

import duckdb

from warehouse.sql_files import read_sql

RISK_SCORES = "scores.risk_scores"
PRACTICE_LISTS = "scores.practice_lists"
TIER_POLICIES = "scores.tier_policies"
DEFAULT_TIER_NAMES = ("very high", "high", "rising", "low")
DEFAULT_TIER_RULE = (
    "very high = top 0.5% of the area; high = next 4.5%; rising = next 15%; low = the rest"
)


def ensure_scores_schema(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("CREATE SCHEMA IF NOT EXISTS scores")
    connection.execute(read_sql("risk_scores.sql", "lists"))
    connection.execute(read_sql("practice_lists.sql", "lists"))
    connection.execute(read_sql("tier_policies.sql", "lists"))


def write_tier_policy(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    tiers: list[tuple[str, float | None]],
    rule: str,
) -> None:
    """Record the tiers `month` was scored with: (name, cumulative share), highest first."""
    ensure_scores_schema(connection)
    connection.execute(f"DELETE FROM {TIER_POLICIES} WHERE delivery_month = $m", {"m": month})
    connection.executemany(
        f"INSERT INTO {TIER_POLICIES} VALUES (?, ?, ?, ?, ?)",
        [
            [month, position, name, share, rule]
            for position, (name, share) in enumerate(tiers, start=1)
        ],
    )


def read_tier_policy(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[tuple[str, ...], str]:
    """(tier names highest first, the rule in words) of a scored month; the defaults if unrecorded."""
    ensure_scores_schema(connection)
    rows = connection.execute(
        f"SELECT tier, rule FROM {TIER_POLICIES} WHERE delivery_month = $m ORDER BY position",
        {"m": month},
    ).fetchall()
    if not rows:
        return DEFAULT_TIER_NAMES, DEFAULT_TIER_RULE
    return tuple(str(tier) for tier, _rule in rows), str(rows[0][1])


def remove_opted_out(connection: duckdb.DuckDBPyConnection) -> int:
    """Delete every score and list row of anyone whose latest delivery carries an opt-out.

    From the delivery that records the opt-out on, the person is in no table a later output
    is made from, for any month. Returns the rows deleted.
    """
    ensure_scores_schema(connection)
    if not table_exists(connection, "staged.registrations"):
        return 0
    deleted = 0
    for table in (RISK_SCORES, PRACTICE_LISTS):
        row = fetch_one(
            connection,
            f"DELETE FROM {table} WHERE nhs_number IN ({read_sql('type1_opt_outs.sql', 'lists')})",
        )
        deleted += int(row[0]) if row else 0
    return deleted


def table_exists(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    row = fetch_one(
        connection,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $s AND table_name = $n",
        {"s": schema, "n": name},
    )
    return bool(row and row[0])


def fetch_one(
    connection: duckdb.DuckDBPyConnection, query: str, parameters: object = None
) -> tuple | None:
    """The first row of a query, read to its end (DuckDB 2 frees the connection only then)."""
    rows = connection.execute(query, parameters).fetchall()
    return tuple(rows[0]) if rows else None
