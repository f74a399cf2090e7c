"""Whether a month is scored by the current model or the model is retrained first.

Retrain when there is no current model, when `every_months` new labelled index dates
exist beyond the latest one the current model learnt from (default 3: quarterly), or
when the latest drift report for the current model found a PSI past its threshold.
A cold-start model (13-24 months of data) is also replaced as soon as the history
supports out-of-time validation: the planner asks `current_is_cold_start`.
Otherwise the current model scores the month. Plain code: never imports dagster.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from models.drift import latest_drift
from models.registry import METADATA_FILE, current_version
from warehouse.months import latest_labelled_index_date, months_between

DEFAULT_RETRAIN_EVERY = 3


@dataclass(frozen=True)
class RetrainingDecision:
    retrain: bool
    reason: str


def learnt_up_to(models_dir: Path) -> tuple[str, datetime.date] | None:
    """The current model's version and the latest index date it learnt from, if any."""
    version = current_version(models_dir)
    if version is None:
        return None
    metadata = json.loads((models_dir / version / METADATA_FILE).read_text())
    plan = metadata.get("plan", {})
    dates = [
        *plan.get("training_dates", []),
        plan.get("validation_date"),
        *plan.get("refit_dates", []),
    ]
    latest = max(datetime.date.fromisoformat(d) for d in dates if d)
    return version, latest


def current_is_cold_start(models_dir: Path) -> bool:
    """Whether the model in use was a cold start (not yet validated out of time)."""
    version = current_version(models_dir)
    if version is None:
        return False
    metadata = json.loads((models_dir / version / METADATA_FILE).read_text())
    return bool(metadata.get("plan", {}).get("cold_start", False))


def retraining_decision(
    home: Path, month: str, *, every_months: int = DEFAULT_RETRAIN_EVERY
) -> RetrainingDecision:
    """Retrain before scoring `month`, or score it with the current model, and why."""
    learnt = learnt_up_to(home / "models")
    if learnt is None:
        return RetrainingDecision(True, "there is no current model yet")
    version, latest = learnt
    new_months = months_between(latest, latest_labelled_index_date(month))
    if new_months >= every_months:
        return RetrainingDecision(
            True,
            f"{new_months} new labelled month(s) since model {version} learnt up to "
            f"{latest:%Y-%m} (retrain every {every_months})",
        )
    drift = latest_drift(home / "reports" / "drift", before_or_at=month)
    if drift is not None and drift.get("model_version") == version and drift.get("drifted"):
        return RetrainingDecision(
            True,
            f"drift in {drift['month']} against model {version}: "
            + ", ".join(str(name) for name in drift["drifted"])  # type: ignore[attr-defined]
            + f" past PSI {drift['threshold']}",
        )
    return RetrainingDecision(
        False, f"model {version} is current ({new_months} new labelled month(s), no drift)"
    )
