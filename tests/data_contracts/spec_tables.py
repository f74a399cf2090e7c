"""Reads the landing-zone spec's tables, independently of the contracts, for the tests.

The spec (../shared/spec/extract-feed.md beside the repository) is the authority the
contracts must follow; parsing it here is what makes a test fail when a contract drifts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "extract-feed.md"

# The spec's "type" column, read as the DuckDB type of the staged column.
SPEC_TYPES = {
    "date": "DATE",
    "Y/N": "BOOLEAN",
    "1-10": "INTEGER",
    "number": "DOUBLE",
}


@dataclass(frozen=True)
class SpecColumn:
    name: str
    spec_type: str
    notes: str

    @property
    def physical_type(self) -> str:
        return SPEC_TYPES.get(self.spec_type, "VARCHAR")

    @property
    def required(self) -> bool:
        # "Every column is required (non-empty) unless its notes below say it may be null."
        return re.search(r"\bnull\b", self.notes) is None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(re.findall(r"`([^`]+)`", self.notes))


def spec_text() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


def _table_rows(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append(cells)
    # Drop the header and the --- separator.
    return rows[2:]


def spec_feeds() -> dict[str, tuple[str, tuple[SpecColumn, ...]]]:
    """Feed name -> (the heading's path, its columns in spec order)."""
    feeds = {}
    sections = re.split(r"^## ", spec_text(), flags=re.MULTILINE)
    for section in sections[1:]:
        heading, _, body = section.partition("\n")
        heading = heading.strip()
        if not heading.endswith(".csv") or heading == "manifest.csv":
            continue
        columns = tuple(
            SpecColumn(name=row[0], spec_type=row[1], notes=row[2])
            for row in _table_rows(body.splitlines())
        )
        feeds[Path(heading).stem] = (heading, columns)
    return feeds


def long_term_condition_codes() -> tuple[str, ...]:
    section = spec_text().split("## Long-term-condition code list", 1)[1]
    return tuple(row[1] for row in _table_rows(section.splitlines()[1:]))
