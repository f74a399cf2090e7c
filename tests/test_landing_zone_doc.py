"""docs/landing-zone.md, the project's own copy of the landing-zone spec, and what rests on it.

The copy was written from the shared extract-feed specification agreed with the
suppliers (../shared/spec/extract-feed.md, which CI lays beside the repository). When
that file is there, every fact the tests parse must be the same in both documents; a
clone of the repository alone has only its own copy, and skips the comparison. This is
the one test that reads ../shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_contracts.spec_tables import (
    REPOSITORY,
    SPEC_PATH,
    layout,
    long_term_condition_codes,
    long_term_conditions,
    manifest_columns,
    spec_feeds,
)
from tests.synthetic import spec

SHARED_SPEC = REPOSITORY.parent / "shared" / "spec" / "extract-feed.md"


def spec_facts(path: Path) -> dict[str, object]:
    """Every fact the tests read from a spec: each table's columns, types, code lists."""
    feeds = {
        feed: (heading, [(c.name, c.spec_type, c.required, c.codes) for c in columns])
        for feed, (heading, columns) in spec_feeds(path).items()
    }
    return {
        **{f"file {heading}": columns for heading, columns in feeds.values()},
        "files": [heading for heading, _ in feeds.values()],
        "manifest.csv columns": manifest_columns(path),
        "long-term conditions": long_term_conditions(path),
        "layout": layout(path),
    }


def test_the_project_copy_states_the_shared_specs_facts() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip(f"no shared spec beside the repository ({SHARED_SPEC}): nothing to compare")
    ours, shared = spec_facts(SPEC_PATH), spec_facts(SHARED_SPEC)
    assert list(ours) == list(shared)
    for fact, value in shared.items():
        assert ours[fact] == value, fact


def test_every_file_in_the_layout_has_its_own_section() -> None:
    files, folders = [], []
    for line in layout():
        depth = (len(line) - len(line.lstrip())) // 2
        folders[depth:] = [line.strip()]
        if line.endswith(".csv"):
            files.append(
                "".join(folders).removeprefix("<landing>/").removeprefix("extracts/<YYYY-MM>/")
            )
    assert sorted(files) == sorted(
        [heading for heading, _ in spec_feeds().values()] + ["manifest.csv"]
    )


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
