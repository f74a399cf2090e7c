"""Reads the landing-zone spec's tables, independently of the contracts, for the tests.

The spec (docs/landing-zone.md in this repository) is the authority the contracts must
follow; parsing it here is what makes a test fail when a contract drifts. The parser is
strict: a section it expects but cannot find, or a table laid out differently, fails the
test with a message, never a silently empty result. It accepts a file heading written
either as `## gp/<practice_code>/x.csv` or as `## Title: `gp/<practice_code>/x.csv``, at
heading level 2 or 3.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC_PATH = REPOSITORY / "docs" / "landing-zone.md"

# The spec's "type" column, read as the DuckDB type of the staged column.
SPEC_TYPES = {
    "date": "DATE",
    "Y/N": "BOOLEAN",
    "1-10": "INTEGER",
    "number": "DOUBLE",
}
FEED_HEADER = ("column", "type", "notes")
MANIFEST_HEADER = ("column", "meaning")
CODE_LIST_HEADER = ("condition", "concept id")
LONG_TERM_CONDITION_HEADING = "Long-term-condition code list"

_HEADING = re.compile(r"^#{2,3} (.+)$", flags=re.MULTILINE)
# A file heading ends with the file's path, in backticks or not.
_FILE_HEADING = re.compile(r"(?:^|\s)`?([A-Za-z0-9_<>/]+\.csv)`?$")


class SpecFormatError(AssertionError):
    """The spec does not have the section or table layout the tests read."""


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

    @property
    def code_set(self) -> frozenset[str]:
        """The codes, with each range (`A`-`H`, `21`-`28`, `2A`-`2D`) written out."""
        codes = set(self.codes)
        for first, last in re.findall(r"`([^`]+)`-`([^`]+)`", self.notes):
            if len(first) != len(last) or first[:-1] != last[:-1] or first[-1] > last[-1]:
                raise SpecFormatError(f"{self.name}: cannot read the range {first}-{last}")
            prefix = first[:-1]
            codes |= {prefix + chr(c) for c in range(ord(first[-1]), ord(last[-1]) + 1)}
        return frozenset(codes)


def spec_text(path: Path = SPEC_PATH) -> str:
    return path.read_text(encoding="utf-8")


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every level-2 and level-3 heading, in document order."""
    headings = list(_HEADING.finditer(text))
    return [
        (match.group(1).strip(), text[match.end() : following.start() if following else len(text)])
        for match, following in zip(headings, [*headings[1:], None], strict=True)
    ]


def _table(body: str, header: tuple[str, ...], where: str) -> list[tuple[str, ...]]:
    """The rows of the first table in a section's body, checked against its header."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if start is None:
        raise SpecFormatError(f"{where}: no table")
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
    if (
        len(table) < 3
        or table[0] != header
        or not all(set(cell) <= {"-", ":"} for cell in table[1])
    ):
        raise SpecFormatError(
            f"{where}: expected a table headed {header} with rows, found {table[:2]}"
        )
    rows = table[2:]
    for row in rows:
        if len(row) != len(header) or not row[0]:
            raise SpecFormatError(f"{where}: malformed row {row}")
    return rows


def _file_path(heading: str) -> str | None:
    match = _FILE_HEADING.search(heading)
    return match.group(1) if match else None


def spec_feeds(path: Path = SPEC_PATH) -> dict[str, tuple[str, tuple[SpecColumn, ...]]]:
    """Feed name -> (the heading's path, its columns in spec order)."""
    feeds: dict[str, tuple[str, tuple[SpecColumn, ...]]] = {}
    for heading, body in _sections(spec_text(path)):
        file_path = _file_path(heading)
        if file_path is None or file_path == "manifest.csv":
            continue
        rows = _table(body, FEED_HEADER, f"{path.name}, section {heading!r}")
        feed = Path(file_path).stem
        if feed in feeds:
            raise SpecFormatError(f"{path.name}: two sections for {feed}")
        feeds[feed] = (file_path, tuple(SpecColumn(*row) for row in rows))
    if not feeds:
        raise SpecFormatError(f"{path.name}: no file sections (headings ending in a .csv path)")
    return feeds


def _section(path: Path, name: str, matches: Callable[[str], bool]) -> str:
    sections = [body for heading, body in _sections(spec_text(path)) if matches(heading)]
    if len(sections) != 1:
        raise SpecFormatError(f"{path.name}: expected one {name} section, found {len(sections)}")
    return sections[0]


def manifest_columns(path: Path = SPEC_PATH) -> tuple[str, ...]:
    body = _section(path, "manifest.csv", lambda heading: _file_path(heading) == "manifest.csv")
    return tuple(row[0] for row in _table(body, MANIFEST_HEADER, f"{path.name}, manifest.csv"))


def long_term_conditions(path: Path = SPEC_PATH) -> tuple[tuple[str, str], ...]:
    """(condition, SNOMED CT concept id) in the spec's order."""
    body = _section(
        path,
        LONG_TERM_CONDITION_HEADING,
        lambda heading: heading.startswith(LONG_TERM_CONDITION_HEADING),
    )
    rows = _table(body, CODE_LIST_HEADER, f"{path.name}, {LONG_TERM_CONDITION_HEADING}")
    return tuple((condition, code) for condition, code in rows)


def long_term_condition_codes(path: Path = SPEC_PATH) -> tuple[str, ...]:
    return tuple(code for _, code in long_term_conditions(path))


def layout(path: Path = SPEC_PATH) -> tuple[str, ...]:
    """The folder tree: each line of the layout block up to its comment, indentation kept."""
    blocks = re.findall(
        r"^```\n(<landing>/\n.*?)^```", spec_text(path), flags=re.MULTILINE | re.DOTALL
    )
    if len(blocks) != 1:
        raise SpecFormatError(
            f"{path.name}: expected one layout block starting <landing>/, found {len(blocks)}"
        )
    return tuple(re.sub(r"(\S)\s{2,}.*$", r"\1", line).rstrip() for line in blocks[0].splitlines())
