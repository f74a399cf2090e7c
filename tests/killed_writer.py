"""A writer killed between writing its temporary file and the rename (SIGKILL, the OOM killer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# os.replace is swapped for a SIGKILL, so the `except BaseException` clean-up in
# write_bytes_atomic never runs, as when the kernel kills the process.
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import warehouse.files as files
files.os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
files.write_bytes_atomic(Path(sys.argv[1]), b"half of a list")
"""


def kill_a_writer(path: Path) -> None:
    """Run write_bytes_atomic(path) in a process SIGKILLed just before its rename."""
    ended = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert ended.returncode == -9, ended
