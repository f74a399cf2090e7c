"""A withdrawn Type 1 opt-out restores the person at every index date already built.

An opt-out removes a person from every built date at once (`remove_opted_out`), but a date
is rebuilt only when what it depends on changes; a withdrawal delivered more than twelve
months after a date changes none of that date's staged months. Each case builds the dates
as runs do (through `feature_frame`, which rebuilds stale dates only), delivers the
withdrawal, runs again, and compares the feature and label tables with a warehouse where
the person never opted out.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pytest

from models.dataset import feature_frame, labelled_index_dates, scoring_index_date
from tests.warehouse.features_fixtures import empty_warehouse, insert, months_between, register

MONTHS = months_between("2023-01", "2024-06")
LATER = "2024-07"  # the delivery that withdraws the opt-out
PERSON = "withdraws"


def deliver(connection: duckdb.DuckDBPyConnection, months: list[str], opted_out: set[str]) -> None:
    """Registrations for the person and two others, an admission each; opt-outs in `opted_out`."""
    per_month = {month: {"type1_opt_out": month in opted_out} for month in months}
    register(connection, PERSON, months, per_month=per_month)
    for other in ("stays", "also_stays"):
        register(connection, other, months)
    for number, day in ((PERSON, 3), ("stays", 5)):
        for month in months:
            year, month_number = map(int, month.split("-"))
            admitted = datetime.date(year, month_number, day)
            insert(
                connection,
                "admissions",
                spell_id=f"S{number}{month}",
                nhs_number=number,
                practice_code="A10001",
                provider_code="RF4",
                admission_date=admitted,
                discharge_date=admitted + datetime.timedelta(days=2),
                admission_method="21",
                primary_diagnosis="I50.0",
            )


def every_date(connection: duckdb.DuckDBPyConnection) -> list[datetime.date]:
    """What a training run and a listing run build: every labelled date and the scoring date."""
    return [*labelled_index_dates(connection), scoring_index_date(connection)]


def tables(
    connection: duckdb.DuckDBPyConnection, dates: list[datetime.date] | None = None
) -> dict[str, list[tuple]]:
    """Every row of the feature and label tables (at `dates`, if given), in a fixed order."""
    if dates is None:
        [(built,)] = connection.execute(
            "SELECT list(DISTINCT index_date ORDER BY index_date) FROM features.person_features"
        ).fetchall()
        dates = list(built)
    return {
        table: connection.execute(
            f"SELECT * FROM {table} WHERE list_contains($d, index_date) ORDER BY ALL", {"d": dates}
        ).fetchall()
        for table in ("features.person_features", "features.labels")
    } | {"dates": [(d,) for d in dates]}


@pytest.fixture
def never_opted_out(tmp_path: Path):
    """The tables at given dates of a warehouse with every month delivered and no opt-out."""
    connection = empty_warehouse(tmp_path / "never.duckdb")
    deliver(connection, [*MONTHS, LATER], opted_out=set())
    month_ends = [datetime.date(2024, 5, 31), datetime.date(2024, 6, 30)]
    feature_frame(connection, [*every_date(connection), *month_ends], with_labels=False)
    yield lambda dates: tables(connection, dates)
    connection.close()


def test_a_withdrawal_restores_the_person_at_every_date_built_before(tmp_path, never_opted_out):
    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS, opted_out=set(MONTHS[3:]))
    feature_frame(connection, every_date(connection), with_labels=False)
    assert not connection.execute(
        "SELECT count(*) FROM features.person_features WHERE nhs_number = $n", {"n": PERSON}
    ).fetchone()[0]

    deliver(connection, [LATER], opted_out=set())
    feature_frame(connection, every_date(connection), with_labels=False)

    assert_as_never_opted_out(connection, never_opted_out)


def assert_as_never_opted_out(connection: duckdb.DuckDBPyConnection, never_opted_out) -> None:
    """The person is at every built date, and the tables are those of the never-opted-out build."""
    built = tables(connection)
    dates = [d for (d,) in built["dates"]]
    assert set(every_date(connection)) <= set(dates)
    present = {
        d
        for (d,) in connection.execute(
            "SELECT index_date FROM features.labels WHERE nhs_number = $n", {"n": PERSON}
        ).fetchall()
    }
    assert not set(dates) - present, f"absent at {sorted(set(dates) - present)}"
    assert built == never_opted_out(dates)


def test_a_withdrawal_restores_dates_an_opt_out_was_purged_from_by_another_run(
    tmp_path, never_opted_out
):
    """Opted out after the dates were built: a listing run purges the person from them all."""
    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS[:-1], opted_out=set())
    feature_frame(connection, every_date(connection), with_labels=False)
    deliver(connection, MONTHS[-1:], opted_out=set(MONTHS[-1:]))
    feature_frame(connection, [scoring_index_date(connection)], with_labels=False)
    assert not connection.execute(
        "SELECT count(*) FROM features.person_features WHERE nhs_number = $n", {"n": PERSON}
    ).fetchone()[0]

    deliver(connection, [LATER], opted_out=set())
    feature_frame(connection, every_date(connection), with_labels=False)

    assert_as_never_opted_out(connection, never_opted_out)


def test_a_new_opt_out_removes_the_person_without_rebuilding_any_date(tmp_path):
    """New opt-outs arrive most months: they delete rows, and no built date is rebuilt."""
    from warehouse.features import ensure_features_built

    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS[:-1], opted_out=set())
    dates = labelled_index_dates(connection)
    feature_frame(connection, dates, with_labels=False)
    before = {table: people_rows(connection, table) for table in TABLES}
    assert all(PERSON in rows for rows in before.values()), "the person starts in every table"

    deliver(connection, MONTHS[-1:], opted_out=set(MONTHS[-1:]))
    feature_frame(connection, [scoring_index_date(connection)], with_labels=False)
    rebuilt = ensure_features_built(connection, dates)

    assert rebuilt == []
    for table in TABLES:
        after = people_rows(connection, table)
        assert PERSON not in after
        assert after == {person: rows for person, rows in before[table].items() if person != PERSON}


TABLES = ("features.person_features", "features.labels")


def people_rows(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, list[tuple]]:
    """{nhs_number: that person's rows at the labelled dates}."""
    dates = labelled_index_dates(connection)
    relation = connection.execute(
        f"SELECT * FROM {table} WHERE list_contains($d, index_date) ORDER BY ALL", {"d": dates}
    )
    column = [d[0] for d in relation.description].index("nhs_number")
    rows: dict[str, list[tuple]] = {}
    for row in relation.fetchall():
        rows.setdefault(row[column], []).append(row)
    return rows


def test_settling_an_unchanged_opt_out_set_purges_nothing_again(tmp_path, monkeypatch):
    """A run reads the features several times (scoring, drift): once every derived table
    was purged with the current set, settling again skips the purge, until the set changes
    (a new opt-out then reaches every table as before)."""
    from warehouse import features

    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS[:-1], opted_out=set())
    dates = labelled_index_dates(connection)
    feature_frame(connection, dates, with_labels=False)
    purges = []
    real_purge = features.remove_opted_out
    monkeypatch.setattr(features, "remove_opted_out", lambda c: purges.append(1) or real_purge(c))

    feature_frame(connection, dates, with_labels=False)
    features.ensure_features_built(connection, dates)
    assert purges == []

    deliver(connection, MONTHS[-1:], opted_out=set(MONTHS[-1:]))
    feature_frame(connection, dates, with_labels=False)
    assert purges == [1]
    assert PERSON not in people_rows(connection, "features.person_features")
    feature_frame(connection, dates, with_labels=False)
    assert purges == [1]


