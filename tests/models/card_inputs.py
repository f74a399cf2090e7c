"""The model card's inputs for tests: a calibrated validation window and the smallest reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.fairness import RULES

TIERS = [("very high", 0.005), ("high", 0.05), ("rising", 0.20), ("low", 1.0)]


def validation_window(people: int = 20_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from the risks themselves (a calibrated model), risks up to about 0.8."""
    rng = np.random.default_rng(seed)
    risk = rng.beta(1.2, 12, people)
    risk[: people // 100] = rng.uniform(
        0.3, 0.8, people // 100
    )  # a high-risk tail, as in a real area
    return (rng.random(people) < risk).astype(np.int64), risk


def card_inputs() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The smallest evaluation, fairness and metadata documents the template reads."""
    metrics = {
        "auroc": 0.7,
        "auroc_ci": [0.69, 0.71],
        "auprc": 0.3,
        "ppv_top_1pct": 0.5,
        "ppv_top_5pct": 0.4,
        "sensitivity_top_5pct": 0.2,
        "brier": 0.07,
    }
    calibration = {
        "mean_predicted": 0.08,
        "calibration_intercept": 0.0,
        "calibration_slope": 1.0,
        "ici": 0.004,
        "e90": 0.008,
    }
    evaluation = {
        "model_version": "mtest0000001",
        "validation_index_date": "2024-03-31",
        "validation": {
            **metrics,
            **calibration,
            "admissions": 1600,
            "observed_rate": 0.08,
            "net_benefit": [{"threshold": 0.1, "model": 0.02, "treat_all": -0.02}],
            "before_recalibration": calibration,
            "calibration_by_decile": [
                {"decile": 1, "people": 10, "expected": 0.01, "observed": 0.01}
            ],
        },
        "baselines": {},
        "oracle": None,
        "feature_ceiling": None,
        "three_figures": None,
        "cold_start": False,
        "registry": {
            "candidate_version": "mtest0000001",
            "current_version": None,
            "version_in_use": "mtest0000001",
            "replaced": True,
            "reason": "no current model",
        },
    }
    fairness = {
        "observed_to_expected_band": [0.8, 1.25],
        "minimum_expected_to_judge": 10,
        "rules": RULES,
        "flagged": [],
        "groups": {},
        "obermeyer": {"truth_present": False, "need_at_equal_score": {}},
    }
    metadata = {
        "encoding": {"features": [{"name": "age", "kind": "numeric"}]},
        "plan": {
            "training_dates": ["2023-03-31"],
            "validation_date": "2024-03-31",
            "refit_dates": ["2024-03-31"],
            "notes": [],
        },
        "training_rows": 20_000,
        "validation_rows": 20_000,
        "refit_rows": 20_000,
        "best_iteration": 100,
        "calibration": {"reason": "platt", "calibrator": {"method": "platt"}},
    }
    return evaluation, fairness, metadata
