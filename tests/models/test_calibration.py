"""Calibration measures on predictors whose calibration is known by construction."""

import numpy as np
import pytest

from models.calibration import (
    Calibrator,
    calibration_intercept,
    calibration_slope,
    fit_platt,
    integrated_calibration_index,
    logit,
    sigmoid,
)


def calibrated_sample(n=40_000, seed=3):
    rng = np.random.default_rng(seed)
    p = sigmoid(rng.normal(-2.5, 1.0, n))
    y = (rng.random(n) < p).astype(int)
    return y, p


def test_a_perfectly_calibrated_predictor_has_slope_one_and_intercept_zero():
    y, p = calibrated_sample()
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.05)
    assert calibration_intercept(y, p) == pytest.approx(0.0, abs=0.05)
    ici, e90 = integrated_calibration_index(y, p)
    assert ici < 0.005 and e90 < 0.01


def test_overconfident_risks_have_slope_below_one_and_platt_recovers_them():
    y, p = calibrated_sample()
    overconfident = sigmoid(2.0 * logit(p) + 1.0)  # too extreme, and too low on average
    assert calibration_slope(y, overconfident) == pytest.approx(0.5, abs=0.03)
    assert calibration_intercept(y, overconfident) > 0.3
    calibrator = fit_platt(y, overconfident)
    assert calibrator.slope == pytest.approx(0.5, abs=0.03)
    recovered = calibrator.apply(overconfident)
    assert np.max(np.abs(recovered - p)) < 0.02
    assert (
        integrated_calibration_index(y, overconfident)[0]
        > 5 * integrated_calibration_index(y, recovered)[0]
    )


def test_slope_matches_an_unpenalised_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    y, p = calibrated_sample(n=5000, seed=9)
    reference = LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(
        logit(p).reshape(-1, 1), y
    )
    assert calibration_slope(y, p) == pytest.approx(reference.coef_[0][0], abs=1e-4)


def test_calibrator_round_trips_through_its_dict():
    calibrator = Calibrator("platt", -0.25, 0.9)
    assert Calibrator.from_dict(calibrator.to_dict()) == calibrator
    np.testing.assert_allclose(Calibrator().apply(np.array([0.1, 0.5])), [0.1, 0.5])


def test_the_calibration_curve_of_a_model_with_few_distinct_risks_is_the_binned_means():
    from models.calibration import smoothed_observed

    risks = np.array([0.1, 0.1, 0.2, 0.2, 0.2, 0.5])
    outcomes = np.array([0, 1, 0, 0, 1, 1])

    curve = smoothed_observed(outcomes, risks)

    assert np.allclose(curve, [0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 1.0])
