"""SHAP contributions worked out once per way a tree treats people are LightGBM's own."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models.tree_contributions import _trees, contributions

CATEGORICAL = [3, 4]


def training_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts, a measurement with gaps, a flag, two categories and a label they drive."""
    rng = np.random.default_rng(seed)
    people = 3_000
    matrix = np.column_stack(
        [
            rng.poisson(1.5, people),
            np.where(rng.random(people) < 0.3, np.nan, rng.normal(25, 5, people)),
            rng.integers(0, 2, people),
            rng.integers(0, 6, people),
            np.where(rng.random(people) < 0.1, np.nan, rng.integers(0, 4, people)),
            rng.normal(0, 1, people),
        ]
    ).astype(np.float32)
    logit = (
        0.6 * matrix[:, 0]
        + 0.05 * np.nan_to_num(matrix[:, 1], nan=30)
        + matrix[:, 2]
        + (matrix[:, 3] % 3 == 1)
        - 3
    )
    label = rng.random(people) < 1 / (1 + np.exp(-logit))
    return matrix, label


def hostile_rows(booster: lgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """The data, plus the values where a split's rule is easiest to get wrong: each
    threshold's float32 neighbours and its float32 rounding, missing values, zeros of both
    signs and values LightGBM counts as zero, negative and unseen categories."""
    rows = [matrix]
    base = matrix[:50]
    trees = _trees(booster)
    assert trees is not None
    for splits in trees:
        for split in splits:
            if split.threshold is None:
                continue
            near = np.float32(split.threshold)
            for value in (
                np.nextafter(near, np.float32(-np.inf)),
                near,
                np.nextafter(near, np.float32(np.inf)),
            ):
                row = base[:3].copy()
                row[:, split.feature] = value
                rows.append(row)
    for value in (np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-35, -1.0, 7.0, 250.0):
        row = base.copy()
        row[:, :] = np.float32(value)
        rows.append(row)
        for feature in range(matrix.shape[1]):
            one = base[:5].copy()
            one[:, feature] = np.float32(value)
            rows.append(one)
    return np.ascontiguousarray(np.concatenate(rows).astype(np.float32))


@pytest.mark.parametrize(
    ("seed", "zero_as_missing", "leaves", "rounds"),
    # 63 leaves: more splits a tree than a 64-bit key holds: the keys are renumbered on the way
    [(1, False, 7, 60), (2, True, 9, 60), (3, False, 63, 10)],
)
def test_grouped_contributions_are_lightgbms_own(
    seed: int, zero_as_missing: bool, leaves: int, rounds: int
) -> None:
    matrix, label = training_data(seed)
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": leaves,
            "learning_rate": 0.1,
            "min_data_in_leaf": 20,
            "zero_as_missing": zero_as_missing,
            "seed": seed,
            "verbose": -1,
            "deterministic": True,
        },
        lgb.Dataset(matrix, label, categorical_feature=CATEGORICAL),
        num_boost_round=rounds,
    )
    rows = hostile_rows(booster, matrix)
    expected = np.asarray(booster.predict(rows, pred_contrib=True))

    grouped = contributions(booster, rows, threads=1)

    assert grouped.shape == expected.shape
    np.testing.assert_allclose(grouped, expected, rtol=0, atol=1e-12)


def test_a_persons_contributions_are_the_same_doubles_whoever_else_is_explained() -> None:
    matrix, label = training_data(4)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 4},
        lgb.Dataset(matrix, label, categorical_feature=CATEGORICAL),
        num_boost_round=40,
    )
    everyone = contributions(booster, matrix, threads=1)
    for person in (0, 17, 2_999):
        alone = contributions(booster, matrix[person : person + 1], threads=1)
        assert alone.tobytes() == everyone[person : person + 1].tobytes()


def test_a_model_the_grouping_is_not_written_for_gets_one_call() -> None:
    matrix, _ = training_data(5)
    classes = (matrix[:, 3] % 3).astype(int)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "seed": 5},
        lgb.Dataset(matrix, classes),
        num_boost_round=10,
    )
    assert _trees(booster) is None
    expected = np.asarray(booster.predict(matrix, pred_contrib=True))
    assert contributions(booster, matrix, threads=1).tobytes() == expected.tobytes()


def test_trees_of_one_leaf_add_only_their_expected_value() -> None:
    """A round that finds no split worth making leaves a tree of one leaf (here the only
    one: its expected value is everyone's whole explanation)."""
    matrix, label = training_data(6)
    booster = lgb.train(
        {"objective": "binary", "min_gain_to_split": 200.0, "verbose": -1, "seed": 6},
        lgb.Dataset(matrix, label, categorical_feature=CATEGORICAL),
        num_boost_round=30,
    )
    trees = _trees(booster)
    assert trees is not None and any(not splits for splits in trees)
    expected = np.asarray(booster.predict(matrix, pred_contrib=True))
    np.testing.assert_allclose(contributions(booster, matrix, threads=1), expected, atol=1e-12)


def test_linear_trees_and_other_number_types_get_one_call() -> None:
    matrix, label = training_data(7)
    linear = lgb.train(
        {"objective": "binary", "linear_tree": True, "verbose": -1, "seed": 7},
        lgb.Dataset(np.nan_to_num(matrix), label),
        num_boost_round=10,
    )
    assert _trees(linear) is None
    plain = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 7},
        lgb.Dataset(matrix, label),
        num_boost_round=10,
    )
    counts = np.nan_to_num(matrix).astype(np.int64)
    expected = np.asarray(plain.predict(counts, pred_contrib=True))
    assert contributions(plain, counts, threads=1).tobytes() == expected.tobytes()
