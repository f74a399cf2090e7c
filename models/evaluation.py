"""Out-of-time evaluation of risk scores: discrimination, calibration, top-k and net benefit.

Functions take outcomes and scores (numpy arrays), never identifiers: nothing here can
put an NHS number in a report. Discrimination uses scikit-learn's metrics; calibration
measures are in models.calibration (see its docstring for the methods).

Top-k figures (PPV and sensitivity in the top x% by score) count ties at the cut-off by
their expectation under random tie-breaking, so a score with many ties (a count of prior
admissions) is judged fairly and deterministically.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.calibration import (
    calibration_intercept,
    calibration_slope,
    integrated_calibration_index,
)
from models.plotting import calibration_png
from warehouse.files import write_text_atomic

TOP_FRACTIONS = (0.005, 0.01, 0.02, 0.05, 0.10)
NET_BENEFIT_THRESHOLDS = (0.05, 0.10, 0.20, 0.30)
BOOTSTRAP_REPLICATES = 1000


def fraction_label(fraction: float) -> str:
    """0.005 -> "0_5pct", 0.05 -> "5pct"."""
    percent = round(fraction * 100, 1)
    text = f"{percent:g}".replace(".", "_")
    return f"{text}pct"


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score))


def bootstrap_auroc_interval(
    y: np.ndarray, score: np.ndarray, *, seed: int, replicates: int = BOOTSTRAP_REPLICATES
) -> list[float]:
    """95% percentile bootstrap interval for the AUROC, resampling people with a fixed seed."""
    y = np.asarray(y).astype(np.float64)
    score = np.asarray(score, dtype=np.float64)
    rng = np.random.default_rng(seed)
    # Sort once; a replicate is then a vector of resampling counts, and its AUROC the
    # Mann-Whitney statistic over tie groups (ties count a half), in O(n) per replicate.
    order = np.argsort(score, kind="stable")
    _, tie_group = np.unique(score[order], return_inverse=True)
    outcome = y[order]
    estimates = []
    for _ in range(replicates):
        weights = np.bincount(rng.integers(0, y.size, y.size), minlength=y.size)[order]
        positives = np.bincount(tie_group, weights=weights * outcome)
        negatives = np.bincount(tie_group, weights=weights * (1 - outcome))
        total_positive, total_negative = positives.sum(), negatives.sum()
        if total_positive == 0 or total_negative == 0:
            continue
        below = np.cumsum(negatives) - negatives
        estimates.append(
            float((positives * (below + 0.5 * negatives)).sum() / (total_positive * total_negative))
        )
    low, high = np.quantile(estimates, [0.025, 0.975])
    return [round(float(low), 4), round(float(high), 4)]


def top_fraction(y: np.ndarray, score: np.ndarray, fraction: float) -> tuple[float, float]:
    """(PPV, sensitivity) among the ceil(fraction * n) highest scores, ties shared out."""
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    chosen = math.ceil(fraction * y.size)
    if chosen == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    cut = np.sort(score)[::-1][chosen - 1]
    above = score > cut
    tied = score == cut
    needed = chosen - int(above.sum())
    true_positives = y[above].sum() + needed * y[tied].mean()
    return float(true_positives / chosen), float(true_positives / y.sum())


def net_benefit(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    """Decision-curve net benefit of acting on everyone with p >= threshold."""
    y = np.asarray(y, dtype=np.float64)
    act = np.asarray(p) >= threshold
    n = y.size
    true_positives = float(y[act].sum())
    false_positives = float(act.sum() - true_positives)
    return true_positives / n - false_positives / n * threshold / (1 - threshold)


def decision_curve(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    prevalence = float(np.mean(y))
    return [
        {
            "threshold": t,
            "model": round(net_benefit(y, p, t), 5),
            "treat_all": round(prevalence - (1 - prevalence) * t / (1 - t), 5),
            "treat_none": 0.0,
        }
        for t in NET_BENEFIT_THRESHOLDS
    ]


def calibration_by_decile(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    """Observed and expected event rates in tenths of the population by predicted risk."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    rows = []
    for decile, members in enumerate(np.array_split(order, 10), start=1):
        rows.append(
            {
                "decile": decile,
                "people": int(members.size),
                "expected": round(float(p[members].mean()), 5),
                "observed": round(float(y[members].mean()), 5),
            }
        )
    return rows


