"""Shared LightGBM plumbing: seeded data sets and early stopping that holds out whole people.

Used by the model (models.training) and the feature ceiling (models.ceiling) alike, so
both make their choices the same way: on training people held out whole, never on the
validation date. Never imports dagster; never logs an NHS number.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import GroupShuffleSplit

SEED = 7
MAX_BIN = 255
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
# The share of training people held out for early stopping.
TUNING_FRACTION = 0.2


def lightgbm_dataset(
    matrix: np.ndarray, outcome: np.ndarray, categorical: list[int], **kwargs: Any
) -> lgb.Dataset:
    return lgb.Dataset(
        matrix,
        label=outcome,
        categorical_feature=categorical or "auto",
        params={"verbosity": -1, "max_bin": MAX_BIN, "seed": SEED},
        free_raw_data=True,
        **kwargs,
    )


def tuning_people(training: pl.DataFrame, seed: int) -> np.ndarray:
    """A mask of the training rows held out for early stopping.

    Whole people are held out (every row of a person, at every stacked date, falls on one
    side), so a person seen in training never judges the rounds: the same person a year
    apart is nearly the same row, and holding out rows would reward memorising them.
    """
    splitter = GroupShuffleSplit(n_splits=1, test_size=TUNING_FRACTION, random_state=seed)
    groups = training.get_column("nhs_number").to_numpy()
    _, held_out = next(splitter.split(np.zeros(training.height), groups=groups))
    mask = np.zeros(training.height, dtype=bool)
    mask[held_out] = True
    return mask


def early_stopped_booster(
    parameters: dict[str, Any],
    matrix: np.ndarray,
    outcome: np.ndarray,
    tuning: np.ndarray,
    categorical: list[int],
) -> lgb.Booster:
    """A booster fitted on the rows outside `tuning`, stopped early on the `tuning` rows.

    `outcome` is 0/1 for the model, or a probability for the feature ceiling (objective
    cross_entropy): early stopping watches the parameters' own metric.
    """
    fitting = lightgbm_dataset(matrix[~tuning], outcome[~tuning], categorical)
    held_out = lightgbm_dataset(matrix[tuning], outcome[tuning], categorical, reference=fitting)
    return lgb.train(
        parameters,
        fitting,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[held_out],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )


def best_rounds(booster: lgb.Booster) -> int:
    """The rounds early stopping chose (all of them if it never stopped)."""
    return int(booster.best_iteration or booster.current_iteration())


def early_stopping_rounds(
    parameters: dict[str, Any],
    matrix: np.ndarray,
    outcome: np.ndarray,
    tuning: np.ndarray,
    categorical: list[int],
) -> int:
    """Rounds chosen by early stopping on the tuning rows (`early_stopped_booster`)."""
    return best_rounds(early_stopped_booster(parameters, matrix, outcome, tuning, categorical))
