"""One bad line costs that line, not its file; an unknown GP folder's files are rejected.

A February delivery (tests/supplier.py) whose consultations file has good rows around
malformed lines: the good rows load with their own data-row numbers, each malformed line
is quarantined under ``malformed_line`` with what is wrong (never its content), the
manifest counts it as delivered, and every file still reconciles.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import supplier
from tests.warehouse.test_staged import CONSULTATION_COLUMNS, GOOD_NHS, consultation
from warehouse.connection import connect
from warehouse.deliveries import delivery_report, load_month
from warehouse.quality import month_report
from warehouse.reference import known_practices, load_reference
from warehouse.staged import reconcile_month, stage_month, stage_reference

MONTH = "2024-02"
PATH = "gp/A10001/consultations.csv"
GOOD = f"{GOOD_NHS},2024-02-03,telephone,gp"
# data row: (line as written, what the loader should make of it)
LINES = {
    1: (GOOD, None),
    2: (f"{GOOD},{GOOD_NHS}", "5 fields where the header has 4"),
    3: (GOOD, None),
    4: (f"{GOOD_NHS},2024-02-03,telephone", "3 fields where the header has 4"),
    5: (f'{GOOD_NHS},"2024-02-03,telephone,gp', "a quote that is not closed on its line"),
    6: (GOOD, None),
    7: (f'{GOOD_NHS},"2024-02-03"x,telephone,gp', "text after a closing quote"),
    8: (f'{GOOD_NHS},2024-02-03,"tele\nphone",gp', None),  # a legal quoted line break
    9: (GOOD, None),
}


def consultations_file() -> bytes:
    header = ",".join(CONSULTATION_COLUMNS)
    return ("\r\n".join([header, *(text for text, _ in LINES.values())]) + "\r\n").encode()


def load_and_stage(tmp_path: Path, files: dict[str, bytes], manifest_rows: dict[str, int]):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=())
    everything = {**supplier.month_files(MONTH), **files}
    manifest = supplier.manifest_bytes(everything).decode()
    for path, rows in manifest_rows.items():  # the supplier's count: one row a line written
        manifest = re.sub(rf"(,{re.escape(path)}),\d+", rf"\1,{rows}", manifest)
    supplier.write_month(landing, MONTH, everything, manifest=manifest.encode())
    connection = connect(tmp_path / "warehouse.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    outcome = load_month(connection, landing, MONTH, known_practices(connection))
    stage_month(connection, MONTH)
    return connection, outcome


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    connection, outcome = load_and_stage(
        tmp_path_factory.mktemp("malformed"), {PATH: consultations_file()}, {PATH: len(LINES)}
    )
    yield connection, outcome
    connection.close()


def test_good_rows_load_with_their_own_line_numbers(loaded):
    connection, outcome = loaded
    [file] = [f for f in outcome.files if f.path == PATH]
    assert (file.status, file.loaded_rows) == ("loaded", len(LINES))
    staged = connection.execute(
        "SELECT line_number FROM staged.consultations WHERE source_file = ? ORDER BY 1", [PATH]
    ).fetchall()
    assert [line for (line,) in staged] == [1, 3, 6, 9]
    # Row 8 parsed (a quoted line break is legal) and was judged by its contract.
    assert connection.execute(
        "SELECT rule FROM quarantine.rows WHERE source_file = ? AND line_number = 8", [PATH]
    ).fetchall() == [("mode_in_code_list",)]


def test_each_malformed_line_is_quarantined_with_its_reason_and_no_content(loaded):
    connection, outcome = loaded
    rows = connection.execute(
        "SELECT line_number, column_name, offending_value FROM quarantine.rows "
        "WHERE source_file = ? AND rule = 'malformed_line' ORDER BY 1",
        [PATH],
    ).fetchall()
    expected = {line: reason for line, (_, reason) in LINES.items() if reason}
    assert [line for line, _, _ in rows] == sorted(expected)
    for line, column, value in rows:
        assert column is None and value.startswith(expected[line])
        assert GOOD_NHS not in value and "2024" not in value
    [file] = [f for f in delivery_report(outcome)["files"] if f["path"] == PATH]  # type: ignore[union-attr]
    assert [m["line"] for m in file["malformed_lines"]] == sorted(expected)


def test_every_delivered_row_is_accounted_for_and_reported(loaded):
    connection, _ = loaded
    for file in reconcile_month(connection, MONTH):
        assert file.reconciles, file
    report = month_report(connection, MONTH)
    [file] = [f for f in report["files"] if f["path"] == PATH]
    assert file["status"] == "loaded" and file["delivered_rows"] == len(LINES)
    assert {"line": 2, "rule": "malformed_line"} in file["quarantined_lines"]


def test_a_malformed_line_still_counts_against_the_manifest(tmp_path):
    # The manifest counting one row fewer (the malformed line not delivered) is a mismatch,
    # and the reason names the malformed line.
    _connection, outcome = load_and_stage(
        tmp_path, {PATH: consultations_file()}, {PATH: len(LINES) - 1}
    )
    [file] = [f for f in outcome.files if f.path == PATH]
    assert file.status == "rejected"
    assert file.reason == (
        f"{len(LINES)} data rows where manifest.csv says {len(LINES) - 1} "
        "(data row 2 is malformed: 5 fields where the header has 4)"
    )


def test_mixed_line_ends_load_every_row(tmp_path):
    # The spec allows \n or \r\n; DuckDB's strict reader refuses a file mixing them.
    header = ",".join(CONSULTATION_COLUMNS)
    content = f"{header}\r\n{GOOD}\n{GOOD}\r\n{GOOD}\n".encode()
    _connection, outcome = load_and_stage(tmp_path, {PATH: content}, {})
    [file] = [f for f in outcome.files if f.path == PATH]
    assert (file.status, file.loaded_rows, file.malformed) == ("loaded", 3, [])


def test_every_file_of_an_unknown_gp_folder_is_rejected_with_its_reason(tmp_path):
    files = {
        path.replace("A10001", "Z99999"): content
        for path, content in supplier.month_files(MONTH).items()
        if path.startswith("gp/A10001/")
    }
    # One of them empty (header only), as a practice with no medications that month.
    files["gp/Z99999/medications.csv"] = supplier.csv_bytes(
        [], ["nhs_number", "issue_date", "bnf_code", "repeat"]
    )
    files["gp/Z99999/consultations.csv"] = supplier.csv_bytes(
        [consultation()], CONSULTATION_COLUMNS
    )
    connection, outcome = load_and_stage(tmp_path, files, {})
    unknown = [f for f in outcome.files if f.path.startswith("gp/Z99999/")]
    assert len(unknown) == 5
    for file in unknown:
        assert file.status == "rejected", file.path
        assert file.reason is not None
        assert file.reason.startswith("practice_folder_known: gp/Z99999/ is not a practice")
    report = month_report(connection, MONTH)
    verdicts = {
        f["path"]: (f["status"], f["reason"])
        for f in report["files"]
        if f["path"].startswith("gp/Z99999/")
    }
    assert {status for status, _ in verdicts.values()} == {"rejected"}
    assert len({reason for _, reason in verdicts.values()}) == 1
    assert connection.execute(
        "SELECT count(*) FROM raw.consultations WHERE source_file LIKE 'gp/Z99999/%'"
    ).fetchone() == (0,)
