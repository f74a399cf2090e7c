"""Checks on deliveries: warnings a data team should see, never silent."""

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
    month = context.partition_key
    with warehouse.connect() as connection:
        rejected = rejected_files(connection, month)
    return dg.AssetCheckResult(
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected_files": dg.MetadataValue.json([{"path": p, "reason": r} for p, r in rejected])
        },
    )


@dg.asset_check(asset=deliveries, partitions_def=extract_months)
def deliveries_every_practice_delivered(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Warn when a known practice sent no GP extract this month (late or failed extract)."""
    month = context.partition_key
    with warehouse.connect() as connection:
        status, missing = missing_practices_of(connection, month)
    return dg.AssetCheckResult(
        passed=status == "loaded" and not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"status": status, "missing_practices": dg.MetadataValue.json(list(missing))},
    )
