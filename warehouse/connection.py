"""Open the riskstrat warehouse, one DuckDB file per home.

DuckDB allows one writing process per file. A second process that tries to open the
file while another holds it gets `WarehouseBusyError` (after waiting, if asked to), a
clear message rather than a corrupted file or a raw IO traceback.

The file holds identifiable data: it is made 0600 in a folder made 0700, whatever the
process umask (DuckDB's write-ahead log follows the umask: see warehouse.home).

DuckDB's memory is bounded (``MEMORY_LIMIT``, or ``RISKSTRAT_DUCKDB_MEMORY_LIMIT``): left
at its default (80% of the machine) a first load of 1,000,000 people peaked at 13.3 GB
(docs/performance.md); with a limit, sorts, joins and windows spill to ``<warehouse>.tmp/`` beside the
file, inside the home's private folder, and DuckDB removes the files when done.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.files import FILE_MODE, make_private_folder

SCHEMAS = ("raw", "staged", "quarantine", "features", "models", "scores")
MEMORY_LIMIT = "4GB"
"""DuckDB's memory ceiling per connection; a whole step stays under 8 GB (docs/performance.md)."""
MEMORY_LIMIT_VARIABLE = "RISKSTRAT_DUCKDB_MEMORY_LIMIT"


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse file open for writing."""


def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = 0.0
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at `path`, creating it and its schemas if needed.

    A lock held by another process is retried for up to `wait_seconds`, then reported as
    `WarehouseBusyError` naming the file.
    """
    make_private_folder(path.parent)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"The warehouse {path} is in use by another riskstrat run "
                    f"(DuckDB allows one writer at a time). Wait for that run to finish and "
                    f"try again."
                ) from None
            time.sleep(0.5)
    if not read_only:
        if path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
        for schema in SCHEMAS:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    # Deterministic output order from scans, and the same results on any core count.
    connection.execute("SET preserve_insertion_order = true")
    connection.execute("SET memory_limit = ?", [memory_limit()])
    return connection


def memory_limit() -> str:
    """The ceiling for DuckDB's memory: the environment's, else ``MEMORY_LIMIT``."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or MEMORY_LIMIT


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All the statements of the block, or none of them: rolled back on any exception."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def table_exists(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether the table `schema.name` exists."""
    schema, name = qualified.split(".")
    [(count,)] = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $s AND table_name = $n",
        {"s": schema, "n": name},
    ).fetchall()
    return bool(count)
