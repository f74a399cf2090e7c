"""Population drift: the month's scored population against the one the current model learnt from.

Thin wiring around models.drift. Partitioned by extract month and run in `lists_job`
after the month is scored; writes reports/drift/<YYYY-MM>.json, which the retraining
decision (models.retraining) reads. Its check warns, never blocks: a
drifted population still gets its lists, and the next retraining answers the drift.
"""

import json
import math

import dagster as dg

from lists.scores import read_scores
from models import drift
from models.training import TrainingSet, load_validation_predictions
from pipelines.lists.assets import risk_scores
from pipelines.operations.settings import operations_from_environment
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from warehouse.months import index_date

GROUP = "lists"
POPULATION_STABLE = "population_drift_within_threshold"


@dg.asset(
    group_name=GROUP,
    kinds={"json"},
    partitions_def=extract_months,
    deps=[risk_scores],
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            POPULATION_STABLE, asset="population_drift",
            description="No key feature nor the risk score has a PSI past the threshold (default 0.2).",
        )
    ],
)
def population_drift(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """reports/drift/<month>.json: PSI of key features and of the risk score against the training data."""
    month = context.partition_key
    threshold = operations_from_environment().drift_threshold
    models_dir = warehouse.home_path / "models"
    current = models_dir / "current.json"
    if not (models_dir / "training_set" / "plan.json").is_file() or not current.is_file():
        return dg.MaterializeResult(
            metadata={"reference": "none: no model has been trained in this home"},
            check_results=[
                dg.AssetCheckResult(
                    check_name=POPULATION_STABLE, passed=True, severity=dg.AssetCheckSeverity.WARN,
                    metadata={"reason": "no training data to compare with"},
                )
            ],
        )
    version = str(json.loads(current.read_text())["version"])
    training = TrainingSet.load(models_dir / "training_set").training
    reference_scores = load_validation_predictions(models_dir).get_column("risk").to_numpy()
    from models.dataset import feature_frame

    with warehouse.connect() as connection:
        features = feature_frame(connection, [index_date(month)], with_labels=False)
        scores = read_scores(connection, month)
    report = drift.measure_drift(
        month, training, features,
        reference_scores=reference_scores,
        current_scores=scores.get_column("risk").to_numpy() if scores.height else None,
        threshold=threshold, model_version=version,
    )
    path = drift.write_drift_report(report, warehouse.reports_path / "drift")
    measured = {**report.features, **({drift.SCORE: report.score} if report.score is not None else {})}
    table = "| measure | PSI | stability |\n| --- | ---: | --- |\n" + "\n".join(
        f"| {name} | {psi:.3f} | {drift.stability(psi, threshold)} |" for name, psi in measured.items()
    )
    drifted = report.drifted
    if drifted:
        context.log.warning(f"{month}: drift past PSI {threshold} in {', '.join(drifted)}")
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "max_psi": dg.MetadataValue.float(report.max_psi if not math.isnan(report.max_psi) else 0.0),
            "score_psi": (
                dg.MetadataValue.float(report.score)
                if report.score is not None and not math.isnan(report.score)
                else dg.MetadataValue.null()
            ),
            "drifted": ", ".join(drifted) or "none",
            "psi": dg.MetadataValue.md(table),
            "report": dg.MetadataValue.path(str(path)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=POPULATION_STABLE,
                passed=not drifted,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"PSI past {threshold}: {', '.join(drifted)}" if drifted
                    else f"every PSI at or under {threshold}"
                ),
                metadata={"max_psi": report.max_psi if not math.isnan(report.max_psi) else 0.0},
            )
        ],
    )
