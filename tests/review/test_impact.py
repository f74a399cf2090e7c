"""Impact tracking (review/impact.py) and its Dagster asset: outcomes after each list,
beside people just below the cut-off; every count a federation sees suppressed."""

from __future__ import annotations

import datetime
import json
import re

import dagster as dg
import polars as pl
import pytest

from pipelines.partitions import LIST_MONTHS
from pipelines.resources import RunSettings, Warehouse
from pipelines.review.assets import list_impact
from review.decisions import record_decision
from review.disclosure import shown, suppressed
from review.impact import _cells, build_impact, impact_people, wilson, write_impact
from review.published import row_id, row_key
from review.store import open_store
from tests.lists.conftest import TEST_KEY
from tests.lists.population import all_nhs_numbers
from tests.review.conftest import FEDERATION_USER, log_in, make_client
from warehouse.connection import connect
from warehouse.home import Home
from warehouse.opt_outs import refresh_opt_outs

ADMITTED_ON = datetime.date(2024, 3, 10)  # 10 days after February's score date


def test_small_numbers_are_hidden_and_others_rounded_to_five() -> None:
    assert [suppressed(n) for n in range(8)] == [None] * 8
    assert [suppressed(n) for n in (8, 12, 13, 17, 18, 1234)] == [10, 10, 15, 15, 20, 1235]
    assert shown(3) == "≤7" and shown(1234) == "1,235"


def test_wilson_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 -> 0.2553 to 0.3662.
    assert wilson(81, 263) == (0.255, 0.366)


def add_outcomes(home: Home) -> tuple[str, str]:
    """Data loaded to 2024-06, an emergency admission for someone on A81001's February list,
    and a later Type 1 opt-out for another; (the admitted, the opted out)."""
    with connect(home.database) as connection:
        listed = [
            r[0]
            for r in connection.execute(
                "SELECT nhs_number FROM scores.practice_lists WHERE delivery_month = '2024-02' "
                "AND practice_code = 'A81001' ORDER BY list_rank"
            ).fetchall()
        ]
        for month in ("2024-03", "2024-04", "2024-05", "2024-06"):
            connection.execute(
                "INSERT INTO raw.delivery_months VALUES (?, 'loaded', NULL, 'digest', [])", [month]
            )
        connection.execute(
            "INSERT INTO staged.admissions VALUES ('2024-03', 'sus/admissions.csv', 1, 'X1', ?, "
            "NULL, 'RF4', ?, ?, '21', 'J44.1')",
            [listed[0], ADMITTED_ON, ADMITTED_ON + datetime.timedelta(days=4)],
        )
        connection.execute(
            "INSERT INTO staged.registrations SELECT * REPLACE ('2024-03' AS delivery_month, "
            "TRUE AS type1_opt_out) FROM staged.registrations "
            "WHERE nhs_number = ? AND delivery_month = '2024-02'",
            [listed[1]],
        )
        refresh_opt_outs(connection)  # as staging the delivery does
    return listed[0], listed[1]


def test_outcomes_are_counted_in_the_windows_after_each_list(review_home: Home) -> None:
    admitted, opted_out = add_outcomes(review_home)
    with connect(review_home.database) as connection:
        people, observed_until = impact_people(connection)
        listed = connection.execute(
            "SELECT delivery_month, practice_code, list(nhs_number) FROM scores.practice_lists "
            "GROUP BY ALL"
        ).fetchall()
    assert observed_until == "2024-06-30"
    february = people.filter(pl_month("2024-02"))
    # 3 months after 2024-02-29 ends 2024-05-31: covered; 6 and 12 months are not yet.
    assert set(february["horizon_months"]) == {3}
    assert set(people.filter(pl_month("2024-01"))["horizon_months"]) == {3}
    row = february.filter(february["nhs_number"] == admitted).row(0, named=True)
    assert row["on_list"] and row["emergency_admission"]
    assert february.filter(february["emergency_admission"])["nhs_number"].to_list() == [admitted]
    assert opted_out not in set(people["nhs_number"])
    for month, practice, members in listed:
        chosen = people.filter(pl_month(month) & (people["practice_code"] == practice))
        chosen = chosen.filter(chosen["horizon_months"] == 3)
        on_list = chosen.filter(chosen["on_list"])
        below = chosen.filter(~chosen["on_list"])
        assert set(on_list["nhs_number"]) == set(members) - {opted_out}
        assert 0 < below.height <= len(members)
        if month == "2024-02":  # January was listed with February's deaths already loaded
            assert below["risk"].max() <= on_list["risk"].min()  # just below the cut-off


