"""Hostile input, property-based: whatever one file of a month holds, the load stays clean.

Each example takes the small month of tests/supplier.py, corrupts one of its files (random
bytes, NUL bytes, a BOM, mixed line ends, a very long field, thousands of columns, an
unbalanced quote, huge numbers, impossible dates, a truncation, a field too many or too
few), writes a manifest for it (counting rows as a supplier would, one row a line, or
left stale), then loads and stages the month as the pipeline does. Properties:

* nothing raises but the project's own clean error (``InputError``);
* every rejected file has a reason, and a reason about a line names the data row;
* every malformed line is a real data row of its file, and nothing of it but its shape
  is kept;
* every delivered row is staged, quarantined or ignored (reconciliation holds), and a
  loaded file delivered exactly the rows its manifest says;
* no whole NHS number reaches the quarantine tables.

Deterministic (``derandomize``) and small, so CI gives the same verdict every run.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import supplier
from warehouse.connection import connect
from warehouse.deliveries import delivery_report, load_month
from warehouse.errors import InputError
from warehouse.reference import known_practices, load_reference
from warehouse.staged import reconcile_month, stage_month, stage_reference

MONTH = "2024-01"
FILES = supplier.month_files(MONTH)
PATHS = sorted(FILES)
NHS_NUMBER = re.compile(r"(?<![0-9])[0-9]{10}(?![0-9])")
MALFORMED_REASON = re.compile(
    r"\d+ fields? where the header has \d+|a quote that is not closed on its line|"
    r"text after a closing quote|a carriage return inside an unquoted field|"
    r"a field longer than [0-9,]+ characters|malformed CSV"
)


def lines_of(content: bytes) -> list[bytes]:
    return content.split(b"\n")


def rejoin(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[str, bytes]:
    """One file of the month and its corrupted content."""
    path = draw(st.sampled_from(PATHS))
    content = FILES[path]
    lines = lines_of(content)
    data_lines = max(1, len(lines) - 2)  # header first, empty after the last \n
    where = draw(st.integers(0, len(content)))
    line = draw(st.integers(1, data_lines))
    kind = draw(
        st.sampled_from(
            [
                "random bytes",
                "nul bytes",
                "bom",
                "mixed line ends",
                "long field",
                "many columns",
                "unbalanced quote",
                "huge number",
                "impossible date",
                "truncated",
                "field too many",
                "field too few",
                "blank lines",
            ]
        )
    )
    if kind == "random bytes":
        content = draw(st.binary(min_size=0, max_size=300))
    elif kind == "nul bytes":
        content = content[:where] + b"\x00" * draw(st.integers(1, 3)) + content[where:]
    elif kind == "bom":
        content = b"\xef\xbb\xbf" + content
    elif kind == "mixed line ends":
        ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=len(lines)))
        text = b"".join(
            part.rstrip(b"\r") + end for part, end in zip(lines[:-1], ends, strict=False)
        )
        content = text + lines[-1]
    elif kind == "long field":
        size = draw(st.sampled_from([70_000, 140_000, 2_200_000]))
        lines[line] = lines[line].replace(b",", b"," + b"x" * size + b",", 1)[: -1 or None]
        content = rejoin(lines)
    elif kind == "many columns":
        target = draw(st.sampled_from([0, line]))
        count = draw(st.sampled_from([50, 2_000]))
        extra = b"".join(b",c%d" % i for i in range(count))
        lines[target] = lines[target].rstrip(b"\r") + extra + b"\r"
        content = rejoin(lines)
    elif kind == "unbalanced quote":
        content = content[:where] + b'"' + content[where:]
    elif kind == "huge number":
        number = draw(st.sampled_from([b"9" * 400, b"1e999", b"-1e-999", b"NaN", b"Infinity"]))
        content = re.sub(rb"(?<=,)[0-9]{1,3}(?=[,\r\n])", number, content, count=1)
    elif kind == "impossible date":
        date = draw(st.sampled_from([b"0000-00-00", b"9999-99-99", b"2024-02-30", b"-001-01-01"]))
        content = re.sub(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}", date, content, count=1)
    elif kind == "truncated":
        content = content[:where]
    elif kind == "field too many":
        lines[line] = lines[line].rstrip(b"\r") + b",surplus\r"
        content = rejoin(lines)
    elif kind == "field too few":
        lines[line] = lines[line].rsplit(b",", 1)[0] + b"\r"
        content = rejoin(lines)
    elif kind == "blank lines":
        lines.insert(line, b"\r")
        content = rejoin(lines)
    return path, content


def written_rows(content: bytes) -> int:
    """Rows as a supplier writing one row a line counts them: non-blank lines after the header."""
    return sum(1 for line in re.split(rb"\r?\n", content)[1:] if line.strip(b"\r"))


def manifest_for(files: dict[str, bytes], rows: dict[str, int]) -> bytes:
    return supplier.csv_bytes(
        [
            {"path": path, "rows": str(rows[path]), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in sorted(files.items())
        ],
        ["path", "rows", "sha256"],
    )


def reader_rows(content: bytes) -> int:
    """Rows as Python's csv reader counts them (a supplier using it), or as lines if it fails."""
    try:
        return supplier.count_rows(content)
    except csv.Error:  # e.g. a field over the reader's size limit
        return written_rows(content)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, bytes]:
    """A corrupted file and the month's manifest for it (fresh with either count, or stale)."""
    path, content = draw(corrupted())
    rows = {name: supplier.count_rows(data) for name, data in FILES.items()}
    counting = draw(st.sampled_from(["csv reader", "lines written", "stale"]))
    if counting == "stale":
        return path, content, manifest_for(FILES, rows)
    rows[path] = reader_rows(content) if counting == "csv reader" else written_rows(content)
    return path, content, manifest_for({**FILES, path: content}, rows)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(deliveries())
