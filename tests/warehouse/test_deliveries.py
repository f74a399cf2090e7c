"""Loading deliveries into the raw layer: manifest faults, re-delivery, column order, CRLF."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from tests import supplier
from warehouse.connection import connect
from warehouse.deliveries import load_month, write_delivery_report
from warehouse.errors import InputError
from warehouse.reference import known_practices, load_reference

MONTH = "2024-01"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=(MONTH,))
    return landing


@pytest.fixture
def connection(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / "warehouse.duckdb")


def load(connection: duckdb.DuckDBPyConnection, landing: Path, month: str = MONTH):
    load_reference(connection, landing)
    return load_month(connection, landing, month, known_practices(connection))


def file_status(outcome, path: str) -> tuple[str, str | None]:
    [file] = [f for f in outcome.files if f.path == path]
    return file.status, file.reason


def rewrite(landing: Path, path: str, content: bytes, month: str = MONTH) -> None:
    (landing / "extracts" / month / path).write_bytes(content)


def test_another_suppliers_landing_zone_loads_every_row(connection, landing):
    outcome = load(connection, landing)

    assert outcome.status == "loaded"
    assert outcome.missing_practices == []
    assert len(outcome.files) == 14
    for file in outcome.files:
        assert (file.status, file.loaded_rows) == ("loaded", file.manifest_rows), file.path
    assert connection.execute("SELECT count(*) FROM raw.consultations").fetchone() == (2,)


def test_columns_are_matched_by_name_not_position(connection, landing):
    load(connection, landing)
    row = connection.execute(
        "SELECT nhs_number, date_of_birth, sex, care_home, lsoa_code FROM raw.registrations "
        "WHERE source_file = 'gp/A10001/registrations.csv'"
    ).fetchone()
    assert row == (supplier.NHS_NUMBERS[0], "1941-03-02", "2", "Y", "E01000001")


def test_empty_fields_are_null_and_provenance_is_kept(connection, landing):
    load(connection, landing)
    rows = connection.execute(
        "SELECT delivery_month, source_file, line_number, value FROM raw.observations ORDER BY source_file"
    ).fetchall()
    assert rows == [
        (MONTH, "gp/A10001/observations.csv", 1, "142"),
        (MONTH, "gp/A10002/observations.csv", 1, None),
    ]


def test_extra_columns_are_ignored_and_reported(connection, landing):
    outcome = load(connection, landing)
    [consultations] = [f for f in outcome.files if f.path == "gp/A10001/consultations.csv"]
    assert consultations.extra_columns == ["supplier_batch"]
    assert consultations.status == "loaded"
    columns = [c[0] for c in connection.execute("DESCRIBE raw.consultations").fetchall()]
    assert "supplier_batch" not in columns


def test_a_column_named_like_duckdbs_file_index_loads_as_an_extra_column(connection, landing):
    files = supplier.month_files(MONTH)
    files["gp/A10001/observations.csv"] = (
        b"nhs_number,observation_date,snomed_code,value,file_index\r\n"
        b"9990000018,2024-01-05,271649006,142,x\r\n9990000018,2024-01-06,271649006,150,y\r\n"
    )
    supplier.write_month(landing, MONTH, files)
    outcome = load(connection, landing)
    assert file_status(outcome, "gp/A10001/observations.csv") == ("loaded", None)
    assert connection.execute(
        "SELECT line_number, value FROM raw.observations "
        "WHERE source_file = 'gp/A10001/observations.csv' ORDER BY line_number"
    ).fetchall() == [(1, "142"), (2, "150")]


def test_a_folder_named_like_a_column_gives_no_value(connection, tmp_path):
    landing = tmp_path / "nhs_number=0000000000" / "landing"
    supplier.write_landing(landing, months=(MONTH,))
    load(connection, landing)
    numbers = connection.execute("SELECT nhs_number FROM raw.registrations").fetchall()
    assert numbers and ("0000000000",) not in numbers
    assert set(numbers) <= {(number,) for number in supplier.NHS_NUMBERS}


def test_line_numbers_are_data_rows_even_with_quoted_newlines(connection, landing):
    files = supplier.month_files(MONTH)
    files["sus/admissions.csv"] = (
        b"spell_id,nhs_number,practice_code,provider_code,admission_date,discharge_date,"
        b"admission_method,primary_diagnosis\n"
        b'S1,9990000018,A10001,RF4,2024-01-03,,21,"I50.0\nsecond line"\n'
        b"S2,9990000018,A10001,RF4,2024-01-09,2024-01-12,21,J44.1\n"
    )
    supplier.write_month(landing, MONTH, files)
    load(connection, landing)
    assert connection.execute(
        "SELECT spell_id, line_number FROM raw.admissions ORDER BY line_number"
    ).fetchall() == [("S1", 1), ("S2", 2)]


def test_lf_and_crlf_line_ends_both_load(connection, landing):
    files = supplier.month_files(MONTH)
    files["gp/A10001/medications.csv"] = files["gp/A10001/medications.csv"].replace(b"\r\n", b"\n")
    assert b"\r\n" in files["gp/A10001/registrations.csv"]
    supplier.write_month(landing, MONTH, files)
    outcome = load(connection, landing)
    assert file_status(outcome, "gp/A10001/medications.csv") == ("loaded", None)
    assert connection.execute("SELECT bnf_code, repeat FROM raw.medications").fetchall() == [
        ("0205051R0", "Y")
    ]


def test_header_only_file_loads_no_rows(connection, landing):
    outcome = load(connection, landing)
    [services] = [f for f in outcome.files if f.path == "social_care/services.csv"]
    assert (services.status, services.manifest_rows, services.loaded_rows) == ("loaded", 0, 0)


@pytest.mark.parametrize(
    ("fault", "expected_reason"),
    [
        ("digest", "sha256 differs"),
        ("rows", "2 data rows where manifest.csv says 3"),
        ("absent", "listed in manifest.csv but absent"),
        ("unlisted", "not listed in manifest.csv"),
    ],
)
def test_a_file_failing_the_manifest_is_rejected_alone(connection, landing, fault, expected_reason):
    files = supplier.month_files(MONTH)
    target = "gp/A10001/consultations.csv"
    manifest = supplier.manifest_bytes(files).decode()
    digest = hashlib.sha256(files[target]).hexdigest()
    if fault == "digest":
        manifest = manifest.replace(digest, "0" * 64)
    elif fault == "rows":
        manifest = manifest.replace(f"{digest},{target},2", f"{digest},{target},3")
    supplier.write_month(landing, MONTH, files, manifest=manifest.encode())
    if fault == "absent":
        (landing / "extracts" / MONTH / target).unlink()
    elif fault == "unlisted":
        manifest = "\r\n".join(line for line in manifest.split("\r\n") if target not in line)
        (landing / "extracts" / MONTH / "manifest.csv").write_text(manifest)

    outcome = load(connection, landing)

    status, reason = file_status(outcome, target)
    assert status == "rejected"
    assert expected_reason in reason
    assert connection.execute(
        "SELECT count(*) FROM raw.consultations WHERE source_file = ?", [target]
    ).fetchone() == (0,)
    others = [f for f in outcome.files if f.path != target]
    assert others and all(f.status == "loaded" for f in others)


@pytest.mark.parametrize(
    ("content", "expected_reason"),
    [
        (
            b"nhs_number,consultation_date,mode\n9990000018,2024-01-15,telephone\n",
            "missing required column(s): clinician",
        ),
        (
            b"nhs_number,consultation_date,mode,clinician\n9990000018,2024-01-15,tele\xffphone,gp\n",
            "not valid UTF-8",
        ),
        (b"", "no header row"),
    ],
    ids=["missing-column", "bad-encoding", "empty-file"],
)
def test_unreadable_files_are_rejected_with_the_reason(
    connection, landing, content, expected_reason
):
    files = supplier.month_files(MONTH)
    files["gp/A10002/consultations.csv"] = content
    supplier.write_month(landing, MONTH, files)

    outcome = load(connection, landing)

    status, reason = file_status(outcome, "gp/A10002/consultations.csv")
    assert status == "rejected"
    assert expected_reason in reason
    assert outcome.status == "loaded"
    assert connection.execute("SELECT count(*) FROM raw.consultations").fetchone() == (2,)


@pytest.mark.parametrize(
    ("content", "good_rows", "malformed"),
    [
        (
            b"nhs_number,consultation_date,mode,clinician\n9990000018,2024-01-15,telephone,gp\n99900000",
            1,
            [(2, "1 field where the header has 4")],
        ),
        (
            b"nhs_number,consultation_date,mode,clinician\n9990000018,2024-01-15,telephone\n",
            0,
            [(1, "3 fields where the header has 4")],
        ),
    ],
    ids=["truncated-last-line", "ragged-row"],
)
def test_a_malformed_line_is_set_aside_and_the_file_loads(
    connection, landing, content, good_rows, malformed
):
    # Its manifest counts every line written (tests/test_malformed_lines.py: the rest).
    files = supplier.month_files(MONTH)
    files["gp/A10002/consultations.csv"] = content
    supplier.write_month(landing, MONTH, files)

    outcome = load(connection, landing)

    [file] = [f for f in outcome.files if f.path == "gp/A10002/consultations.csv"]
    assert (file.status, file.loaded_rows) == ("loaded", good_rows + len(malformed))
    assert [(m.line, m.reason) for m in file.malformed] == malformed
    assert connection.execute("SELECT count(*) FROM raw.consultations").fetchone() == (
        2 + good_rows,
    )


def test_a_month_without_manifest_loads_nothing(connection, landing):
    supplier.write_month(landing, "2024-02", supplier.month_files("2024-02"), manifest=None)
    load(connection, landing)

    outcome = load_month(connection, landing, "2024-02", known_practices(connection))

    assert outcome.status == "incomplete"
    assert connection.execute(
        "SELECT count(*) FROM raw.registrations WHERE delivery_month = '2024-02'"
    ).fetchone() == (0,)


def test_a_redelivered_month_replaces_the_earlier_delivery_completely(connection, landing):
    load(connection, landing)
    files = supplier.month_files(MONTH)
    del files["gp/A10001/consultations.csv"]
    files["gp/A10002/consultations.csv"] = supplier.csv_bytes(
        [
            {
                "nhs_number": supplier.NHS_NUMBERS[1],
                "consultation_date": f"{MONTH}-20",
                "mode": "video",
                "clinician": "nurse",
            }
        ],
        ["nhs_number", "consultation_date", "mode", "clinician"],
    )
    folder = landing / "extracts" / MONTH
    (folder / "gp/A10001/consultations.csv").unlink()
    supplier.write_month(landing, MONTH, files)

    load(connection, landing)

    assert connection.execute("SELECT source_file, mode FROM raw.consultations").fetchall() == [
        ("gp/A10002/consultations.csv", "video")
    ]


def test_loading_the_same_delivery_twice_changes_nothing(connection, landing):
    def snapshot() -> list[tuple]:
        tables = [
            "registrations",
            "consultations",
            "admissions",
            "delivery_files",
            "delivery_months",
        ]
        return [
            connection.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in tables
        ]

    load(connection, landing)
    first = snapshot()
    load(connection, landing)
    assert snapshot() == first


def test_a_practice_without_gp_files_is_reported_missing(connection, landing):
    files = {p: c for p, c in supplier.month_files(MONTH).items() if not p.startswith("gp/A10002/")}
    folder = landing / "extracts" / MONTH
    for path in list((folder / "gp" / "A10002").iterdir()):
        path.unlink()
    (folder / "gp" / "A10002").rmdir()
    supplier.write_month(landing, MONTH, files)

    outcome = load(connection, landing)

    assert outcome.missing_practices == ["A10002"]
    assert outcome.status == "loaded"


def test_missing_reference_file_stops_with_its_name(connection, landing):
    (landing / "reference" / "practices.csv").unlink()
    with pytest.raises(InputError, match=r"reference/practices\.csv"):
        load_reference(connection, landing)


def history(connection: duckdb.DuckDBPyConnection) -> list[tuple]:
    return connection.execute(
        "SELECT manifest_sha256, delivery_number, files, rows, status, superseded_by "
        "FROM raw.delivery_history WHERE delivery_month = ? ORDER BY delivery_number",
        [MONTH],
    ).fetchall()


def correct_registrations(landing: Path) -> None:
    """Deliver MONTH again with one registration corrected (a new manifest)."""
    files = supplier.month_files(MONTH)
    path = "gp/A10001/registrations.csv"
    files[path] = files[path].replace(b"1941-03-02", b"1941-03-03")
    supplier.write_month(landing, MONTH, files)


def test_every_delivery_of_a_month_stays_in_the_history_superseded_by_the_next(connection, landing):
    first = load(connection, landing)
    correct_registrations(landing)
    second = load(connection, landing)
    load(connection, landing)  # the same delivery loaded again (--reload) adds nothing

    old, new = first.manifest_sha256, second.manifest_sha256
    assert old != new
    files, rows = len(first.files), first.loaded_rows
    assert history(connection) == [
        (old, 1, files, rows, "loaded", new),
        (new, 2, files, rows, "loaded", None),
    ]


def test_a_withdrawn_correction_is_superseded_by_the_delivery_it_replaced(connection, landing):
    original = supplier.month_files(MONTH)
    first = load(connection, landing)
    correct_registrations(landing)
    second = load(connection, landing)
    supplier.write_month(landing, MONTH, original)

    load(connection, landing)

    assert [(row[0], row[1], row[5]) for row in history(connection)] == [
        (first.manifest_sha256, 1, None),
        (second.manifest_sha256, 2, first.manifest_sha256),
    ]


def test_a_warehouse_from_before_the_history_gains_its_deliveries_in_force(connection, landing):
    outcome = load(connection, landing)
    connection.execute("DROP TABLE raw.delivery_history")

    load_reference(connection, landing)  # any step that opens the raw layer

    assert history(connection) == [
        (outcome.manifest_sha256, 1, len(outcome.files), outcome.loaded_rows, "loaded", None)
    ]


def test_each_delivery_report_is_kept_beside_the_current_one(connection, landing, tmp_path):
    reports = tmp_path / "reports" / "deliveries"
    first = load(connection, landing)
    write_delivery_report(reports, first)
    correct_registrations(landing)
    second = load(connection, landing)
    write_delivery_report(reports, second)
    write_delivery_report(reports, second)  # a rerun writes no new version

    kept = sorted((reports / "history" / MONTH).iterdir())
    by_delivery = {json.loads(path.read_text())["manifest_sha256"]: path for path in kept}
    assert len(kept) == 2
    assert set(by_delivery) == {first.manifest_sha256, second.manifest_sha256}
    for digest, path in by_delivery.items():
        assert path.name.startswith(digest[:16] + "-")
    assert (reports / f"{MONTH}.json").read_bytes() == by_delivery[
        second.manifest_sha256
    ].read_bytes()


def test_files_read_together_load_as_they_would_one_by_one(tmp_path, landing, monkeypatch):
    """Reading a feed's files in one DuckDB call gives the same raw tables (row order and
    line numbers included) and outcomes as reading every file alone, with a file rejected,
    one with a malformed line and one with a quoted line break among them."""
    from warehouse import deliveries

    files = supplier.month_files(MONTH)
    files["gp/A10002/consultations.csv"] += (
        b"9990000018,2024-01-20,telephone,gp,b1\r\n"
        b"9990000018,2024-01-21,telephone,gp,b1,one too many\r\n"
        b"9990000018,2024-01-22,telephone,gp,b1\r\n"
    )
    files["gp/A10001/conditions.csv"] += b'"4411\n4007",9990000026,2024-01-02\r\n'
    files["gp/A10002/conditions.csv"] += (
        b"38341003,9990000018,2024-01-05\r\n195967001,9990000018,2024-01-06\r\n"
    )
    manifest = supplier.manifest_bytes(files)
    files["gp/A10001/medications.csv"] += b"\n"  # changed after the manifest: rejected
    supplier.write_month(landing, MONTH, files, manifest=manifest)

    def loaded(name: str) -> tuple[list, dict[str, list]]:
        connection = connect(tmp_path / f"{name}.duckdb")
        outcome = load(connection, landing)
        tables = {
            table: connection.execute(f"SELECT * FROM raw.{table}").fetchall()
            for (table,) in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1"
            ).fetchall()
        }
        return [
            (f.path, f.status, f.reason, f.loaded_rows, f.malformed) for f in outcome.files
        ], tables

    read_alone: list[str] = []
    parse_alone = deliveries.parse_alone

    def spy(connection, month, file):
        read_alone.append(file.outcome.path)
        return parse_alone(connection, month, file)

    monkeypatch.setattr(deliveries, "parse_alone", spy)
    together = loaded("together")
    assert read_alone == ["gp/A10001/consultations.csv", "gp/A10002/consultations.csv"], (
        "only the run with a malformed line is read file by file"
    )
    monkeypatch.setattr(deliveries, "insert_together", lambda *arguments: False)
    one_by_one = loaded("one")

    assert ("gp/A10001/medications.csv", "rejected") in [row[:2] for row in one_by_one[0]]
    assert any(row[4] for row in one_by_one[0]), "a file with a malformed line"
    assert len(together[1]["conditions"]) > 2
    assert together == one_by_one
