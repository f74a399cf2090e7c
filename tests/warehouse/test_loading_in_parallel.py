"""Loading a range of months two at a time (`warehouse.deliveries.load_months`).

Two months are read at once on their own cursors, but each commits only after the month
before it has, and after the caller has finished with that month. These tests hold the
result to loading one month after another: the same raw rows in the same stored order and
the same outcomes, on a zone with every kind of fault; a month failing leaves exactly the
months before it committed, whichever month fails first in time, and its own error is
raised; the caller failing on a month leaves no later month committed; a month read faster
than the one before it still commits after it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from synthetic import generate
from warehouse import deliveries
from warehouse.connection import connect
from warehouse.deliveries import delivery_report, load_months
from warehouse.files import sha256_of_file
from warehouse.reference import known_practices, load_reference


@pytest.fixture(scope="module")
def faulty_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's faults, and a malformed line (a field too many) in March's consultations."""
    out = tmp_path_factory.mktemp("parallel-loading")
    generate(out, people=300, months=5, seed=11, start="2023-01", faults=True)
    month = out / "landing" / "extracts" / "2023-03"
    path = "gp/A81001/consultations.csv"
    lines = (month / path).read_bytes().split(b"\n")
    lines.insert(2, lines[1] + b",extra")
    (month / path).write_bytes(b"\n".join(lines))
    manifest = [line.split(",") for line in (month / "manifest.csv").read_text().splitlines()]
    for entry in manifest:
        if entry[0] == path:
            entry[1:] = [str(int(entry[1]) + 1), sha256_of_file(month / path)]
    (month / "manifest.csv").write_text("".join(",".join(e) + "\r\n" for e in manifest))
    return out / "landing"


def warehouse_for(path: Path, landing: Path) -> duckdb.DuckDBPyConnection:
    connection = connect(path)
    load_reference(connection, landing)
    return connection


def raw_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every raw table's rows in stored order (a plain scan keeps it)."""
    names = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' "
            "ORDER BY table_name"
        ).fetchall()
    ]
    return {name: connection.execute(f"SELECT * FROM raw.{name}").fetchall() for name in names}


def months_in_stored_order(connection: duckdb.DuckDBPyConnection, feed: str) -> list[str]:
    """The delivery months of raw.<feed> as a plain scan meets them, repeats collapsed."""
    seen: list[str] = []
    for (month,) in connection.execute(f"SELECT delivery_month FROM raw.{feed}").fetchall():
        if not seen or seen[-1] != month:
            seen.append(month)
    return seen


def test_two_at_once_load_what_one_at_a_time_loads_in_the_same_order(
    tmp_path: Path, faulty_landing: Path
):
    months = deliveries.extract_months(faulty_landing)
    results = {}
    for workers in (1, 2):
        connection = warehouse_for(tmp_path / f"{workers}.duckdb", faulty_landing)
        practices = known_practices(connection)
        outcomes = list(load_months(connection, faulty_landing, months, practices, workers=workers))
        results[workers] = ([delivery_report(o) for o in outcomes], raw_tables(connection))
        connection.close()

    reports, tables = results[2]
    assert [report["month"] for report in reports] == months
    # The zone's faults reach loading: rejected files, malformed lines, a month still
    # being delivered.
    files = [file for report in reports for file in report["files"]]
    assert any(file["status"] == "rejected" for file in files)
    assert tables["malformed_lines"]
    assert {status for (_, status, *_) in tables["delivery_months"]} >= {"loaded", "incomplete"}
    assert reports == results[1][0]
    for name, rows in tables.items():
        assert rows == results[1][1][name], name


def test_a_month_failing_keeps_the_months_before_it_and_nothing_after(
    tmp_path: Path, faulty_landing: Path, monkeypatch: pytest.MonkeyPatch
):
    months = deliveries.extract_months(faulty_landing)
    failing = months[2]
    record_files = deliveries.record_files

    def broken(connection, outcome):
        record_files(connection, outcome)
        if outcome.month == failing:
            raise OSError("disk full")

    monkeypatch.setattr(deliveries, "record_files", broken)
    connection = warehouse_for(tmp_path / "w.duckdb", faulty_landing)
    loaded = []
    with pytest.raises(OSError, match="disk full"):
        for outcome in load_months(
            connection, faulty_landing, months, known_practices(connection), workers=2
        ):
            loaded.append(outcome.month)

    assert loaded == months[:2]
    in_warehouse = {
        month
        for (month,) in connection.execute(
            "SELECT delivery_month FROM raw.delivery_months"
        ).fetchall()
    }
    assert in_warehouse == set(months[:2])
    assert months_in_stored_order(connection, "registrations") == months[:2]


