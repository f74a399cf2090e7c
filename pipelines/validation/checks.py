"""Checks on the staged layer. Blocking checks stop everything built on a staged table.

* ``staged_<feed>_every_delivered_row_accounted_for`` (blocking): per file, delivered =
  staged + quarantined + ignored. A row unaccounted for is a lost row: nothing may be
  built on the month.
* ``staged_<feed>_meets_contract`` (blocking on critical failures): the feed's Great
  Expectations suite, generated from its contract, on the month's staged rows. A failed
  error expectation has severity ERROR and blocks; failed warning expectations only warn.
* ``staged_consultations_practice_volume_not_halved`` (warning): a practice whose
  consultation file fell by half or more against its previous months.
* ``quarantined_rows_rate_within_limit`` (warning): no feed has more than 5% of a month's
  delivered rows quarantined.
* ``data_quality_report_matches_the_warehouse`` (error): the auditors' report, read back
  from its file, accounts for every file and row as the warehouse does.

Each failed check's metadata carries ``summary``: one sentence naming month, feed, file and
rule, which ``riskstrat run`` prints when a blocking check stops it.
"""

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import dagster as dg

from pipelines.metadata import table
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from pipelines.validation.assets import (
    MONTHLY_FEEDS,
    REFERENCE_FEEDS,
    data_quality_report,
    staged_key,
)
from warehouse.quality import volume_anomalies
from warehouse.staged import FileReconciliation, reconcile_month, reconcile_reference
from warehouse.validation import SuiteOutcome, validate_month, validate_staged

RECONCILIATION_RULE = "every delivered row is staged, quarantined or ignored"


def reconciliation_result(
    feed: str,
    files_by_month: Mapping[str | None, list[FileReconciliation]],
    check_name: str | None = None,
) -> dg.AssetCheckResult:
    """Pass when every file of `feed` reconciles in every month (None: the reference files);
    fail (ERROR, so blocking) naming each file that does not, with its month."""
    mine = [(month, f) for month, files in files_by_month.items() for f in files if f.feed == feed]
    broken = [(month, f) for month, f in mine if not f.reconciles]
    months = [month for month in files_by_month if month]
    where = f"{_span(months)}: " if months else ""
    if broken:
        summary = (
            "; ".join(
                (f"{month}: " if month else "")
                + f"{f.source_file} ({feed}): {f.unaccounted_rows:+,} of {f.delivered_rows:,} "
                f"delivered rows unaccounted for (staged {f.staged_rows:,}, quarantined "
                f"{f.quarantined_rows:,}, ignored {f.ignored_rows:,})"
                for month, f in broken
            )
            + f"; rule: {RECONCILIATION_RULE}."
        )
    else:
        summary = (
            f"{where}all {sum(f.delivered_rows for _, f in mine):,} delivered {feed} rows in "
            f"{len(mine)} file(s) are accounted for."
        )
    return dg.AssetCheckResult(
        asset_key=staged_key(feed) if check_name else None,
        check_name=check_name,
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={
            "summary": summary,
            "files": len(mine),
            "unaccounted_rows": sum(abs(f.unaccounted_rows) for _, f in mine),
            "reconciliation": table(
                ({"month": month or "", **dataclasses.asdict(f)} for month, f in mine),
                {
                    "month": "string",
                    "source_file": "string",
                    "delivered_rows": "int",
                    "staged_rows": "int",
                    "quarantined_rows": "int",
                    "ignored_rows": "int",
                    "unaccounted_rows": "int",
                },
            ),
        },
    )


