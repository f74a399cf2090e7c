"""The review app's store: one SQLite database in WAL mode under ``<home>/review/``.

It lives beside the warehouse, never inside it: DuckDB allows one writing process, and a
pipeline run must never wait for a physician (nor the reverse). WAL lets the app's readers
and its one writer at a time work together; every connection waits up to `BUSY_SECONDS`
for a lock rather than failing.

Decisions and the access log are append-only (triggers in ``sql/store.sql`` refuse UPDATE
and DELETE). People are named by row id (``review.rows.row_id``), never by NHS number, so
the store holds no identifier a reader could use without the home's key. The file is 0600
in a folder 0700, whatever the umask.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from warehouse.files import FILE_MODE, make_private_folder
from warehouse.home import Home

STORE_FILE = "review.sqlite3"
BUSY_SECONDS = 10.0


def store_path(home: Home) -> Path:
    return home.review / STORE_FILE


def now_text() -> str:
    """UTC, to the second, as ISO 8601: when a decision or an access happened."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def _schema() -> str:
    return resources.files("review").joinpath("sql", "store.sql").read_text(encoding="utf-8")


@contextmanager
def open_store(home: Home, *, write: bool = True) -> Iterator[sqlite3.Connection]:
    """A connection to the home's review store, created (0600, WAL) on first use.

    Each `with` block is one transaction, committed at its end or rolled back on error.
    A writing block takes the store's one write lock at its start (BEGIN IMMEDIATE), so it
    must be short; a reading block (`write=False`) never waits for a writer (WAL).
    """
    path = store_path(home)
    make_private_folder(home.review)
    new = not path.exists()
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        if new:
            connection.executescript(_schema())
        _make_owner_only(path)
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


def ensure_store(home: Home) -> Path:
    """Create the store and its tables if missing (idempotent); its path."""
    path = store_path(home)
    make_private_folder(home.review)
    with sqlite3.connect(path, timeout=BUSY_SECONDS) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(_schema())
    connection.close()
    _make_owner_only(path)
    return path


def _make_owner_only(path: Path) -> None:
    # SQLite's -wal and -shm files follow the umask; the store holds who saw whom.
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            candidate.chmod(FILE_MODE)


@dataclass(frozen=True)
class Access:
    """One line of the access log: who did what to which list or person, and the outcome."""

    username: str
    action: str
    outcome: str
    practice_code: str = ""
    list_month: str = ""
    row_id: str = ""
    client: str = ""


def log_access(connection: sqlite3.Connection, access: Access) -> None:
    connection.execute(
        "INSERT INTO access_log (at, username, action, practice_code, list_month, row_id, "
        "outcome, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now_text(),
            access.username,
            access.action,
            access.practice_code,
            access.list_month,
            access.row_id,
            access.outcome,
            access.client,
        ),
    )
