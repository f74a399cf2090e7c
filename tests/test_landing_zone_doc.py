"""docs/landing-zone.md, the project's supplier spec, agrees with the code that rests on it.

The contracts are checked against it in tests/data_contracts/test_contracts.py; here, the
layout, the manifest, and the generator's own constants and output. Everything read is in
this repository: nothing skips.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import synthetic
from tests.data_contracts.spec_tables import (
    layout,
    long_term_condition_codes,
    manifest_columns,
    spec_feeds,
)
from tests.synthetic import spec
from warehouse.deliveries import MANIFEST_COLUMNS


def layout_files() -> list[str]:
    """Each file of the layout block, as a path pattern under <landing>/."""
    files, folders = [], []
    for line in layout():
        depth = (len(line) - len(line.lstrip())) // 2
        folders[depth:] = [line.strip()]
        if line.endswith(".csv"):
            files.append("".join(folders).removeprefix("<landing>/"))
    return files


def test_every_file_in_the_layout_has_its_own_section() -> None:
    files = [path.removeprefix("extracts/<YYYY-MM>/") for path in layout_files()]
    assert sorted(files) == sorted(
        [heading for heading, _ in spec_feeds().values()] + ["manifest.csv"]
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A tiny generated landing zone: two months of 40 people."""
    folder = tmp_path_factory.mktemp("zone")
    synthetic.generate(folder, people=40, months=2, seed=3, start="2024-01")
    return folder / "landing"


def test_the_generator_writes_the_layouts_files_and_no_other(generated: Path) -> None:
    patterns = [
        re.compile(
            re.escape(path)
            .replace(re.escape("<YYYY-MM>"), r"\d{4}-\d{2}")
            .replace(re.escape("<practice_code>"), r"[A-Z]\d{5}")
            + "$"
        )
        for path in layout_files()
    ]
    written = sorted(
        p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file()
    )
    assert written
    for path in written:
        assert any(pattern.match(path) for pattern in patterns), f"{path} is not in the layout"
    for pattern in patterns:
        assert any(pattern.match(path) for path in written), f"no file {pattern.pattern}"


def test_the_manifest_columns_are_the_loaders_and_the_generators(generated: Path) -> None:
    assert manifest_columns() == MANIFEST_COLUMNS
    for manifest in sorted(generated.glob("extracts/*/manifest.csv")):
        with manifest.open(newline="") as handle:
            assert tuple(next(csv.reader(handle))) == manifest_columns(), manifest


def test_the_generator_writes_each_files_columns_in_the_specs_order(generated: Path) -> None:
    expected = {
        heading: [column.name for column in columns] for heading, columns in spec_feeds().values()
    }
    for path in sorted(generated.rglob("*.csv")):
        if path.name == "manifest.csv":
            continue
        relative = path.relative_to(generated).as_posix()
        heading = re.sub(r"^extracts/\d{4}-\d{2}/", "", relative)
        heading = re.sub(r"^gp/[A-Z]\d{5}/", "gp/<practice_code>/", heading)
        with path.open(newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == expected[heading], relative


def test_the_generator_tests_constants_are_the_docs() -> None:
    feeds = spec_feeds()
    headers = {
        heading if heading.startswith("reference/") else feed: [column.name for column in columns]
        for feed, (heading, columns) in feeds.items()
    }
    assert headers == spec.HEADERS
    assert {
        c.name for _, columns in feeds.values() for c in columns if not c.required
    } == spec.NULLABLE

    def codes(feed: str, column: str) -> frozenset[str]:
        return next(c for c in feeds[feed][1] if c.name == column).code_set

    assert codes("registrations", "sex") == spec.SEX
    assert codes("registrations", "ethnic_category") == spec.ETHNIC
    assert codes("consultations", "mode") == spec.MODES
    assert codes("consultations", "clinician") == spec.CLINICIANS
    assert codes("observations", "snomed_code") == spec.OBSERVATION_CODES
    assert codes("outpatients", "attendance_status") == spec.ATTENDANCE_STATUS
    assert codes("admissions", "admission_method") == spec.ADMISSION_METHODS
    assert codes("services", "service_type") == spec.SERVICE_TYPES
    assert set(long_term_condition_codes()) == spec.LTC_CODES
