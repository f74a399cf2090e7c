"""One riskstrat run per home at a time.

DuckDB allows one writing process per file, and a run is many steps that each open the
warehouse: two runs on one home would interleave their months and reports. A run holds an
exclusive lock on `<home>/run.lock` for its whole length; a second run waits for it up to
its limit, then stops with a message naming the holder. The lock is released by the
operating system if the holder dies, so a crash never leaves a home locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class HomeBusyError(RuntimeError):
    """Another riskstrat run holds this home."""


@contextmanager
def run_lock(home: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "run.lock"
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise HomeBusyError(
                        f"Another riskstrat run ({holder}) is using the home {home}. It was not "
                        f"disturbed. Wait for it to finish, or pass --wait SECONDS to queue behind it."
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
