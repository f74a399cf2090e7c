"""What a practice and a federation receive: columns, lengths, changes, workbook, page."""

from __future__ import annotations

import csv

import openpyxl

from lists.documents import CSV_COLUMNS
from lists.practice_lists import ListLength, ListPolicy, publish_practice_lists
from lists.scores import score_month
from tests.lists.conftest import TEST_POLICY, publish_months
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
    assert [c.value for c in sheet[1]] == list(CSV_COLUMNS)
    csv_rows = read_csv(path.with_suffix(".csv"))
    assert sheet.max_row == len(csv_rows) + 1
    assert sheet["A2"].value == csv_rows[0]["nhs_number"]  # text, exact
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
        assert float(row["expected_emergency_admissions_12m"]) > 0
        assert row["data_quality"] == "complete"
    assert [r["people_listed"] for r in rows] == ["20", "10"]
    assert rows[0]["vanguard"] == "Y"
    html = (
        published_home.outbox / "FED01" / "summary" / SCORE_MONTH / "practice_summary.html"
    ).read_text()
    assert "Field Family Practice" in html and "All practices" in html


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
    assert "(validated out of time)" in html
