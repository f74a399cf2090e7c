"""Verify a month's delivery against its manifest and load it into the raw layer.

The raw layer holds every delivered row of every accepted file as text, with its
delivery month, file and 1-based data-row number, so that every later layer can account
for each row. This module must never:
- load anything from a month folder without `manifest.csv` (it is still being delivered);
- load any row of a file that fails the manifest (digest, row count, presence), lacks a
  required column, is not valid UTF-8, or comes from a GP folder that is not a known
  practice: such a file is rejected alone, with a reason;
- reject a whole file for a malformed line (too many or too few fields, a quote never
  closed, text after a closing quote) when the rest of it parses: the line is recorded in
  raw.malformed_lines (file, data row, what is wrong, never its content) and counts as
  delivered, and staging quarantines it under the rule ``malformed_line``;
- keep rows of an earlier delivery of a month once that month is delivered again, or
  forget that the earlier delivery was made: every delivery's manifest digest stays in
  raw.delivery_history, marked superseded by the one that replaced it, and its report stays
  in reports/deliveries/history/ (``warehouse.report_history``);
- read anything through a symbolic link, or any path resolving outside its month folder:
  a linked file or folder (or a pipe, socket or device) in a month folder is recorded as a
  rejected file with its reason, and a linked month folder or manifest.csv rejects the
  month, before a byte of the target is read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate, groupby
from pathlib import Path

import duckdb
import pyarrow as pa

from data_contracts import Contract, contract_for_path, load_contracts, practice_code_from_path
from warehouse.connection import transaction
from warehouse.csv_records import MalformedLine, Records, split_records
from warehouse.errors import InputError
from warehouse.files import json_bytes, sha256_of_file
from warehouse.months import MONTH_PATTERN
from warehouse.report_history import write_month_report
from warehouse.sql_files import read_sql

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "rows", "sha256")
UNKNOWN_FOLDER_RULE = "practice_folder_known"
# Months a range load reads at once (`load_months`). DuckDB reads a run of files and numbers
# its lines on one thread (a window over no partition keeps the files' order), so loading
# one month at a time leaves the second core idle.
LOADING_WORKERS = 2


@dataclass
class FileOutcome:
    path: str
    feed: str | None
    manifest_rows: int | None
    manifest_sha256: str | None
    status: str = "loaded"  # loaded | rejected
    reason: str | None = None
    loaded_rows: int = 0  # data rows delivered: loaded into raw, or malformed lines
    extra_columns: list[str] = field(default_factory=list)
    malformed: list[MalformedLine] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.status = "rejected"
        self.reason = reason
        self.loaded_rows = 0
        self.malformed = []


@dataclass
class MonthOutcome:
    month: str
    status: str  # loaded | rejected | incomplete
    reason: str | None
    manifest_sha256: str | None
    missing_practices: list[str]
    files: list[FileOutcome]

    @property
    def loaded_rows(self) -> int:
        return sum(outcome.loaded_rows for outcome in self.files)

    @property
    def rejected_files(self) -> int:
        return sum(outcome.status == "rejected" for outcome in self.files)

    @property
    def listed_files(self) -> int:
        """Files the manifest lists (a file present but not listed is not part of the delivery)."""
        return sum(outcome.manifest_sha256 is not None for outcome in self.files)


def extract_months(landing: Path) -> list[str]:
    """The extract month folders present in the landing zone, oldest first."""
    extracts = landing / "extracts"
    if not extracts.is_dir():
        raise InputError(
            f"{extracts} does not exist: a landing zone holds reference/ and extracts/<YYYY-MM>/ "
            "(see docs/landing-zone.md)."
        )
    return sorted(p.name for p in extracts.iterdir() if p.is_dir() and MONTH_PATTERN.match(p.name))


def delivered_months(landing: Path) -> list[str]:
    """Extract months whose delivery is complete (manifest.csv present), oldest first.

    A month folder or manifest.csv that is a symbolic link counts as delivered, so that
    loading it records the month as rejected rather than waiting for it silently.
    """
    return [
        month
        for month in extract_months(landing)
        if linked_month_reason(landing / "extracts" / month) is not None
        or (landing / "extracts" / month / MANIFEST).is_file()
    ]


def linked_month_reason(month_dir: Path) -> str | None:
    """Why the month cannot be read at all (its folder or manifest is a link), or None."""
    if month_dir.is_symlink():
        return (
            f"extracts/{month_dir.name} is a symbolic link: a month is loaded only from a "
            "folder delivered into the landing zone, so nothing in it is read"
        )
    if (month_dir / MANIFEST).is_symlink():
        return "manifest.csv is a symbolic link: it is not read, so no file of the month is loaded"
    return None


def manifest_digest(month_dir: Path) -> str:
    """sha256 of the month's manifest.csv; for a linked month folder or manifest, of the
    link's own text (so a run tells a changed link from the same one, reading no target)."""
    for link in (month_dir, month_dir / MANIFEST):
        if link.is_symlink():
            return hashlib.sha256(
                f"symlink {link.name} -> {os.readlink(link)}".encode()
            ).hexdigest()
    return sha256_of_file(month_dir / MANIFEST)


