"""Modelling assets: thin wiring around models.training, models.evaluation and models.fairness.

Unpartitioned and downstream of every staged month: each run trains on the latest
labelled index dates. Metadata holds metrics, counts and plots, never an NHS number. The
training frame and the validation predictions (record-level, with NHS numbers) stay in
the warehouse (models.training_frame, models.validation_predictions), never in a file.
"""

import json

import dagster as dg

from lists.tiers import DEFAULT_TIERS
from models import registry
from models.dataset import MissingLabels
from models.drift import record_reference
from models.evaluation import evaluation_report, headline_metrics, png_markdown, write_evaluation
from models.fairness import audit, write_audit
from models.model_card import card_figures, global_importance, write_model_card
from models.plotting import calibration_png
from models.training import (
    TRAINING_FRAME,
    VALIDATION_PREDICTIONS,
    EmptyTrainingSet,
    NotEnoughHistory,
    TrainingSet,
    adopt_retired_files,
    build_training_set,
    keep_validation_predictions,
    load_validation_predictions,
    train_and_register,
)
from pipelines.resources import RunSettings, Warehouse
from pipelines.validation.assets import MONTHLY_FEEDS, staged_key
from warehouse.features import FeatureBuildError

GROUP = "modelling"
FLAGGED_GROUPS = dg.TableSchema(
    columns=[
        dg.TableColumn("attribute", "string"),
        dg.TableColumn("group", "string"),
        dg.TableColumn("flags", "string", description="the rules the group broke"),
        dg.TableColumn(
            "observed_to_expected", "float", description="observed / expected admissions"
        ),
        dg.TableColumn("ci_low", "float", description="95% CI, lower"),
        dg.TableColumn("ci_high", "float", description="95% CI, upper"),
    ]
)


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    pool="warehouse",
    deps=[staged_key(feed) for feed in MONTHLY_FEEDS],
)
def training_set(warehouse: Warehouse) -> dg.MaterializeResult:
    """Features and labels at the training, validation and refit index dates (models.training_frame)."""
    try:
        with warehouse.connect() as connection:
            built = build_training_set(connection)
            built.save(connection)
            adopt_retired_files(connection, warehouse.paths)
    except (NotEnoughHistory, EmptyTrainingSet, MissingLabels, FeatureBuildError) as error:
        # Deterministic: the same warehouse fails the same way, so never retried.
        raise dg.Failure(description=str(error), allow_retries=False) from None
    from models.feature_catalogue import LABEL

    summary = built.summary(LABEL)
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in summary.items() if isinstance(v, int | float)},
            "training_dates": ", ".join(summary["training_dates"]),
            "validation_date": summary["validation_date"],
            "refit_dates": ", ".join(summary["refit_dates"]),
            "notes": "; ".join(summary["notes"]) or "none",
            "features": len(built.frame.columns) - 4,
            "dagster/table_name": TRAINING_FRAME,
        }
    )


