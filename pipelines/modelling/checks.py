"""Checks on the model's reports: warnings for the data team and auditors, never blocking."""

import json

import dagster as dg

from pipelines.modelling.assets import fairness_audit, model_evaluation
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