def ensure_raw_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables: one per feed (all text) and the delivery bookkeeping tables."""
    connection.execute(read_sql("raw/delivery_months.sql"))
    connection.execute(read_sql("raw/delivery_files.sql"))
    connection.execute(read_sql("raw/delivery_history.sql"))
    connection.execute(read_sql("raw/malformed_lines.sql"))
    connection.execute(read_sql("raw/reference_files.sql"))
    for contract in load_contracts().values():
        columns = ",\n    ".join(f"{quote(name)} VARCHAR" for name in contract.column_names)
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS raw.{contract.feed} (\n"
            "    delivery_month VARCHAR,\n    source_file VARCHAR NOT NULL,\n"
            f"    line_number BIGINT NOT NULL,\n    {columns}\n)"
        )


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def read_manifest(path: Path) -> dict[str, tuple[int, str]]:
    """Parse manifest.csv into {path: (rows, sha256)}; an unusable manifest is an InputError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not valid UTF-8 (byte {error.start}).") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}.")
    entries: dict[str, tuple[int, str]] = {}
    for line, row in enumerate(reader, start=1):
        relative = (row["path"] or "").strip()
        rows_text = (row["rows"] or "").strip()
        digest = (row["sha256"] or "").strip().lower()
        if not relative or not rows_text.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise InputError(
                f"{path}, line {line}: each entry needs a path, a whole number of rows and a "
                "64-character hex sha256."
            )
        if relative in entries:
            raise InputError(f"{path}, line {line}: {relative} is listed twice.")
        entries[relative] = (int(rows_text), digest)
    return entries


def files_in_month(month_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The month's regular files (not manifest.csv), and {path: reason} of what is refused.

    Walks the folder without following a link: a symbolic link (to a file or a folder) is
    refused and nothing under it is listed, and so is anything that is not a regular file
    or folder (a pipe would block the loader; a device is not a delivery).
    """
    files: list[str] = []
    refused: dict[str, str] = {}
    folders = [month_dir]
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = Path(entry.path).relative_to(month_dir).as_posix()
                if entry.is_symlink():
                    if relative != MANIFEST:  # a linked manifest rejects the whole month
                        kind = "folder" if Path(entry.path).is_dir() else "file"
                        refused[relative] = (
                            f"a symbolic link to a {kind}: files are loaded only as delivered "
                            "into the month folder, never through a link, so it is not read"
                        )
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    if entry.name != MANIFEST:
                        files.append(relative)
                else:
                    refused[relative] = "not a regular file (a pipe, socket or device): not read"
    return sorted(files), refused


def refused_folder(relative: str, refused: dict[str, str]) -> str | None:
    """The refused folder (a link) that `relative` lies under, if any."""
    parts = relative.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if folder in refused:
            return folder
    return None


def read_header(path: Path) -> list[str]:
    """The header row's column names. Raises ValueError with a reason when unusable."""
    with path.open("rb") as handle:
        first_line = handle.readline()
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"header is not valid UTF-8 (byte {error.start})") from None
    if not text.strip():
        raise ValueError("the file is empty: it has no header row")
    try:
        header = next(csv.reader([text.rstrip("\r\n")], strict=True))
    except csv.Error as error:  # e.g. a bare carriage return, which ends no line here
        raise ValueError(f"header row is malformed CSV ({describe_header_error(error)})") from None
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ValueError(f"column(s) named twice in the header: {', '.join(duplicated)}")
    return header


