"""Metrics on inputs whose answers are known by hand or by scikit-learn."""

import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from models.evaluation import (
    calibration_by_decile,
    delong_auroc_interval,
    evaluation_report,
    fraction_label,
    net_benefit,
    top_fraction,
)


def test_top_fraction_ppv_and_sensitivity_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 1, 0])
    score = np.arange(10, 0, -1, dtype=float)  # person 0 highest
    assert top_fraction(y, score, 0.2) == (0.5, pytest.approx(1 / 3))
    assert top_fraction(y, score, 0.3) == (pytest.approx(2 / 3), pytest.approx(2 / 3))


def test_top_fraction_shares_out_ties_at_the_cut_off():
    # two people chosen from four tied at the top, half of whom were admitted
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    score = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    ppv, sensitivity = top_fraction(y, score, 0.25)
    assert ppv == pytest.approx(0.5) and sensitivity == pytest.approx(0.5)


def test_net_benefit_by_hand():
    y = np.array([1, 1, 0, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.05])
    # at 0.5: act on persons 0 and 2: TP 1, FP 1 -> 1/5 - 1/5 * 1 = 0
    assert net_benefit(y, p, 0.5) == pytest.approx(0.0)
    # at 0.1: act on 0, 1, 2, 3: TP 2, FP 2 -> 2/5 - 2/5 * (0.1 / 0.9)
    assert net_benefit(y, p, 0.1) == pytest.approx(0.4 - 0.4 / 9)


def test_the_auroc_interval_is_delongs_computed_pair_by_pair():
    """DeLong's variance from every (admitted, not admitted) pair, ties a half, on data with
    many ties; the fast midrank version must give the same interval."""
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    score = np.round(rng.random(400) + 0.4 * y, 1)  # rounded: many ties
    admitted, others = score[y == 1], score[y == 0]
    pairs = (admitted[:, None] > others[None, :]) + 0.5 * (admitted[:, None] == others[None, :])
    area = pairs.mean()
    variance = pairs.mean(1).var(ddof=1) / admitted.size + pairs.mean(0).var(ddof=1) / others.size
    half = 1.959963984540054 * variance**0.5

    interval = delong_auroc_interval(y, score)

    assert interval == [round(area - half, 4), round(area + half, 4)]
    assert interval[0] < roc_auc_score(y, score) < interval[1]
    one_admitted = delong_auroc_interval(np.array([1, 0, 0]), np.array([0.9, 0.1, 0.2]))
    assert all(np.isnan(one_admitted))  # a variance needs two of each


def test_calibration_by_decile_counts_everyone_once():
    p = np.linspace(0.01, 0.5, 1000)
    y = (np.arange(1000) % 4 == 0).astype(int)
    deciles = calibration_by_decile(y, p)
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["people"] for d in deciles) == 1000
    assert deciles[0]["expected"] < deciles[-1]["expected"]


def test_fraction_labels():
    assert [fraction_label(f) for f in (0.005, 0.01, 0.05, 0.1)] == [
        "0_5pct",
        "1pct",
        "5pct",
        "10pct",
    ]


def predictions_frame(n=4000, seed=2, truth=True):
    rng = np.random.default_rng(seed)
    true_risk = 1 / (1 + np.exp(-rng.normal(-2.5, 1.2, n)))
    admitted = (rng.random(n) < true_risk).astype(np.int8)
    noisy = 1 / (1 + np.exp(-(np.log(true_risk / (1 - true_risk)) + rng.normal(0, 0.7, n))))
    return pl.DataFrame(
        {
            "admitted": admitted,
            "risk": noisy,
            "risk_uncalibrated": noisy,
            "prior_admissions": rng.poisson(true_risk * 2).astype(float),
            "logistic_risk": np.clip(true_risk + rng.normal(0, 0.05, n), 0.001, 0.999),
            "true_risk": true_risk if truth else [None] * n,
        },
        schema_overrides={"true_risk": pl.Float64},
    )


