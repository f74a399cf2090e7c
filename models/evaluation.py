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
from scipy.stats import norm, rankdata
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.calibration import (
    calibration_intercept,
    calibration_slope,
    integrated_calibration_index,
)
from models.fairness import poisson_interval
from models.plotting import calibration_png
from warehouse.files import write_text_atomic

TOP_FRACTIONS = (0.005, 0.01, 0.02, 0.05, 0.10)
NET_BENEFIT_THRESHOLDS = (0.05, 0.10, 0.20, 0.30)


def fraction_label(fraction: float) -> str:
    """0.005 -> "0_5pct", 0.05 -> "5pct"."""
    percent = round(fraction * 100, 1)
    text = f"{percent:g}".replace(".", "_")
    return f"{text}pct"


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score))


def delong_auroc_interval(y: np.ndarray, score: np.ndarray, level: float = 0.95) -> list[float]:
    """The AUROC's confidence interval by DeLong's method (DeLong, DeLong and Clarke-Pearson,
    1988), with the midrank algorithm of Sun and Xu (2014): one sort, where a bootstrap
    refits the statistic a thousand times. Ties count a half, as in the AUROC itself.
    Returns [low, high], clipped to [0, 1] and rounded to 4 places.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    positives, negatives = score[y], score[~y]
    m, n = positives.size, negatives.size
    if m < 2 or n < 2:
        return [float("nan"), float("nan")]
    ranks_all = rankdata(np.concatenate([positives, negatives]))  # midranks
    ranks_positive = rankdata(positives)
    ranks_negative = rankdata(negatives)
    placement_positive = (ranks_all[:m] - ranks_positive) / n  # V10: share of negatives below
    placement_negative = 1.0 - (ranks_all[m:] - ranks_negative) / m  # V01
    area = float(placement_positive.mean())
    variance = placement_positive.var(ddof=1) / m + placement_negative.var(ddof=1) / n
    half = float(norm.ppf(0.5 + level / 2) * math.sqrt(variance))
    return [round(max(0.0, area - half), 4), round(min(1.0, area + half), 4)]


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


# The lists' default tiers (lists/tiers.py): cumulative top fractions of the population.
TIERS = (("very high", 0.005), ("high", 0.05), ("rising", 0.20))


def calibration_by_tier(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Observed against expected admissions in each list tier, O/E with an exact Poisson 95% CI.

    The tiers are who a practice sees, so their calibration matters more than the deciles',
    where 90% of the population sits below the first tier.
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(-p, kind="stable")  # highest first, ties by row order
    rows, start = [], 0
    for name, fraction in TIERS:
        end = math.ceil(fraction * y.size)
        members = order[start:end]
        observed, expected = float(y[members].sum()), float(p[members].sum())
        rows.append(
            {
                "tier": name,
                "people": int(members.size),
                "observed": int(observed),
                "expected": round(expected, 2),
                "observed_to_expected": round(observed / expected, 3) if expected > 0 else None,
                "observed_to_expected_ci": poisson_interval(observed, expected),
            }
        )
        start = end
    return rows


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Metrics that need only an ordering of people (any score, probability or not)."""
    metrics: dict[str, Any] = {
        "people": int(np.size(y)),
        "admissions": int(np.sum(y)),
        "auroc": round(auroc(y, score), 4),
        "auroc_ci": delong_auroc_interval(y, score),
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
        "calibration_by_tier": calibration_by_tier(y, p),
        "net_benefit": decision_curve(y, p),
    }


