"""Splits, determinism and out-of-time performance of the trained model on synthetic frames."""

import datetime

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.training import NotEnoughHistory, plan_training, score, train
from tests.models.conftest import FEATURES, LABEL, index_dates


def test_plan_trains_quarterly_twelve_months_before_validation_with_twelve_months_of_history():
    dates = index_dates(36 - 12)  # a 36-month feed: labelled 2023-01 .. 2024-12
    plan = plan_training(dates)
    assert plan.validation_date == datetime.date(2024, 12, 31)
    assert plan.training_dates == (datetime.date(2023, 12, 31),)
    assert plan.refit_dates == (datetime.date(2024, 12, 31),)
    assert plan.notes == ()


def test_plan_uses_at_most_four_quarterly_dates_and_mirrors_them_for_the_refit():
    plan = plan_training(index_dates(48))  # labelled 2023-01 .. 2026-12
    assert plan.training_dates == tuple(
        datetime.date(y, m, d) for y, m, d in ((2025, 3, 31), (2025, 6, 30), (2025, 9, 30), (2025, 12, 31))
    )
    assert plan.refit_dates == tuple(
        datetime.date(y, m, d) for y, m, d in ((2026, 3, 31), (2026, 6, 30), (2026, 9, 30), (2026, 12, 31))
    )
    assert max(plan.training_dates) < plan.validation_date


def test_plan_falls_back_on_a_short_feed_and_says_so():
    plan = plan_training(index_dates(18))
    assert plan.training_dates == (datetime.date(2023, 6, 30),)
    assert "short feed" in plan.notes[0]
    with pytest.raises(NotEnoughHistory):
        plan_training(index_dates(12))


def test_training_twice_gives_identical_model_files_and_scores(training_set, training_result):
    again = train(training_set, FEATURES, LABEL)
    assert again.model.files() == training_result.model.files()
    assert again.model.version == training_result.model.version
    validation = training_set.validation
    np.testing.assert_array_equal(again.model.predict(validation), training_result.model.predict(validation))


def test_model_beats_the_prior_admissions_baseline_out_of_time(training_set, training_result):
    y = training_set.validation.get_column(LABEL).to_numpy()
    model = roc_auc_score(y, training_result.validation_risk)
    prior = roc_auc_score(y, training_result.baseline_scores["prior_admissions"])
    assert model > prior + 0.05
    assert model > 0.75


def test_refit_uses_the_validated_number_of_rounds(training_result):
    model = training_result.model
    assert model.booster.num_trees() == model.metadata["best_iteration"]
    assert model.validation_booster.num_trees() == model.metadata["best_iteration"]


def test_score_gives_one_risk_per_person_and_names_the_model(training_set, training_result):
    frame = training_set.validation
    scored = score(training_result.model, frame)
    assert scored.columns == ["nhs_number", "index_date", "practice_code", "risk", "model_version"]
    assert scored.height == frame.height
    assert scored["risk"].is_between(0, 1).all()
