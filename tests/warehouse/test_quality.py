"""Data-quality reports and the suite's batch: shape, determinism, volume anomalies, sampling."""

from __future__ import annotations

import json
from pathlib import Path

from data_contracts import load_contracts
from tests import supplier
from tests.warehouse.test_staged import CONSULTATION_COLUMNS, consultation, staged_warehouse
from warehouse.quality import month_report, volume_anomalies, write_month_reports
from warehouse.validation import staged_frame

CONSULTATIONS = "gp/A10001/consultations.csv"


def test_the_json_report_has_the_documented_shape_and_is_byte_identical(tmp_path: Path):
    february = {
        CONSULTATIONS: supplier.csv_bytes(
            [consultation(), consultation(mode="fax")], CONSULTATION_COLUMNS
        )
    }
    connection = staged_warehouse(tmp_path, february)
    json_path, html_path = write_month_reports(connection, tmp_path / "reports", "2024-02")
    first = json_path.read_bytes()
    write_month_reports(connection, tmp_path / "reports", "2024-02")
    report = month_report(connection, "2024-02")
    connection.close()

    assert json_path.read_bytes() == first
    assert list(report) == [
        "month",
        "manifest_sha256",
        "status",
        "files",
        "missing_practices",
        "warnings",
    ]
    [file] = [f for f in report["files"] if f["path"] == CONSULTATIONS]
    assert file == {
        "path": CONSULTATIONS,
        "status": "loaded",
        "reason": None,
        "delivered_rows": 2,
        "staged_rows": 1,
        "quarantined_rows": 1,
        "ignored_rows": 0,
        "quarantined_lines": [{"line": 2, "rule": "mode_in_code_list"}],
    }
    assert json.loads(first) == report
    html = html_path.read_text()
    for section in (
        "Completeness and timeliness by practice",
        "Validity by feed and rule",
        "Volume anomalies",
        "Reconciliation",
        "Problems",
    ):
        assert section in html
    assert "A10001" in html and "mode_in_code_list" in html
    assert supplier.NHS_NUMBERS[0] not in html


def test_a_practice_whose_consultations_halved_is_a_volume_anomaly(tmp_path: Path):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=())
    for month, count in (("2024-01", 40), ("2024-02", 40), ("2024-03", 12)):
        rows = [consultation(consultation_date=f"{month}-03")] * count
        files = supplier.month_files(month) | {
            CONSULTATIONS: supplier.csv_bytes(rows, CONSULTATION_COLUMNS)
        }
        supplier.write_month(landing, month, files)
    from warehouse.connection import connect
    from warehouse.deliveries import load_month
    from warehouse.reference import known_practices, load_reference
    from warehouse.staged import stage_month, stage_reference

    connection = connect(tmp_path / "warehouse.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    for month in ("2024-01", "2024-02", "2024-03"):
        load_month(connection, landing, month, known_practices(connection))
        stage_month(connection, month)
    [anomaly] = volume_anomalies(connection, "2024-03")
    assert (anomaly.practice_code, anomaly.feed, anomaly.rows, anomaly.previous_average) == (
        "A10001",
        "consultations",
        12,
        40.0,
    )
    assert volume_anomalies(connection, "2024-02") == []
    warnings = month_report(connection, "2024-03")["warnings"]
    connection.close()
    [volume] = [w for w in warnings if w["kind"] == "volume_anomaly"]
    assert (volume["practice"], volume["path"], volume["rows"]) == ("A10001", CONSULTATIONS, 12)


def test_a_large_month_is_validated_on_a_deterministic_sample_of_its_rows(tmp_path: Path):
    february = {CONSULTATIONS: supplier.csv_bytes([consultation()] * 2000, CONSULTATION_COLUMNS)}
    connection = staged_warehouse(tmp_path, february)
    contract = load_contracts()["consultations"]
    frame, total = staged_frame(connection, contract, "2024-02", row_limit=200)
    again, _ = staged_frame(connection, contract, "2024-02", row_limit=200)
    whole, _ = staged_frame(connection, contract, "2024-02")
    connection.close()
    assert total == len(whole) == 2000  # A10002 has no consultations in the supplier's month
    # About a tenth (k = 10), the same rows every time, in file and line order, spread
    # over the whole file rather than its first lines.
    lines = list(frame["line_number"])
    assert 120 <= len(lines) <= 280 and lines == list(again["line_number"]) == sorted(lines)
    assert set(lines) <= set(whole["line_number"]) and lines[-1] > 1500
    assert list(frame.columns) == [
        "delivery_month",
        "source_file",
        "line_number",
        *contract.column_names,
    ]
