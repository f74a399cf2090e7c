"""Write output files atomically, readable by their owner only.

A reader (a practice system, an auditor, the next run) never sees a half-written file:
each file is written under a temporary name in the same folder, flushed, then renamed.
A process killed between the two (SIGKILL, a power cut) leaves the temporary file behind:
its name (`.<name>.<writer's pid>.<random>.partial`) lets the next run find it and remove
it once its writer is gone (`remove_partial_files`). Files are mode 0600 and the folders
this module creates 0700, whatever the process umask: a home holds identifiable data, so
nothing in it is for the group or other users.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

FILE_MODE, FOLDER_MODE = 0o600, 0o700
PARTIAL_SUFFIX = ".partial"


def make_private_folder(folder: Path) -> None:
    """Create `folder` and any missing parents with mode 0700 (folders that exist are left as they are).

    `Path.mkdir(mode=..., parents=True)` gives parents the umask's default mode, and the
    umask narrows `mode` itself; each missing level is made and then set to 0700.
    """
    missing = []
    for level in (folder, *folder.parents):
        if level.is_dir():
            break
        missing.append(level)
    for level in reversed(missing):
        level.mkdir(mode=FOLDER_MODE, exist_ok=True)
        level.chmod(FOLDER_MODE)


def write_bytes_atomic(path: Path, content: bytes) -> None:
    """Write `content` to `path` through a temporary file and a rename, mode 0600."""
    make_private_folder(path.parent)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=PARTIAL_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# `.<name>.<pid>.<random>.partial`: tempfile's random part is 8 of [a-z0-9_].
PARTIAL_NAME = re.compile(
    rf"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[a-z0-9_]{{8}}{re.escape(PARTIAL_SUFFIX)}$"
)
# What earlier versions left: write_bytes_atomic's `.<name>.<random>` and the model
# registry's `<name>.partial` (models only).
LEGACY_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}$")


def remove_partial_files(folder: Path, *, legacy_registry: bool = False) -> list[Path]:
    """Delete the temporary files killed `write_bytes_atomic` calls left under `folder`.

    Only names this module makes are touched, and a file whose writer is still running
    (another process writing now: `riskstrat evaluate`, a run the Dagster daemon launched;
    a writer in another PID namespace cannot be seen) is left alone. Files earlier versions
    left are removed too: `.<name>.<random>` beside a finished `<name>`, and with
    `legacy_registry` any `<name>.partial`. Returns those deleted.
    """
    if not folder.is_dir():
        return []
    left = [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and _left_by_a_killed_writer(path, legacy_registry)
    ]
    for path in left:
        path.unlink(missing_ok=True)
    return left


def _left_by_a_killed_writer(path: Path, legacy_registry: bool) -> bool:
    name = path.name
    if match := PARTIAL_NAME.match(name):
        return not _writer_running(int(match["pid"]))
    if match := LEGACY_NAME.match(name):
        return (path.parent / match["name"]).is_file()
    return legacy_registry and name.endswith(PARTIAL_SUFFIX) and not name.startswith(".")


def _writer_running(pid: int) -> bool:
    """Whether the process that wrote a temporary file is still running.

    This process is not writing while it sweeps, so its own pid counts as gone (a killed
    run's pid may have been given to the run that sweeps).
    """
    if pid in (0, os.getpid()):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def json_bytes(document: Any) -> bytes:
    """`document` as indented JSON with a trailing newline (stable byte output)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json_atomic(path: Path, document: Any) -> None:
    write_bytes_atomic(path, json_bytes(document))


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