def pl_month(month: str) -> pl.Expr:
    return pl.col("list_month") == month


def test_the_report_is_suppressed_observational_and_names_no_one(review_home: Home) -> None:
    admitted, _ = add_outcomes(review_home)
    with open_store(review_home) as store:
        record_decision(
            store,
            practice_code="A81001",
            list_month="2024-02",
            row_id=row_id(admitted, row_key(TEST_KEY)),
            decision="care_plan",
            reason="",
            note="",
            username="field.gp",
        )
    with connect(review_home.database) as connection:
        report = build_impact(connection, review_home, TEST_KEY)
    assert report.people > 0 and report.rows
    for row in report.rows:
        for name, value in row.items():
            if name == "people" or name.endswith("_people"):
                assert value is None or (value >= 10 and value % 5 == 0), (name, value)
    assert {r["category"] for r in report.rows if r["breakdown"] == "decision"} == {
        "care_plan",
        "no decision recorded",
    }
    write_impact(review_home, report)
    folder = review_home.reports / "impact"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))
    assert "Observational" in json.loads((folder / "impact.json").read_text())["observational"]
    assert not any(n in text for n in all_nhs_numbers())
    assert not re.search(r"\b[a-z2-7]{20}\b", text)  # no row id either
    assert (folder / "impact.csv").stat().st_mode & 0o777 == 0o600


def test_the_asset_writes_the_report_with_metadata(review_home: Home) -> None:
    add_outcomes(review_home)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LIST_MONTHS, ["2024-02"])
    result = dg.materialize(
        [list_impact],
        partition_key="2024-02",
        instance=instance,
        resources={
            "warehouse": Warehouse(home=str(review_home.root)),
            "settings": RunSettings(landing="", pseudonym_key=TEST_KEY.decode()),
        },
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("list_impact")
    metadata = materialization.metadata
    assert metadata["observed_until"].value == "2024-06-30"
    assert "Observational" in str(metadata["observational"].value)
    assert (review_home.reports / "impact" / "impact.csv").is_file()
    assert not any(n in str(metadata) for n in all_nhs_numbers())


@pytest.mark.parametrize("events", [0, 7])
def test_a_rate_is_never_shown_from_a_hidden_count(events: int) -> None:
    import polars as pl

    frame = pl.DataFrame(
        {
            "federation_code": ["F"] * 40,
            "practices": ["other"] * 40,
            "list_month": ["2024-02"] * 40,
            "horizon_months": [3] * 40,
            "group": ["listed"] * 40,
            "risk": [0.2] * 40,
            "emergency_admission": [True] * events + [False] * (40 - events),
            "ae_attendance": [True] * 20 + [False] * 20,
            "death": [False] * 40,
        }
    )
    [cell] = _cells(frame, "federation", ["federation_code", "practices"], "all", None)
    assert cell["people"] == 40
    assert cell["emergency_admission_people"] is None and cell["emergency_admission_rate"] is None
    assert cell["ae_attendance_people"] == 20 and cell["ae_attendance_rate"] == 0.5
    assert cell["ae_attendance_ci_low"] < 0.5 < cell["ae_attendance_ci_high"]


def test_the_federation_account_sees_its_own_impact_rows_only(review_home: Home) -> None:
    add_outcomes(review_home)
    with connect(review_home.database) as connection:
        write_impact(review_home, build_impact(connection, review_home, TEST_KEY))
    with make_client(review_home) as client:
        log_in(client, FEDERATION_USER)
        page = client.get("/federation")
    assert page.status_code == 200
    assert "Observational" in page.text and 'id="impact"' in page.text
    table = page.text[page.text.index('id="impact"') :]
    assert table.count("<tr>") > 1 and "just below the cut-off" in table
    assert not any(n in page.text for n in all_nhs_numbers())
