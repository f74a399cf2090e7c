"""Risks and reasons for a feature frame, from the model that scores.

`score_frame` asks a model for each person's calibrated risk of an emergency admission in
the next 12 months (`risks`), and an explainer for their top three reasons (`reasons`): a
frame in, a frame out, nothing read from or written to the warehouse. Reasons cost far
more than risks (SHAP values and wording per person), so a caller that needs them for only
some people asks `risks` for everyone and `reasons` for those people alone; a person's
reasons do not depend on who else is in the frame. Ranks, tiers and the `scores` tables come
after the model, so they are the lists' business (`lists.tiers`, `lists.scores`).

This module must never log an NHS number, never write a table, and never import dagster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from models import explanations, registry

log = logging.getLogger(__name__)

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")


class ScoringModel(Protocol):
    """What scoring needs from a model (models.registry.RiskModel has it)."""

    version: str

    def predict(self, frame: pl.DataFrame) -> np.ndarray: ...


# (model, feature frame) -> frame with nhs_number and reason_1..reason_3, clinician-worded,
# strongest first (models.explanations.explain).
Explainer = Callable[[Any, pl.DataFrame], pl.DataFrame]


def load_current_model(models_dir: Path) -> registry.RiskModel:
    """The model in use, from the registry under <home>/models (models.registry)."""
    return registry.load(models_dir)


def default_explainer() -> Explainer:
    """The reasons of the model that scores: models.explanations.explain."""
    return explanations.explain


def score_frame(
    frame: pl.DataFrame, model: ScoringModel, explain: Explainer | None = None
) -> pl.DataFrame:
    """nhs_number, practice_code, risk and reason_1..reason_3 for each person of `frame`.

    Refuses a model whose risks are not one per person within [0, 1]. Without `explain`
    the reasons are left empty.
    """
    scores = risks(frame, model)
    return scores.join(reasons(model, frame, explain), on="nhs_number", how="left")


def risks(frame: pl.DataFrame, model: ScoringModel) -> pl.DataFrame:
    """nhs_number, practice_code and risk for each person of `frame`.

    Refuses a model whose risks are not one per person within [0, 1].
    """
    risk = np.asarray(model.predict(frame), dtype=np.float64) if frame.height else np.empty(0)
    if (
        risk.shape != (frame.height,)
        or not np.all(np.isfinite(risk))
        or np.any((risk < 0) | (risk > 1))
    ):
        raise ValueError(
            f"model {model.version} returned risks outside [0, 1] or not one per person"
        )
    return frame.select("nhs_number", "practice_code").with_columns(
        pl.Series("risk", risk, dtype=pl.Float64)
    )


def reasons(model: ScoringModel, frame: pl.DataFrame, explain: Explainer | None) -> pl.DataFrame:
    """nhs_number and reason_1..reason_3 (text) for each person of `frame`."""
    if explain is None:
        log.warning("no explainer available: the lists' reasons are empty")
        return frame.select("nhs_number").with_columns(
            [pl.lit(None, dtype=pl.Utf8).alias(c) for c in REASON_COLUMNS]
        )
    if frame.height == 0:
        return pl.DataFrame(
            schema={"nhs_number": pl.Utf8, **dict.fromkeys(REASON_COLUMNS, pl.Utf8)}
        )
    explained = explain(model, frame)
    missing = [c for c in ("nhs_number", *REASON_COLUMNS) if c not in explained.columns]
    if missing:
        raise ValueError(f"the explainer's frame lacks {missing}")
    return explained.select(
        pl.col("nhs_number").cast(pl.Utf8), *(pl.col(c).cast(pl.Utf8) for c in REASON_COLUMNS)
    )