def describe_header_error(error: csv.Error) -> str:
    message = str(error)
    if "new-line character" in message:
        return "a carriage return inside it: lines end in \\n or \\r\\n"
    if "expected after" in message:
        return "text after a closing quote"
    if "unexpected end of data" in message:
        return "a quote that is not closed"
    if "field larger than field limit" in message:
        return "a column name longer than 131,072 characters"
    return "unreadable"


def require_columns(header: list[str], contract: Contract) -> None:
    """Raise ValueError naming every column of the contract the header lacks."""
    missing = [name for name in contract.column_names if name not in header]
    if missing:
        raise ValueError(f"missing required column(s): {', '.join(missing)}")


def parse_rows(
    connection: duckdb.DuckDBPyConnection, path: Path, header: list[str], contract: Contract
) -> pa.Table:
    """Every data row of `path` as text, in file order, keeping only the contract's columns.

    Raises ValueError naming the data row when the CSV is malformed or not UTF-8.
    """
    query = f"SELECT {selected_columns(contract)} FROM {csv_reader(header)}"
    try:
        table = connection.sql(query, params=[str(path)]).to_arrow_table()
    except duckdb.Error as error:
        raise ValueError(describe_csv_error(str(error))) from None
    return table.rename_columns(list(contract.column_names))


def csv_reader(header: Sequence[str]) -> str:
    """DuckDB's strict reader of the landing zone's CSV dialect (docs/landing-zone.md), every
    column text, for files whose header is `header`; its one parameter is the path or paths.

    Nothing is sniffed: a file is read as the specification says or refused. Nor is a
    folder of the path read as a column (DuckDB's hive partitioning would take a landing
    zone under ``.../nhs_number=1/`` as giving every row that NHS number).
    """
    columns = (
        "{"
        + ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for name in header)
        + "}"
    )
    return (
        f"read_csv(?, columns = {columns}, header = true, delim = ',', "
        "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        "auto_detect = false, encoding = 'utf-8', parallel = false, hive_partitioning = false)"
    )


def selected_columns(contract: Contract) -> str:
    """The contract's columns, in its order; empty fields, quoted or not, are nulls
    (docs/landing-zone.md, Rules for every file)."""
    return ", ".join(f"NULLIF({quote(name)}, '')" for name in contract.column_names)


def parse_delivered_rows(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    header: list[str],
    contract: Contract,
    manifest_rows: int | None,
) -> tuple[pa.Table, list[int] | None, list[MalformedLine]]:
    """The file's rows (contract columns, text), their data-row numbers (None: 1..n) and
    its malformed lines.

    DuckDB's strict reader first: a well-formed file costs what it always did. Only when it
    refuses the file, or its row count differs from the manifest's, is the file read again
    record by record (``csv_records``), which sets a malformed line aside instead of the
    file. Raises ValueError (rejecting the file) when the file is not UTF-8, or when DuckDB
    refused it and the second reading finds nothing wrong with any line.
    """
    try:
        table = parse_rows(connection, path, header, contract)
    except ValueError as error:
        if str(error).endswith("not valid UTF-8"):
            raise
        records = read_records(path, header)
        if not records.malformed and records.delivered_rows != manifest_rows:
            raise
        return records_table(records, header, contract)
    if table.num_rows == manifest_rows:
        return table, None, []
    records = read_records(path, header)
    if records.malformed and records.delivered_rows == manifest_rows:
        return records_table(records, header, contract)
    return table, None, []


def read_records(path: Path, header: list[str]) -> Records:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n")
        raise ValueError(f"data row {line}: not valid UTF-8") from None
    return split_records(text, len(header))


def records_table(
    records: Records, header: list[str], contract: Contract
) -> tuple[pa.Table, list[int], list[MalformedLine]]:
    """The good records as the strict reader would give them: contract columns, '' as null."""
    positions = [header.index(name) for name in contract.column_names]
    columns = {
        name: pa.array([fields[position] or None for _, fields in records.rows], pa.string())
        for name, position in zip(contract.column_names, positions, strict=True)
    }
    table = pa.table(columns) if columns else pa.table({})
    return table, [line for line, _ in records.rows], records.malformed


