"""The list assets through Dagster: scores, practice lists and federation summaries for a month.

A stand-in model replaces the registry's current model (the trained model is the modelling
assets' business); everything else is real: the staged warehouse, the outbox, the checks.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from lists.pseudonyms import key_file
from models import scoring
from pipelines.lists import checks
from pipelines.lists.assets import federation_summaries, practice_risk_lists, risk_scores
from pipelines.partitions import LIST_MONTHS
from tests.lists.population import (
    SCORE_MONTH,
    StandInModel,
    all_nhs_numbers,
    build_warehouse,
    stand_in_explain,
)
from tests.pipelines.conftest import HomeResources
from warehouse.home import Home

TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])(\d{10}|\d{3} \d{3} \d{4})(?![0-9A-Za-z])")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    build_warehouse(home / "warehouse.duckdb")
    monkeypatch.setattr(scoring, "load_current_model", lambda models_dir: StandInModel())
    monkeypatch.setattr(scoring, "default_explainer", lambda: stand_in_explain)
    return home


def materialise(
    home: Path, month: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LIST_MONTHS, [month])
    return dg.materialize(
        [
            risk_scores,
            practice_risk_lists,
            federation_summaries,
            *dg.load_asset_checks_from_modules([checks]),
        ],
        partition_key=month,
        resources=HomeResources(
            home=str(home), landing=str(home / "landing"), lock_wait_seconds=0
        ).resources(),
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
    )


def metadata_text(result: dg.ExecuteInProcessResult) -> str:
    texts = [
        str(event.materialization.metadata) for event in result.get_asset_materialization_events()
    ]
    texts += [str(evaluation.metadata) for evaluation in result.get_asset_check_evaluations()]
    return "\n".join(texts)


def test_a_month_is_scored_listed_and_summarised_with_checks_passing_and_no_nhs_number_shown(
    home: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    result = materialise(home, SCORE_MONTH)
    assert result.success

    scores = result.asset_materializations_for_node("risk_scores")[0].metadata
    assert scores["people_scored"].value == 92
    per_tier = {r.data["tier"]: r.data["people"] for r in scores["people_per_tier"].value.records}
    assert sum(per_tier.values()) == 92 and "very high" in per_tier
    assert "data:image/png" in scores["risk_distribution"].value
    lists = result.asset_materializations_for_node("practice_risk_lists")[0].metadata
    assert lists["practices"].value == 3 and lists["scores_not_listable"].value == 0
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 4 and all(e.passed for e in evaluations)

    outbox = home / "outbox"
    assert (outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.html").is_file()
    assert (outbox / "FED02" / "summary" / SCORE_MONTH / "practice_summary.csv").is_file()
    assert key_file(Home.at(home)).stat().st_mode & 0o777 == 0o600

    captured = capfd.readouterr()
    shown = metadata_text(result) + caplog.text + captured.out + captured.err
    assert not TEN_DIGITS.search(shown)
    assert not [n for n in all_nhs_numbers() if n in shown]


def test_list_lengths_and_tiers_come_from_run_config(home: Path) -> None:
    result = materialise(
        home,
        SCORE_MONTH,
        {
            "ops": {
                "risk_scores": {
                    "config": {
                        "very_high_percent": 10.0,
                        "high_percent": 10.0,
                        "rising_percent": 10.0,
                    }
                },
                "practice_risk_lists": {"config": {"top_n": 3, "vanguard_top_n": 7}},
            }
        },
    )
    assert result.success
    lists = (
        (home / "outbox" / "FED01" / "A81001" / SCORE_MONTH / "risk_list.csv")
        .read_text()
        .splitlines()
    )
    assert len(lists) == 1 + 7
    assert (
        "very high = top 10% of the area"
        in (home / "outbox" / "FED01" / "A81002" / SCORE_MONTH / "risk_list.html").read_text()
    )


def test_a_list_longer_than_the_default_still_has_reasons_for_everyone(home: Path) -> None:
    # Scoring words reasons only for people the default lists (2% / 5%) can hold; the
    # lists asset explains whoever a longer configured list adds.
    config = {"ops": {"practice_risk_lists": {"config": {"top_n": 25, "vanguard_top_n": 25}}}}
    result = materialise(home, SCORE_MONTH, config)
    assert result.success
    rows = [
        row
        for path in sorted((home / "outbox").glob(f"*/*/{SCORE_MONTH}/risk_list.csv"))
        for row in csv.DictReader(io.StringIO(path.read_text()))
    ]
    assert len(rows) > 25
    assert all(row["reason_1"] for row in rows)


def test_without_a_model_the_scores_fail_with_a_clear_reason(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()
    result = materialise(home, SCORE_MONTH)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "No current model" in failure.step_failure_data.user_failure_data.description
    shutil.rmtree(home)
