"""Scoring a feature frame: a risk and three reasons per person, nothing read or written."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.scoring import REASON_COLUMNS, score_frame

FRAME = pl.DataFrame(
    {
        "nhs_number": ["9990000001", "9990000002", "9990000003"],
        "practice_code": ["A81001", "A81001", "A81002"],
        "age": [80, 40, 60],
    }
)


class AgeModel:
    version = "mage00000001"

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return frame.get_column("age").to_numpy() / 100


def explain_by_age(model: object, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        "nhs_number",
        pl.format("aged {}", "age").alias("reason_1"),
        pl.lit(None, dtype=pl.Utf8).alias("reason_2"),
        pl.lit(None, dtype=pl.Utf8).alias("reason_3"),
    )


def test_each_person_gets_the_model_risk_and_the_explainer_reasons() -> None:
    scored = score_frame(FRAME, AgeModel(), explain_by_age).sort("nhs_number")
    assert scored.columns == ["nhs_number", "practice_code", "risk", *REASON_COLUMNS]
    assert scored.get_column("risk").to_list() == [0.8, 0.4, 0.6]
    assert scored.get_column("reason_1").to_list() == ["aged 80", "aged 40", "aged 60"]


def test_without_an_explainer_the_reasons_are_empty() -> None:
    scored = score_frame(FRAME, AgeModel())
    assert scored.select(REASON_COLUMNS).null_count().row(0) == (3, 3, 3)


def test_a_model_returning_impossible_risks_is_refused() -> None:
    class Broken(AgeModel):
        def predict(self, frame: pl.DataFrame) -> np.ndarray:
            return super().predict(frame) + 1.0

    with pytest.raises(ValueError, match="outside"):
        score_frame(FRAME, Broken())


def test_an_explainer_without_the_reason_columns_is_refused() -> None:
    def wrong(model: object, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select("nhs_number")

    with pytest.raises(ValueError, match="lacks"):
        score_frame(FRAME, AgeModel(), wrong)