def test_any_corruption_of_one_file_is_handled_cleanly(delivery: tuple[str, bytes, bytes]):
    path, content, manifest = delivery
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder) / "landing"
        supplier.write_landing(landing, months=())
        supplier.write_month(landing, MONTH, {**FILES, path: content}, manifest=manifest)
        connection = connect(Path(folder) / "warehouse.duckdb")
        try:
            load_reference(connection, landing)
            stage_reference(connection)
            outcome = load_month(connection, landing, MONTH, known_practices(connection))
            stage_month(connection, MONTH)
            reconciliation = reconcile_month(connection, MONTH)
            quarantined = [
                value
                for (value,) in connection.execute(
                    "SELECT offending_value FROM quarantine.rows UNION ALL "
                    "SELECT offending_value FROM quarantine.ignored_rows UNION ALL "
                    "SELECT offending_value FROM quarantine.row_warnings"
                ).fetchall()
                if value
            ]
        except InputError as error:  # the project's clean error: names what is wrong
            assert str(error) and "Traceback" not in str(error)
            return
        finally:
            connection.close()

    assert outcome.status == "loaded"
    assert {file.path for file in outcome.files} >= set(FILES)
    for file in outcome.files:
        if file.status == "rejected":
            assert file.reason, file.path
            if "header" not in file.reason and re.search(r"malformed|UTF-8|quote", file.reason):
                assert re.search(r"data row \d+", file.reason), (file.path, file.reason)
        else:
            assert file.loaded_rows == file.manifest_rows, file.path
            for line in file.malformed:
                assert 1 <= line.line <= file.loaded_rows
                assert MALFORMED_REASON.fullmatch(line.reason), line.reason  # shape, no content
    assert delivery_report(outcome)["files"]
    for file in reconciliation:
        assert file.reconciles, file
    delivered = {file.source_file: file.delivered_rows for file in reconciliation}
    for file in outcome.files:
        assert delivered[file.path] == file.loaded_rows, file.path
    assert not [value for value in quarantined if NHS_NUMBER.search(value)]
