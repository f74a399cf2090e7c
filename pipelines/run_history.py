"""The home's Dagster run history: how `riskstrat run` writes it without paying a disk sync per event.

Dagster keeps run history in SQLite files under `<home>/dagster/`, opening and committing
a connection for every event it records. SQLite's default (`synchronous=FULL`) syncs the
disk at each commit: on the project's machine that is about 10 ms a commit, two commits an
event, and a first load of 26 months at 30,000 people records about 900 events, so some
28 s of a 117 s run went to syncing run history (py-spy, docs/performance.md).

`riskstrat run` turns the sync off for the SQLite connections of its own process
(`PRAGMA synchronous=OFF`): a commit is handed to the operating system, which keeps it
when the process is killed or crashes; only a power cut or an operating-system crash
could lose the last events, or damage the run history (never the warehouse, which is
DuckDB, nor any report). A damaged history is cleared by deleting `<home>/dagster/`.
The Dagster UI and daemon (`dg dev`) keep SQLite's defaults.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def skip_disk_sync_for_run_history() -> None:
    """From now on, SQLite connections opened by this process commit without a disk sync."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _without_sync)
    _installed = True


def _without_sync(connection: Any, _record: Any) -> None:
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()
