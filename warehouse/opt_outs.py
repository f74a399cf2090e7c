"""The Type 1 opt-out set, kept as a table beside the registrations it is read from.

``staged.type1_opt_outs`` holds one row per NHS number whose latest registrations delivery
carries a Type 1 opt-out or leaves the flag unknown (``sql/staged/type1_opt_outs.sql``).
Every reader (the features, the lists, the review app) reads this table instead of
working the rule out again over every registrations snapshot: at 1,000,000 people and 37
months that took about 1 s (benchmarks/opt_out_sets.py times one statement of it), and a
new month paid it about fifteen times.

The table is only ever out of step with ``staged.registrations`` if something changes the
registrations without rebuilding it, so it is rebuilt in the same transaction as every
staging of registrations (``warehouse.staged``, the only writer of the staged layer): a
reader sees both old or both new. A warehouse staged before the table existed gets it from
`ensure_opt_outs`, called by every writer that reads the set.

Each rebuild works the rule out twice, from two independently written queries
(``type1_opt_outs.sql`` and ``type1_opt_outs_check.sql``, which were the features' and
the lists' own), and stops, rolling the staging back, if they disagree about anyone: a
mistake in either cannot let an opted-out person through unnoticed. The outbox's own check
(``lists/sql/listed_people_not_registered.sql``) states the rule a third time, over the
registrations themselves.

This module must never log an NHS number, and never imports dagster.
"""

from __future__ import annotations

import duckdb

from warehouse.connection import table_exists, transaction
from warehouse.sql_files import read_sql

OPT_OUTS = "staged.type1_opt_outs"
SOURCE = "staged.type1_opt_outs_source"
REGISTRATIONS = "staged.registrations"
_RULE_TABLE = "type1_opt_outs_rule"


class OptOutRulesDisagree(RuntimeError):
    """The two statements of the opt-out rule gave different sets: a bug, never bad data."""


def refresh_opt_outs(connection: duckdb.DuckDBPyConnection) -> int:
    """Rebuild staged.type1_opt_outs from staged.registrations; the people in it.

    Run inside the caller's transaction (the staging of registrations), so the set changes
    with the rows it is read from. Raises `OptOutRulesDisagree`, leaving the table as it
    was, if the two statements of the rule disagree. The table is emptied and filled, never
    made by `CREATE TABLE ... AS` in the transaction that fills it (DuckDB 2.0 misreads such
    a table afterwards: docs/features.md).
    """
    create_opt_out_tables(connection)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {_RULE_TABLE} AS {read_sql('staged/type1_opt_outs.sql')}"
    )
    [(only_first, only_second)] = connection.execute(
        f"WITH first AS (SELECT nhs_number FROM {_RULE_TABLE}), "
        f"second AS ({read_sql('staged/type1_opt_outs_check.sql')}) "
        "SELECT (SELECT count(*) FROM (SELECT * FROM first EXCEPT SELECT * FROM second)), "
        "(SELECT count(*) FROM (SELECT * FROM second EXCEPT SELECT * FROM first))"
    ).fetchall()
    if only_first or only_second:
        connection.execute(f"DROP TABLE {_RULE_TABLE}")
        raise OptOutRulesDisagree(
            "The two statements of the Type 1 opt-out rule disagree: "
            f"{only_first:,} people are opted out only by warehouse/sql/staged/type1_opt_outs.sql "
            f"and {only_second:,} only by type1_opt_outs_check.sql. This is a bug in riskstrat, "
            "not in the delivery; nothing was staged. Please report it."
        )
    connection.execute(f"DELETE FROM {OPT_OUTS}")
    [(people,)] = connection.execute(
        f"INSERT INTO {OPT_OUTS} SELECT CAST(nhs_number AS VARCHAR) FROM {_RULE_TABLE} ORDER BY 1"
    ).fetchall()
    connection.execute(f"DROP TABLE {_RULE_TABLE}")
    connection.execute(f"DELETE FROM {SOURCE}")
    connection.execute(f"INSERT INTO {SOURCE} VALUES ($s)", {"s": registrations_state(connection)})
    return int(people)


def registrations_state(connection: duckdb.DuckDBPyConnection) -> str:
    """What the set depends on, cheaply: the registrations' row count (kept by DuckDB, not
    counted) and the manifest of every loaded delivery. Another release staging a month, or
    a month delivered again, changes it; `ensure_opt_outs` then rebuilds the set."""
    [(rows,)] = connection.execute(f"SELECT count(*) FROM {REGISTRATIONS}").fetchall()
    deliveries = ""
    if table_exists(connection, "raw.delivery_months"):
        [(deliveries,)] = connection.execute(
            "SELECT coalesce(string_agg(delivery_month || '=' || coalesce(manifest_sha256, ''), "
            "',' ORDER BY delivery_month), '') FROM raw.delivery_months WHERE status = 'loaded'"
        ).fetchall()
    return f"{rows}|{deliveries}"


def is_current(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether staged.type1_opt_outs was built from the registrations as they are now."""
    if not (table_exists(connection, OPT_OUTS) and table_exists(connection, SOURCE)):
        return False
    if not table_exists(connection, REGISTRATIONS):
        return True  # nothing staged yet: the empty set is the set
    recorded = connection.execute(f"SELECT state FROM {SOURCE}").fetchall()
    return recorded == [(registrations_state(connection),)]


def ensure_opt_outs(connection: duckdb.DuckDBPyConnection) -> None:
    """Bring staged.type1_opt_outs up to the registrations if it is missing or was built
    from other registrations (a warehouse staged before the table existed, or staged by an
    earlier release since); an empty set while nothing is staged. Every writer of the set's
    readers calls it first, outside a transaction (inside one, DuckDB refuses the rebuild's
    own, and the caller's work fails: never a stale set read)."""
    if is_current(connection):
        return
    connection.execute("CREATE SCHEMA IF NOT EXISTS staged")
    create_opt_out_tables(connection)
    if table_exists(connection, REGISTRATIONS):
        with transaction(connection):
            refresh_opt_outs(connection)


def create_opt_out_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """The set's table and its source record, empty if new (the staged schema must exist)."""
    connection.execute(f"CREATE TABLE IF NOT EXISTS {OPT_OUTS} (nhs_number VARCHAR)")
    connection.execute(f"CREATE TABLE IF NOT EXISTS {SOURCE} (state VARCHAR)")


def opt_out_query(connection: duckdb.DuckDBPyConnection) -> str:
    """A query of the opted-out NHS numbers (column nhs_number) for a reader that may not
    write: the table if it is current, else the rule itself. Assumes staged.registrations
    exists."""
    if is_current(connection):
        return f"SELECT nhs_number FROM {OPT_OUTS}"
    return read_sql("staged/type1_opt_outs.sql")