def describe_csv_error(message: str) -> str:
    """Turn DuckDB's CSV error into one line with a data-row number and no row content."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"data row {int(line.group(1)) - 1}: " if line else ""
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return f"{where}not valid UTF-8"
    if "unterminated quote" in message.lower():
        return f"{where}malformed CSV (unterminated quote; the file may be truncated)"
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if columns:
        return f"{where}malformed CSV ({columns.group(2)} fields where the header has {columns.group(1)})"
    return f"{where}malformed CSV"


def load_month(
    connection: duckdb.DuckDBPyConnection, landing: Path, month: str, known_practices: list[str]
) -> MonthOutcome:
    """Verify `month` against its manifest and replace its raw rows with the accepted files.

    The whole month is replaced in one transaction: a re-delivery leaves nothing of the
    earlier delivery behind, and loading the same delivery twice gives the same tables.
    A month without a manifest is left untouched and reported as incomplete.
    """
    ensure_raw_schema(connection)
    return read_month(connection, landing, month, known_practices)


class RangeStopped(Exception):
    """The range stopped (a month before this one failed, or the caller did) before this
    month's turn to commit: it is rolled back, as it would never have been read."""


def load_months(
    connection: duckdb.DuckDBPyConnection,
    landing: Path,
    months: Sequence[str],
    known_practices: list[str],
    *,
    workers: int = LOADING_WORKERS,
) -> Iterator[MonthOutcome]:
    """`load_month` for each of `months`, oldest first, each in its own transaction; yields
    each month's outcome once it is committed.

    Up to `workers` months are read at once, each on its own DuckDB cursor, but a month
    commits only once the month before it has committed and the caller has finished with its
    outcome (asked for the next one). So whenever the range stops (a month failing, the
    caller failing, or the caller closing the generator), exactly the months loading them one
    after another would have committed are committed, raw holds the same rows in the same
    order, and the error raised is the failing month's own; the months after it roll back.
    """
    ensure_raw_schema(connection)
    if workers <= 1 or len(months) <= 1:
        for month in months:
            yield read_month(connection, landing, month, known_practices)
        return
    taken = [threading.Event() for _ in months]  # the caller has finished with the month
    stopped = threading.Event()  # the range stopped: no month still open may commit

    def load(index: int) -> MonthOutcome:
        def turn() -> None:
            if index:
                taken[index - 1].wait()
            if stopped.is_set():
                raise RangeStopped(months[index])

        with connection.cursor() as cursor:
            return read_month(cursor, landing, months[index], known_practices, turn)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load-month") as pool:
        futures = [pool.submit(load, index) for index in range(len(months))]
        try:
            for index, future in enumerate(futures):
                yield future.result()
                taken[index].set()
        finally:
            stopped.set()  # set before the months waiting for their turn are let go
            for event in taken:
                event.set()
            for future in futures:
                future.cancel()


def read_month(
    connection: duckdb.DuckDBPyConnection,
    landing: Path,
    month: str,
    known_practices: list[str],
    turn: Callable[[], None] = lambda: None,
) -> MonthOutcome:
    """`load_month` on a warehouse whose raw tables exist; `turn` is called inside the
    month's transaction just before it commits (`load_months` waits there for the month
    before it), and before a month still being delivered is noted."""
    month_dir = landing / "extracts" / month
    manifest_path = month_dir / MANIFEST
    if not manifest_path.is_file():
        waiting = MonthOutcome(
            month,
            "incomplete",
            "manifest.csv has not arrived: the month is still being delivered and is not loaded",
            None,
            [],
            [],
        )
        turn()
        record_incomplete(connection, waiting)
        return waiting

    manifest_sha256 = manifest_digest(month_dir)
    linked = linked_month_reason(month_dir)
    if linked is not None:
        refused_month = MonthOutcome(month, "rejected", linked, manifest_sha256, [], [])
        replace_month(connection, refused_month, turn=turn)
        return refused_month
    try:
        manifest = read_manifest(manifest_path)
    except InputError as error:
        unusable = MonthOutcome(month, "rejected", str(error), manifest_sha256, [], [])
        replace_month(connection, unusable, turn=turn)
        return unusable

    regular, refused = files_in_month(month_dir)
    present = set(regular)
    known = set(known_practices)
    outcomes: list[FileOutcome] = []
    to_read: list[tuple[FileOutcome, Contract]] = []
    for relative in sorted(set(manifest) | present | set(refused)):
        rows, digest = manifest.get(relative, (None, None))
        contract = contract_for_path(relative)
        outcome = FileOutcome(relative, contract.feed if contract else None, rows, digest)
        outcomes.append(outcome)
        folder = refused_folder(relative, refused)
        if relative in refused:
            outcome.reject(refused[relative])
            continue
        if folder is not None:
            outcome.reject(f"its folder {folder} is a symbolic link: not read")
            continue
        if relative not in manifest:
            outcome.reject("present in the folder but not listed in manifest.csv")
            continue
        if relative not in present:
            outcome.reject("listed in manifest.csv but absent from the folder")
            continue
        if contract is None or contract.scope == "reference":
            outcome.reject("not a file of the extract specification")
            continue
        practice = practice_code_from_path(relative)
        if contract.scope == "gp" and practice not in known:
            outcome.reject(
                f"{UNKNOWN_FOLDER_RULE}: gp/{practice}/ is not a practice in "
                "reference/practices.csv, so no row can be attributed to a practice; not loaded"
            )
            continue
        if not inside_folder(month_dir / relative, month_dir):
            outcome.reject("resolves outside its month folder: not read")
            continue
        to_read.append((outcome, contract))
    accepted = [
        file
        for outcome, contract in to_read
        if (file := accept_file(month_dir / outcome.path, outcome, contract)) is not None
    ]

    missing = missing_practices(known_practices, manifest)
    result = MonthOutcome(month, "loaded", None, manifest_sha256, missing, outcomes)
    replace_month(connection, result, accepted, turn=turn)
    return result


