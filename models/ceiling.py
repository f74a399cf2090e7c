"""The feature ceiling: how well these features could rank people if fitting were perfect.

A diagnostic for generated data only, never a production model and never saved. The
generator's truth.csv gives each person's true 12-month risk at every index date. Fitting
the same learner with the same parameters and features to that `true_risk` (objective
cross_entropy, which takes probabilities as labels) on the training rows removes the
noise of the 0/1 outcome; scored at the validation date against the outcome, its AUROC is
about the best these features can carry. So the gap from the model to the oracle (the
true risk itself) splits in two: the model to the ceiling is fitting, the ceiling to the
oracle is information the features do not hold.

Its early stopping holds out whole training people, as the model's does; the validation
date reaches no choice.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from models.boosting import early_stopping_rounds, lightgbm_dataset, tuning_people
from models.registry import PREDICTION_THREADS, FeatureEncoding

TRUE_RISK = "true_risk"


def feature_ceiling_risk(
    training: pl.DataFrame,
    validation: pl.DataFrame,
    truth: pl.DataFrame,
    encoding: FeatureEncoding,
    parameters: dict[str, Any],
    *,
    seed: int,
) -> np.ndarray:
    """The ceiling's risk for each validation row, fitted to `true_risk` on the training rows.

    `truth` has nhs_number, index_date and true_risk; training rows without a true risk
    are left out of the fit.
    """
    keys = ["nhs_number", "index_date"]
    truth = truth.select(
        pl.col("nhs_number").cast(training.schema["nhs_number"]),
        pl.col("index_date").cast(training.schema["index_date"]),
        pl.col(TRUE_RISK).cast(pl.Float64),
    )
    fitted = training.join(truth, on=keys, how="inner", maintain_order="left")
    parameters = {
        **parameters,
        "objective": "cross_entropy",
        "metric": "cross_entropy",
        "seed": seed,
    }
    matrix = encoding.matrix(fitted)
    target = fitted.get_column(TRUE_RISK).to_numpy()
    categorical = encoding.categorical_indices
    rounds = early_stopping_rounds(
        parameters, matrix, target, tuning_people(fitted, seed), categorical
    )
    booster = lgb.train(
        parameters, lightgbm_dataset(matrix, target, categorical), num_boost_round=rounds
    )
    return np.asarray(booster.predict(encoding.matrix(validation), num_threads=PREDICTION_THREADS))
