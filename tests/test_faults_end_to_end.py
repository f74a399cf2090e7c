"""End to end: a generated landing zone with every kind of fault, through `riskstrat run`.

Every entry of faults.json must be handled as its `expected` says, every delivered row
must be accounted for, and no report, quarantine row or Data Docs page may hold an NHS
number. One run (1,500 people, 4 months, seed 11) serves every test here.
"""

from __future__ import annotations

import json
import re

import pytest

from data_contracts import is_valid_nhs_number
from pipelines.cli import main
from synthetic import generate
from warehouse.connection import connect

# One generated zone through the whole pipeline (about 100 s on 2 cores): not in `make test-fast`.
pytestmark = pytest.mark.slow

PEOPLE, MONTHS, SEED = 1_500, 4, 11


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("faults")
    generate(out, people=PEOPLE, months=MONTHS, seed=SEED, start="2023-01", faults=True)
    home = out / "home"
    code = main(["run", "--landing", str(out / "landing"), "--home", str(home)])
    reports = {
        p.stem: json.loads(p.read_text())
        for p in (home / "reports" / "data_quality").glob("*.json")
    }
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        ignored = set(
            connection.execute(
                "SELECT delivery_month, source_file, line_number FROM quarantine.ignored_rows"
            ).fetchall()
        )
        delivered_nhs = {
            n
            for (n,) in connection.execute(
                "SELECT DISTINCT nhs_number FROM raw.registrations WHERE nhs_number IS NOT NULL"
            ).fetchall()
        }
    return {
        "code": code,
        "out": out,
        "home": home,
        "reports": reports,
        "faults": json.loads((out / "faults.json").read_text()),
        "ignored": ignored,
        "delivered_nhs": delivered_nhs,
    }


def test_the_run_completes(run):
    assert run["code"] == 0
    assert {f["expected"] for f in run["faults"]} >= {
        "quarantine_row",
        "ignore_row",
        "reject_file",
        "reject_month",
        "missing_practice",
        "load",
    }


def handled(fault: dict, run: dict) -> bool:
    report = run["reports"].get(fault["month"])
    files = {file["path"]: file for file in report["files"]} if report else {}
    file = files.get(fault["path"])
    expected = fault["expected"]
    if expected == "quarantine_row":
        return file is not None and {"line": fault["line"]} in [
            {"line": q["line"]} for q in file["quarantined_lines"]
        ]
    if expected == "ignore_row":
        return (fault["month"], fault["path"], fault["line"]) in run["ignored"]
    if expected == "reject_file":
        return file is not None and file["status"] == "rejected" and file["staged_rows"] == 0
    if expected == "reject_month":
        return report is not None and report["status"] != "loaded" and report["files"] == []
    if expected == "missing_practice":
        return report is not None and fault["path"].split("/")[1] in report["missing_practices"]
    if expected == "load":
        return file is not None and file["status"] == "loaded" and file["staged_rows"] > 0
    raise AssertionError(f"unknown expectation {expected}")


def test_every_fault_is_handled_as_expected(run):
    unhandled = [fault for fault in run["faults"] if not handled(fault, run)]
    assert unhandled == []


def test_every_delivered_row_is_accounted_for(run):
    for report in run["reports"].values():
        for file in report["files"]:
            assert (
                file["delivered_rows"]
                == file["staged_rows"] + file["quarantined_rows"] + file["ignored_rows"]
            ), file


def test_only_faulty_rows_are_quarantined(run):
    """Good rows beside the bad ones load: each quarantined line is a listed fault."""
    listed = {
        (f["month"], f["path"], f["line"])
        for f in run["faults"]
        if f["expected"] == "quarantine_row"
    }
    quarantined = {
        (month, file["path"], q["line"])
        for month, report in run["reports"].items()
        for file in report["files"]
        for q in file["quarantined_lines"]
    }
    assert quarantined == listed


def test_reports_have_the_documented_shape(run):
    for month, report in run["reports"].items():
        assert list(report) == [
            "month",
            "manifest_sha256",
            "status",
            "files",
            "missing_practices",
            "warnings",
        ]
        assert report["month"] == month
        # The delivery the report is of; a month without its manifest delivered nothing yet.
        assert (report["manifest_sha256"] is None) == (report["status"] == "incomplete")
        for file in report["files"]:
            assert list(file) == [
                "path",
                "status",
                "reason",
                "delivered_rows",
                "staged_rows",
                "quarantined_rows",
                "ignored_rows",
                "quarantined_lines",
            ]
            assert file["status"] in ("loaded", "rejected")
        assert (run["home"] / "reports" / "data_quality" / f"{month}.html").is_file()
    assert (run["home"] / "reports" / "data_docs" / "index.html").is_file()


def test_no_report_holds_an_nhs_number(run):
    delivered = run["delivered_nhs"]
    assert delivered
    folders = [run["home"] / "reports" / "data_quality", run["home"] / "reports" / "data_docs"]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.suffix not in (".json", ".html"):
                continue
            numbers = set(
                re.findall(r"(?<![0-9])[0-9]{10}(?![0-9])", path.read_text(encoding="utf-8"))
            )
            leaked = {
                n
                for n in numbers
                if n in delivered or (n.startswith("999") and is_valid_nhs_number(n))
            }
            assert not leaked, path
    with connect(run["home"] / "warehouse.duckdb", read_only=True) as connection:
        values = connection.execute(
            "SELECT offending_value FROM quarantine.rows UNION ALL SELECT offending_value FROM quarantine.ignored_rows "
            "UNION ALL SELECT offending_value FROM quarantine.row_warnings"
        ).fetchall()
    assert not [v for (v,) in values if v and re.search(r"[0-9]{10}", v) and v in delivered]
