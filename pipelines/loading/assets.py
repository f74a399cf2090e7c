"""Assets that bring the landing zone into the warehouse's raw layer."""

import dagster as dg

from pipelines.metadata import table
from pipelines.partitions import MONTH_RANGE, extract_months
from pipelines.resources import RunSettings, Warehouse
from warehouse.deliveries import load_months, write_delivery_report
from warehouse.errors import InputError
from warehouse.reference import known_practices, load_reference


@dg.asset(group_name="loading", kinds={"duckdb"}, pool="warehouse")
def reference_data(warehouse: Warehouse, settings: RunSettings) -> dg.MaterializeResult:
    """Practices (with their federations) and LSOA deprivation deciles, replaced on every run."""
    try:
        with warehouse.connect() as connection:
            loaded = load_reference(connection, settings.landing_path)
    except InputError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    return dg.MaterializeResult(metadata={f"{feed}_rows": rows for feed, rows in loaded.items()})


@dg.asset(
    group_name="loading",
    kinds={"duckdb"},
    partitions_def=extract_months,
    backfill_policy=MONTH_RANGE,
    deps=[reference_data],
    pool="warehouse",
)
def deliveries(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """Extract months verified against their manifests and loaded, row by row, into raw.

    A file failing the manifest or its contract's columns is rejected alone; a month
    without manifest.csv loads nothing. Writes reports/deliveries/<month>.json, and keeps
    every delivery's report in reports/deliveries/history/<month>/. A run over
    a range of months loads them oldest first, each in its own transaction, two at once
    (`load_months`).
    """
    outcomes = []
    with warehouse.connect() as connection:
        practices = known_practices(connection)
        months = context.partition_keys
        for outcome in load_months(connection, settings.landing_path, months, practices):
            write_delivery_report(warehouse.paths.delivery_reports, outcome)
            outcomes.append(outcome)
    for outcome in outcomes:
        if outcome.status != "loaded":
            context.log.warning(f"{outcome.month}: {outcome.status}: {outcome.reason}")
        for file in outcome.files:
            if file.status == "rejected":
                context.log.warning(f"{outcome.month}/{file.path} rejected: {file.reason}")
    return dg.MaterializeResult(
        metadata={
            "months": ", ".join(o.month for o in outcomes),
            "files_loaded": sum(len(o.files) - o.rejected_files for o in outcomes),
            "files_rejected": sum(o.rejected_files for o in outcomes),
            "rows_loaded": sum(o.loaded_rows for o in outcomes),
            "by_month": table(
                (
                    {
                        "month": o.month,
                        "status": o.status,
                        "files_rejected": o.rejected_files,
                        "rows_loaded": o.loaded_rows,
                        "missing_practices": ", ".join(o.missing_practices),
                    }
                    for o in outcomes
                ),
                {
                    "month": "string",
                    "status": "string",
                    "files_rejected": "int",
                    "rows_loaded": "int",
                    "missing_practices": "string",
                },
            ),
            "reports": dg.MetadataValue.path(str(warehouse.paths.delivery_reports)),
        }
    )
