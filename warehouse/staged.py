"""Build the staged layer from raw: typed rows that meet their contract, the rest set aside.

For each feed and extract month, every row loaded into ``raw.<feed>`` ends in exactly one
of three places:

* ``staged.<feed>``: typed by the contract (``data_contracts.sql.staged_select_sql``), with
  its delivery month, file and line; GP feeds also get ``practice_code`` from the
  ``gp/<practice_code>/`` folder, because their files carry no practice column;
* ``quarantine.rows``: the row breaks at least one error rule; one row per rule broken;
* ``quarantine.ignored_rows``: the row breaks no error rule but an ignore rule (a code
  outside the feed's scope), which is its reason; or it is a resend (an id already
  delivered with identical content), which is ignored whatever else it breaks, because
  the row it repeats was already judged (a January spell resent in February is dated
  outside February, yet it is a resend, not an error).

A malformed line the loader set aside (``raw.malformed_lines``: too many or too few
fields, a quote never closed) is quarantined under the rule ``malformed_line``, with what
is wrong with it in place of a value, so the rest of its file loads and every delivered row
is still accounted for.

The loader rejects a GP file whose folder is not a known practice. As a second line, a GP
file whose folder is not a practice in ``staged.practices`` (its practices.csv row was
itself quarantined) breaks the file rule ``practice_folder_known``: nothing of it is
staged, and every one of its rows is quarantined under that rule (so the rows are still
accounted for; the data-quality report shows the file as rejected). Warning rules never move a row: their breaches by staged rows
go to ``quarantine.row_warnings`` for the reports.

Staging a month replaces that month's rows in all four tables, in one transaction for
the month, so re-running a month gives the same tables. This module must never store a whole
NHS number outside ``staged.*`` (see ``quarantine/masked_value.sql``) and never imports
dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from data_contracts import Contract, load_contracts
from data_contracts.sql import (
    reference_placeholders,
    render,
    row_violations_parameters,
    row_violations_sql,
    row_warnings_parameters,
    row_warnings_sql,
    staged_select_sql,
)
from warehouse.connection import transaction
from warehouse.months import MONTH_PATTERN
from warehouse.opt_outs import create_opt_out_tables, refresh_opt_outs
from warehouse.sql_files import read_sql

REFERENCE_FEEDS = ("practices", "lsoa_imd")
REGISTRATIONS_FEED = "registrations"
FOLDER_RULE = "practice_folder_known"
MALFORMED_RULE = "malformed_line"
_SCOPE_TABLE = "staging_scope"
_MONTH_TABLE = "staging_month_rows"
_VIOLATIONS_TABLE = "staging_violations"
_DROPPED_TABLE = "staging_dropped_lines"


@dataclass(frozen=True)
class FeedStaging:
    """What staging one feed for one month (or the reference load) did."""

    feed: str
    delivered_rows: int
    staged_rows: int
    quarantined_rows: int
    ignored_rows: int
    warning_rows: int

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined_rows / self.delivered_rows if self.delivered_rows else 0.0


@dataclass(frozen=True)
class FileReconciliation:
    """One delivered file: delivered = staged + quarantined + ignored, or it is not."""

    source_file: str
    feed: str | None
    status: str
    reason: str | None
    delivered_rows: int
    staged_rows: int
    quarantined_rows: int
    ignored_rows: int
    unaccounted_rows: int

    @property
    def reconciles(self) -> bool:
        return self.unaccounted_rows == 0


def monthly_contracts() -> list[Contract]:
    """Contracts of the feeds delivered in extract months (GP, SUS, social care)."""
    return [c for c in load_contracts().values() if c.scope != "reference"]


def reference_contracts() -> list[Contract]:
    return [load_contracts()[feed] for feed in REFERENCE_FEEDS]


def ensure_staged_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the staged tables (generated from the contracts), the quarantine tables, and
    the opt-out set's tables, never filled here: staging registrations rebuilds the set, and
    every writer that reads it brings it up to date first (`warehouse.opt_outs`). Made
    here, not in the staging transaction that fills them (as the features' tables are)."""
    for name in ("rows", "ignored_rows", "row_warnings"):
        connection.execute(read_sql(f"quarantine/{name}.sql"))
    # Read when staging; a warehouse made before the loader wrote it has no such table yet.
    connection.execute(read_sql("raw/malformed_lines.sql"))
    for contract in load_contracts().values():
        connection.execute(_staged_table_ddl(contract))
    create_opt_out_tables(connection)


