"""Read a delivered CSV record by record, setting aside malformed lines instead of the file.

DuckDB's strict reader (``deliveries.parse_rows``) reads a well-formed file fast and
refuses a malformed one whole. When it refuses one, or reads a different number of rows
than the manifest says, the loader asks this module instead: it reads the same CSV
dialect (RFC 4180: ``,`` between fields, ``"`` quotes, ``""`` inside quotes, lines ending
``\\n`` or ``\\r\\n``, blank lines skipped) with Python's ``csv`` module in strict mode, one
record at a time, so that one bad line costs that line only:

* a record whose number of fields differs from the header's is malformed;
* a record the strict reader refuses (a character after a closing quote, a carriage
  return inside an unquoted field, a field over the size limit) is malformed;
* a quote that is never closed would swallow the rest of the file: its first physical
  line is malformed, and reading starts again on the next line. So does a record spanning
  several lines that turns out malformed, since the span was only a guess.

Every record, good or malformed, is a data row numbered from 1 (header not counted), as
the manifest counts them. A malformed line's reason says what is wrong with its shape and
never quotes its content (it could hold an NHS number).
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass

# Python's csv default (process-wide, left as it is); a longer field is a malformed line.
FIELD_SIZE_LIMIT = 131_072
UNCLOSED = "a quote that is not closed on its line"


@dataclass(frozen=True)
class MalformedLine:
    """A data row set aside whole: its number and what is wrong with its shape."""

    line: int
    reason: str


@dataclass(frozen=True)
class Records:
    """The good records (data-row number, fields) and the malformed ones, in file order."""

    rows: list[tuple[int, list[str]]]
    malformed: list[MalformedLine]

    @property
    def delivered_rows(self) -> int:
        return len(self.rows) + len(self.malformed)


def split_records(text: str, columns: int) -> Records:
    """Every data record of `text` (the whole file, decoded, header line first)."""
    lines = _physical_lines(text)[1:]  # the header is the first line (deliveries.read_header)
    rows: list[tuple[int, list[str]]] = []
    malformed: list[MalformedLine] = []
    start = 0  # physical line (0-based, after the header) where the current reader began
    while start < len(lines):
        start = _read_from(lines, start, columns, rows, malformed)
    return Records(rows, malformed)


def _read_from(
    lines: list[str],
    start: int,
    columns: int,
    rows: list[tuple[int, list[str]]],
    malformed: list[MalformedLine],
) -> int:
    """Read records from physical line `start`; the line to restart from, or len(lines)."""
    reader = csv.reader(itertools.islice(lines, start, None), strict=True)
    consumed = 0  # physical lines the reader has consumed
    while True:
        first = start + consumed
        try:
            fields = next(reader)
        except StopIteration:
            return len(lines)
        except csv.Error as error:
            spanned = reader.line_num - consumed > 1
            _set_aside(rows, malformed, UNCLOSED if spanned else _describe(str(error)))
            return first + 1
        spanned = reader.line_num - consumed > 1
        consumed = reader.line_num
        if not fields:  # a blank line is no record (DuckDB skips it too)
            continue
        if len(fields) == columns:
            rows.append((len(rows) + len(malformed) + 1, fields))
            continue
        if spanned:  # the quoted span was a guess: its other lines are read again
            _set_aside(rows, malformed, UNCLOSED)
            return first + 1
        found = f"{len(fields)} field" + ("" if len(fields) == 1 else "s")
        _set_aside(rows, malformed, f"{found} where the header has {columns}")


def _set_aside(
    rows: list[tuple[int, list[str]]], malformed: list[MalformedLine], reason: str
) -> None:
    malformed.append(MalformedLine(len(rows) + len(malformed) + 1, reason))


def _describe(error: str) -> str:
    if "unexpected end of data" in error:
        return UNCLOSED
    if "expected after" in error:
        return "text after a closing quote"
    if "new-line character" in error:
        return "a carriage return inside an unquoted field"
    if "field larger than field limit" in error:
        return f"a field longer than {FIELD_SIZE_LIMIT:,} characters"
    return "malformed CSV"


def _physical_lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only, each keeping its end (a bare ``\\r`` ends no line)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
