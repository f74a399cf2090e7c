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


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete the temporary files killed `write_bytes_atomic` calls left under `folder`.

    A file whose writer is still running (another process writing now: `riskstrat
    evaluate`, a run the Dagster daemon launched) is left alone. Returns those deleted.
    """
    if not folder.is_dir():
        return []
    left = sorted(
        path
        for path in folder.rglob(f".*{PARTIAL_SUFFIX}")
        if path.is_file() and not _writer_running(path.name)
    )
    for path in left:
        path.unlink(missing_ok=True)
    return left


def _writer_running(name: str) -> bool:
    """Whether the process that named a temporary file `.<name>.<pid>.<random>.partial` runs.

    This process is not writing while it sweeps, so its own pid counts as gone (a killed
    run's pid may have been given to the run that sweeps).
    """
    _, pid, _ = name.removesuffix(PARTIAL_SUFFIX).rsplit(".", 2)
    if not pid.isdigit() or int(pid) in (0, os.getpid()):
        return False
    try:
        os.kill(int(pid), 0)
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
