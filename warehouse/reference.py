"""Load the landing zone's reference files (practices, LSOA deprivation) into the raw layer.

Reference files have no manifest: they are the current truth about practices and areas,
replaced whole on every run. A reference file that is missing, unreadable or lacks a
required column stops the run with an `InputError`: without the list of practices no
delivery can be checked for missing practices, and no list can be routed. So does one
that is a symbolic link (or lies in a linked reference/ folder), or is not a regular file:
like a month's files, reference files are read only as delivered into the landing zone,
and this module never reads a byte through a link.
"""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb

from data_contracts import load_contracts
from warehouse.connection import table_exists, transaction
from warehouse.deliveries import (
    add_provenance,
    ensure_raw_schema,
    parse_rows,
    read_header,
    require_columns,
)
from warehouse.errors import InputError
from warehouse.files import sha256_of_file

REFERENCE_FEEDS = ("practices", "lsoa_imd")


def load_reference(connection: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, int]:
    """Replace raw.practices and raw.lsoa_imd with the landing zone's files; rows loaded per feed."""
    ensure_raw_schema(connection)
    contracts = load_contracts()
    loaded: dict[str, int] = {}
    tables = {}
    digests: dict[str, tuple[str, str]] = {}
    for feed in REFERENCE_FEEDS:
        contract = contracts[feed]
        path, relative = reference_file(landing, feed)
        refuse_unless_delivered_file(path, relative)
        # Read before the rows: a file replaced meanwhile is recorded with its older bytes,
        # so the next run finds it changed and loads it again.
        digests[feed] = (relative, sha256_of_file(path))
        try:
            header = read_header(path)
            require_columns(header, contract)
            table = parse_rows(connection, path, header, contract)
        except ValueError as error:
            raise InputError(f"{path}: {error}.") from None
        tables[feed] = add_provenance(table, None, relative)
        loaded[feed] = table.num_rows
    with transaction(connection):
        for feed, table in tables.items():
            batch = table  # noqa: F841  (read by DuckDB's replacement scan)
            connection.execute(f"DELETE FROM raw.{feed}")
            connection.execute(f"INSERT INTO raw.{feed} SELECT * FROM batch")
            connection.execute(
                "INSERT OR REPLACE INTO raw.reference_files VALUES (?, ?, ?)",
                [feed, *digests[feed]],
            )
    return loaded


def reference_file(landing: Path, feed: str) -> tuple[Path, str]:
    """A reference feed's file in the landing zone, and its path relative to the zone."""
    relative = f"reference/{load_contracts()[feed].file_name}"
    return landing / relative, relative


def delivered_reference_digests(landing: Path) -> dict[str, str] | None:
    """Each reference feed's file sha256 as delivered now; None when `load_reference` would
    refuse a file (missing, a link, not a regular file), which then says why."""
    digests = {}
    for feed in REFERENCE_FEEDS:
        path, relative = reference_file(landing, feed)
        try:
            refuse_unless_delivered_file(path, relative)
        except InputError:
            return None
        digests[feed] = sha256_of_file(path)
    return digests


def loaded_reference_files(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The sha256 of the file each reference feed was last loaded from (none before the
    first load, or in a warehouse made before the record)."""
    if not table_exists(connection, "raw.reference_files"):
        return {}
    return dict(connection.execute("SELECT feed, sha256 FROM raw.reference_files").fetchall())


def refuse_unless_delivered_file(path: Path, relative: str) -> None:
    """Raise InputError, naming the file and the rule, unless `path` is a regular file
    delivered into the landing zone's reference/ folder; follows no link to find out."""
    folder = path.parent
    rule = (
        "reference files are read only as delivered into the landing zone, never through a "
        "link (docs/landing-zone.md, Delivering a month), so it was not read and nothing was "
        f"loaded. Deliver {relative} itself and run again."
    )
    if folder.is_symlink():
        raise InputError(f"{folder} is a symbolic link, and holds {relative}: {rule}")
    if path.is_symlink():
        raise InputError(f"{path} is a symbolic link: {rule}")
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path} is missing: the landing zone must provide {relative}.") from None
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{path} is not a regular file (a folder, pipe, socket or device), so it was not "
            f"read: the landing zone must provide {relative} as a file."
        )


def known_practices(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT DISTINCT practice_code FROM raw.practices WHERE practice_code IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [code for (code,) in rows]


def reference_rows(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    """{feed: (its file under reference/, rows loaded)} for each reference feed."""
    contracts = load_contracts()
    return {
        feed: (
            contracts[feed].file_name,
            connection.execute(f"SELECT count(*) FROM raw.{feed}").fetchone()[0],  # type: ignore[index]
        )
        for feed in REFERENCE_FEEDS
    }
