"""Checks on deliveries: warnings a data team should see, never silent.

Over a range of months (a first load, a backfill) each check judges every month of the
range and names the months that fail it.
"""

import dagster as dg

from pipelines.loading.assets import deliveries, reference_data
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from warehouse.deliveries import missing_practices_of, rejected_files
from warehouse.reference import reference_rows


@dg.asset_check(asset=deliveries, partitions_def=extract_months)
def deliveries_every_file_matches_manifest(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Warn when any file of the month was rejected (its rows are not loaded)."""
    with warehouse.connect() as connection:
        rejected = [
            {"month": month, "path": path, "reason": reason}
            for month in context.partition_keys
            for path, reason in rejected_files(connection, month)
        ]
    return dg.AssetCheckResult(
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejected_files": dg.MetadataValue.json(rejected)},
    )


@dg.asset_check(asset=deliveries, partitions_def=extract_months)
def deliveries_every_practice_delivered(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Warn when a known practice sent no GP extract in a month (late or failed extract)."""
    with warehouse.connect() as connection:
        months = {
            month: missing_practices_of(connection, month) for month in context.partition_keys
        }
    return dg.AssetCheckResult(
        passed=all(status == "loaded" and not missing for status, missing in months.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "status": ", ".join(sorted({status for status, _ in months.values()})),
            "missing_practices": dg.MetadataValue.json(
                {month: list(missing) for month, (_, missing) in months.items() if missing}
            ),
        },
    )


@dg.asset_check(asset=reference_data, blocking=True, pool="warehouse")
def reference_data_files_hold_rows(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Blocking: practices.csv and lsoa_imd.csv each hold at least one row. A file with its
    header alone meets its contract, yet with no practice known every GP file of every month
    would be rejected, and with no LSOA every person would lose their deprivation decile."""
    with warehouse.connect() as connection:
        rows = reference_rows(connection)
    empty = [f"reference/{name}" for name, count in rows.values() if not count]
    summary = (
        f"{' and '.join(empty)} hold(s) a header and no rows: deliver the file(s) again."
        if empty
        else ", ".join(f"{count:,} {feed} rows" for feed, (_, count) in rows.items()) + "."
    )
    return dg.AssetCheckResult(
        passed=not empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={
            "summary": summary,
            **{f"{feed}_rows": count for feed, (_, count) in rows.items()},
        },
    )
