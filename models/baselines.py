"""The two baselines the model must beat, on the same out-of-time split.

- prior admissions: rank people by their count of emergency admissions in the last 12
  months, the simple trigger many areas still use. A ranking, not a probability.
- logistic: a logistic regression on age (with a squared term, since admission risk
  rises faster than linearly with age), sex and the count of long-term conditions,
  the kind of model a QAdmissions-lite would be. Fitted on the training dates only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

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