def test_a_month_read_first_still_commits_after_the_month_before_it(
    tmp_path: Path, faulty_landing: Path, monkeypatch: pytest.MonkeyPatch
):
    months = deliveries.extract_months(faulty_landing)[:2]
    second_read = threading.Event()
    insert_together = deliveries.insert_together

    def first_month_waits(connection, month, run):
        # The first month reads its files only once the second has read all of its own.
        if month == months[0]:
            assert second_read.wait(timeout=30)
        return insert_together(connection, month, run)

    record_files = deliveries.record_files

    def noting(connection, outcome):
        record_files(connection, outcome)
        if outcome.month == months[1]:
            second_read.set()

    monkeypatch.setattr(deliveries, "insert_together", first_month_waits)
    monkeypatch.setattr(deliveries, "record_files", noting)
    connection = warehouse_for(tmp_path / "w.duckdb", faulty_landing)
    outcomes = list(
        load_months(connection, faulty_landing, months, known_practices(connection), workers=2)
    )

    assert [o.month for o in outcomes] == months
    for feed in ("registrations", "consultations", "admissions"):
        assert months_in_stored_order(connection, feed) == months, feed


def committed_months(connection: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        month
        for (month,) in connection.execute(
            "SELECT delivery_month FROM raw.delivery_months ORDER BY 1"
        ).fetchall()
    ]


def test_a_later_month_failing_first_keeps_the_month_before_it_and_raises_its_own_error(
    tmp_path: Path, faulty_landing: Path, monkeypatch: pytest.MonkeyPatch
):
    months = deliveries.extract_months(faulty_landing)
    later_failed = threading.Event()
    insert_together, record_files = deliveries.insert_together, deliveries.record_files

    def first_month_reads_late(connection, month, run):
        if month == months[0]:
            assert later_failed.wait(timeout=30)
        return insert_together(connection, month, run)

    def second_month_breaks(connection, outcome):
        if outcome.month == months[1]:
            later_failed.set()
            raise OSError(f"disk full in {outcome.month}")
        record_files(connection, outcome)

    monkeypatch.setattr(deliveries, "insert_together", first_month_reads_late)
    monkeypatch.setattr(deliveries, "record_files", second_month_breaks)
    connection = warehouse_for(tmp_path / "w.duckdb", faulty_landing)
    loaded = []
    with pytest.raises(OSError, match=f"disk full in {months[1]}"):
        for outcome in load_months(
            connection, faulty_landing, months, known_practices(connection), workers=2
        ):
            loaded.append(outcome.month)

    assert loaded == months[:1]
    assert committed_months(connection) == months[:1]


def test_the_caller_failing_on_a_month_leaves_no_later_month_committed(
    tmp_path: Path, faulty_landing: Path, monkeypatch: pytest.MonkeyPatch
):
    """The deliveries asset writes each month's report as it is yielded: a month committed
    behind a report that failed would never be reported, as the next run skips it."""
    months = deliveries.extract_months(faulty_landing)
    second_ready = threading.Event()
    record_files = deliveries.record_files

    def noting(connection, outcome):
        record_files(connection, outcome)
        if outcome.month == months[1]:
            second_ready.set()  # read and recorded: only its turn stands before its commit

    monkeypatch.setattr(deliveries, "record_files", noting)
    connection = warehouse_for(tmp_path / "w.duckdb", faulty_landing)
    with pytest.raises(OSError, match="report not written"):
        for _outcome in load_months(
            connection, faulty_landing, months, known_practices(connection), workers=2
        ):
            assert second_ready.wait(timeout=30)
            raise OSError("report not written")

    assert committed_months(connection) == months[:1]
