"""Scores: every eligible person ranked within the area and the practice, and tiered."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lists import scores as lists_scores
from lists.federation import publish_federation_summaries
from lists.practice_lists import ListLength, ListPolicy, publish_practice_lists
from lists.scores import (
    explain_listed,
    people_to_explain,
    person_details,
    read_scores,
    score_month,
)
from lists.tiers import Tier, TierPolicy, rank_and_tier
from models.feature_catalogue import CONDITIONS
from tests.lists.conftest import TEST_KEY
from tests.lists.population import (
    DIED,
    EXCLUDED,
    MONTHS,
    MOVED,
    SCORE_MONTH,
    StandInModel,
    stand_in_explain,
)
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


# Short lists, so most scored people are not listable and their reasons are not computed.
SHORT_LISTS = ListPolicy(standard=ListLength(top_n=2), vanguard=ListLength(top_n=4))


def publish_with_reasons_for(
    home: Home, template: Path, list_policy: ListPolicy | None, explained: dict[str, set[str]]
) -> dict[str, pl.DataFrame]:
    """Score and list both months (reasons for `list_policy`'s listable, or everyone); the scores."""
    home.root.mkdir(parents=True)
    shutil.copy(template, home.database)
    scores = {}
    with connect(home.database) as connection:
        for month in MONTHS:

            def recording_explain(
                model: Any, frame: pl.DataFrame, month: str = month
            ) -> pl.DataFrame:
                explained[month] = set(frame.get_column("nhs_number"))
                return stand_in_explain(model, frame)

            score_month(
                connection,
                month,
                StandInModel(),
                explain=recording_explain,
                list_policy=list_policy,
            )
            scores[month] = read_scores(connection, month)
            publish_practice_lists(
                connection, home.outbox, month, SHORT_LISTS, list_reports=home.list_reports
            )
        publish_federation_summaries(connection, home.outbox, MONTHS[-1], TEST_KEY)
    return scores


def published_files(home: Home) -> dict[str, bytes]:
    return {
        str(path.relative_to(home.root)): path.read_bytes()
        for folder in (home.outbox, home.list_reports)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_lists_with_reasons_only_for_the_listable_equal_lists_with_everyone_explained(
    tmp_path: Path, staged_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No margin: the rule alone (the lists' own listable population, then the longest list)
    # must give every listed person their reasons.
    monkeypatch.setattr(lists_scores, "REASONS_MARGIN", 0)
    everyone_explained: dict[str, set[str]] = {}
    everyone = publish_with_reasons_for(
        Home(tmp_path / "everyone"), staged_template, None, everyone_explained
    )
    lean_explained: dict[str, set[str]] = {}
    lean = publish_with_reasons_for(
        Home(tmp_path / "lean"), staged_template, SHORT_LISTS, lean_explained
    )

    expected = published_files(Home(tmp_path / "everyone"))
    assert any(name.endswith("risk_list.csv") for name in expected)
    assert any(name.endswith("risk_list.html") for name in expected)
    assert published_files(Home(tmp_path / "lean")) == expected
    # The lists do show reasons (an empty reason everywhere would compare equal too).
    listed_csv = next(v for k, v in expected.items() if k.endswith("risk_list.csv")).decode()
    assert "in the last 12 months" in listed_csv or "aged" in listed_csv

    for month in MONTHS:
        full, partial = everyone[month], lean[month]
        assert everyone_explained[month] == set(full.get_column("nhs_number"))
        # At most the longest list (4) in each of the three practices was explained.
        assert 0 < len(lean_explained[month]) <= 3 * 4 < full.height
        assert partial.drop("reason_1", "reason_2", "reason_3").equals(
            full.drop("reason_1", "reason_2", "reason_3")
        )
        is_explained = pl.col("nhs_number").is_in(sorted(lean_explained[month]))
        assert partial.filter(is_explained).equals(full.filter(is_explained))
        unexplained = partial.filter(~is_explained)
        assert unexplained.select("reason_1", "reason_2", "reason_3").null_count().row(0) == (
            (unexplained.height,) * 3
        )
    # In January, DIED is scored at the top of their practice but not listable (their death
    # was delivered in February): never explained, no reasons, and not counted in the list.
    january = lean["2024-01"].filter(pl.col("nhs_number") == DIED).row(0, named=True)
    assert january["practice_rank"] == 1 and january["reason_1"] is None
    assert DIED not in lean_explained["2024-01"]
    assert everyone["2024-01"].filter(pl.col("nhs_number") == DIED)["reason_1"][0] is not None


def test_people_to_explain_follow_each_practices_listable_ranks() -> None:
    listable = pl.DataFrame(
        {
            "nhs_number": [f"99900000{i:02d}" for i in range(12)],
            "practice_code": ["A"] * 10 + ["B"] * 2,
            # A's ranks 1 and 3 are not listable (not in the frame): the list skips them.
            "practice_rank": [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2],
        }
    ).reverse()
    policy = ListPolicy(standard=ListLength(top_percent=20), vanguard=ListLength(top_n=3))
    # A: 10 listable, longest list max(2, 3) = 3, + margin 1; B: max(1, 2) = 2 (all of B).
    assert people_to_explain(listable, policy, margin=1) == [
        "9990000000",
        "9990000001",
        "9990000002",
        "9990000003",
        "9990000010",
        "9990000011",
    ]


def test_with_the_vanguards_named_each_practice_is_explained_to_its_own_lists_length() -> None:
    listable = pl.DataFrame(
        {
            "nhs_number": [f"99900000{i:02d}" for i in range(20)],
            "practice_code": ["A"] * 10 + ["V"] * 10,
            "practice_rank": [*range(1, 11), *range(1, 11)],
        }
    )
    policy = ListPolicy(standard=ListLength(top_n=2), vanguard=ListLength(top_n=5))

    lean = people_to_explain(listable, policy, margin=1, vanguards=frozenset({"V"}))
    unknown = people_to_explain(listable, policy, margin=1)

    # A (standard): 2 + 1; V (vanguard): 5 + 1. Not knowing, both get the longer length.
    assert lean == [f"99900000{i:02d}" for i in (0, 1, 2, 10, 11, 12, 13, 14, 15)]
    assert unknown == [f"99900000{i:02d}" for i in (*range(6), *range(10, 16))]


def test_publishing_explains_no_one_scoring_explained_and_only_what_a_longer_list_adds(
    staged_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists_scores, "REASONS_MARGIN", 0)  # the rule alone, no margin
    explained: list[int] = []

    def counting_explain(model: Any, frame: pl.DataFrame) -> pl.DataFrame:
        explained.append(frame.height)
        return stand_in_explain(model, frame)

    longer = ListPolicy(standard=ListLength(top_n=3), vanguard=ListLength(top_n=6))
    with connect(staged_home.database) as connection:
        score_month(
            connection,
            SCORE_MONTH,
            StandInModel(),
            explain=counting_explain,
            list_policy=SHORT_LISTS,
        )
        same = explain_listed(connection, SCORE_MONTH, SHORT_LISTS, StandInModel, counting_explain)
        added = explain_listed(connection, SCORE_MONTH, longer, StandInModel, counting_explain)
        again = explain_listed(connection, SCORE_MONTH, longer, StandInModel, counting_explain)

    # The vanguard practice was explained to its own length at scoring, the others to theirs.
    assert same == 0
    assert added > 0 and again == 0
    assert explained[1:] == [added]


@settings(max_examples=100, deadline=None)
@given(
    flags=st.lists(
        st.lists(st.sampled_from([0, 1, None]), min_size=len(CONDITIONS), max_size=len(CONDITIONS)),
        min_size=1,
        max_size=8,
    )
)
def test_the_long_term_conditions_are_the_flagged_ones_in_catalogue_order(flags) -> None:
    names = [name for name, _ in CONDITIONS]
    frame = pl.DataFrame(
        {
            "nhs_number": [str(9990000000 + i) for i in range(len(flags))],
            "index_date": [datetime.date(2024, 2, 29)] * len(flags),
            **{name: [row[j] for row in flags] for j, name in enumerate(names)},
        },
        schema_overrides={name: pl.Int8 for name in names},
    )
    expected = [
        "; ".join(wording for (_, wording), flag in zip(CONDITIONS, row, strict=True) if flag == 1)
        for row in flags
    ]
    assert person_details(frame).get_column("long_term_conditions").to_list() == expected