def inside_folder(path: Path, folder: Path) -> bool:
    """`path` is no link and, with every link resolved, still lies inside `folder`."""
    return not path.is_symlink() and path.resolve().is_relative_to(folder.resolve())


@dataclass(frozen=True)
class AcceptedFile:
    """A listed file whose digest matches the manifest and whose header has its contract's
    columns: its rows are read next."""

    path: Path
    outcome: FileOutcome
    contract: Contract
    header: tuple[str, ...]


def accept_file(path: Path, outcome: FileOutcome, contract: Contract) -> AcceptedFile | None:
    """The file, ready to read, or None if its digest or header rejects it (its outcome says why)."""
    if sha256_of_file(path) != outcome.manifest_sha256:
        outcome.reject(
            "sha256 differs from manifest.csv: the file changed after the manifest was written"
        )
        return None
    try:
        header = read_header(path)
        require_columns(header, contract)
    except ValueError as error:
        outcome.reject(str(error))
        return None
    outcome.extra_columns = [name for name in header if name not in contract.column_names]
    return AcceptedFile(path, outcome, contract, tuple(header))


def parse_alone(
    connection: duckdb.DuckDBPyConnection, month: str, file: AcceptedFile
) -> pa.Table | None:
    """One file's rows with their provenance, read on its own so that a malformed line is set
    aside (``parse_delivered_rows``); None if the file is rejected (its outcome says why)."""
    outcome = file.outcome
    try:
        table, line_numbers, malformed = parse_delivered_rows(
            connection,
            file.path,
            list(file.header),
            file.contract,
            outcome.manifest_rows,
        )
    except ValueError as error:
        outcome.reject(str(error))
        return None
    delivered = table.num_rows + len(malformed)
    if delivered != outcome.manifest_rows:
        first = (
            f" (data row {malformed[0].line} is malformed: {malformed[0].reason})"
            if malformed
            else ""
        )
        outcome.reject(
            f"{delivered} data rows where manifest.csv says {outcome.manifest_rows}{first}"
        )
        return None
    outcome.loaded_rows = delivered
    outcome.malformed = malformed
    return add_provenance(table, month, outcome.path, line_numbers)


def add_provenance(
    table: pa.Table, month: str | None, relative: str, line_numbers: list[int] | None = None
) -> pa.Table:
    """Prefix the rows with their delivery month (None for reference files), file and data
    row (1..n unless `line_numbers` gives them: a file with malformed lines has gaps)."""
    rows = table.num_rows
    provenance = pa.table(
        {
            "delivery_month": pa.array([month] * rows, pa.string()),
            "source_file": pa.array([relative] * rows, pa.string()),
            "line_number": pa.array(
                range(1, rows + 1) if line_numbers is None else line_numbers, pa.int64()
            ),
        }
    )
    for name in table.column_names:
        provenance = provenance.append_column(name, table.column(name).cast(pa.string()))
    return provenance


def missing_practices(
    known_practices: list[str], manifest: dict[str, tuple[int, str]]
) -> list[str]:
    """Known practices with no GP file in this month's manifest: late or failed extracts."""
    delivered = {practice_code_from_path(path) for path in manifest}
    return sorted(code for code in known_practices if code not in delivered)


