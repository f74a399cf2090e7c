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


# A writer paused just before its rename until `release` exists (a slow writer in another
# process, such as `riskstrat evaluate`, while a run starts), then renaming as usual.
PAUSED_WRITER = """
import os, sys, time
from pathlib import Path
import warehouse.files as files
rename, release = os.replace, Path(sys.argv[2])
def paused(source, target):
    print("written", flush=True)
    while not release.exists():
        time.sleep(0.02)
    rename(source, target)
files.os.replace = paused
files.write_bytes_atomic(Path(sys.argv[1]), b"a whole list")
"""


def start_a_paused_writer(path: Path, release: Path) -> subprocess.Popen[str]:
    """Start write_bytes_atomic(path) in a process; returns once its temporary file is written."""
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITER, str(path), str(release)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline() == "written\n"
    return writer
