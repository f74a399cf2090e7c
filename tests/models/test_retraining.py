"""Retrain on the cadence (default quarterly) or on drift; otherwise the current model scores."""

from __future__ import annotations

import json
from pathlib import Path

from models.retraining import retraining_decision


def register(home: Path, version: str, latest_index_date: str) -> None:
    folder = home / "models" / version
    folder.mkdir(parents=True)
    (home / "models" / "current.json").write_text(json.dumps({"version": version}))
    plan = {
        "training_dates": ["2022-01-31"],
        "validation_date": latest_index_date,
        "refit_dates": [],
    }
    (folder / "metadata.json").write_text(json.dumps({"plan": plan}))


def test_no_model_means_train(tmp_path: Path):
    assert retraining_decision(tmp_path, "2025-01").retrain


def test_the_current_model_scores_until_three_new_labelled_months(tmp_path: Path):
    register(tmp_path, "v1", "2024-01-31")  # labelled up to 2024-01 once 2025-01 is delivered
    assert not retraining_decision(tmp_path, "2025-01").retrain
    assert not retraining_decision(tmp_path, "2025-03").retrain
    due = retraining_decision(tmp_path, "2025-04")
    assert due.retrain and "3 new labelled month(s)" in due.reason
    assert retraining_decision(tmp_path, "2025-02", every_months=1).retrain


def test_drift_against_the_current_model_means_retrain(tmp_path: Path):
    register(tmp_path, "v1", "2024-01-31")
    reports = tmp_path / "reports" / "drift"
    reports.mkdir(parents=True)
    report = {
        "month": "2025-01",
        "model_version": "v1",
        "drifted": ["frailty_deficits"],
        "threshold": 0.2,
    }
    (reports / "2025-01.json").write_text(json.dumps(report))

    decision = retraining_decision(tmp_path, "2025-02")
    assert decision.retrain and "frailty_deficits" in decision.reason

    (reports / "2025-01.json").write_text(json.dumps({**report, "model_version": "v0"}))
    assert not retraining_decision(tmp_path, "2025-02").retrain
