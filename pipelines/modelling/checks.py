"""Checks on the training set, the model and its reports.

The training set's and the model's checks block (nothing is evaluated or described from a
fanned-out training frame or a model that cannot rank); the reports' checks warn the data
team and auditors.
"""

import json

import dagster as dg

from models import registry
from models.training import TRAINING_FRAME, load_validation_predictions
from pipelines.modelling.assets import (
    admission_risk_model,
    fairness_audit,
    model_card,
    model_evaluation,
    training_set,
)
from pipelines.resources import Warehouse

SLOPE_LOW, SLOPE_HIGH = 0.9, 1.1


@dg.asset_check(asset=fairness_audit)
def fairness_audit_observed_matches_expected_in_every_group(
    warehouse: Warehouse,
) -> dg.AssetCheckResult:
    """Warn when any group is flagged: O/E off (CI excludes 1, outside 0.9-1.1), rare in the top 5%, or sicker at equal score."""
    report = json.loads((warehouse.paths.model_reports / "fairness.json").read_text())
    return dg.AssetCheckResult(
        passed=not report["flagged"],
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "groups_flagged": len(report["flagged"]),
            "flagged": dg.MetadataValue.json(report["flagged"]),
        },
    )


@dg.asset_check(asset=model_evaluation)
def model_evaluation_model_beats_baselines(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warn when the model's out-of-time AUROC does not beat both baselines'."""
    report = json.loads((warehouse.paths.model_reports / "evaluation.json").read_text())
    model = report["validation"]["auroc"]
    baselines = {name: b["auroc"] for name, b in report["baselines"].items()}
    return dg.AssetCheckResult(
        passed=all(model > auroc for auroc in baselines.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "model_auroc": model,
            **{f"{name}_auroc": auroc for name, auroc in baselines.items()},
        },
    )


@dg.asset_check(asset=model_evaluation)
def model_evaluation_calibration_slope_within_range(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warn when the out-of-time calibration slope is outside 0.9-1.1."""
    report = json.loads((warehouse.paths.model_reports / "evaluation.json").read_text())
    slope = report["validation"]["calibration_slope"]
    return dg.AssetCheckResult(
        passed=SLOPE_LOW <= slope <= SLOPE_HIGH,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"calibration_slope": slope, "range": f"{SLOPE_LOW}-{SLOPE_HIGH}"},
    )


@dg.asset_check(asset=training_set, blocking=True, pool="warehouse")
def training_set_one_row_per_person_and_date(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Blocking: models.training_frame holds each person once at each index date. A join
    that fans out (two registrations, two addresses) would weight some people twice in
    training and in the out-of-time evaluation, silently."""
    with warehouse.connect() as connection:
        [(rows, repeated)] = connection.execute(
            f"SELECT count(*), count(*) - count(DISTINCT (nhs_number, index_date)) "
            f"FROM {TRAINING_FRAME}"
        ).fetchall()
    summary = (
        f"{repeated:,} of {rows:,} rows repeat a person already at the same index date."
        if repeated
        else f"all {rows:,} rows are one person at one index date."
    )
    return dg.AssetCheckResult(
        passed=not repeated,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={"summary": summary, "rows": rows, "repeated_rows": repeated},
    )


@dg.asset_check(asset=admission_risk_model, blocking=True, pool="warehouse")
def admission_risk_model_in_use_ranks_people(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Blocking: the model in use has its files in the registry, and its out-of-time risks
    are probabilities that differ between people. A model that stopped at its first tree
    gives everyone the same risk: its lists would be in NHS-number order."""
    models_dir = warehouse.paths.models
    version = registry.current_version(models_dir)
    problems = []
    if version is None:
        problems.append(f"{models_dir / registry.CURRENT_FILE} names no model in use")
    else:
        for name in (registry.MODEL_FILE, registry.CALIBRATOR_FILE):
            if not (models_dir / version / name).is_file():
                problems.append(f"{version}/{name} is missing from the registry")
    with warehouse.connect() as connection:
        risks = load_validation_predictions(connection).get_column("risk")
    outside = int((risks.is_nan() | (risks < 0) | (risks > 1)).sum())
    if outside:
        problems.append(f"{outside:,} out-of-time risks are not probabilities")
    if risks.n_unique() < 2:
        problems.append(f"every one of {risks.len():,} people has the same risk")
    summary = "; ".join(problems) or (
        f"model {version}: {risks.n_unique():,} distinct risks over {risks.len():,} people."
    )
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={"summary": summary, "model_version": version or "", "people": risks.len()},
    )


@dg.asset_check(asset=model_card)
def model_card_describes_the_model_in_use(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warn when reports/model/model_card.md is missing or does not name the model in use
    (a card left from an earlier model tells auditors about the wrong one)."""
    card = warehouse.paths.model_reports / "model_card.md"
    version = registry.current_version(warehouse.paths.models)
    if not card.is_file():
        summary = f"{card} is missing."
    elif version is None or version not in card.read_text(encoding="utf-8"):
        summary = f"{card.name} does not name the model in use ({version or 'none'})."
    else:
        summary = f"{card.name} describes model {version}, the model in use."
    passed = card.is_file() and version is not None and summary.endswith("the model in use.")
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=summary,
        metadata={"summary": summary, "model_version": version or ""},
    )
