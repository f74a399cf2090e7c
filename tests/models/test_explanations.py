"""Reasons are positive drivers only, worded from the catalogue, never an absence."""

import numpy as np
import polars as pl

from models.explanations import MIN_CONTRIBUTION, contributions, explain, phrase_for
from tests.models.conftest import FEATURES

BY_NAME = {f.name: f for f in FEATURES}


def test_phrases_for_counts_flags_and_categories():
    assert (
        phrase_for(BY_NAME["emergency_admissions_12m"], 2.0)
        == "2 emergency admissions in the last 12 months"
    )
    assert (
        phrase_for(BY_NAME["emergency_admissions_12m"], 1.0)
        == "1 emergency admission in the last 12 months"
    )
    assert phrase_for(BY_NAME["bnf_sections_12m"], 8.0) == "medicines from 8 BNF sections"
    assert phrase_for(BY_NAME["heart_failure"], 1) == "heart failure"
    assert phrase_for(BY_NAME["age"], 81.0) == "aged 81"


def test_absences_are_never_reasons():
    assert phrase_for(BY_NAME["heart_failure"], 0) is None
    assert phrase_for(BY_NAME["emergency_admissions_12m"], 0.0) is None
    assert phrase_for(BY_NAME["latest_hba1c"], None) is None
    assert phrase_for(BY_NAME["latest_hba1c"], float("nan")) is None
    assert (
        phrase_for(BY_NAME["ethnicity_group"], "Black") is None
    )  # not a reason to give a clinician
    assert phrase_for(BY_NAME["sex"], "male") is None


def test_explain_gives_three_worded_positive_drivers(training_set, training_result):
    frame = training_set.validation.head(300)
    reasons = explain(training_result.model, frame, FEATURES)
    assert reasons.columns == ["nhs_number", "reason_1", "reason_2", "reason_3"]
    assert reasons["nhs_number"].to_list() == frame["nhs_number"].to_list()
    contrib = contributions(training_result.model, frame)
    phrases = {name: i for i, name in enumerate(training_result.model.encoding.names)}
    rows = frame.to_dicts()
    for person, row in enumerate(reasons.iter_rows(named=True)):
        given = [row[f"reason_{k}"] for k in (1, 2, 3) if row[f"reason_{k}"] is not None]
        assert len(given) == len(set(given))
        # every reason is one of the person's features with a clearly positive contribution
        for text in given:
            matches = [
                name
                for name, column in phrases.items()
                if phrase_for(BY_NAME[name], rows[person][name]) == text
                and contrib[person, column] >= MIN_CONTRIBUTION
            ]
            assert matches, text
        for text in given:
            assert not text.startswith("0 ") and "no " not in text


def test_high_risk_people_get_reasons(training_set, training_result):
    frame = training_set.validation
    risk = training_result.model.predict(frame)
    top = frame.filter(pl.Series(risk >= np.quantile(risk, 0.95)))
    reasons = explain(training_result.model, top, FEATURES)
    assert reasons["reason_1"].null_count() == 0
    assert (
        reasons["reason_1"]
        .str.contains("emergency admission|heart failure|care home|aged|long-term|BNF")
        .all()
    )


def test_risks_and_reasons_do_not_depend_on_the_thread_count(
    training_set, training_result, monkeypatch
):
    from models import explanations, registry

    model, frame = training_result.model, training_set.validation
    by_threads = {}
    for threads in (1, max(2, registry.available_cores())):
        monkeypatch.setattr(registry, "PREDICTION_THREADS", threads)
        monkeypatch.setattr(explanations, "PREDICTION_THREADS", threads)
        by_threads[threads] = (model.predict(frame), contributions(model, frame))
    (one_risk, one_contrib), (many_risk, many_contrib) = by_threads.values()
    assert one_risk.tobytes() == many_risk.tobytes()
    assert one_contrib.tobytes() == many_contrib.tobytes()


def test_a_persons_reasons_do_not_depend_on_who_else_is_explained(training_set, training_result):
    frame = training_set.validation
    everyone = explain(training_result.model, frame, FEATURES)
    some = frame.filter(pl.int_range(pl.len()) % 7 == 3)
    alone = explain(training_result.model, some, FEATURES)
    assert alone.equals(everyone.filter(pl.col("nhs_number").is_in(some["nhs_number"].implode())))
