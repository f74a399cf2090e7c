"""Assets that bring the landing zone into the warehouse's raw layer."""

import dagster as dg

from pipelines.partitions import extract_months
from pipelines.resources import RunSettings, Warehouse
from warehouse.deliveries import delivery_report, load_month
from warehouse.errors import InputError
from warehouse.files import write_json_atomic
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
    deps=[reference_data],
    pool="warehouse",
)
def deliveries(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """One extract month verified against its manifest and loaded, row by row, into raw.

    A file failing the manifest or its contract's columns is rejected alone; a month
    without manifest.csv loads nothing. Writes reports/deliveries/<month>.json.
    """
    month = context.partition_key
    with warehouse.connect() as connection:
        outcome = load_month(connection, settings.landing_path, month, known_practices(connection))
    report_path = warehouse.paths.delivery_reports / f"{month}.json"
    write_json_atomic(report_path, delivery_report(outcome))
    if outcome.status != "loaded":
        context.log.warning(f"{month}: {outcome.status}: {outcome.reason}")
    for file in outcome.files:
        if file.status == "rejected":
            context.log.warning(f"{month}/{file.path} rejected: {file.reason}")
    return dg.MaterializeResult(
        metadata={
            "status": outcome.status,
            "files_loaded": len(outcome.files) - outcome.rejected_files,
            "files_rejected": outcome.rejected_files,
            "rows_loaded": outcome.loaded_rows,
            "missing_practices": dg.MetadataValue.json(outcome.missing_practices),
            "report": dg.MetadataValue.path(str(report_path)),
        }
    )
