"""The two baselines the model must beat, on the same out-of-time split.

- prior admissions: rank people by their count of emergency admissions in the last 12
  months, the simple trigger many areas still use. A ranking, not a probability.
- logistic: a logistic regression on age (with a squared term, since admission risk
  rises faster than linearly with age), sex and the count of long-term conditions,
  the kind of model a QAdmissions-lite would be. Fitted on the training dates only.
- basic LightGBM: what a competent analyst's script would build (issue 12's target):
  LightGBM with its default parameters (100 rounds, learning rate 0.1, 31 leaves) on 34
  basic features, trained on one index date, the latest training date. The model must
  beat this clearly to be worth its pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.registry import PREDICTION_THREADS, FeatureEncoding, fit_encoding
from warehouse.features import LONG_TERM_CONDITIONS

PRIOR_ADMISSIONS = "emergency_admissions_12m"
AGE, SEX, CONDITION_COUNT = "age", "sex", "ltc_count"


def prior_admissions_score(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column(PRIOR_ADMISSIONS).fill_null(0).cast(pl.Float64).to_numpy()


@dataclass
class LogisticBaseline:
    sexes: list[str]
    pipeline: Pipeline

    def design(self, frame: pl.DataFrame) -> np.ndarray:
        age = (
            frame.get_column(AGE)
            .cast(pl.Float64)
            .fill_null(strategy="mean")
            .fill_null(0)
            .to_numpy()
        )
        conditions = frame.get_column(CONDITION_COUNT).cast(pl.Float64).fill_null(0).to_numpy()
        sex = frame.get_column(SEX).cast(pl.Utf8).fill_null("")
        columns = [age, (age / 10) ** 2, conditions]
        columns += [(sex == value).cast(pl.Float64).to_numpy() for value in self.sexes[1:]]
        return np.column_stack(columns)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(self.design(frame))[:, 1])


def fit_logistic_baseline(frame: pl.DataFrame, label: str) -> LogisticBaseline:
    sexes = sorted(v for v in frame.get_column(SEX).cast(pl.Utf8).fill_null("").unique().to_list())
    baseline = LogisticBaseline(
        sexes=sexes,
        pipeline=make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=1000)),
    )
    baseline.pipeline.fit(baseline.design(frame), frame.get_column(label).to_numpy())
    return baseline


BASIC_FEATURES = (
    "age",
    "sex",
    "imd_decile",
    "care_home",
    *LONG_TERM_CONDITIONS,
    "ltc_count",
    "consultations_12m",
    "home_visits_12m",
    "bnf_sections_12m",
    "ae_attendances_12m",
    "outpatient_dnas_12m",
    "emergency_admissions_12m",
    "elective_admissions_12m",
    "days_since_emergency_admission",
    "social_care_active",
)
BASIC_ROUNDS = 100  # LightGBM's default
# LightGBM's defaults, seeded and deterministic like everything else here.
BASIC_PARAMETERS: dict[str, Any] = {
    "objective": "binary",
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}


@dataclass
class BasicLightGBM:
    encoding: FeatureEncoding
    booster: lgb.Booster

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        matrix = self.encoding.matrix(frame)
        return np.asarray(self.booster.predict(matrix, num_threads=PREDICTION_THREADS))


def fit_basic_lightgbm(frame: pl.DataFrame, label: str, features: Sequence[Any]) -> BasicLightGBM:
    """The analyst's baseline, fitted on `frame` (one index date) with the basic features.

    Basic features missing from `features` (a smaller catalogue, as in tests) are skipped.
    """
    basic = [f for f in features if f.name in set(BASIC_FEATURES)]
    encoding = fit_encoding([frame], basic)
    data = lgb.Dataset(
        encoding.matrix(frame),
        label=frame.get_column(label).to_numpy(),
        categorical_feature=encoding.categorical_indices or "auto",
        params={"verbosity": -1, "seed": 7},
    )
    return BasicLightGBM(encoding, lgb.train(BASIC_PARAMETERS, data, num_boost_round=BASIC_ROUNDS))
