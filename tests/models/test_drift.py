"""Population stability index: ~0 for the same distribution, large for a shifted one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl

from models import drift


def test_identical_distributions_have_a_psi_of_about_zero():
    values = np.random.default_rng(1).normal(60, 15, 20_000)
    assert drift.population_stability_index(values, values) < 1e-9
    other_sample = np.random.default_rng(2).normal(60, 15, 20_000)
    assert drift.population_stability_index(values, other_sample) < 0.01


def test_a_shifted_distribution_has_a_large_psi():
    rng = np.random.default_rng(3)
    reference = rng.normal(60, 15, 20_000)
    assert drift.population_stability_index(reference, reference + 15) > 0.5
    assert (
        drift.stability(drift.population_stability_index(reference, reference + 15))
        == "significant"
    )


def test_counts_are_compared_value_by_value():
    reference = np.array([0] * 800 + [1] * 150 + [2] * 50, dtype=float)
    assert drift.population_stability_index(reference, reference.copy()) < 1e-9
    more_admissions = np.array([0] * 500 + [1] * 300 + [2] * 200, dtype=float)
    assert drift.population_stability_index(reference, more_admissions) > 0.2


def test_a_feed_that_stops_filling_a_column_shows_as_drift():
    reference = np.arange(1, 11, dtype=float).repeat(100)
    missing = reference.copy()
    missing[:500] = math.nan
    assert drift.population_stability_index(reference, missing) > 0.2


def test_an_empty_side_is_unknown():
    assert math.isnan(drift.population_stability_index([], [1.0, 2.0]))
    assert drift.stability(math.nan) == "unknown"


def test_a_drift_report_names_what_drifted_and_is_written_per_month(tmp_path: Path):
    rng = np.random.default_rng(4)
    reference = pl.DataFrame({"age": rng.normal(50, 10, 5000), "ltc_count": rng.poisson(1, 5000)})
    current = pl.DataFrame({"age": rng.normal(50, 10, 5000), "ltc_count": rng.poisson(3, 5000)})
    report = drift.measure_drift(
        "2024-05",
        reference,
        current,
        reference_scores=rng.beta(1, 9, 5000),
        current_scores=rng.beta(1, 9, 5000),
        model_version="v1",
    )

    assert report.drifted == ["ltc_count"]
    path = drift.write_drift_report(report, tmp_path / "drift")
    written = json.loads(path.read_text())
    assert path.name == "2024-05.json"
    assert written["features"]["age"]["stability"] == "stable"
    assert written["features"]["ltc_count"]["stability"] == "significant"
    assert written["score"]["stability"] == "stable" and written["drifted"] == ["ltc_count"]
    assert drift.latest_drift(tmp_path / "drift") == written
    assert drift.latest_drift(tmp_path / "drift", before_or_at="2024-04") is None


def test_the_reference_follows_the_model_in_use_not_a_rejected_candidate(
    tmp_path: Path, training_set
):
    """A later candidate that is worse out of time stays out, and so does its training data."""
    from models.training import TrainingSet, plan_training, train_and_register
    from tests.models.conftest import FEATURES, LABEL, index_dates, synthetic_frame
    from warehouse.connection import connect

    models_dir = tmp_path / "models"
    connection = connect(tmp_path / "warehouse.duckdb")
    first = adopt(
        connection,
        training_set,
        train_and_register(training_set, models_dir, features=FEATURES, label=LABEL),
    )
    reference = drift.model_reference(connection, models_dir)
    assert reference is not None and reference.version == first.model_in_use.version

    later_frame = synthetic_frame(dates=index_dates(21), seed=2)
    later = TrainingSet(
        plan=plan_training(later_frame.get_column("index_date").unique().sort().to_list()),
        frame=later_frame,
    )
    weak = [f for f in FEATURES if f.name in ("sex", "imd_decile")]
    rejected = adopt(
        connection,
        later,
        train_and_register(later, models_dir, features=weak, label=LABEL),
    )
    assert not rejected.decision.replaced

    kept = drift.model_reference(connection, models_dir)
    assert kept is not None and kept.version == first.model_in_use.version
    assert kept.training.equals(reference.training)
    assert kept.training.height == training_set.refit.height
    assert np.array_equal(kept.scores, first.predictions.get_column("risk").to_numpy())
    # The evaluation and the model card read these: still the model in use's.
    from models.training import load_validation_predictions

    assert load_validation_predictions(connection).equals(first.predictions)


def adopt(connection, training_set, run):
    """What the modelling assets store after training: the set, the predictions, the reference."""
    from models.training import keep_validation_predictions

    training_set.save(connection)
    keep_validation_predictions(connection, run)
    drift.record_reference(connection, training_set, run)
    return run


def test_a_home_trained_before_the_reference_adopts_its_stored_training_set(
    tmp_path: Path, training_set
):
    from models.training import train_and_register
    from tests.models.conftest import FEATURES, LABEL
    from warehouse.connection import connect

    models_dir = tmp_path / "models"
    connection = connect(tmp_path / "warehouse.duckdb")
    run = adopt(
        connection,
        training_set,
        train_and_register(training_set, models_dir, features=FEATURES, label=LABEL),
    )
    recorded = drift.model_reference(connection, models_dir)
    connection.execute(f"DROP TABLE {drift.DRIFT_REFERENCE}")

    adopted = drift.model_reference(connection, models_dir)

    assert recorded is not None and adopted is not None
    assert adopted.version == run.model_in_use.version
    assert adopted.training.equals(recorded.training)
    assert np.array_equal(adopted.scores, recorded.scores)


def test_month_drift_compares_with_the_rows_the_scoring_model_learnt_from(
    tmp_path: Path, monkeypatch
):
    # A short feed: the training date's 12-month counts are truncated (a tenth), the refit
    # date's are whole. The month looks like the refit rows, so nothing has drifted.
    import datetime

    from models.training import TrainingPlan, TrainingSet, save_validation_predictions
    from warehouse.connection import connect
    from warehouse.home import Home

    rng = np.random.default_rng(3)
    training_date, refit_date = datetime.date(2023, 2, 28), datetime.date(2024, 2, 29)
    counts = rng.poisson(5.0, 3000).astype(float)

    def rows(day: datetime.date, values: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {"nhs_number": [str(i) for i in range(values.size)], "consultations_12m": values}
        ).with_columns(pl.lit(day).alias("index_date"))

    home = Home.at(tmp_path / "home")
    (home.models / "v1").mkdir(parents=True)
    (home.models / "current.json").write_text('{"version": "v1", "decision": {}}')
    plan = TrainingPlan((training_date,), refit_date, (refit_date,))
    frame = pl.concat([rows(training_date, np.floor(counts / 10)), rows(refit_date, counts)])
    with connect(home.database) as connection:
        stored = TrainingSet(plan, frame)
        stored.save(connection)
        predictions = rows(refit_date, counts).select(
            "nhs_number", "index_date", pl.Series("risk", rng.uniform(0, 1, 3000))
        )
        save_validation_predictions(connection, predictions)
        drift._write_reference(connection, "v1", stored.refit, predictions)
        month = rows(datetime.date(2025, 2, 28), rng.poisson(5.0, 3000).astype(float))
        monkeypatch.setattr(drift, "feature_frame", lambda *_args, **_kwargs: month)
        report = drift.month_drift(connection, home, "2025-02", None)
    assert report is not None
    assert report.features["consultations_12m"] < 0.1
    assert report.drifted == []