def replace_month(
    connection: duckdb.DuckDBPyConnection,
    outcome: MonthOutcome,
    accepted: Sequence[AcceptedFile] = (),
    *,
    turn: Callable[[], None] = lambda: None,
) -> None:
    """Swap the month's raw rows and bookkeeping for this delivery, all or nothing; `turn`
    is called just before the commit (``read_month``).

    Each run of files DuckDB can read together (``files_read_together``) goes from the
    CSV straight into raw, with no copy through Python: a month is many small files, and
    reading and writing them one by one cost more than the rows. A run DuckDB refuses, or
    whose counts differ from the manifest's, is read again file by file (``parse_alone``,
    which sets a malformed line aside) and the month written again: the rows, their order
    and every outcome are those of reading each file alone.
    """
    runs = files_read_together(accepted)
    apart: dict[int, list[pa.Table | None]] = {}
    while True:
        try:
            with transaction(connection):
                delete_month(connection, outcome.month)
                for index, run in enumerate(runs):
                    if index in apart:
                        insert_tables(connection, run[0].contract.feed, apart[index])
                    elif not insert_together(connection, outcome.month, run):
                        raise ReadApart(index)
                record_files(connection, outcome)
                turn()
            return
        except ReadApart as failed:
            apart[failed.run] = [
                parse_alone(connection, outcome.month, file) for file in runs[failed.run]
            ]


class ReadApart(Exception):
    """Run `run` of a month could not be read together: read its files one by one."""

    def __init__(self, run: int) -> None:
        super().__init__(run)
        self.run = run


def files_read_together(accepted: Sequence[AcceptedFile]) -> list[list[AcceptedFile]]:
    """The files in the order raw holds them (by feed, then path), cut into runs of one feed
    and one header: DuckDB reads a run in one call, as its columns are the same."""
    ordered = sorted(accepted, key=lambda file: (file.contract.feed, file.outcome.path))
    return [
        list(run)
        for _key, run in groupby(ordered, key=lambda file: (file.contract.feed, file.header))
    ]


def delete_month(connection: duckdb.DuckDBPyConnection, month: str) -> None:
    """Remove every raw row and bookkeeping row of `month` (inside replace_month's transaction)."""
    for contract in load_contracts().values():
        if contract.scope != "reference":
            connection.execute(f"DELETE FROM raw.{contract.feed} WHERE delivery_month = ?", [month])
    for table in ("delivery_files", "malformed_lines", "delivery_months"):
        connection.execute(f"DELETE FROM raw.{table} WHERE delivery_month = ?", [month])


def insert_together(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    run: list[AcceptedFile],
) -> bool:
    """Insert a run's rows into raw in one DuckDB read; False (with the transaction to be
    rolled back) if DuckDB refuses a line or a file's count differs from the manifest.

    A scan keeps the files' order and each file's row order, and so does a window over no
    partition (DuckDB's order preservation), so a row's position in the run less the rows the
    manifest gives the files before it is its data-row number, once every file's count is
    checked against the manifest below.
    """
    if "file_index" in run[0].header:  # a delivered column of that name hides DuckDB's own
        return False
    feed = run[0].contract.feed
    paths = [file.outcome.path for file in run]
    rows = [file.outcome.manifest_rows or 0 for file in run]
    rows_before = list(accumulate(rows, initial=0))[:-1]
    try:
        connection.execute(
            f"INSERT INTO raw.{feed} SELECT ?, list_extract(?::VARCHAR[], file_index::BIGINT + 1), "
            "row_number() OVER () - list_extract(?::BIGINT[], file_index::BIGINT + 1), "
            f"{selected_columns(run[0].contract)} FROM {csv_reader(run[0].header)}",
            [month, paths, rows_before, [str(file.path) for file in run]],
        )
    except duckdb.InvalidInputException:  # a malformed line or bytes that are not UTF-8
        return False
    counted = {
        path: (count, first, last)
        for path, count, first, last in connection.execute(
            f"SELECT source_file, count(*), min(line_number), max(line_number) FROM raw.{feed} "
            "WHERE delivery_month = ? AND list_contains(?::VARCHAR[], source_file) GROUP BY ALL",
            [month, paths],
        ).fetchall()
    }
    for file, expected in zip(run, rows, strict=True):
        count, first, last = counted.get(file.outcome.path, (0, None, None))
        if count != expected or (count and (first, last) != (1, count)):
            return False
    for file, expected in zip(run, rows, strict=True):
        file.outcome.loaded_rows = expected
    return True


