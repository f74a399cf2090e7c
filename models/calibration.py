"""Calibration of predicted risks: measure it; the model's risks are not recalibrated.

Measurement follows Van Calster et al. (2016, 2019):
- calibration intercept: calibration-in-the-large, the intercept `a` of
  `logit P(y) = a + logit(p)` (logit(p) as an offset); 0 when the mean risk is right.
- calibration slope: `b` in `logit P(y) = a + b * logit(p)`; 1 when the spread of risks is
  right, < 1 when risks are too extreme (overfitting), > 1 when too modest.
- ICI and E90 (Austin & Steyerberg 2019): the mean and 90th percentile, over people, of
  |p - smoothed observed risk at p|. The smoothed curve is a logistic regression of the
  outcome on a natural-spline basis of logit(p) (4 interior knots at quantiles), a
  flexible calibration curve that, unlike lowess, stays O(n) at a million people.

A `Calibrator` maps a booster's risk to the risk a model reports. Models trained now keep
the booster's own risks (method "none"): logistic (Platt) recalibration,
`p' = sigmoid(a + b * logit(p))`, chosen and fitted on training people (on the early-
stopping model's risks for its held-out fifth, or on out-of-fold risks of the deployed
recipe) moved the calibration slope a year later, at the validation date, further from
1 against the generator's true risk than the raw risks were, over 52 parameter sets and
seeds (docs/model.md, "Choices measured on the choice seeds"; benchmarks/
model_choices.py). Models saved earlier with a Platt calibrator still load and apply it
(`from_dict`); `fit_platt` is the same two-parameter fit the slope measures.

Never fits anything on the people it then reports calibration for, except where a
function's name says so (`fit_*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer

EPSILON = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(p, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def fit_logistic(
    y: np.ndarray, x: np.ndarray, offset: np.ndarray | None = None, iterations: int = 50
) -> np.ndarray:
    """Unpenalised maximum-likelihood logistic regression by Newton-Raphson.

    `x` is n x k (no intercept column: one is added); returns [intercept, coefficients...].
    Small and exact, for the one- and two-parameter models calibration needs.
    """
    y = np.asarray(y, dtype=np.float64)
    design = np.column_stack([np.ones(y.size), np.asarray(x, dtype=np.float64).reshape(y.size, -1)])
    base = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=np.float64)
    beta = np.zeros(design.shape[1])
    mean = y.mean()
    if 0 < mean < 1:
        beta[0] = np.log(mean / (1 - mean)) - base.mean()
    for _ in range(iterations):
        eta = base + design @ beta
        p = sigmoid(eta)
        weights = np.maximum(p * (1 - p), 1e-12)
        gradient = design.T @ (y - p)
        hessian = design.T @ (design * weights[:, None])
        step = np.linalg.solve(hessian + 1e-9 * np.eye(beta.size), gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def calibration_intercept(y: np.ndarray, p: np.ndarray) -> float:
    """Calibration-in-the-large: intercept with logit(p) as an offset (0 is perfect)."""
    lp = logit(p)
    return float(fit_logistic(y, np.zeros((lp.size, 0)), offset=lp)[0])


def calibration_slope(y: np.ndarray, p: np.ndarray) -> float:
    """Slope of the logistic recalibration of y on logit(p) (1 is perfect)."""
    return float(fit_logistic(y, logit(p))[1])


def smoothed_observed(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The flexible calibration curve evaluated at each p: estimated P(y = 1 | p)."""
    lp = logit(p).reshape(-1, 1)
    if np.unique(lp).size < 8:  # too few distinct risks for a spline: use the binned means
        # Flattened: numpy 2 gives an (n, 1) inverse for a 2-D input, which bincount refuses.
        _, inverse = np.unique(lp.ravel(), return_inverse=True)
        sums = np.bincount(inverse, weights=np.asarray(y, dtype=np.float64))
        return np.asarray(sums / np.bincount(inverse))[inverse]
    knots = np.quantile(lp, np.linspace(0, 1, 6)).reshape(-1, 1)
    basis = SplineTransformer(knots=np.unique(knots, axis=0), degree=3, extrapolation="linear")
    features = basis.fit_transform(lp)
    # Very light L2 only to keep the solver stable; not a smoothing choice.
    model = LogisticRegression(C=1e4, max_iter=2000)
    model.fit(features, np.asarray(y, dtype=np.int64))
    return np.asarray(model.predict_proba(features)[:, 1])


def integrated_calibration_index(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(ICI, E90): mean and 90th percentile of |p - smoothed observed risk|."""
    gaps = np.abs(np.asarray(p, dtype=np.float64) - smoothed_observed(y, p))
    return float(gaps.mean()), float(np.quantile(gaps, 0.9))


@dataclass(frozen=True)
class Calibrator:
    """p' = sigmoid(intercept + slope * logit(p)); method "none" leaves p unchanged."""

    method: Literal["none", "platt"] = "none"
    intercept: float = 0.0
    slope: float = 1.0

    def apply(self, p: np.ndarray) -> np.ndarray:
        if self.method == "none":
            return np.asarray(p, dtype=np.float64)
        return sigmoid(self.intercept + self.slope * logit(p))

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "intercept": round(self.intercept, 12),
            "slope": round(self.slope, 12),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        method = str(data.get("method", "none"))
        if method not in ("none", "platt"):
            raise ValueError(f"unknown calibration method {method!r}")
        return cls(
            method="platt" if method == "platt" else "none",
            intercept=float(data.get("intercept", 0.0)),  # type: ignore[arg-type]
            slope=float(data.get("slope", 1.0)),  # type: ignore[arg-type]
        )


def fit_platt(y: np.ndarray, p: np.ndarray) -> Calibrator:
    intercept, slope = fit_logistic(y, logit(p))
    return Calibrator(method="platt", intercept=float(intercept), slope=float(slope))
