"""The staged layer: each row fault gets its handling, good rows beside it still load,
and every delivered row is staged, quarantined or ignored.

Each test writes a tiny landing zone with tests/supplier.py, changes one file, loads it
into raw and stages it. No Dagster here: these are the plain functions the assets call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests import supplier
from warehouse.connection import connect
from warehouse.deliveries import load_month
from warehouse.reference import known_practices, load_reference
from warehouse.staged import reconcile_month, stage_month, stage_reference

MONTHS = ("2024-01", "2024-02")
GOOD_NHS = supplier.NHS_NUMBERS[0]  # 9990000018: valid check digit
BAD_NHS = "9990000019"  # wrong check digit

ADMISSION_COLUMNS = [
    "spell_id",
    "nhs_number",
    "practice_code",
    "provider_code",
    "admission_date",
    "discharge_date",
    "admission_method",
    "primary_diagnosis",
]
CONSULTATION_COLUMNS = ["nhs_number", "consultation_date", "mode", "clinician"]


def admission(**changes: str) -> dict[str, str]:
    row = {
        "spell_id": "SP-2024-02-9",
        "nhs_number": GOOD_NHS,
        "practice_code": "A10001",
        "provider_code": "RF4",
        "admission_date": "2024-02-10",
        "discharge_date": "2024-02-12",
        "admission_method": "21",
        "primary_diagnosis": "J44.1",
    }
    return {**row, **changes}


def consultation(**changes: str) -> dict[str, str]:
    row = {
        "nhs_number": GOOD_NHS,
        "consultation_date": "2024-02-03",
        "mode": "telephone",
        "clinician": "gp",
    }
    return {**row, **changes}


def staged_warehouse(
    tmp_path: Path, february: dict[str, bytes] | None = None
) -> duckdb.DuckDBPyConnection:
    """Load and stage January (as supplied) and February (with `february`'s files replaced)."""
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=MONTHS[:1])
    files = {**supplier.month_files("2024-02"), **(february or {})}
    supplier.write_month(landing, "2024-02", files)
    connection = connect(tmp_path / "warehouse.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    for month in MONTHS:
        load_month(connection, landing, month, known_practices(connection))
        stage_month(connection, month)
    return connection


def outcome_of(
    connection: duckdb.DuckDBPyConnection, path: str, line: int
) -> tuple[str, list[str]]:
    """Where line `line` of February's `path` went, and the rules recorded for it."""
    for table, outcome in (
        ("quarantine.rows", "quarantined"),
        ("quarantine.ignored_rows", "ignored"),
    ):
        rules = [
            rule
            for (rule,) in connection.execute(
                f"SELECT rule FROM {table} WHERE delivery_month = '2024-02' AND source_file = ? "
                "AND line_number = ? ORDER BY rule",
                [path, line],
            ).fetchall()
        ]
        if rules:
            return outcome, rules
    return "staged", []


def staged_lines(connection: duckdb.DuckDBPyConnection, feed: str, path: str) -> list[int]:
    return [
        line
        for (line,) in connection.execute(
            f"SELECT line_number FROM staged.{feed} WHERE delivery_month = '2024-02' AND source_file = ? "
            "ORDER BY 1",
            [path],
        ).fetchall()
    ]


def assert_every_row_accounted_for(connection: duckdb.DuckDBPyConnection) -> None:
    for month in MONTHS:
        for file in reconcile_month(connection, month):
            assert file.reconciles, file
            assert (
                file.delivered_rows == file.staged_rows + file.quarantined_rows + file.ignored_rows
            )


ADMISSIONS = "sus/admissions.csv"
CONSULTATIONS = "gp/A10001/consultations.csv"
CONDITIONS = "gp/A10001/conditions.csv"
REGISTRATIONS = "gp/A10001/registrations.csv"
UNKNOWN_PRACTICE = "gp/Z99999/consultations.csv"
IDENTICAL_GP_ROWS = "gp/A10002/consultations.csv"

# name: (file, row to add, expected outcome, rules recorded). Each fault is its own row of
# one February delivery, between good rows, so one staging run serves every case.
ROW_FAULTS: dict[str, tuple[str, dict[str, str], str, list[str]]] = {
    "invalid NHS number": (
        CONSULTATIONS,
        consultation(nhs_number=BAD_NHS),
        "quarantined",
        ["nhs_number_valid"],
    ),
    "missing required value": (
        CONSULTATIONS,
        consultation(mode=""),
        "quarantined",
        ["mode_required"],
    ),
    "code not in the code list": (
        CONSULTATIONS,
        consultation(clinician="surgeon"),
        "quarantined",
        ["clinician_in_code_list"],
    ),
    "event dated outside the month": (
        CONSULTATIONS,
        consultation(consultation_date="2024-03-01"),
        "quarantined",
        ["event_date_within_delivery_month"],
    ),
    "date that does not parse": (
        CONSULTATIONS,
        consultation(consultation_date="03/02/2024"),
        "quarantined",
        ["consultation_date_type"],
    ),
    "discharge before admission": (
        ADMISSIONS,
        admission(spell_id="SP-F1", discharge_date="2024-02-01"),
        "quarantined",
        ["discharge_not_before_admission"],
    ),
    "conflicting resend of an earlier month's spell": (
        ADMISSIONS,
        admission(
            spell_id="SP-2024-01-1",
            admission_date="2024-01-15",
            discharge_date="2024-01-20",
            primary_diagnosis="I50.0",
        ),
        "quarantined",
        ["event_date_within_delivery_month", "spell_id_conflict"],
    ),
    "identical resend of an earlier month's spell": (
        ADMISSIONS,
        admission(
            spell_id="SP-2024-01-1",
            admission_date="2024-01-15",
            discharge_date="",
            primary_diagnosis="I50.0",
        ),
        "ignored",
        ["spell_id_resend"],
    ),
    "several faults in one row": (
        ADMISSIONS,
        admission(
            spell_id="SP-F2", nhs_number="12345", admission_method="99", admission_date="2024-02-20"
        ),
        "quarantined",
        ["admission_method_in_code_list", "discharge_not_before_admission", "nhs_number_valid"],
    ),
    "malformed hospital-recorded practice code (a warning)": (
        ADMISSIONS,
        admission(spell_id="SP-F3", practice_code="a1"),
        "staged",
        [],
    ),
    "an NHS number in the wrong column": (
        CONSULTATIONS,
        consultation(mode=GOOD_NHS),
        "quarantined",
        ["mode_in_code_list"],
    ),
}


def fault_lines() -> dict[str, tuple[str, int]]:
    """Where each fault sits: line 1 of each file is good, then the faults, then a good row."""
    lines, used = {}, {ADMISSIONS: 1, CONSULTATIONS: 1}
    for name, (path, _, _, _) in ROW_FAULTS.items():
        used[path] += 1
        lines[name] = (path, used[path])
    return lines


def february_with_faults() -> dict[str, bytes]:
    admissions = [
        admission(),
        *(row for p, row, _, _ in ROW_FAULTS.values() if p == ADMISSIONS),
        admission(spell_id="SP-LAST"),
        admission(spell_id="SP-TWICE"),
        admission(spell_id="SP-TWICE"),
    ]
    consultations = [
        consultation(),
        *(row for p, row, _, _ in ROW_FAULTS.values() if p == CONSULTATIONS),
        consultation(),
    ]
    registrations = supplier.month_files("2024-02")[REGISTRATIONS] + (
        f"N,Y,,,1990-01-01,E01000001,A,2,1941-03-02,{GOOD_NHS}\r\n".encode()
    )
    conditions = [
        {"nhs_number": GOOD_NHS, "snomed_code": "22298006", "diagnosis_date": "2015-02-01"},
        {"nhs_number": GOOD_NHS, "snomed_code": "84114007", "diagnosis_date": "2015-02-01"},
    ]
    return {
        ADMISSIONS: supplier.csv_bytes(admissions, ADMISSION_COLUMNS),
        CONSULTATIONS: supplier.csv_bytes(consultations, CONSULTATION_COLUMNS),
        REGISTRATIONS: registrations,
        CONDITIONS: supplier.csv_bytes(conditions, ["nhs_number", "snomed_code", "diagnosis_date"]),
        UNKNOWN_PRACTICE: supplier.csv_bytes(
            [consultation(), consultation()], CONSULTATION_COLUMNS
        ),
        IDENTICAL_GP_ROWS: supplier.csv_bytes([consultation()] * 3, CONSULTATION_COLUMNS),
    }


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = staged_warehouse(tmp_path_factory.mktemp("faulty"), february_with_faults())
    yield connection
    connection.close()


@pytest.mark.parametrize("fault", list(ROW_FAULTS))
def test_each_row_fault_is_handled(faulty, fault):
    path, _, expected, rules = ROW_FAULTS[fault]
    _, line = fault_lines()[fault]
    assert outcome_of(faulty, path, line) == (expected, rules)


def test_good_rows_beside_bad_ones_still_load(faulty):
    faults = fault_lines()
    for path, feed in ((ADMISSIONS, "admissions"), (CONSULTATIONS, "consultations")):
        bad = {
            line
            for name, (p, line) in faults.items()
            if p == path and ROW_FAULTS[name][2] != "staged"
        }
        delivered = faulty.execute(
            f"SELECT max(line_number) FROM raw.{feed} WHERE delivery_month = '2024-02' "
            "AND source_file = ?",
            [path],
        ).fetchone()[0]
        assert staged_lines(faulty, feed, path) == [
            n
            for n in range(1, delivered + 1)
            if n not in bad and not (path == ADMISSIONS and n == delivered)
        ]


def test_every_delivered_row_is_accounted_for(faulty):
    assert_every_row_accounted_for(faulty)


def test_a_row_repeated_within_a_file_is_an_identical_resend(faulty):
    last = faulty.execute(
        "SELECT max(line_number) FROM raw.admissions WHERE delivery_month = '2024-02'"
    ).fetchone()[0]
    assert outcome_of(faulty, ADMISSIONS, last - 1) == ("staged", [])
    assert outcome_of(faulty, ADMISSIONS, last) == ("ignored", ["spell_id_resend"])


def test_identical_gp_event_rows_all_load(faulty):
    assert staged_lines(faulty, "consultations", IDENTICAL_GP_ROWS) == [1, 2, 3]


def test_an_out_of_scope_condition_is_ignored_with_its_reason(faulty):
    assert outcome_of(faulty, CONDITIONS, 1) == ("ignored", ["snomed_code_in_scope"])
    assert staged_lines(faulty, "conditions", CONDITIONS) == [2]


def test_a_second_registration_of_one_person_in_a_file_is_quarantined(faulty):
    assert outcome_of(faulty, REGISTRATIONS, 2) == ("quarantined", ["nhs_number_unique"])
    assert staged_lines(faulty, "registrations", REGISTRATIONS) == [1]


def test_a_gp_file_from_an_unknown_practice_folder_is_rejected_whole(faulty):
    # Rejected by the loader (tests/warehouse/test_malformed_lines.py checks every file of
    # such a folder): nothing in raw, so nothing staged or quarantined.
    status, reason = faulty.execute(
        "SELECT status, reason FROM raw.delivery_files WHERE delivery_month = '2024-02' "
        "AND path = ?",
        [UNKNOWN_PRACTICE],
    ).fetchone()
    assert status == "rejected" and reason.startswith("practice_folder_known: gp/Z99999/")
    assert outcome_of(faulty, UNKNOWN_PRACTICE, 1) == ("staged", [])
    assert staged_lines(faulty, "consultations", UNKNOWN_PRACTICE) == []


def test_quarantine_never_holds_a_whole_nhs_number(faulty):
    values = [
        value
        for (value,) in faulty.execute(
            "SELECT offending_value FROM quarantine.rows UNION ALL SELECT offending_value FROM quarantine.ignored_rows "
            "UNION ALL SELECT offending_value FROM quarantine.row_warnings"
        ).fetchall()
        if value
    ]
    assert not [v for v in values if re.search(r"[0-9]{10}", v)]
    assert "*******019" in values


def test_gp_rows_carry_the_practice_of_their_folder_and_typed_columns(faulty):
    practices = faulty.execute(
        "SELECT DISTINCT split_part(source_file, '/', 2) = practice_code FROM staged.registrations"
    ).fetchall()
    assert practices == [(True,)]
    typed = faulty.execute(
        "SELECT typeof(date_of_birth), typeof(care_home) FROM staged.registrations LIMIT 1"
    ).fetchone()
    assert typed == ("DATE", "BOOLEAN")


def test_restaging_a_month_replaces_its_rows(faulty):
    tables = (
        "staged.admissions",
        "staged.consultations",
        "quarantine.rows",
        "quarantine.ignored_rows",
        "quarantine.row_warnings",
    )

    def counts() -> list[int]:
        return [faulty.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables]

    before = counts()
    stage_month(faulty, "2024-02")
    assert counts() == before
    assert_every_row_accounted_for(faulty)


def test_a_lost_row_breaks_reconciliation(tmp_path):
    connection = staged_warehouse(tmp_path)
    connection.execute(
        "DELETE FROM staged.consultations WHERE delivery_month = '2024-02' AND line_number = 2"
    )
    [broken] = [f for f in reconcile_month(connection, "2024-02") if not f.reconciles]
    connection.close()
    assert (broken.source_file, broken.unaccounted_rows) == (CONSULTATIONS, 1)