def stage_reference(connection: duckdb.DuckDBPyConnection) -> dict[str, FeedStaging]:
    """Stage practices and LSOA deprivation (practices first: GP files are checked against it)."""
    ensure_staged_schema(connection)
    return _stage_feeds(connection, reference_contracts(), None)


def stage_month(connection: duckdb.DuckDBPyConnection, month: str) -> dict[str, FeedStaging]:
    """Stage every monthly feed of `month` from raw, replacing that month's staged rows."""
    return stage_months(connection, [month])


def stage_months(
    connection: duckdb.DuckDBPyConnection, months: list[str]
) -> dict[str, FeedStaging]:
    """Stage every monthly feed of `months` from raw at once, replacing their staged rows.

    Set-based: one pass of each feed's SQL over all the months, not one per month. The
    rows, verdicts and row order are those of staging the months one by one, oldest first
    (resends and conflicts are still judged against the first delivery of their id,
    ordered by month, file and line; tests/pipelines/test_month_ranges.py compares both).
    """
    ensure_staged_schema(connection)
    return _stage_feeds(connection, monthly_contracts(), sorted(months))


def _stage_feeds(
    connection: duckdb.DuckDBPyConnection, contracts: list[Contract], months: list[str] | None
) -> dict[str, FeedStaging]:
    """Stage `contracts` in feed order, all in one transaction (None: the reference feeds).

    One commit for all of it, not one per feed: each DuckDB commit writes and syncs the
    log, which was about a quarter of staging's wall time on the project's machine. Staging
    registrations rebuilds the opt-out set read from them (`warehouse.opt_outs`) in the same
    transaction.
    """
    connection.execute(read_sql("quarantine/masked_value.sql"))
    with transaction(connection):
        outcomes = {c.feed: _stage_feed(connection, c, months) for c in contracts}
        if REGISTRATIONS_FEED in outcomes:
            refresh_opt_outs(connection)
    return outcomes


def reconcile_month(connection: duckdb.DuckDBPyConnection, month: str) -> list[FileReconciliation]:
    """Per delivered file of `month`, counted afresh from the raw, staged and quarantine tables."""
    ensure_staged_schema(connection)
    counts = "\nUNION ALL\n".join(
        f"SELECT source_file, count(*) AS staged_rows FROM staged.{c.feed} "
        "WHERE delivery_month = $month GROUP BY source_file"
        for c in monthly_contracts()
    )
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE staged_file_counts AS {counts}", {"month": month}
    )
    rows = connection.execute(
        read_sql("quarantine/file_reconciliation.sql"), {"month": month}
    ).fetchall()
    return [FileReconciliation(*row) for row in rows]


def reconcile_reference(connection: duckdb.DuckDBPyConnection) -> list[FileReconciliation]:
    """The same accounting for the reference files (no delivery month, no manifest)."""
    ensure_staged_schema(connection)
    outcomes = []
    for contract in reference_contracts():
        feed = contract.feed
        delivered = _count(connection, f"SELECT count(*) FROM raw.{feed}")
        staged = _count(connection, f"SELECT count(*) FROM staged.{feed}")
        quarantined, ignored = (
            _count(
                connection,
                f"SELECT count(DISTINCT line_number) FROM quarantine.{table} "
                "WHERE delivery_month IS NULL AND feed = ?",
                [feed],
            )
            for table in ("rows", "ignored_rows")
        )
        outcomes.append(
            FileReconciliation(
                f"reference/{contract.file_name}",
                feed,
                "loaded",
                None,
                delivered,
                staged,
                quarantined,
                ignored,
                delivered - staged - quarantined - ignored,
            )
        )
    return outcomes