@dg.asset(group_name=GROUP, kinds={"lightgbm"}, deps=[training_set], pool="warehouse")
def admission_risk_model(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """LightGBM emergency-admission risk model, trained out of time, calibrated and registered.

    Replaces the current model only when not worse out of time (models/current.json says why).
    The validation window's predictions (models.validation_predictions) and the drift
    reference (models.drift_reference) change only when this run's model is put in use.
    """
    with warehouse.connect() as connection:
        stored = TrainingSet.load(connection)
    try:  # the warehouse is not held open while LightGBM trains
        run = train_and_register(stored, warehouse.paths.models, truth=settings.truth_path)
    except EmptyTrainingSet as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    with warehouse.connect() as connection:
        keep_validation_predictions(connection, run)
        record_reference(connection, stored, run)
    if not run.decision.replaced:
        context.log.warning(f"Model not replaced: {run.decision.reason}")
    headline = headline_metrics(run.predictions)
    return dg.MaterializeResult(
        metadata={
            "model_version": run.model_in_use.version,
            "candidate_version": run.decision.candidate_version,
            "replaced": run.decision.replaced,
            "decision": run.decision.reason,
            "best_iteration": run.result.model.metadata["best_iteration"],
            **{
                k: dg.MetadataValue.float(v)
                for k, v in headline["numbers"].items()
                if v is not None
            },
            "calibration_plot": dg.MetadataValue.md(headline["calibration_plot"]),
            "path": dg.MetadataValue.path(str(warehouse.paths.models / run.model_in_use.version)),
            "validation_predictions": VALIDATION_PREDICTIONS,
        }
    )


@dg.asset(group_name=GROUP, kinds={"json"}, deps=[admission_risk_model], pool="warehouse")
def model_evaluation(warehouse: Warehouse) -> dg.MaterializeResult:
    """reports/model/evaluation.json: the model, baselines and oracle out of time."""
    models_dir = warehouse.paths.models
    current = registry.read_current(models_dir)
    if current is None:
        raise dg.Failure(
            description=f"{models_dir} has no current model to evaluate.", allow_retries=False
        )
    version, decision = current
    metadata = registry.read_metadata(models_dir, version)
    with warehouse.connect(read_only=True) as connection:
        predictions = load_validation_predictions(connection)
    report = evaluation_report(
        predictions,
        model_version=version,
        validation_date=metadata["plan"]["validation_date"],
        decision=decision,
        cold_start=bool(metadata["plan"].get("cold_start", False)),
    )
    path = write_evaluation(report, warehouse.paths.model_reports)
    validation, baselines, oracle = report["validation"], report["baselines"], report["oracle"]
    return dg.MaterializeResult(
        metadata={
            "model_version": report["model_version"],
            "validation_kind": report["validation_kind"],
            "auroc": validation["auroc"],
            "auroc_ci": f"{validation['auroc_ci'][0]:.3f}-{validation['auroc_ci'][1]:.3f}",
            "calibration_slope": validation["calibration_slope"],
            "calibration_intercept": validation["calibration_intercept"],
            "ici": validation["ici"],
            "ppv_top_5pct": validation["ppv_top_5pct"],
            "prior_admissions_auroc": baselines["prior_admissions"]["auroc"],
            "logistic_auroc": baselines["logistic"]["auroc"],
            "oracle_auroc": oracle["auroc"] if oracle else dg.MetadataValue.null(),
            "evaluation": dg.MetadataValue.path(str(path)),
            "calibration_plot": dg.MetadataValue.md(
                png_markdown(
                    calibration_png(
                        predictions.get_column("admitted").to_numpy(),
                        predictions.get_column("risk").to_numpy(),
                    ),
                    "calibration",
                )
            ),
        }
    )


@dg.asset(group_name=GROUP, kinds={"json"}, deps=[admission_risk_model], pool="warehouse")
def fairness_audit(warehouse: Warehouse) -> dg.MaterializeResult:
    """reports/model/fairness.json: O/E, AUROC and top-5% share by group; the Obermeyer check."""
    with warehouse.connect(read_only=True) as connection:
        report = audit(load_validation_predictions(connection))
    path = write_audit(report, warehouse.paths.model_reports)
    return dg.MaterializeResult(
        metadata={
            "people": report["people"],
            "groups_flagged": len(report["flagged"]),
            "flagged": dg.MetadataValue.table(
                records=[
                    dg.TableRecord(
                        {
                            "attribute": str(f["attribute"]),
                            "group": str(f["group"]),
                            "flags": ", ".join(f["flags"]),
                            "observed_to_expected": float(f["observed_to_expected"] or 0.0),
                            "ci_low": float(f["observed_to_expected_ci"][0] or 0.0),
                            "ci_high": float(f["observed_to_expected_ci"][1] or 0.0),
                        }
                    )
                    for f in report["flagged"]
                ],
                schema=FLAGGED_GROUPS,
            ),
            "report": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(group_name=GROUP, kinds={"markdown"}, deps=[model_evaluation, fairness_audit])
def model_card(warehouse: Warehouse, settings: RunSettings) -> dg.MaterializeResult:
    """reports/model/model_card.{md,html}: TRIPOD+AI model card with its plots embedded in the page."""
    folder = warehouse.paths.model_reports
    evaluation = json.loads((folder / "evaluation.json").read_text())
    fairness = json.loads((folder / "fairness.json").read_text())
    metadata = registry.read_metadata(warehouse.paths.models, evaluation["model_version"])
    with warehouse.connect(read_only=True) as connection:
        predictions = load_validation_predictions(connection)
    figures = card_figures(
        predictions.get_column("admitted").to_numpy(),
        predictions.get_column("risk").to_numpy(),
        [
            *((t.name, t.cumulative_share) for t in DEFAULT_TIERS.tiers),
            (DEFAULT_TIERS.otherwise, 1.0),
        ],
        global_importance(registry.load(warehouse.paths.models, evaluation["model_version"])),
    )
    path = write_model_card(
        evaluation,
        fairness,
        metadata,
        folder,
        figures=figures,
        retrain_every_months=settings.retrain_every_months,
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": evaluation["model_version"],
            "card": dg.MetadataValue.path(str(path)),
            "page": dg.MetadataValue.path(str(path.with_suffix(".html"))),
        }
    )
