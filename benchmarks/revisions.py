"""A file as written in this tree and at another commit, for benchmarks run side by side."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def file_versions(path: str, against: str, path_then: str | None = None) -> dict[str, str]:
    """`path` (relative to the repository) in this tree and at commit `against` (git show;
    `path_then` if the file had another path there), keyed "this tree" and `against`."""
    return {
        "this tree": (ROOT / path).read_text(),
        against: subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{against}:{path_then or path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout,
    }