def _stage_feed(
    connection: duckdb.DuckDBPyConnection, contract: Contract, months: list[str] | None
) -> FeedStaging:
    feed = contract.feed
    same_month = (
        "list_contains($months, delivery_month)" if months is not None else "delivery_month IS NULL"
    )
    month_parameter: dict[str, object] = {"months": months} if months is not None else {}
    for table in (
        f"staged.{feed}",
        "quarantine.rows",
        "quarantine.ignored_rows",
        "quarantine.row_warnings",
    ):
        feed_filter = "" if table.startswith("staged.") else " AND feed = $feed"
        parameters = {**month_parameter, **({"feed": feed} if feed_filter else {})}
        connection.execute(f"DELETE FROM {table} WHERE {same_month}{feed_filter}", parameters)

    _create_scope(connection, contract, months)
    # Row rules (error and ignore) of these months' rows; the scope may hold earlier
    # months' rows so that resends and conflicts see the first delivery of their id.
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {_VIOLATIONS_TABLE} AS "
        f"SELECT * FROM ({render(row_violations_sql(contract), raw_table=_SCOPE_TABLE)}) "
        f"WHERE {same_month}",
        {**row_violations_parameters(contract), **month_parameter},
    )
    if contract.scope == "gp" and months is not None:
        _add_unknown_practice_folders(connection, months)
    error_rules = [r.name for r in contract.rules if r.severity == "error"]
    ignore_rules = [r.name for r in contract.rules if r.severity == "ignore"]
    resend_rules = [r.name for r in contract.rules if r.check == "resend"]
    # One verdict per line. A resend is ignored whatever else it breaks: it repeats a
    # row already judged (a January spell resent in February is dated outside
    # February). Otherwise any error rule quarantines, then any ignore rule ignores.
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DROPPED_TABLE} AS "
        "SELECT delivery_month, source_file, line_number, "
        "CASE WHEN bool_or(list_contains($resend_rules, rule)) THEN 'ignored' "
        "WHEN bool_or(list_contains($error_rules, rule)) THEN 'quarantined' "
        "WHEN bool_or(list_contains($ignore_rules, rule)) THEN 'ignored' END AS verdict "
        f"FROM {_VIOLATIONS_TABLE} GROUP BY delivery_month, source_file, line_number",
        {"resend_rules": resend_rules, "error_rules": error_rules, "ignore_rules": ignore_rules},
    )
    connection.execute(f"DELETE FROM {_DROPPED_TABLE} WHERE verdict IS NULL")
    for table, verdict, rules in (
        ("quarantine.rows", "quarantined", error_rules),
        ("quarantine.ignored_rows", "ignored", ignore_rules),
    ):
        connection.execute(
            f"INSERT INTO {table} SELECT v.delivery_month, $feed, v.source_file, v.line_number, "
            "v.rule, v.column_name, masked_value(v.column_name, v.offending_value) "
            f"FROM {_VIOLATIONS_TABLE} AS v JOIN {_DROPPED_TABLE} AS d "
            "ON d.delivery_month IS NOT DISTINCT FROM v.delivery_month "
            "AND d.source_file = v.source_file AND d.line_number = v.line_number "
            "WHERE d.verdict = $verdict AND list_contains($rules, v.rule) "
            "ORDER BY v.delivery_month, v.source_file, v.line_number, v.rule",
            {"feed": feed, "verdict": verdict, "rules": rules},
        )
    if months is not None:
        connection.execute(
            "INSERT INTO quarantine.rows SELECT delivery_month, feed, source_file, line_number, "
            "$rule, NULL, reason FROM raw.malformed_lines "
            "WHERE list_contains($months, delivery_month) AND feed = $feed "
            "ORDER BY delivery_month, source_file, line_number",
            {"rule": MALFORMED_RULE, "months": months, "feed": feed},
        )
    # The rows to stage: a view (read twice, by the staged insert and the warning rules),
    # cheaper than a copy of every row; the months are literals (a view takes no parameters).
    these_months = (
        "delivery_month IS NULL"
        if months is None
        else f"delivery_month IN ({_literal(months)[1:-1]})"
    )
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {_MONTH_TABLE} AS SELECT * FROM {_SCOPE_TABLE} AS scope "
        f"WHERE {these_months} AND NOT EXISTS (SELECT 1 FROM {_DROPPED_TABLE} AS dropped "
        "WHERE dropped.delivery_month IS NOT DISTINCT FROM scope.delivery_month "
        "AND dropped.source_file = scope.source_file AND dropped.line_number = scope.line_number)"
    )
    typed = render(staged_select_sql(contract), raw_table=_MONTH_TABLE)
    folder = ", split_part(source_file, '/', 2) AS practice_code" if contract.scope == "gp" else ""
    connection.execute(
        f"INSERT INTO staged.{feed} BY NAME SELECT *{folder} FROM ({typed}) "
        "ORDER BY delivery_month, source_file, line_number"
    )
    references = {
        placeholder: f"staged.{placeholder.removeprefix('reference_')}"
        for placeholder in reference_placeholders(contract)
    }
    connection.execute(
        "INSERT INTO quarantine.row_warnings SELECT delivery_month, $feed, source_file, "
        "line_number, rule, column_name, masked_value(column_name, offending_value) FROM ("
        f"{render(row_warnings_sql(contract), raw_table=_MONTH_TABLE, **references)}) "
        "ORDER BY delivery_month, source_file, line_number, rule",
        {**row_warnings_parameters(contract), "feed": feed},
    )
    return _feed_counts(connection, feed, same_month, month_parameter)


