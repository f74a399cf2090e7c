"""Retrain on the cadence (default quarterly) or on drift; otherwise the current model scores."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from models.retraining import retraining_decision


def register(home: Path, version: str, latest_index_date: str) -> None:
    folder = home / "models" / version
    folder.mkdir(parents=True)
    (home / "models" / "current.json").write_text(json.dumps({"version": version}))
    plan = {"training_dates": ["2022-01-31"], "validation_date": latest_index_date, "refit_dates": []}
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
    report = {"month": "2025-01", "model_version": "v1", "drifted": ["frailty_deficits"], "threshold": 0.2}
    (reports / "2025-01.json").write_text(json.dumps(report))

    decision = retraining_decision(tmp_path, "2025-02")
    assert decision.retrain and "frailty_deficits" in decision.reason

    (reports / "2025-01.json").write_text(json.dumps({**report, "model_version": "v0"}))
    assert not retraining_decision(tmp_path, "2025-02").retrain


def test_the_lists_carry_a_freshness_policy_so_a_missed_month_shows():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in ("risk_scores", "practice_risk_lists", "federation_summaries"):
        policy = graph.get(dg.AssetKey(name)).freshness_policy
        assert isinstance(policy, dg.FreshnessPolicy), name
    assert dg.AssetKey("population_drift") in defs.resolve_job_def("lists_job").asset_layer.executable_asset_keys
