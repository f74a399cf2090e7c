"""faults.json lists exactly the delivery faults that are really in the files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthetic import GenerationSummary
from synthetic.nhs_numbers import is_valid
from tests.synthetic.spec import (
    ADMISSION_METHODS,
    CLINICIANS,
    ETHNIC,
    HEADERS,
    ID_COLUMN,
    MODES,
    SEX,
    kind_of,
)

CODE_LISTS = {
    "mode": MODES,
    "clinician": CLINICIANS,
    "sex": SEX,
    "ethnic_category": ETHNIC,
    "admission_method": ADMISSION_METHODS,
    "arrived_by_ambulance": {"Y", "N"},
    "admitted": {"Y", "N"},
}
REQUIRED_KINDS = {
    "bad_nhs_number",
    "impossible_date",
    "unknown_code",
    "missing_required_value",
    "duplicate_resend",
    "duplicate_conflict",
    "missing_column",
    "bad_encoding",
    "truncated_file",
    "manifest_mismatch",
    "missing_manifest",
    "missing_practice",
    "column_order",
    "extra_column",
    "crlf_line_endings",
}


@pytest.fixture(scope="module")
def faults(faulty: GenerationSummary) -> list[dict[str, Any]]:
    assert faulty.faults is not None
    return json.loads(faulty.faults.read_text(encoding="utf-8"))


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_bytes().decode("utf-8").replace("\r\n", "\n").rstrip("\n").split("\n")
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def _manifest(folder: Path) -> dict[str, tuple[int, str]]:
    manifest = pl.read_csv(folder / "manifest.csv", infer_schema=False)
    return {path: (int(rows), digest) for path, rows, digest in manifest.iter_rows()}


def _agrees(folder: Path, path: str, entry: tuple[int, str]) -> bool:
    data = (folder / path).read_bytes()
    return hashlib.sha256(data).hexdigest() == entry[1] and data.count(b"\n") - 1 == entry[0]


def test_every_fault_kind_is_present_and_few(faults: list[dict[str, Any]]) -> None:
    assert {fault["kind"] for fault in faults} == REQUIRED_KINDS
    assert len(faults) < 40
    for fault in faults:
        assert set(fault) == {"kind", "month", "path", "line", "column", "expected"}
        assert fault["expected"] in {
            "quarantine_row",
            "ignore_row",
            "reject_file",
            "reject_month",
            "missing_practice",
            "load",
        }


def test_row_faults_are_where_faults_json_says(
    faulty: GenerationSummary, faults: list[dict[str, Any]]
) -> None:
    extracts = faulty.landing / "extracts"
    for fault in faults:
        if fault["expected"] not in {"quarantine_row", "ignore_row"}:
            continue
        folder = extracts / fault["month"]
        header, rows = _rows(folder / fault["path"])
        row = dict(zip(header, rows[fault["line"] - 1], strict=True))
        kind, column = fault["kind"], fault["column"]
        value = row.get(column) if column else None
        if kind == "bad_nhs_number":
            assert value is not None and not is_valid(value)
        elif kind == "impossible_date":
            assert value is not None
            if column == "discharge_date":
                assert value < row["admission_date"]
            elif column == "date_of_birth":
                assert value > row["registration_date"]
            else:
                try:
                    parsed = pl.Series([value]).str.to_date(strict=True)[0]
                except pl.exceptions.ComputeError:
                    parsed = None
                assert parsed is None or str(parsed)[:7] != fault["month"], value
        elif kind == "unknown_code":
            assert value not in CODE_LISTS[column]
        elif kind == "missing_required_value":
            assert value == ""
        elif kind == "duplicate_conflict":
            id_column = ID_COLUMN[kind_of(fault["path"])]
            earlier = [
                other
                for other in rows[: fault["line"] - 1]
                if other[header.index(id_column)] == row[id_column]
            ]
            assert earlier and all(other != rows[fault["line"] - 1] for other in earlier)
        elif kind == "duplicate_resend":
            repeated = rows[fault["line"] - 1]
            earlier = rows[: fault["line"] - 1]
            for month_folder in sorted(extracts.iterdir()):
                if month_folder.name < fault["month"] and (month_folder / fault["path"]).exists():
                    earlier += _rows(month_folder / fault["path"])[1]
            assert repeated in earlier
        else:
            raise AssertionError(f"unexpected row fault {kind}")


def test_file_and_month_faults_are_real(
    faulty: GenerationSummary, faults: list[dict[str, Any]]
) -> None:
    extracts = faulty.landing / "extracts"
    practices = set(
        pl.read_csv(faulty.landing / "reference/practices.csv", infer_schema=False)["practice_code"]
    )
    for fault in faults:
        folder = extracts / fault["month"]
        kind, path = fault["kind"], fault["path"]
        if kind == "missing_manifest":
            assert fault["month"] == faulty.last_month and not (folder / "manifest.csv").exists()
            continue
        manifest = _manifest(folder)
        if kind == "missing_practice":
            assert not (folder / path).exists() and path.split("/")[1] in practices
            assert not any(listed.startswith(path + "/") for listed in manifest)
        elif kind == "missing_column":
            header = (folder / path).read_bytes().split(b"\n", 1)[0].decode().split(",")
            assert fault["column"] not in header and _agrees(folder, path, manifest[path])
        elif kind == "bad_encoding":
            with pytest.raises(UnicodeDecodeError):
                (folder / path).read_bytes().decode("utf-8")
            assert _agrees(folder, path, manifest[path])
        elif kind == "truncated_file":
            assert not (folder / path).read_bytes().endswith(b"\n")
            assert not _agrees(folder, path, manifest[path])
        elif kind == "manifest_mismatch":
            if not (folder / path).exists():
                assert path in manifest
            elif path not in manifest:
                assert (folder / path).exists()
            else:
                assert not _agrees(folder, path, manifest[path])
        elif fault["expected"] == "load":
            assert _agrees(folder, path, manifest[path])
            data = (folder / path).read_bytes()
            header = data.split(b"\n", 1)[0].decode().rstrip("\r").split(",")
            spec = HEADERS[kind_of(path)]
            if kind == "column_order":
                assert sorted(header) == sorted(spec) and header != spec
            elif kind == "extra_column":
                assert header == [*spec, fault["column"]]
            else:
                assert data.count(b"\r\n") == data.count(b"\n")


def test_manifests_disagree_only_where_faults_json_says(
    faulty: GenerationSummary, faults: list[dict[str, Any]]
) -> None:
    listed = {
        (fault["month"], fault["path"])
        for fault in faults
        if fault["kind"] in {"manifest_mismatch", "truncated_file"}
    }
    found = set()
    for folder in sorted((faulty.landing / "extracts").iterdir()):
        if not (folder / "manifest.csv").exists():
            continue
        manifest = _manifest(folder)
        present = {path.relative_to(folder).as_posix() for path in folder.rglob("*.csv")} - {
            "manifest.csv"
        }
        for path in present | set(manifest):
            if (
                path not in manifest
                or path not in present
                or not _agrees(folder, path, manifest[path])
            ):
                found.add((folder.name, path))
    assert found == listed
