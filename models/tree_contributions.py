"""LightGBM's SHAP contributions, worked out once per way a tree treats people.

`Booster.predict(pred_contrib=True)` runs LightGBM's exact TreeSHAP over every tree for
every person: at 30,837 people and 799 trees, 6.5 s of the new month on two cores
(benchmarks/tree_contributions.py). Yet a tree's contributions for a person depend only on
which way the person goes at each of the tree's splits (the "hot" child of every node in
Lundberg et al. 2018, Algorithm 2), and the way at a split depends only on the person's
value of its feature: whether it is missing, whether it is zero, and which side of the
threshold it lies (a numerical split), or the value itself (a categorical one). People
alike in all of these, for one tree, get the same contributions from it.

So, tree by tree, people are grouped by exactly those facts (the six splits of a tree of 7
leaves send people at most 64 ways, whatever their number; missing values and zeros add
a few groups); LightGBM works out the contributions of one person of each group for that
tree alone (``start_iteration=t, num_iteration=1``); everyone adds their group's, in
LightGBM's tree order. The values are LightGBM's own. Only the rounding differs: LightGBM
adds each leaf's share of a tree to the running total, here a tree's total is added, so the
two agree to about 1e-12 (tests/models/test_tree_contributions.py) and word the same
reasons (benchmarks/tree_contributions.py).

Nothing here decides a split the way LightGBM does: grouping only puts together people no
split of the tree can tell apart, whatever its rule for missing values and zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

# LightGBM counts |x| <= kZeroThreshold, the float 1e-35f, as zero (include/LightGBM/meta.h).
# Values near it are told apart by which side of it they fall, and whether on it, so the
# groups hold whether LightGBM's test is < or <=, in float or in double.
ZERO_BOUND = float(np.float32(1e-35))
NEAR_ZERO = 1e-34


@dataclass(frozen=True)
class Split:
    feature: int
    threshold: float | None  # None for a categorical split


def contributions(booster: lgb.Booster, matrix: np.ndarray, threads: int) -> np.ndarray:
    """What ``booster.predict(matrix, pred_contrib=True)`` gives (people x features + 1, the
    last column the expected value), to within rounding; see the module's docstring.

    Grouped however few the people (a cost a tree, which for a few hundred people is more
    than one call's): a person's contributions are then the same doubles whoever else is
    explained with them (tests/models/test_tree_contributions.py). `threads` serves only a model
    the grouping is not written for, or a matrix neither float32 nor float64 (which
    LightGBM would narrow to float32 before its splits compare), explained by one call.
    """
    trees = _trees(booster) if matrix.dtype in (np.float32, np.float64) else None
    if trees is None:
        return np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=threads))
    people, features = matrix.shape
    columns = _Columns(matrix)
    total = np.zeros((features + 1, people))  # a row a feature: each tree adds to a few
    for index, splits in enumerate(trees):
        first, group = _groups(splits, columns)
        share = np.asarray(
            booster.predict(
                matrix[first],
                pred_contrib=True,
                start_iteration=index,
                num_iteration=1,
                num_threads=1,
            )
        )
        for feature in [*sorted({split.feature for split in splits}), features]:
            total[feature] += share[:, feature][group]
    return total.T


def _trees(booster: lgb.Booster) -> list[list[Split]] | None:
    """Each tree's splits, or None for a model this grouping is not written for (more than
    one tree an iteration, linear trees)."""
    model: dict[str, Any] = booster.dump_model()
    linear = "\nis_linear=1\n" in booster.model_to_string()  # not in dump_model's trees
    if model.get("num_tree_per_iteration", 1) != 1 or linear:
        return None
    trees = []
    for tree in model["tree_info"]:
        splits: list[Split] = []
        nodes = [tree["tree_structure"]]
        while nodes:
            node = nodes.pop()
            if "split_feature" not in node:
                continue
            categorical = node["decision_type"] == "=="
            threshold = None if categorical else float(node["threshold"])
            splits.append(Split(int(node["split_feature"]), threshold))
            nodes += [node["left_child"], node["right_child"]]
        trees.append(splits)
    return trees


class _Columns:
    """The matrix's columns as doubles, each contiguous, with what a split can tell of them
    beyond the side of its threshold: made once a column, on first use.

    Doubles, because LightGBM compares each value, as a double, with the threshold, a
    double (numpy would compare a float32 column with the threshold rounded to float32).
    """

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self._values: dict[int, np.ndarray] = {}
        self._kinds: dict[int, tuple[np.ndarray, int]] = {}
        self._codes: dict[int, tuple[np.ndarray, int]] = {}

    def values(self, feature: int) -> np.ndarray:
        if feature not in self._values:
            self._values[feature] = np.ascontiguousarray(self.matrix[:, feature], np.float64)
        return self._values[feature]

    def kinds(self, feature: int) -> tuple[np.ndarray, int]:
        """What a numerical split can tell of a value besides its side of the threshold,
        numbered from 0, and how many there are: missing, zero, below `ZERO_BOUND`, on it,
        above it but within `NEAR_ZERO`, or none of these."""
        if feature not in self._kinds:
            column = self.values(feature)
            size = np.abs(column)
            kind = np.select(
                [np.isnan(column), column == 0, size < ZERO_BOUND, size == ZERO_BOUND],
                [1, 2, 3, 4],
                default=np.where(size <= NEAR_ZERO, 5, 0),
            )
            self._kinds[feature] = self._numbered(kind)
        return self._kinds[feature]

    def codes(self, feature: int) -> tuple[np.ndarray, int]:
        """Each value as a small integer (missing its own), and how many there are."""
        if feature not in self._codes:
            self._codes[feature] = self._numbered(self.values(feature))
        return self._codes[feature]

    @staticmethod
    def _numbered(values: np.ndarray) -> tuple[np.ndarray, int]:
        distinct, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), len(distinct)


def _groups(splits: list[Split], columns: _Columns) -> tuple[np.ndarray, np.ndarray]:
    """The first person of each group, and each person's group: people no split of the tree
    tells apart (same missingness, zeroness and side of every threshold; same category)."""
    numerical = sorted({split.feature for split in splits if split.threshold is not None})
    parts: list[tuple[np.ndarray, int]] = [
        (columns.values(split.feature) <= split.threshold, 2)
        if split.threshold is not None
        else columns.codes(split.feature)
        for split in splits
    ] + [columns.kinds(feature) for feature in numerical]
    key = np.zeros(columns.matrix.shape[0], dtype=np.int64)
    for part, count in parts:
        if count == 1:
            continue
        if key.max(initial=0) >= 2**31:  # renumbered, so the next step cannot overflow
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * count + part
    top = int(key.max(initial=0))
    if top >= 1 << 20:
        _, first, group = np.unique(key, return_index=True, return_inverse=True)
        return first, group
    # Keys are few and small: numbered by a table of the keys present, not by sorting.
    present = np.zeros(top + 1, dtype=bool)
    present[key] = True
    group = (np.cumsum(present) - 1)[key]
    first = np.empty(int(present.sum()), dtype=np.int64)
    first[group] = np.arange(key.size)  # any one person of a group will do: they are alike
    return first, group