def evaluate_probabilities(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    return {**ranking_metrics(y, p), **probability_metrics(y, p)}


def png_markdown(png: bytes, alt: str) -> str:
    """A PNG embedded in markdown as a data URI (for Dagster metadata and the model card)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def read_truth_at(path: Path, index_dates: list[datetime.date]) -> pl.DataFrame:
    """truth.csv's true_risk at several index dates: nhs_number (text), index_date, true_risk."""
    wanted = sorted({d.isoformat() for d in index_dates})
    return (
        pl.scan_csv(
            path,
            schema_overrides={
                "nhs_number": pl.Utf8,
                "index_date": pl.Utf8,
                "true_risk": pl.Float64,
            },
        )
        .filter(pl.col("index_date").is_in(wanted))
        .select("nhs_number", pl.col("index_date").str.to_date("%Y-%m-%d"), "true_risk")
        .collect()
    )


def evaluation_report(
    predictions: pl.DataFrame,
    *,
    model_version: str,
    validation_date: datetime.date | str,
    decision: dict[str, Any] | None = None,
    cold_start: bool = False,
) -> dict[str, Any]:
    """evaluation.json: the model in use and both baselines on the out-of-time window.

    `predictions` has columns admitted, risk, risk_uncalibrated, prior_admissions,
    logistic_risk and true_risk (null without a truth file). The oracle (the generator's
    true risk) is scored on the people the truth file covers.
    """
    y = predictions.get_column("admitted").to_numpy().astype(np.int64)
    risk = predictions.get_column("risk").to_numpy()
    raw = predictions.get_column("risk_uncalibrated").to_numpy()
    validation = evaluate_probabilities(y, risk)
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
    baselines = {
        "prior_admissions": ranking_metrics(
            y, predictions.get_column("prior_admissions").to_numpy()
        ),
    }
    # Fitted baselines exist where the model was trained; an external zone has none.
    for name in ("logistic", "basic_lightgbm"):
        if f"{name}_risk" in predictions.columns:
            scores = predictions.get_column(f"{name}_risk").to_numpy()
            baselines[name] = evaluate_probabilities(y, scores)
    oracle, ceiling, three_figures = None, None, None
    truth = predictions.get_column("true_risk") if "true_risk" in predictions.columns else None
    if truth is not None and truth.null_count() < truth.len():
        known = truth.is_not_null().to_numpy()
        true_risk = truth.to_numpy()[known].astype(np.float64)
        ppv, _ = top_fraction(y[known], true_risk, 0.05)
        oracle = {
            "auroc": round(auroc(y[known], true_risk), 4),
            "auroc_ci": delong_auroc_interval(y[known], true_risk),
            "ppv_top_5pct": round(ppv, 4),
            "people_with_truth": int(known.sum()),
            "model_auroc_same_people": round(auroc(y[known], risk[known]), 4),
            "mean_true_risk": round(float(true_risk.mean()), 5),
            "brier": round(float(brier_score_loss(y[known], true_risk)), 5),
        }
        ceiling_column = (
            predictions.get_column("feature_ceiling_risk")
            if "feature_ceiling_risk" in predictions.columns
            else None
        )
        if ceiling_column is not None and ceiling_column.null_count() == 0:
            ceiling = evaluate_probabilities(y, ceiling_column.to_numpy())
            three_figures = split_the_gap(
                y[known], risk[known], ceiling_column.to_numpy()[known], true_risk
            )
    return {
        "model_version": model_version,
        "validation": validation,
        "baselines": baselines,
        "oracle": oracle,
        "feature_ceiling": ceiling,
        "three_figures": three_figures,
        "validation_index_date": str(validation_date),
        "cold_start": cold_start,
        "validation_kind": VALIDATION_KINDS[cold_start],
        "registry": decision,
        "methods": METHODS,
    }


def split_the_gap(
    y: np.ndarray, risk: np.ndarray, ceiling: np.ndarray, true_risk: np.ndarray
) -> dict[str, float]:
    """Model, feature ceiling and oracle AUROC on the same people, and the two gaps between.

    model -> ceiling is fitting (the features could carry more); ceiling -> oracle is
    information (latent state the features do not hold).
    """
    model_auroc, ceiling_auroc, oracle_auroc = (
        auroc(y, risk),
        auroc(y, ceiling),
        auroc(y, true_risk),
    )
    return {
        "people": int(y.size),
        "model_auroc": round(model_auroc, 4),
        "feature_ceiling_auroc": round(ceiling_auroc, 4),
        "oracle_auroc": round(oracle_auroc, 4),
        "fitting_gap": round(ceiling_auroc - model_auroc, 4),
        "information_gap": round(oracle_auroc - ceiling_auroc, 4),
    }


VALIDATION_KINDS = {
    False: "out of time: trained on dates whose outcomes ended before the validation date",
    True: "not yet validated out of time: person-grouped 5-fold cross-validation at the latest labelled date (cold start, fewer than 25 months)",
}

METHODS = {
    "auroc_ci": "95% interval by DeLong's method (midrank algorithm of Sun and Xu, 2014)",
    "calibration_intercept": "calibration-in-the-large: intercept of logistic regression of the outcome with logit(risk) as offset",
    "calibration_slope": "slope of logistic regression of the outcome on logit(risk)",
    "ici_e90": "mean and 90th percentile of |risk - smoothed observed|; smoothed curve = logistic regression on a cubic spline of logit(risk), knots at quantiles",
    "top_k": "PPV and sensitivity among the top ceil(k*n) by score; ties at the cut-off counted by expectation",
    "net_benefit": "decision curve: TP/n - FP/n * t/(1-t) for acting on risk >= t",
    "protocol": "early stopping uses a fifth of the training people, held out whole, and the risks are not recalibrated; the validation date is scored once by the finished model and reaches no choice",
    "recalibration": "none: the booster's own risks (recalibration fitted on training people did not carry a year forward on the choice seeds); a model saved by an earlier version with a logistic (Platt) calibrator still applies it (its metadata's calibration names the method)",
    "baselines": "prior_admissions ranks by emergency admissions in the last 12 months; logistic: age, age squared, sex, long-term condition count, fitted on the training dates; basic_lightgbm: LightGBM with default parameters (100 rounds) on 34 basic features, fitted on the latest training date",
    "feature_ceiling": "with truth.csv only: the same features, learner and parameters fitted to the generator's true_risk (cross_entropy) on the training rows, early stopping on held-out training people, scored at the validation date against the outcome; a diagnostic, never deployed",
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
        "basic_lightgbm_auroc": None,
        "feature_ceiling_auroc": None,
        "oracle_auroc": None,
    }
    for column in ("basic_lightgbm", "feature_ceiling"):
        scores = (
            predictions.get_column(f"{column}_risk")
            if f"{column}_risk" in predictions.columns
            else None
        )
        if scores is not None and scores.null_count() == 0:
            numbers[f"{column}_auroc"] = round(auroc(y, scores.to_numpy()), 4)
    truth = predictions.get_column("true_risk") if "true_risk" in predictions.columns else None
    if truth is not None and truth.null_count() < truth.len():
        known = truth.is_not_null().to_numpy()
        numbers["oracle_auroc"] = round(auroc(y[known], truth.to_numpy()[known]), 4)
    return {
        "numbers": numbers,
        "calibration_plot": png_markdown(calibration_png(y, risk), "calibration, out of time"),
    }