def _create_scope(
    connection: duckdb.DuckDBPyConnection, contract: Contract, months: list[str] | None
) -> None:
    """The raw rows the rules look at: the months' rows, plus earlier rows sharing a key.

    A view, not a copy: copying every raw row of a first load cost more than reading it
    twice (the row rules, then the staged rows)."""
    feed = contract.feed
    parameters: dict[str, str | list[str]] = {}
    if months is None:
        where = "delivery_month IS NULL"
    elif contract.key is None:
        where, parameters = "list_contains($months, delivery_month)", {"months": months}
    else:
        # Resend and conflict compare a row with the first row of its id across all months
        # (ordered by month, file, line): rows of earlier months sharing an id with one of
        # these months' rows take part; later rows cannot come first, and rows with other
        # ids cannot matter.
        key = f'"{contract.key}"'
        where = (
            f"list_contains($months, delivery_month) OR (delivery_month < $last AND {key} IN "
            f"(SELECT {key} FROM raw.{feed} WHERE list_contains($months, delivery_month) "
            f"AND {key} IS NOT NULL))"
        )
        parameters = {"months": months, "last": max(months)}
    # A view cannot take parameters: the months are written into it as literals.
    for name, value in parameters.items():
        where = where.replace(f"${name}", _literal(value))
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {_SCOPE_TABLE} AS SELECT * FROM raw.{feed} WHERE {where}"
    )


def _literal(value: object) -> str:
    """A month or list of months ('YYYY-MM', checked) as a SQL literal."""
    months = value if isinstance(value, list) else [value]
    for month in months:
        if not (isinstance(month, str) and MONTH_PATTERN.fullmatch(month)):
            raise ValueError(f"not a month: {month!r}")
    text = ", ".join(f"'{month}'" for month in months)
    return f"[{text}]" if isinstance(value, list) else text


def _add_unknown_practice_folders(connection: duckdb.DuckDBPyConnection, months: list[str]) -> None:
    """File rule practice_folder_known: every row of a GP file from an unknown folder."""
    connection.execute(
        f"INSERT INTO {_VIOLATIONS_TABLE} SELECT delivery_month, source_file, line_number, "
        f"'{FOLDER_RULE}', 'practice_code', split_part(source_file, '/', 2) "
        f"FROM {_SCOPE_TABLE} WHERE list_contains($months, delivery_month) "
        "AND split_part(source_file, '/', 2) NOT IN (SELECT practice_code FROM staged.practices)",
        {"months": months},
    )


def _feed_counts(
    connection: duckdb.DuckDBPyConnection, feed: str, same_month: str, parameters: dict[str, object]
) -> FeedStaging:
    delivered = _count(
        connection,
        f"SELECT (SELECT count(*) FROM raw.{feed} WHERE {same_month}) + (SELECT count(*) "
        f"FROM raw.malformed_lines WHERE {same_month} AND feed = $feed)",
        {**parameters, "feed": feed},
    )
    staged = _count(
        connection, f"SELECT count(*) FROM staged.{feed} WHERE {same_month}", parameters
    )
    set_aside = [
        _count(
            connection,
            "SELECT count(*) FROM (SELECT DISTINCT delivery_month, source_file, line_number "
            f"FROM quarantine.{table} WHERE {same_month} AND feed = $feed)",
            {**parameters, "feed": feed},
        )
        for table in ("rows", "ignored_rows", "row_warnings")
    ]
    return FeedStaging(feed, delivered, staged, *set_aside)


def _count(connection: duckdb.DuckDBPyConnection, sql: str, parameters: object = None) -> int:
    row = connection.execute(sql, parameters).fetchone()
    return int(row[0]) if row else 0


def _staged_table_ddl(contract: Contract) -> str:
    # Generated, not a .sql file: the contract is the one place a feed's columns are written.
    columns = [
        "delivery_month VARCHAR",
        "source_file VARCHAR NOT NULL",
        "line_number BIGINT NOT NULL",
    ]
    if contract.scope == "gp":
        columns.append("practice_code VARCHAR NOT NULL")
    columns += [f'"{column.name}" {column.physical_type}' for column in contract.columns]
    body = ",\n    ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS staged.{contract.feed} (\n    {body}\n)"