def ranking_metrics(y: np.ndarray, score: np.ndarray, *, seed: int) -> dict[str, Any]:
    """Metrics that need only an ordering of people (any score, probability or not)."""
    metrics: dict[str, Any] = {
        "people": int(np.size(y)),
        "admissions": int(np.sum(y)),
        "auroc": round(auroc(y, score), 4),
        "auroc_ci": bootstrap_auroc_interval(y, score, seed=seed),
        "auprc": round(float(average_precision_score(y, score)), 4),
    }
    for fraction in TOP_FRACTIONS:
        ppv, sensitivity = top_fraction(y, score, fraction)
        metrics[f"ppv_top_{fraction_label(fraction)}"] = round(ppv, 4)
        metrics[f"sensitivity_top_{fraction_label(fraction)}"] = round(sensitivity, 4)
    return metrics


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Metrics that read the score as a probability."""
    ici, e90 = integrated_calibration_index(y, p)
    return {
        "mean_predicted": round(float(np.mean(p)), 5),
        "observed_rate": round(float(np.mean(y)), 5),
        "brier": round(float(brier_score_loss(y, p)), 5),
        "calibration_intercept": round(calibration_intercept(y, p), 4),
        "calibration_slope": round(calibration_slope(y, p), 4),
        "ici": round(ici, 5),
        "e90": round(e90, 5),
        "calibration_by_decile": calibration_by_decile(y, p),
        "net_benefit": decision_curve(y, p),
    }


def evaluate_probabilities(y: np.ndarray, p: np.ndarray, *, seed: int) -> dict[str, Any]:
    return {**ranking_metrics(y, p, seed=seed), **probability_metrics(y, p)}


def png_markdown(png: bytes, alt: str) -> str:
    """A PNG embedded in markdown as a data URI (for Dagster metadata and the model card)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def read_truth(path: Path, index_date: datetime.date) -> pl.DataFrame:
    """truth.csv's true_risk at one index date: nhs_number (text), true_risk."""
    return (
        pl.scan_csv(
            path,
            schema_overrides={
                "nhs_number": pl.Utf8,
                "index_date": pl.Utf8,
                "true_risk": pl.Float64,
            },
        )
        .filter(pl.col("index_date") == index_date.isoformat())
        .select("nhs_number", "true_risk")
        .collect()
    )


