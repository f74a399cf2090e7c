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
