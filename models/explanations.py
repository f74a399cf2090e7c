"""Reasons a clinician can read: each person's top three drivers of risk.

Drivers are LightGBM's own SHAP values (`pred_contrib=True`, exact TreeSHAP) from the
model that scores, on the log-odds scale, worked out once per way a tree treats people
(`models.tree_contributions`: the same values to about 1e-12, 7x sooner). Only features
that push a person's risk up are reasons (by at least MIN_CONTRIBUTION), and only when the
person actually has the thing: a flag that is 0, a count of 0 or a missing measurement is never a reason ("no heart failure" is not why someone
is at risk), however the model used its absence. Each reason is the catalogue's
`phrase` with the person's value, e.g. "2 emergency admissions in the last 12 months".

Returns NHS numbers (the list stage needs them to join); never logs anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from models import tree_contributions
from models.registry import PREDICTION_THREADS, RiskModel

REASONS = 3
# Features whose value 0 is still a fact about the person ("diagnosed 0 years ago"),
# where for every other numeric feature (counts) 0 means the person has none of it.
ZERO_IS_A_VALUE_PREFIXES = ("age", "imd_decile", "years_since_", "days_since_")
# Model inputs that are never offered as a reason: nothing a clinician can act on, and
# naming them to a clinician as why a person is on the list invites the wrong reading.
NEVER_REASONS = frozenset({"sex", "ethnicity_group"})
# Categorical values that record an absence or nothing, never a reason.
ABSENT_CATEGORIES = frozenset(
    {"", "unknown", "not known", "not recorded", "not stated", "never", "none"}
)
# A driver must raise the odds by at least about 5% to be named: smaller SHAP values are
# noise in the trees, not something a clinician should read as a reason.
MIN_CONTRIBUTION = 0.05
# Catalogue phrases are plural ("{value:.0f} emergency admissions"); one of a thing reads singular.
SINGULAR = {
    "admissions": "admission",
    "attendances": "attendance",
    "consultations": "consultation",
    "conditions": "condition",
    "visits": "visit",
    "arrivals": "arrival",
    "appointments": "appointment",
    "deficits": "deficit",
    "sections": "section",
    "services": "service",
    "days": "day",
    "years": "year",
}
PLURAL_WORD = re.compile(r"\b(" + "|".join(SINGULAR) + r")\b")


def singular(text: str) -> str:
    return PLURAL_WORD.sub(lambda match: SINGULAR[match.group(1)], text)


def phrase_for(feature: Any, value: Any) -> str | None:
    """The clinician wording for one feature's value, or None when it is no reason."""
    if (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or feature.name in NEVER_REASONS
    ):
        return None
    if feature.kind == "flag":
        return str(feature.phrase).format(value=value) if value == 1 else None
    if feature.kind == "categorical":
        if str(value).strip().lower() in ABSENT_CATEGORIES:
            return None
        return str(feature.phrase).format(value=value)
    if value == 0 and not feature.name.startswith(ZERO_IS_A_VALUE_PREFIXES):
        return None
    text = str(feature.phrase).format(value=float(value))
    return singular(text) if value == 1 and feature.name not in ("age", "imd_decile") else text


def contributions(model: RiskModel, frame: pl.DataFrame) -> np.ndarray:
    """SHAP contributions (people x features, log-odds) from the scoring model; bias dropped."""
    matrix = model.encoding.matrix(frame)
    contrib = tree_contributions.contributions(model.booster, matrix, PREDICTION_THREADS)
    return contrib[:, : len(model.encoding.names)]


def explain(
    model: RiskModel,
    frame: pl.DataFrame,
    features: Sequence[Any] | None = None,
    *,
    top: int = REASONS,
) -> pl.DataFrame:
    """nhs_number, reason_1..reason_top: the person's strongest positive drivers, worded.

    `features` are catalogue entries (name, kind, phrase); default models.feature_catalogue.
    A person with fewer than `top` positive drivers gets nulls in the remaining reasons.
    """
    if features is None:
        from models.feature_catalogue import FEATURES

        features = FEATURES
    by_name = {f.name: f for f in features}
    names = list(model.encoding.names)
    catalogue = [by_name[name] for name in names]
    contrib = contributions(model, frame)
    values = frame.select(names).rows()
    # Strongest first; a stable sort on the negated value keeps catalogue order for ties.
    order = np.argsort(-contrib, axis=1, kind="stable")
    reasons: list[list[str | None]] = [[] for _ in range(top)]
    for person, row in enumerate(values):
        chosen: list[str] = []
        for column in order[person]:
            if contrib[person, column] < MIN_CONTRIBUTION or len(chosen) == top:
                break
            text = phrase_for(catalogue[column], row[column])
            if text is not None and text not in chosen:
                chosen.append(text)
        for slot in range(top):
            reasons[slot].append(chosen[slot] if slot < len(chosen) else None)
    return pl.DataFrame(
        {
            "nhs_number": frame.get_column("nhs_number"),
            **{
                f"reason_{slot + 1}": pl.Series(reasons[slot], dtype=pl.Utf8) for slot in range(top)
            },
        }
    )
