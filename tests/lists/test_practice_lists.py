"""What a practice and a federation receive: columns, lengths, changes, workbook, page."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

import openpyxl
import polars as pl

from lists.documents import CSV_COLUMNS
from lists.federation import build_federation_summaries
from lists.inputs import describe_model, listable_scores
from lists.practice_lists import (
    ListLength,
    ListPolicy,
    build_practice_lists,
    publish_practice_lists,
)
from lists.rendering import (
    WORKBOOK_HEADERS,
    format_nhs_number,
    render_federation_html,
    render_practice_html,
)
from lists.scores import score_month
from tests.lists.conftest import TEST_KEY, TEST_POLICY, publish_months
from tests.lists.population import SCORE_MONTH, StandInModel, stand_in_explain
from warehouse.connection import connect
from warehouse.home import Home


def read_csv(path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_practice_list_has_the_columns_a_clinical_system_imports(published_home: Home) -> None:
    rows = read_csv(published_home.outbox / "FED01" / "A81002" / SCORE_MONTH / "risk_list.csv")
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(r["rank"]) for r in rows] == list(range(1, 11))
    risks = [float(r["risk_score"]) for r in rows]
    assert risks == sorted(risks, reverse=True) and all(0 <= r <= 1 for r in risks)
    top = rows[0]
    assert top["tier"] in {"very high", "high"} and top["care_home"] == "Y"
    assert top["reason_1"] and "COPD" in top["long_term_conditions"]
    assert top["last_emergency_admission"].startswith("2024-01-")


def test_vanguard_practices_get_the_longer_list_and_lengths_are_configurable(
    staged_home: Home,
) -> None:
    publish_months(staged_home)  # top 10, vanguard top 20
    assert (
        len(read_csv(staged_home.outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.csv")) == 20
    )
    assert (
        len(read_csv(staged_home.outbox / "FED01" / "A81002" / SCORE_MONTH / "risk_list.csv")) == 10
    )
    with connect(staged_home.database) as connection:
        publish_practice_lists(
            connection,
            staged_home.outbox,
            SCORE_MONTH,
            ListPolicy(standard=ListLength(top_percent=10), vanguard=ListLength(top_percent=50)),
        )
    assert (
        len(read_csv(staged_home.outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.csv")) == 15
    )  # 50% of 30
    assert (
        len(read_csv(staged_home.outbox / "FED01" / "A81002" / SCORE_MONTH / "risk_list.csv")) == 4
    )  # 10% of 31, up


def test_the_list_says_who_is_new_and_whose_tier_changed_since_last_month(
    published_home: Home,
) -> None:
    january = {
        r["nhs_number"]: r
        for r in read_csv(published_home.outbox / "FED01" / "A81002" / "2024-01" / "risk_list.csv")
    }
    february = read_csv(published_home.outbox / "FED01" / "A81002" / SCORE_MONTH / "risk_list.csv")
    for row in february:
        before = january.get(row["nhs_number"])
        assert row["new_to_list"] == ("N" if before else "Y")
        if before and before["tier"] != row["tier"]:
            assert row["change"].endswith(f"from {before['tier']}")
        elif before:
            assert row["change"] == ""
    # The person who moved practice in February is new to B82001's list.
    moved = [
        r
        for r in read_csv(
            published_home.outbox / "FED02" / "B82001" / SCORE_MONTH / "risk_list.csv"
        )
        if r["nhs_number"] == "9990000903"
    ]
    assert moved and moved[0]["new_to_list"] == "Y" and moved[0]["change"] == "new"


def test_the_workbook_has_a_frozen_header_filters_and_coloured_tiers(published_home: Home) -> None:
    path = published_home.outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Risk list"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    headers = [c.value for c in sheet[1]]
    assert headers == [WORKBOOK_HEADERS[c] for c in CSV_COLUMNS]
    assert headers[0] == "NHS number" and "Reason 1" in headers and "reason_1" not in headers
    csv_rows = read_csv(path.with_suffix(".csv"))
    assert sheet.max_row == len(csv_rows) + 1
    nhs_number = csv_rows[0]["nhs_number"]
    assert sheet["A2"].value == f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"  # text
    tier_column = CSV_COLUMNS.index("tier") + 1
    fills = {
        sheet.cell(row, tier_column).value: sheet.cell(row, tier_column).fill.fgColor.rgb
        for row in range(2, sheet.max_row + 1)
    }
    assert len(set(fills.values())) == len(fills) >= 2
    assert workbook.properties.created.date().isoformat() == "2024-02-29"
    assert "About this list" in workbook.sheetnames


def test_the_page_puts_the_summary_before_the_list_and_needs_nothing_from_outside(
    published_home: Home,
) -> None:
    html = (published_home.outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.html").read_text()
    assert html.index('id="summary"') < html.index('id="risk-list"')
    for fact in (
        "mstandin0001",
        "February 2024",
        "2024-02-29",
        "vanguard practice",
        "Type 1 opt-out",
    ):
        assert fact in html
    assert (
        "http://" not in html
        and "https://" not in html
        and "<link" not in html
        and "src=" not in html
    )
    assert html.count("<tr data-tier=") == 20


def test_the_federation_summary_counts_add_up_and_hold_no_names(published_home: Home) -> None:
    rows = read_csv(
        published_home.outbox / "FED01" / "summary" / SCORE_MONTH / "practice_summary.csv"
    )
    assert [r["practice_code"] for r in rows] == ["A81001", "A81002"]
    for row in rows:
        tiers = sum(int(row[c]) for c in ("tier_very_high", "tier_high", "tier_rising", "tier_low"))
        assert tiers == int(row["people_scored"]) == int(row["registered_list_size"])
        assert float(row["expected_people_admitted_next_12m"]) > 0
        assert row["data_quality"] == "complete"
    assert [r["people_listed"] for r in rows] == ["20", "10"]
    assert rows[0]["vanguard"] == "Y"
    html = (
        published_home.outbox / "FED01" / "summary" / SCORE_MONTH / "practice_summary.html"
    ).read_text()
    assert "Field Family Practice" in html and "All practices" in html


def test_the_page_counts_what_changed_since_last_month(published_home: Home) -> None:
    folder = published_home.outbox / "FED01" / "A81002"
    january = {r["nhs_number"]: r for r in read_csv(folder / "2024-01" / "risk_list.csv")}
    february = read_csv(folder / SCORE_MONTH / "risk_list.csv")
    html = (folder / SCORE_MONTH / "risk_list.html").read_text()

    def card(name: str) -> int:
        found = re.search(rf'id="summary-{name}"><span class="count">([0-9,]+)<', html)
        assert found, f"no {name} card"
        return int(found.group(1).replace(",", ""))

    kept = [r for r in february if r["nhs_number"] in january]
    assert card("new") == len(february) - len(kept)
    assert card("up") == sum(r["change"].startswith("up") for r in kept)
    assert card("down") == sum(r["change"].startswith("down") for r in kept)
    assert card("still") == sum(r["change"] == "" for r in kept)
    assert card("left") == len(set(january) - {r["nhs_number"] for r in february})
    assert "What changed since last month" in html
    if kept:
        assert "still listed" in html or "up from" in html or "down from" in html


def test_a_first_list_says_so_and_calls_no_one_new(published_home: Home) -> None:
    html = (published_home.outbox / "FED01" / "A81002" / "2024-01" / "risk_list.html").read_text()
    assert "first list" in html and 'id="summary-new"' not in html
    assert not re.search(r'<td class="change-new">new', html)


def test_the_model_is_named_by_its_dates_with_the_id_in_small_print(tmp_path: Path) -> None:
    version = "m0123456789ab"
    (tmp_path / version).mkdir()
    plan = {
        "training_dates": ["2023-03-31", "2023-06-30"],
        "validation_date": "2024-06-30",
        "refit_dates": ["2024-03-31", "2024-06-30"],
    }
    (tmp_path / version / "metadata.json").write_text(json.dumps({"plan": plan}))
    assert describe_model(tmp_path, version) == ("model of June 2025, trained on data to June 2024")
    assert describe_model(tmp_path, "mnotthere0000") == "model mnotthere0000"
    assert describe_model(None, version) == f"model {version}"


def test_the_page_reads_large_counts_with_thousands_separators(published_home: Home) -> None:
    with connect(published_home.database) as connection:
        lists, _ = build_practice_lists(connection, SCORE_MONTH)
    item = dataclasses.replace(
        lists[0],
        population=12345,
        population_per_tier={t: 4321 for t in lists[0].tier_names},
        model_label="model of June 2025, trained on data to June 2024",
    )
    html = render_practice_html(item)
    assert "of 12,345 scored" in html and ">4,321<" in html and "12345" not in html
    assert "model of June 2025, trained on data to June 2024" in html
    assert re.search(r'class="small-print">\(model id mstandin0001', html)
    assert format_nhs_number("9990000901") == "999 000 0901"


def test_the_federation_compares_people_expected_with_people_admitted(
    published_home: Home,
) -> None:
    with connect(published_home.database) as connection:
        # Someone admitted three times counts once: people, like the expected column.
        connection.execute(
            "UPDATE scores.risk_scores SET emergency_admissions_12m = 3 "
            "WHERE delivery_month = $m AND nhs_number = (SELECT min(nhs_number) FROM "
            "scores.risk_scores WHERE delivery_month = $m AND emergency_admissions_12m > 0 "
            "AND practice_code LIKE 'A%')",
            {"m": SCORE_MONTH},
        )
        people = listable_scores(connection, SCORE_MONTH)
        summaries = build_federation_summaries(connection, SCORE_MONTH, TEST_KEY)
    assert people.get_column("emergency_admissions_12m").max() == 3
    rows = [row for summary in summaries for row in summary.practices]
    for row in rows:
        here = people.filter(pl.col("practice_code") == row["practice_code"])
        admitted = here.filter(pl.col("emergency_admissions_12m").fill_null(0) > 0).height
        assert row["observed_people_admitted_last_12m"] == admitted
        assert row["expected_people_admitted_next_12m"] == round(here.get_column("risk").sum(), 1)
    html = (
        published_home.outbox / "FED01" / "summary" / SCORE_MONTH / "practice_summary.html"
    ).read_text()
    assert "People expected to be admitted, next 12 months" in html
    assert "People admitted, last 12 months" in html
    assert 'id="expected-definition"' in html and 'id="observed-definition"' in html
    assert "Observed emergency admissions" not in html


def test_the_federation_names_the_model_by_its_dates(published_home: Home, tmp_path: Path) -> None:
    (tmp_path / "mstandin0001").mkdir()
    plan = {"training_dates": ["2022-02-28"], "validation_date": "2023-02-28", "refit_dates": []}
    (tmp_path / "mstandin0001" / "metadata.json").write_text(json.dumps({"plan": plan}))
    with connect(published_home.database) as connection:
        [summary, *_] = build_federation_summaries(connection, SCORE_MONTH, TEST_KEY, tmp_path)
    assert summary.model_label == "model of February 2024, trained on data to February 2023"
    assert "model of February 2024" in render_federation_html(summary)


def test_a_list_from_a_cold_start_model_says_it_is_not_yet_validated_out_of_time(
    staged_home: Home,
) -> None:
    import datetime

    import polars as pl

    from models.training import TrainingPlan, TrainingSet, cold_start_plan

    with connect(staged_home.database) as connection:
        plan = cold_start_plan([datetime.date(2023, 12, 31)])
        TrainingSet(plan, pl.DataFrame({"nhs_number": ["0"]})).save(connection)
        score_month(connection, SCORE_MONTH, StandInModel(), explain=stand_in_explain)
        publish_practice_lists(connection, staged_home.outbox, SCORE_MONTH, TEST_POLICY)
        folder = staged_home.outbox / "FED01" / "A81001" / SCORE_MONTH
        assert "not yet validated out of time" in (folder / "risk_list.html").read_text()
        out_of_time = TrainingPlan(plan.training_dates, plan.validation_date, plan.refit_dates)
        TrainingSet(out_of_time, pl.DataFrame({"nhs_number": ["0"]})).save(connection)
        publish_practice_lists(connection, staged_home.outbox, SCORE_MONTH, TEST_POLICY)
        html = (folder / "risk_list.html").read_text()
    assert "not yet validated out of time" not in html
    assert ", validated out of time" in html