def evaluation_report(
    predictions: pl.DataFrame,
    *,
    model_version: str,
    validation_date: datetime.date | str,
    decision: dict[str, Any] | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    """evaluation.json: the model in use and both baselines on the out-of-time window.

    `predictions` has columns admitted, risk, risk_uncalibrated, prior_admissions,
    logistic_risk and true_risk (null without a truth file). The oracle (the generator's
    true risk) is scored on the people the truth file covers.
    """
    y = predictions.get_column("admitted").to_numpy().astype(np.int64)
    risk = predictions.get_column("risk").to_numpy()
    raw = predictions.get_column("risk_uncalibrated").to_numpy()
    validation = evaluate_probabilities(y, risk, seed=seed)
    uncalibrated = probability_metrics(y, raw)
    validation["before_recalibration"] = {
        key: uncalibrated[key]
        for key in (
            "mean_predicted",
            "brier",
            "calibration_intercept",
            "calibration_slope",
            "ici",
            "e90",
        )
    }
    validation["auroc_uncalibrated"] = round(auroc(y, raw), 4)
    logistic = predictions.get_column("logistic_risk").to_numpy()
    baselines = {
        "prior_admissions": ranking_metrics(
            y, predictions.get_column("prior_admissions").to_numpy(), seed=seed
        ),
        "logistic": evaluate_probabilities(y, logistic, seed=seed),
    }
    oracle = None
    truth = predictions.get_column("true_risk") if "true_risk" in predictions.columns else None
    if truth is not None and truth.null_count() < truth.len():
        known = truth.is_not_null().to_numpy()
        true_risk = truth.to_numpy()[known].astype(np.float64)
        ppv, _ = top_fraction(y[known], true_risk, 0.05)
        oracle = {
            "auroc": round(auroc(y[known], true_risk), 4),
            "auroc_ci": bootstrap_auroc_interval(y[known], true_risk, seed=seed),
            "ppv_top_5pct": round(ppv, 4),
            "people_with_truth": int(known.sum()),
            "model_auroc_same_people": round(auroc(y[known], risk[known]), 4),
            "mean_true_risk": round(float(true_risk.mean()), 5),
            "brier": round(float(brier_score_loss(y[known], true_risk)), 5),
        }
    return {
        "model_version": model_version,
        "validation": validation,
        "baselines": baselines,
        "oracle": oracle,
        "validation_index_date": str(validation_date),
        "registry": decision,
        "methods": METHODS,
    }


METHODS = {
    "auroc_ci": f"95% percentile bootstrap over people, {BOOTSTRAP_REPLICATES} replicates, fixed seed",
    "calibration_intercept": "calibration-in-the-large: intercept of logistic regression of the outcome with logit(risk) as offset",
    "calibration_slope": "slope of logistic regression of the outcome on logit(risk)",
    "ici_e90": "mean and 90th percentile of |risk - smoothed observed|; smoothed curve = logistic regression on a cubic spline of logit(risk), knots at quantiles",
    "top_k": "PPV and sensitivity among the top ceil(k*n) by score; ties at the cut-off counted by expectation",
    "net_benefit": "decision curve: TP/n - FP/n * t/(1-t) for acting on risk >= t",
    "recalibration": "logistic (Platt) recalibration fitted on the out-of-time window; validation figures are cross-fitted (5 folds), never in-sample",
    "baselines": "prior_admissions ranks by emergency admissions in the last 12 months; logistic: age, age squared, sex, long-term condition count, fitted on the training dates",
}


def write_evaluation(report: dict[str, Any], folder: Path) -> Path:
    """evaluation.json under `folder` (reports/model), 0600. The plots are the model card's."""
    path = folder / "evaluation.json"
    write_text_atomic(path, json.dumps(report, indent=2, sort_keys=False) + "\n")
    return path


def headline_metrics(predictions: pl.DataFrame) -> dict[str, Any]:
    """The few numbers (and the calibration plot) a person looks at first, for run metadata."""
    y = predictions.get_column("admitted").to_numpy()
    risk = predictions.get_column("risk").to_numpy()
    numbers: dict[str, float | None] = {
        "auroc": round(auroc(y, risk), 4),
        "calibration_slope": round(calibration_slope(y, risk), 4),
        "calibration_intercept": round(calibration_intercept(y, risk), 4),
        "prior_admissions_auroc": round(
            auroc(y, predictions.get_column("prior_admissions").to_numpy()), 4
        ),
        "logistic_auroc": round(auroc(y, predictions.get_column("logistic_risk").to_numpy()), 4),
        "oracle_auroc": None,
    }
    truth = predictions.get_column("true_risk") if "true_risk" in predictions.columns else None
    if truth is not None and truth.null_count() < truth.len():
        known = truth.is_not_null().to_numpy()
        numbers["oracle_auroc"] = round(auroc(y[known], truth.to_numpy()[known]), 4)
    return {
        "numbers": numbers,
        "calibration_plot": png_markdown(calibration_png(y, risk), "calibration, out of time"),
    }
