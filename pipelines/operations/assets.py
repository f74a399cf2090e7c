"""Operating month after month: Type 1 opt-outs purged on every load, and population drift.

`type1_opt_out_purge` runs in `monthly_job` after registrations are staged, whatever the
planner then decides about retraining: a person whose latest registrations delivery
carries an opt-out is deleted from every derived copy in the warehouse (feature tables,
training frame, validation predictions, scores, earlier lists; warehouse.features), and
record-level files an earlier version left under models/ are moved into the warehouse.

`population_drift` is thin wiring around models.drift. Partitioned by extract month and
run in `lists_job` after the month is scored; writes reports/drift/<YYYY-MM>.json, which
the retraining decision (models.retraining) reads. Its check warns, never blocks: a
drifted population still gets its lists, and the next retraining answers the drift.
"""

import math

import dagster as dg

from lists.scores import read_scores
from models import drift
from models.training import adopt_retired_files
from pipelines.lists.assets import risk_scores
from pipelines.metadata import table
from pipelines.partitions import MONTH_RANGE, extract_months, list_months
from pipelines.resources import RunSettings, Warehouse
from pipelines.validation.assets import staged_key
from warehouse.features import purge_opted_out

GROUP = "monitoring"
POPULATION_STABLE = "population_drift_within_threshold"
PSI_COLUMNS = {"measure": "string", "psi": "float", "stability": "string"}
PSI_DESCRIPTIONS = {
    "measure": "a key feature, or risk for the score",
    "psi": "population stability index against the training data",
    "stability": "stable, moderate or significant",
}


@dg.asset(
    group_name="staged",
    kinds={"duckdb"},
    partitions_def=extract_months,
    backfill_policy=MONTH_RANGE,
    deps=[staged_key("registrations")],
    pool="warehouse",
)
def type1_opt_out_purge(warehouse: Warehouse) -> dg.MaterializeResult:
    """Everyone whose latest registrations delivery carries a Type 1 opt-out, deleted from every derived table.

    Runs on every month loaded, so an opt-out leaves the training frame, validation
    predictions and scores at the next run even when no model is trained. Metadata holds
    row counts per table, never an NHS number.
    """
    with warehouse.connect() as connection:
        adopted = adopt_retired_files(connection, warehouse.paths)
        removed = purge_opted_out(connection)
    return dg.MaterializeResult(
        metadata={
            "rows_removed": sum(removed.values()),
            "rows_removed_by_table": dg.MetadataValue.json(removed),
            "retired_files_moved_into_warehouse": len(adopted),
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"json"},
    partitions_def=list_months,
    deps=[risk_scores],
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            POPULATION_STABLE,
            asset="population_drift",
            description="No key feature nor the risk score has a PSI past the threshold (default 0.2).",
        )
    ],
)
def population_drift(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """reports/drift/<month>.json: PSI of key features and of the risk score against the training data."""
    month = context.partition_key
    threshold = settings.drift_threshold
    with warehouse.connect() as connection:
        scores = read_scores(connection, month, ["risk"])
        report = drift.month_drift(
            connection,
            warehouse.paths,
            month,
            scores.get_column("risk").to_numpy() if scores.height else None,
            threshold=threshold,
        )
    if report is None:
        return dg.MaterializeResult(
            metadata={"reference": "none: no model has been trained in this home"},
            check_results=[
                dg.AssetCheckResult(
                    check_name=POPULATION_STABLE,
                    passed=True,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"reason": "no training data to compare with"},
                )
            ],
        )
    path = drift.write_drift_report(report, warehouse.paths.drift_reports)
    measured = {
        **report.features,
        **({drift.SCORE: report.score} if report.score is not None else {}),
    }
    drifted = report.drifted
    if drifted:
        context.log.warning(f"{month}: drift past PSI {threshold} in {', '.join(drifted)}")
    return dg.MaterializeResult(
        metadata={
            "model_version": report.model_version or "",
            "max_psi": dg.MetadataValue.float(_number(report.max_psi)),
            "score_psi": (
                dg.MetadataValue.float(report.score)
                if report.score is not None and not math.isnan(report.score)
                else dg.MetadataValue.null()
            ),
            "drifted": ", ".join(drifted) or "none",
            "psi": table(
                (
                    {
                        "measure": name,
                        "psi": _number(psi),
                        "stability": drift.stability(psi, threshold),
                    }
                    for name, psi in measured.items()
                ),
                PSI_COLUMNS,
                descriptions=PSI_DESCRIPTIONS,
            ),
            "report": dg.MetadataValue.path(str(path)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=POPULATION_STABLE,
                passed=not drifted,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"PSI past {threshold}: {', '.join(drifted)}"
                    if drifted
                    else f"every PSI at or under {threshold}"
                ),
                metadata={"max_psi": _number(report.max_psi)},
            )
        ],
    )


def _number(value: float) -> float:
    """Dagster's float metadata takes no NaN: a PSI that could not be measured shows as 0."""
    return 0.0 if math.isnan(value) else float(value)
