"""Assets of the staged layer and the auditors' data-quality reports.

Thin wiring: each asset calls one function of ``warehouse.staged`` or ``warehouse.quality``
and returns metadata a person would look at. Metadata holds counts, rules and file paths,
never a row's values (so never an NHS number).
"""

import json
from typing import Any

import dagster as dg

from pipelines.loading.assets import deliveries, reference_data
from pipelines.metadata import table
from pipelines.partitions import MONTH_RANGE, extract_months
from pipelines.resources import Warehouse
from warehouse.quality import quarantined_by_rule, write_auditor_index, write_month_reports
from warehouse.staged import (
    FeedStaging,
    monthly_contracts,
    reference_contracts,
    stage_months,
    stage_reference,
)

MONTHLY_FEEDS = tuple(contract.feed for contract in monthly_contracts())
REFERENCE_FEEDS = tuple(contract.feed for contract in reference_contracts())


def staged_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(f"staged_{feed}")


def _staged_spec(feed: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(
        staged_key(feed),
        group_name="staged",
        kinds={"duckdb"},
        deps=deps,
        description=(
            f"staged.{feed}: the {feed} rows that meet every error rule of their contract, typed, "
            "with delivery month, file and line."
        ),
    )


@dg.multi_asset(
    name="staged_reference",
    specs=[_staged_spec(feed, [reference_data.key]) for feed in REFERENCE_FEEDS],
    pool="warehouse",
)
def staged_reference(warehouse: Warehouse) -> object:
    """Practices and LSOA deprivation, typed; rows breaking an error rule are quarantined."""
    with warehouse.connect() as connection:
        outcomes = stage_reference(connection)
    for feed, outcome in outcomes.items():
        yield dg.MaterializeResult(asset_key=staged_key(feed), metadata=_staging_metadata(outcome))


@dg.multi_asset(
    name="staged_extract_month",
    specs=[
        *(
            _staged_spec(feed, [deliveries.key, staged_key("practices"), staged_key("lsoa_imd")])
            for feed in MONTHLY_FEEDS
        ),
        dg.AssetSpec(
            "quarantined_rows",
            group_name="staged",
            kinds={"duckdb"},
            deps=[deliveries.key],
            description=(
                "quarantine.rows, quarantine.ignored_rows and quarantine.row_warnings for the month: "
                "every delivered row not staged, with file, line, rule and masked value."
            ),
        ),
    ],
    partitions_def=extract_months,
    backfill_policy=MONTH_RANGE,
    pool="warehouse",
)
def staged_extract_month(context: dg.AssetExecutionContext, warehouse: Warehouse) -> object:
    """Extract months typed and validated by SQL generated from the contracts, oldest first.

    Re-materialising a month replaces its staged, quarantined and ignored rows.
    """
    months = context.partition_keys
    with warehouse.connect() as connection:
        outcomes = stage_months(connection, months)
        by_rule = [
            (month, *rule) for month in months for rule in quarantined_by_rule(connection, month)
        ]
    for feed, outcome in outcomes.items():
        yield dg.MaterializeResult(asset_key=staged_key(feed), metadata=_staging_metadata(outcome))
    delivered = sum(o.delivered_rows for o in outcomes.values())
    quarantined = sum(o.quarantined_rows for o in outcomes.values())
    yield dg.MaterializeResult(
        asset_key="quarantined_rows",
        metadata={
            "rows_delivered": delivered,
            "rows_quarantined": quarantined,
            "rows_ignored": sum(o.ignored_rows for o in outcomes.values()),
            "rows_with_warnings": sum(o.warning_rows for o in outcomes.values()),
            "quarantine_rate": dg.MetadataValue.float(
                round(quarantined / delivered, 6) if delivered else 0.0
            ),
            "quarantined_by_rule": table(
                ({"month": m, "feed": f, "rule": r, "rows": n} for m, f, r, n in by_rule),
                {"month": "string", "feed": "string", "rule": "string", "rows": "int"},
                limit=50,
            ),
        },
    )


@dg.asset(
    group_name="staged",
    kinds={"duckdb", "html"},
    partitions_def=extract_months,
    backfill_policy=MONTH_RANGE,
    deps=["quarantined_rows"],
    pool="warehouse",
)
def data_quality_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """reports/data_quality/<month>.json and .html: what was delivered, accepted, set aside and why;
    and reports/data_quality/index.html, every month at a glance.

    Depends on the quarantine, not on the staged tables, so that a blocking check on a
    staged table (which stops everything built on it) never stops the auditors' report.
    """
    reports = []
    with warehouse.connect() as connection:
        for month in context.partition_keys:
            json_path, _ = write_month_reports(connection, warehouse.paths.reports, month)
            reports.append(json.loads(json_path.read_text(encoding="utf-8")))
        write_auditor_index(connection, warehouse.paths.reports)
    return dg.MaterializeResult(
        metadata={
            "months": table(
                (
                    {
                        "month": r["month"],
                        "status": r["status"],
                        "files_rejected": sum(f["status"] == "rejected" for f in r["files"]),
                        "rows_quarantined": sum(f["quarantined_rows"] for f in r["files"]),
                        "warnings": len(r["warnings"]),
                        "missing_practices": ", ".join(r["missing_practices"]),
                    }
                    for r in reports
                ),
                {
                    "month": "string",
                    "status": "string",
                    "files_rejected": "int",
                    "rows_quarantined": "int",
                    "warnings": "int",
                    "missing_practices": "string",
                },
            ),
            "files_rejected": sum(f["status"] == "rejected" for r in reports for f in r["files"]),
            "rows_quarantined": sum(f["quarantined_rows"] for r in reports for f in r["files"]),
            "reports": dg.MetadataValue.path(str(warehouse.paths.data_quality_reports)),
        }
    )


def _staging_metadata(outcome: FeedStaging) -> dict[str, Any]:
    return {
        "rows_delivered": outcome.delivered_rows,
        "rows_staged": outcome.staged_rows,
        "rows_quarantined": outcome.quarantined_rows,
        "rows_ignored": outcome.ignored_rows,
        "rows_with_warnings": outcome.warning_rows,
        "quarantine_rate": dg.MetadataValue.float(round(outcome.quarantine_rate, 6)),
        "dagster/row_count": outcome.staged_rows,
    }