def _span(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def suite_result(outcome: SuiteOutcome, check_name: str | None = None) -> dg.AssetCheckResult:
    """Passed when every expectation holds; severity ERROR (blocking) only for critical failures."""
    critical = outcome.critical_failures
    return dg.AssetCheckResult(
        asset_key=staged_key(outcome.feed) if check_name else None,
        check_name=check_name,
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
        description=outcome.summary(),
        metadata={
            "summary": outcome.summary(),
            "rows_validated": outcome.rows,
            "rows_staged": outcome.staged_rows,
            "expectations": outcome.expectations,
            "critical_failures": len(critical),
            "warning_failures": len(outcome.failed) - len(critical),
            "failed_expectations": table(
                (
                    {"rule": f.rule, "severity": f.severity, "rows": f.unexpected_count}
                    for f in outcome.failed
                ),
                {"rule": "string", "severity": "string", "rows": "int"},
            ),
            "gx_seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
            "data_docs": dg.MetadataValue.path(str(outcome.data_docs)),
        },
    )


def reconciliation_check_name(feed: str) -> str:
    return f"staged_{feed}_every_delivered_row_accounted_for"


def suite_check_name(feed: str) -> str:
    return f"staged_{feed}_meets_contract"


def _selected_feeds(
    context: dg.AssetCheckExecutionContext, check_name: Callable[[str], str]
) -> list[str]:
    selected = {key.name for key in context.selected_asset_check_keys}
    return [feed for feed in MONTHLY_FEEDS if check_name(feed) in selected]


# One step per month for each kind of check rather than one per feed: the month's files are
# reconciled by one query, and the suites share one Great Expectations context, one read
# of the reference codes and one warehouse connection (docs/validation.md, Cost). Each
# feed still has its own named, blocking check; a blocking failure fails the step, which
# stops whatever is built on the month's staged tables (training_set reads all of them).
@dg.multi_asset_check(
    name="staged_month_every_delivered_row_accounted_for",
    specs=[
        dg.AssetCheckSpec(
            reconciliation_check_name(feed),
            asset=staged_key(feed),
            description=f"Blocking: every {feed} row delivered this month is staged, quarantined or ignored.",
            blocking=True,
            partitions_def=extract_months,
        )
        for feed in MONTHLY_FEEDS
    ],
    can_subset=True,
    pool="warehouse",
)
def staged_month_every_delivered_row_accounted_for(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect() as connection:
        files = {month: reconcile_month(connection, month) for month in context.partition_keys}
    for feed in _selected_feeds(context, reconciliation_check_name):
        yield reconciliation_result(feed, files, reconciliation_check_name(feed))


@dg.multi_asset_check(
    name="staged_month_meets_contract",
    specs=[
        dg.AssetCheckSpec(
            suite_check_name(feed),
            asset=staged_key(feed),
            description=(
                f"The {feed} contract's Great Expectations suite on the month's staged rows: "
                "critical failures block, warnings do not."
            ),
            blocking=True,
            partitions_def=extract_months,
        )
        for feed in MONTHLY_FEEDS
    ],
    can_subset=True,
    pool="warehouse",
)
def staged_month_meets_contract(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> Iterator[dg.AssetCheckResult]:
    feeds = _selected_feeds(context, suite_check_name)
    with warehouse.connect() as connection:
        outcomes = validate_month(connection, warehouse.paths.root, feeds, context.partition_keys)
    for feed, outcome in outcomes.items():
        yield suite_result(outcome, suite_check_name(feed))


def _reference_reconciliation_check(feed: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=staged_key(feed),
        name=f"staged_{feed}_every_delivered_row_accounted_for",
        description=f"Blocking: every row of the {feed} reference file is staged, quarantined or ignored.",
        blocking=True,
        pool="warehouse",
    )
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as connection:
            files = reconcile_reference(connection)
        return reconciliation_result(feed, {None: files})

    return check


def _reference_suite_check(feed: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=staged_key(feed),
        name=f"staged_{feed}_meets_contract",
        description=f"The {feed} contract's Great Expectations suite on the staged reference rows.",
        blocking=True,
        pool="warehouse",
    )
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as connection:
            outcome = validate_staged(connection, warehouse.paths.root, feed, None)
        return suite_result(outcome)

    return check


@dg.asset_check(
    asset=staged_key("consultations"),
    description=(
        "Warning: a practice whose consultation file holds half or fewer of the rows it held on "
        "average over its previous months (usually a failed or partial extract)."
    ),
    partitions_def=extract_months,
    pool="warehouse",
)
def staged_consultations_practice_volume_not_halved(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    months = context.partition_keys
    with warehouse.connect() as connection:
        found = [
            (month, anomaly)
            for month in months
            for anomaly in volume_anomalies(connection, month, ("consultations",))
        ]
    anomalies = [anomaly for _, anomaly in found]
    summary = (
        "; ".join(f"{month}: {a.message()}" for month, a in found)
        if found
        else f"{_span(months)}: no practice's consultation volume fell by half or more."
    )
    return dg.AssetCheckResult(
        passed=not anomalies,
        severity=dg.AssetCheckSeverity.WARN,
        description=summary,
        metadata={
            "summary": summary,
            "practices": dg.MetadataValue.json([a.practice_code for a in anomalies]),
            "anomalies": table(
                ({"month": month, **dataclasses.asdict(a)} for month, a in found),
                {
                    "month": "string",
                    "practice_code": "string",
                    "rows": "int",
                    "previous_average": "float",
                    "previous_months": "int",
                },
            ),
        },
    )


QUARANTINE_WARN_RATE = 0.05
"""A feed with more than 5% of a month's delivered rows quarantined: a supplier's extract
has changed or broken, and the month's features lose that many records."""


@dg.asset_check(
    asset="quarantined_rows",
    description="Warning: no feed has more than 5% of a month's delivered rows quarantined.",
    partitions_def=extract_months,
    pool="warehouse",
)
def quarantined_rows_rate_within_limit(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    months = context.partition_keys
    with warehouse.connect() as connection:
        files = {month: reconcile_month(connection, month) for month in months}
    rates = []
    for month, reconciled in files.items():
        for feed in sorted({f.feed for f in reconciled if f.feed}):
            delivered = sum(f.delivered_rows for f in reconciled if f.feed == feed)
            quarantined = sum(f.quarantined_rows for f in reconciled if f.feed == feed)
            rate = quarantined / delivered if delivered else 0.0
            rates.append(
                {
                    "month": month,
                    "feed": feed,
                    "delivered": delivered,
                    "quarantined": quarantined,
                    "rate": round(rate, 4),
                }
            )
    high = [r for r in rates if r["rate"] > QUARANTINE_WARN_RATE]
    summary = (
        "; ".join(
            f"{r['month']}: {r['quarantined']:,} of {r['delivered']:,} {r['feed']} rows "
            f"quarantined ({r['rate']:.1%})"
            for r in high
        )
        + f"; over {QUARANTINE_WARN_RATE:.0%}: see reports/data_quality/."
        if high
        else f"{_span(months)}: no feed has over {QUARANTINE_WARN_RATE:.0%} of its rows quarantined."
    )
    return dg.AssetCheckResult(
        passed=not high,
        severity=dg.AssetCheckSeverity.WARN,
        description=summary,
        metadata={
            "summary": summary,
            "rates": table(
                rates,
                {
                    "month": "string",
                    "feed": "string",
                    "delivered": "int",
                    "quarantined": "int",
                    "rate": "float",
                },
            ),
        },
    )


@dg.asset_check(
    asset=data_quality_report,
    description=(
        "Each month's report, read back from reports/data_quality/, has its HTML page and "
        "accounts for every delivered file and row as the warehouse does."
    ),
    partitions_def=extract_months,
    pool="warehouse",
)
def data_quality_report_matches_the_warehouse(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    folder = warehouse.paths.data_quality_reports
    with warehouse.connect() as connection:
        files = {month: reconcile_month(connection, month) for month in context.partition_keys}
    problems = []
    for month, reconciled in files.items():
        problems += report_problems(folder, month, reconciled)
    summary = (
        "; ".join(problems)
        if problems
        else f"{_span(list(files))}: every report accounts for its month as the warehouse does."
    )
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={"summary": summary, "problems": dg.MetadataValue.json(problems)},
    )


COUNTS = ("delivered_rows", "staged_rows", "quarantined_rows", "ignored_rows")


def report_problems(folder: Path, month: str, reconciled: list[FileReconciliation]) -> list[str]:
    """Where reports/data_quality/<month>.json (and .html) disagree with the warehouse."""
    path = folder / f"{month}.json"
    if not path.is_file():
        return [f"{month}: {path.name} is missing"]
    problems = [] if (folder / f"{month}.html").is_file() else [f"{month}: {month}.html is missing"]
    reported = {f["path"]: f for f in json.loads(path.read_text(encoding="utf-8"))["files"]}
    for file in reconciled:
        entry = reported.get(file.source_file)
        if entry is None:
            problems.append(f"{month}: {file.source_file} is not in the report")
            continue
        for count in COUNTS:
            if entry[count] != getattr(file, count):
                problems.append(
                    f"{month}: {file.source_file} {count.replace('_', ' ')}: the report says "
                    f"{entry[count]:,}, the warehouse {getattr(file, count):,}"
                )
    return problems


reference_checks = [
    *(_reference_reconciliation_check(feed) for feed in REFERENCE_FEEDS),
    *(_reference_suite_check(feed) for feed in REFERENCE_FEEDS),
]
monthly_checks = [
    staged_month_every_delivered_row_accounted_for,
    staged_month_meets_contract,
    staged_consultations_practice_volume_not_halved,
    quarantined_rows_rate_within_limit,
    data_quality_report_matches_the_warehouse,
]
