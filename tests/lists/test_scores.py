"""Scores: every eligible person ranked within the area and the practice, and tiered."""

from __future__ import annotations

import polars as pl
import pytest

from lists.scores import read_scores, score_month
from lists.tiers import Tier, TierPolicy, rank_and_tier
from tests.lists.population import EXCLUDED, MOVED, SCORE_MONTH, StandInModel, stand_in_explain
from warehouse.connection import connect
from warehouse.home import Home


def test_every_eligible_person_is_scored_once_with_ranks_percentiles_and_a_tier(
    staged_home: Home,
) -> None:
    with connect(staged_home.database) as connection:
        scored = score_month(connection, SCORE_MONTH, StandInModel(), explain=stand_in_explain)
        scores = read_scores(connection, SCORE_MONTH)

    # 90 ordinary people, the person who moved and the one who withdrew an opt-out.
    assert scores.height == scored.people == 92
    assert scores.get_column("nhs_number").n_unique() == 92
    assert not set(EXCLUDED) & set(scores.get_column("nhs_number"))
    assert scores.filter(pl.col("nhs_number") == MOVED).get_column("practice_code").to_list() == [
        "B82001"
    ]
    assert scores.get_column("area_rank").to_list() == list(range(1, 93))
    assert scores.get_column("risk").is_sorted(descending=True)
    for practice in scores.partition_by("practice_code"):
        assert sorted(practice.get_column("practice_rank")) == list(range(1, practice.height + 1))
        assert practice.sort("practice_rank").get_column("practice_percentile")[0] == 100.0
    assert scores.get_column("area_percentile")[0] == 100.0
    # Tiers by area rank, boundaries rounded up: 0.5% of 92 -> 1, 5% -> 5, 20% -> 19.
    assert scored.people_per_tier == {"very high": 1, "high": 4, "rising": 14, "low": 73}
    assert set(scores.get_column("model_version")) == {"mstandin0001"}
    assert scores.get_column("risk").is_between(0, 1).all()
    top = scores.row(0, named=True)
    assert top["reason_1"] and top["long_term_conditions"] == "COPD; heart failure"
    assert str(top["last_emergency_admission"]).startswith("2024-01-")


def test_equal_risks_are_ranked_by_nhs_number_whatever_the_input_order() -> None:
    people = pl.DataFrame(
        {
            "nhs_number": ["9990000003", "9990000001", "9990000002", "9990000004"],
            "practice_code": ["A81001", "A81001", "A81002", "A81001"],
            "risk": [0.2, 0.2, 0.2, 0.9],
        }
    )
    first = rank_and_tier(people)
    second = rank_and_tier(people.reverse())
    assert first.equals(second)
    assert first.get_column("nhs_number").to_list() == [
        "9990000004",
        "9990000001",
        "9990000002",
        "9990000003",
    ]
    assert first.get_column("practice_rank").to_list() == [1, 2, 1, 3]


def test_scoring_a_month_again_replaces_its_rows(staged_home: Home) -> None:
    with connect(staged_home.database) as connection:
        score_month(connection, SCORE_MONTH, StandInModel(), explain=stand_in_explain)
        once = read_scores(connection, SCORE_MONTH)
        score_month(connection, SCORE_MONTH, StandInModel(), explain=stand_in_explain)
        twice = read_scores(connection, SCORE_MONTH)
    assert once.equals(twice)


def test_tiers_are_configurable_and_checked() -> None:
    people = pl.DataFrame(
        {
            "nhs_number": [f"99900000{i:02d}" for i in range(10)],
            "practice_code": ["A81001"] * 10,
            "risk": [i / 10 for i in range(10)],
        }
    )
    two_tiers = TierPolicy(tiers=(Tier("top", 0.3),), otherwise="rest")
    assert (
        rank_and_tier(people, two_tiers).get_column("tier").to_list() == ["top"] * 3 + ["rest"] * 7
    )
    with pytest.raises(ValueError, match="rise strictly"):
        TierPolicy(tiers=(Tier("a", 0.5), Tier("b", 0.2)))


def test_a_model_returning_impossible_risks_is_refused(staged_home: Home) -> None:
    class Broken(StandInModel):
        def predict(self, frame: pl.DataFrame):  # type: ignore[no-untyped-def]
            return super().predict(frame) + 1.0

    with connect(staged_home.database) as connection, pytest.raises(ValueError, match="outside"):
        score_month(connection, SCORE_MONTH, Broken())