def insert_tables(
    connection: duckdb.DuckDBPyConnection, feed: str, tables: list[pa.Table | None]
) -> None:
    """Insert the rows of files read one by one (a rejected file's None inserts nothing)."""
    for batch in tables:
        if batch is not None:  # read by DuckDB's replacement scan
            connection.execute(f"INSERT INTO raw.{feed} SELECT * FROM batch")


def record_files(connection: duckdb.DuckDBPyConnection, outcome: MonthOutcome) -> None:
    """The month's bookkeeping: each file's outcome, its malformed lines, the month's status
    and the delivery's place in raw.delivery_history.

    The files' rows go in as one table: a statement per file (a month at 1,000,000 people
    names about a thousand files) cost 0.4 s a month."""
    files = pa.table(
        {
            "delivery_month": pa.array([outcome.month] * len(outcome.files), pa.string()),
            "path": pa.array([f.path for f in outcome.files], pa.string()),
            "feed": pa.array([f.feed for f in outcome.files], pa.string()),
            "manifest_rows": pa.array([f.manifest_rows for f in outcome.files], pa.int64()),
            "manifest_sha256": pa.array([f.manifest_sha256 for f in outcome.files], pa.string()),
            "loaded_rows": pa.array([f.loaded_rows for f in outcome.files], pa.int64()),
            "status": pa.array([f.status for f in outcome.files], pa.string()),
            "reason": pa.array([f.reason for f in outcome.files], pa.string()),
            "extra_columns": pa.array(
                [f.extra_columns for f in outcome.files], pa.list_(pa.string())
            ),
        }
    )
    connection.register("delivery_files_batch", files)
    try:
        connection.execute(
            "INSERT INTO raw.delivery_files BY NAME SELECT * FROM delivery_files_batch"
        )
    finally:
        connection.unregister("delivery_files_batch")
    for file in outcome.files:
        if file.malformed:
            connection.executemany(
                "INSERT INTO raw.malformed_lines VALUES (?, ?, ?, ?, ?)",
                [
                    [outcome.month, file.feed, file.path, line.line, line.reason]
                    for line in file.malformed
                ],
            )
    connection.execute(
        "INSERT INTO raw.delivery_months VALUES (?, ?, ?, ?, ?)",
        [
            outcome.month,
            outcome.status,
            outcome.reason,
            outcome.manifest_sha256,
            outcome.missing_practices,
        ],
    )
    if outcome.manifest_sha256 is not None:
        record_delivery(connection, outcome)


def record_delivery(connection: duckdb.DuckDBPyConnection, outcome: MonthOutcome) -> None:
    """Add (or, for a delivery loaded again, refresh) the month's row in raw.delivery_history,
    and mark every other delivery of the month in force until now as superseded by it.

    Called inside replace_month's transaction. A delivery loaded again keeps its number; one
    that returns after another replaced it (a supplier withdrawing a correction) is in force
    again, and the correction is superseded by it.
    """
    month, digest = outcome.month, outcome.manifest_sha256
    connection.execute(
        "UPDATE raw.delivery_history SET superseded_by = ? "
        "WHERE delivery_month = ? AND manifest_sha256 <> ? AND superseded_by IS NULL",
        [digest, month, digest],
    )
    connection.execute(
        "INSERT INTO raw.delivery_history SELECT ?, ?, "
        "(SELECT count(*) + 1 FROM raw.delivery_history WHERE delivery_month = ?), "
        "?, ?, ?, ?, ?, NULL "
        "ON CONFLICT (delivery_month, manifest_sha256) DO UPDATE SET files = excluded.files, "
        "files_rejected = excluded.files_rejected, rows = excluded.rows, "
        "status = excluded.status, reason = excluded.reason, superseded_by = NULL",
        [
            month,
            digest,
            month,
            outcome.listed_files,
            outcome.rejected_files,
            outcome.loaded_rows,
            outcome.status,
            outcome.reason,
        ],
    )


