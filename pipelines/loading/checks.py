"""Checks on deliveries: warnings a data team should see, never silent.

Over a range of months (a first load, a backfill) each check judges every month of the
range and names the months that fail it.
"""

import dagster as dg

from pipelines.loading.assets import deliveries
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from warehouse.deliveries import missing_practices_of, rejected_files


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