def test_the_monthly_purge_settles_so_scoring_in_the_same_run_purges_nothing_again(
    tmp_path, monkeypatch
):
    """A new month's run purges the new opt-outs as soon as the month is loaded
    (`purge_opted_out`, the type1_opt_out_purge asset), before scoring builds the new date:
    that purge records the set, so scoring's features find nothing left to purge."""
    from warehouse import features

    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS[:-1], opted_out=set())
    dates = labelled_index_dates(connection)
    feature_frame(connection, dates, with_labels=False)
    deliver(connection, MONTHS[-1:], opted_out=set(MONTHS[-1:]))

    removed = features.purge_opted_out(connection)
    assert removed.get("features.person_features")
    assert PERSON not in people_rows(connection, "features.person_features")
    purges = []
    real_purge = features.remove_opted_out
    monkeypatch.setattr(features, "remove_opted_out", lambda c: purges.append(1) or real_purge(c))
    frame = feature_frame(connection, [scoring_index_date(connection)], with_labels=False)

    assert purges == []
    assert PERSON not in frame.get_column("nhs_number").to_list()
    assert PERSON not in people_rows(connection, "features.person_features")


def test_rows_restored_from_an_earlier_versions_files_are_purged_after_a_settled_set(tmp_path):
    """A home upgraded in place has its old record-level files moved into the warehouse
    (`adopt_retired_files`, just before the purge after loading). They predate the opt-outs
    delivered since, so the purge must read them even when the set is already settled."""
    import polars as pl

    from models.training import VALIDATION_PREDICTIONS, adopt_retired_files
    from warehouse import features
    from warehouse.home import Home

    home = Home.at(tmp_path / "home")
    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    deliver(connection, MONTHS, opted_out=set(MONTHS[-1:]))
    feature_frame(connection, labelled_index_dates(connection), with_labels=False)  # settled
    retired = home.retired_record_files[1]
    retired.parent.mkdir(parents=True)
    pl.DataFrame({"nhs_number": [PERSON, "stays"], "risk": [0.5, 0.1]}).write_parquet(retired)

    assert adopt_retired_files(connection, home) == [retired]
    features.purge_opted_out(connection)

    people = connection.execute(f"SELECT nhs_number FROM {VALIDATION_PREDICTIONS}").fetchall()
    assert people == [("stays",)]
