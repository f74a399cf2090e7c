"""Links in the landing zone: refused with a reason, never read, whatever they point at.

Each test puts a real CSV outside the month folder, whose rows would load if anything
followed the link, and checks that the file is recorded as rejected (in
raw.delivery_files and the delivery report) and that not one of its rows is in raw. A
linked reference file (or reference folder) stops the load with one paragraph naming it
and the rule, as a missing one does: nothing can be checked or routed without it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests import supplier
from warehouse.connection import connect
from warehouse.deliveries import delivery_report, load_month, manifest_digests
from warehouse.errors import InputError
from warehouse.reference import known_practices, load_reference

MONTH = "2024-01"
PATH = "gp/A10001/consultations.csv"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=(MONTH,))
    return landing


@pytest.fixture
def connection(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / "warehouse.duckdb")


def load(connection: duckdb.DuckDBPyConnection, landing: Path):
    load_reference(connection, landing)
    return load_month(connection, landing, MONTH, known_practices(connection))


def recorded(connection: duckdb.DuckDBPyConnection, path: str) -> tuple[str, str, int]:
    row = connection.execute(
        "SELECT status, reason, loaded_rows FROM raw.delivery_files "
        "WHERE delivery_month = ? AND path = ?",
        [MONTH, path],
    ).fetchone()
    assert row is not None, path
    return row


def reported(outcome, path: str) -> dict:
    [file] = [f for f in delivery_report(outcome)["files"] if f["path"] == path]  # type: ignore[union-attr]
    return file


def test_a_linked_file_is_rejected_and_not_read(connection, landing, tmp_path):
    month = landing / "extracts" / MONTH
    elsewhere = tmp_path / "elsewhere.csv"
    shutil.move(month / PATH, elsewhere)  # same bytes: the manifest still matches through the link
    os.symlink(elsewhere, month / PATH)

    outcome = load(connection, landing)

    status, reason, rows = recorded(connection, PATH)
    assert (status, rows) == ("rejected", 0)
    assert "symbolic link" in reason and "not read" in reason
    assert reported(outcome, PATH)["status"] == "rejected"
    assert reported(outcome, PATH)["reason"] == reason
    assert connection.execute(
        "SELECT count(*) FROM raw.consultations WHERE source_file = ?", [PATH]
    ).fetchone() == (0,)
    # The month's other files are unaffected.
    assert recorded(connection, "gp/A10002/consultations.csv")[0] == "loaded"


def test_a_linked_folder_rejects_every_file_under_it_and_itself(connection, landing, tmp_path):
    month = landing / "extracts" / MONTH
    shutil.move(month / "gp" / "A10001", tmp_path / "A10001")
    os.symlink(tmp_path / "A10001", month / "gp" / "A10001", target_is_directory=True)

    outcome = load(connection, landing)

    status, reason, _rows = recorded(connection, "gp/A10001")
    assert status == "rejected" and "symbolic link to a folder" in reason
    for name in ("registrations", "conditions", "consultations", "medications", "observations"):
        status, reason, rows = recorded(connection, f"gp/A10001/{name}.csv")
        assert (status, rows) == ("rejected", 0)
        assert "gp/A10001 is a symbolic link" in reason
    assert connection.execute(
        "SELECT count(*) FROM raw.registrations WHERE source_file LIKE 'gp/A10001/%'"
    ).fetchone() == (0,)
    assert outcome.status == "loaded" and outcome.rejected_files == 6


def test_a_link_not_in_the_manifest_is_still_reported(connection, landing, tmp_path):
    month = landing / "extracts" / MONTH
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    os.symlink(tmp_path / "notes.csv", month / "sus" / "notes.csv")

    load(connection, landing)

    status, reason, _rows = recorded(connection, "sus/notes.csv")
    assert status == "rejected" and "symbolic link" in reason


def test_a_linked_manifest_or_month_folder_rejects_the_month_reading_nothing(
    connection, landing, tmp_path
):
    month = landing / "extracts" / MONTH
    shutil.move(month / "manifest.csv", tmp_path / "manifest.csv")
    os.symlink(tmp_path / "manifest.csv", month / "manifest.csv")

    outcome = load(connection, landing)

    assert outcome.status == "rejected" and "manifest.csv is a symbolic link" in str(outcome.reason)
    assert connection.execute("SELECT count(*) FROM raw.registrations").fetchone() == (0,)
    # The planner sees the same digest on the next run (no reload loop), from the link alone.
    assert manifest_digests(landing)[MONTH] == outcome.manifest_sha256

    (month / "manifest.csv").unlink()
    shutil.move(tmp_path / "manifest.csv", month / "manifest.csv")
    shutil.move(month, tmp_path / "month")
    os.symlink(tmp_path / "month", month, target_is_directory=True)

    outcome = load(connection, landing)

    assert outcome.status == "rejected" and "is a symbolic link" in str(outcome.reason)
    assert connection.execute("SELECT count(*) FROM raw.registrations").fetchone() == (0,)
    assert MONTH in manifest_digests(landing)


def test_a_pipe_is_rejected_without_blocking_the_loader(connection, landing):
    month = landing / "extracts" / MONTH
    os.mkfifo(month / "sus" / "stream.csv")

    load(connection, landing)

    status, reason, _rows = recorded(connection, "sus/stream.csv")
    assert status == "rejected" and "not a regular file" in reason


def link_elsewhere(path: Path, elsewhere: Path) -> None:
    """Move `path` to `elsewhere` and leave a symbolic link to it: the same bytes, so the
    file would load if anything followed the link."""
    shutil.move(path, elsewhere)
    os.symlink(elsewhere, path, target_is_directory=elsewhere.is_dir())


@pytest.mark.parametrize("name", ["practices.csv", "lsoa_imd.csv"])
def test_a_linked_reference_file_stops_the_load_naming_the_file_and_the_rule(
    connection, landing, tmp_path, name
):
    path = landing / "reference" / name
    link_elsewhere(path, tmp_path / name)

    with pytest.raises(InputError) as stopped:
        load_reference(connection, landing)

    assert str(stopped.value).startswith(f"{path} is a symbolic link: reference files are read")
    assert "never through a link" in str(stopped.value) and "\n" not in str(stopped.value)
    assert connection.execute("SELECT count(*) FROM raw.practices").fetchone() == (0,)


def test_a_linked_reference_folder_stops_the_load(connection, landing, tmp_path):
    link_elsewhere(landing / "reference", tmp_path / "reference")

    with pytest.raises(InputError, match=r"reference is a symbolic link, and holds reference/"):
        load_reference(connection, landing)
    assert connection.execute("SELECT count(*) FROM raw.practices").fetchone() == (0,)


def test_a_reference_pipe_is_refused_without_blocking(connection, landing):
    path = landing / "reference" / "lsoa_imd.csv"
    path.unlink()
    os.mkfifo(path)

    with pytest.raises(InputError, match="not a regular file"):
        load_reference(connection, landing)


def test_riskstrat_run_stops_on_a_linked_reference_file_with_one_paragraph(
    landing, tmp_path, capsys
):
    link_elsewhere(landing / "reference" / "practices.csv", tmp_path / "practices.csv")

    code = main(["run", "--landing", str(landing), "--home", str(tmp_path / "home")])

    err = capsys.readouterr().err
    assert code == 1
    assert "reference/practices.csv is a symbolic link" in err and "never through a link" in err
    assert "Traceback" not in err
