"""For benchmarks run side by side: a file as written in this tree and at another commit, and
ways of doing one thing timed in turns."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def in_turns(rounds: int, ways: dict[str, Callable[[], Any]], indent: str = "") -> dict[str, Any]:
    """Each way run once a round, in turns, `rounds` times; prints each way's median and
    times, and returns each way's last result (for the caller to check they agree)."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            results[name] = way()
            times[name].append(time.perf_counter() - started)
    for name, measured in times.items():
        print(
            f"{indent}{name}: median {statistics.median(measured):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in measured)})"
        )
    return results