def record_incomplete(connection: duckdb.DuckDBPyConnection, outcome: MonthOutcome) -> None:
    """Note a month still being delivered, keeping any earlier complete delivery's rows."""
    existing = connection.execute(
        "SELECT status FROM raw.delivery_months WHERE delivery_month = ?", [outcome.month]
    ).fetchone()
    if existing is None:
        connection.execute(
            "INSERT INTO raw.delivery_months VALUES (?, ?, ?, NULL, [])",
            [outcome.month, outcome.status, outcome.reason],
        )


def delivery_report(outcome: MonthOutcome) -> dict[str, object]:
    """The machine-readable report for `reports/deliveries/<YYYY-MM>.json`."""
    return {
        "month": outcome.month,
        "manifest_sha256": outcome.manifest_sha256,
        "status": outcome.status,
        "reason": outcome.reason,
        "missing_practices": outcome.missing_practices,
        "files": [
            {
                "path": file.path,
                "manifest_rows": file.manifest_rows,
                "loaded_rows": file.loaded_rows,
                "status": file.status,
                "reason": file.reason,
                "extra_columns": file.extra_columns,
                "malformed_lines": [
                    {"line": line.line, "reason": line.reason} for line in file.malformed
                ],
            }
            for file in outcome.files
        ],
    }


def write_delivery_report(folder: Path, outcome: MonthOutcome) -> Path:
    """Write `<folder>/<YYYY-MM>.json` and keep its version under `<folder>/history/<YYYY-MM>/`,
    named by the delivery's manifest digest (no version for a month without a manifest)."""
    written = write_month_report(
        folder,
        outcome.month,
        outcome.manifest_sha256,
        {".json": json_bytes(delivery_report(outcome))},
    )
    return written[".json"]


def manifest_digests(landing: Path) -> dict[str, str]:
    """{month: sha256 of its manifest.csv} for every delivered month, oldest first.

    An absent landing zone (or one without extracts/) holds no delivery yet. Reads only
    manifests, never a data file.
    """
    try:
        months = delivered_months(landing)
    except InputError:
        return {}
    return {month: manifest_digest(landing / "extracts" / month) for month in months}


@dataclass(frozen=True)
class RecordedDelivery:
    """What the warehouse holds of one extract month: its status and its manifest's digest."""

    status: str  # loaded | rejected | incomplete
    manifest_sha256: str | None


def recorded_deliveries(connection: duckdb.DuckDBPyConnection) -> dict[str, RecordedDelivery]:
    """Every extract month the warehouse has seen, oldest first (empty before the first load)."""
    if not connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'delivery_months'"
    ).fetchall()[0][0]:
        return {}
    rows = connection.execute(
        "SELECT delivery_month, status, manifest_sha256 FROM raw.delivery_months ORDER BY 1"
    ).fetchall()
    return {str(month): RecordedDelivery(str(status), digest) for month, status, digest in rows}


@dataclass(frozen=True)
class DeliveryInForce:
    """A loaded month's delivery in force: what a list made from the month names."""

    month: str
    manifest_sha256: str
    files: int  # files its manifest lists


def deliveries_in_force(
    connection: duckdb.DuckDBPyConnection, up_to_month: str
) -> list[DeliveryInForce]:
    """The delivery in force of every loaded month up to and including `up_to_month`, oldest
    first: every month whose rows features, scores and lists as of that month can read."""
    rows = connection.execute(
        "SELECT m.delivery_month, m.manifest_sha256, count(f.manifest_sha256) "
        "FROM raw.delivery_months AS m LEFT JOIN raw.delivery_files AS f USING (delivery_month) "
        "WHERE m.status = 'loaded' AND m.delivery_month <= ? GROUP BY ALL ORDER BY 1",
        [up_to_month],
    ).fetchall()
    return [DeliveryInForce(str(month), str(digest), int(files)) for month, digest, files in rows]


def rejected_files(connection: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, str]]:
    """(path, reason) of every file of the month rejected on load, by path."""
    rows = connection.execute(
        "SELECT path, reason FROM raw.delivery_files "
        "WHERE delivery_month = ? AND status = 'rejected' ORDER BY path",
        [month],
    ).fetchall()
    return [(str(path), str(reason)) for path, reason in rows]


def missing_practices_of(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[str, list[str]]:
    """The month's delivery status and the known practices that sent no GP extract."""
    row = connection.execute(
        "SELECT status, missing_practices FROM raw.delivery_months WHERE delivery_month = ?",
        [month],
    ).fetchone()
    return (str(row[0]), list(row[1])) if row else ("unknown", [])
