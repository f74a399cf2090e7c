"""Calibration of predicted risks: measure it, and correct it on out-of-time data.

Measurement follows Van Calster et al. (2016, 2019):
- calibration intercept: calibration-in-the-large, the intercept `a` of
  `logit P(y) = a + logit(p)` (logit(p) as an offset); 0 when the mean risk is right.
- calibration slope: `b` in `logit P(y) = a + b * logit(p)`; 1 when the spread of risks is
  right, < 1 when risks are too extreme (overfitting), > 1 when too modest.
- ICI and E90 (Austin & Steyerberg 2019): the mean and 90th percentile, over people, of
  |p - smoothed observed risk at p|. The smoothed curve is a logistic regression of the
  outcome on a natural-spline basis of logit(p) (4 interior knots at quantiles), a
  flexible calibration curve that, unlike lowess, stays O(n) at a million people.

Correction is logistic (Platt) recalibration, `p' = sigmoid(a + b * logit(p))`: two
parameters, monotone (it never changes the ranking, so AUROC and the risk lists are the
same), and the model it fits is exactly the one the slope and intercept measure. The
correction is chosen and fitted on the training people's out-of-fold risks from the
deployed recipe (models.boosting.out_of_fold_risks: the chosen rounds, each person scored
by a fit without them), never on the validation date, and its own effect is
measured by cross-fitting: each fold's people are recalibrated by a fit on the other
folds, so the choice never rests on a calibrator that saw the people it is judged on.

Never fits anything on the people it then reports calibration for, except where a
function's name says so (`fit_*`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer

EPSILON = 1e-6
CALIBRATION_FOLDS = 5


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


@dataclass(frozen=True)
class CalibrationChoice:
    """What the held-out training people said about calibration and what was done about it."""

    calibrator: Calibrator
    out_of_fold: np.ndarray  # calibrated risks, each fitted without that person's fold
    raw_log_loss: float
    recalibrated_log_loss: float
    reason: str

    def summary(self) -> dict[str, object]:
        return {
            **{
                k: v
                for k, v in asdict(self).items()
                if k in ("raw_log_loss", "recalibrated_log_loss", "reason")
            },
            "calibrator": self.calibrator.to_dict(),
        }


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    clipped = np.clip(np.asarray(p, dtype=np.float64), EPSILON, 1 - EPSILON)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


def choose_calibration(
    y: np.ndarray, p: np.ndarray, *, seed: int, folds: int = CALIBRATION_FOLDS
) -> CalibrationChoice:
    """Decide on held-out people's risks whether to recalibrate, judged by cross-fitting.

    Platt recalibration is kept when its cross-fitted log loss beats the raw risks';
    then the calibrator used for scoring is refitted on all of them.
    """
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    fold = np.random.default_rng(seed).permutation(y.size) % folds
    out_of_fold = np.empty(y.size)
    for k in range(folds):
        held_out = fold == k
        out_of_fold[held_out] = fit_platt(y[~held_out], p[~held_out]).apply(p[held_out])
    raw, recalibrated = log_loss(y, p), log_loss(y, out_of_fold)
    if recalibrated < raw:
        return CalibrationChoice(
            fit_platt(y, p),
            out_of_fold,
            raw,
            recalibrated,
            "logistic recalibration lowered the cross-fitted log loss of the held-out training people",
        )
    return CalibrationChoice(
        Calibrator(),
        p.copy(),
        raw,
        recalibrated,
        "raw risks were as well calibrated on the held-out training people as recalibrated ones",
    )