def test_evaluation_report_has_the_agreed_shape():
    report = evaluation_report(
        predictions_frame(), model_version="mtest", validation_date="2024-12-31"
    )
    assert list(report)[:4] == ["model_version", "validation", "baselines", "oracle"]
    required = {
        "auroc",
        "auroc_ci",
        "auprc",
        "brier",
        "calibration_intercept",
        "calibration_slope",
        "ici",
        "e90",
        "ppv_top_1pct",
        "ppv_top_5pct",
        "sensitivity_top_5pct",
    }
    assert required <= set(report["validation"])
    assert set(report["baselines"]) == {"prior_admissions", "logistic"}
    assert {"auroc", "ppv_top_5pct"} <= set(report["oracle"])
    assert report["oracle"]["auroc"] > report["validation"]["auroc"]
    assert report["validation"]["auroc"] == round(
        roc_auc_score(predictions_frame()["admitted"], predictions_frame()["risk"]), 4
    )
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in report["validation"].values())


def test_oracle_is_null_without_truth():
    report = evaluation_report(
        predictions_frame(truth=False), model_version="m", validation_date="2024-12-31"
    )
    assert report["oracle"] is None


def test_three_figures_split_the_gap_into_fitting_and_information():
    frame = predictions_frame()
    rng = np.random.default_rng(5)
    true_logit = np.log(frame["true_risk"] / (1 - frame["true_risk"])).to_numpy()
    ceiling = 1 / (1 + np.exp(-(true_logit + rng.normal(0, 0.35, frame.height))))
    frame = frame.with_columns(pl.Series("feature_ceiling_risk", ceiling))
    report = evaluation_report(frame, model_version="m", validation_date="2024-12-31")
    y = frame["admitted"].to_numpy()
    figures = report["three_figures"]
    assert figures["model_auroc"] == round(roc_auc_score(y, frame["risk"]), 4)
    assert figures["feature_ceiling_auroc"] == round(roc_auc_score(y, ceiling), 4)
    assert figures["oracle_auroc"] == round(roc_auc_score(y, frame["true_risk"]), 4)
    assert figures["model_auroc"] < figures["feature_ceiling_auroc"] < figures["oracle_auroc"]
    assert figures["fitting_gap"] == round(
        roc_auc_score(y, ceiling) - roc_auc_score(y, frame["risk"]), 4
    )
    assert report["feature_ceiling"]["auroc"] == figures["feature_ceiling_auroc"]
    assert (
        evaluation_report(
            predictions_frame(truth=False).with_columns(
                pl.lit(None, dtype=pl.Float64).alias("feature_ceiling_risk")
            ),
            model_version="m",
            validation_date="2024-12-31",
        )["three_figures"]
        is None
    )


def test_calibration_by_tier_counts_each_list_tier_once():
    from models.evaluation import calibration_by_tier

    people = 2000  # tiers: top 10, next 90, next 300
    p = np.linspace(0.9, 0.01, people)
    y = np.zeros(people)
    y[:5] = 1  # very high: 5 observed against 0.9..0.896 * 10 expected
    y[10:100:2] = 1  # high: 45 observed
    tiers = calibration_by_tier(y, p)
    assert [t["tier"] for t in tiers] == ["very high", "high", "rising"]
    assert [t["people"] for t in tiers] == [10, 90, 300]
    assert [t["observed"] for t in tiers] == [5, 45, 0]
    assert tiers[0]["expected"] == round(p[:10].sum(), 2)
    assert tiers[0]["observed_to_expected"] == round(5 / p[:10].sum(), 3)
    low, high = tiers[0]["observed_to_expected_ci"]
    assert low < tiers[0]["observed_to_expected"] < high
    # Row order must not matter: the tiers follow the risks.
    shuffled = np.random.default_rng(1).permutation(people)
    assert calibration_by_tier(y[shuffled], p[shuffled]) == tiers
