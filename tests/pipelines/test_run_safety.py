"""Two runs at once on one home: the second stops cleanly (or queues), the warehouse stays whole."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests import supplier

RISKSTRAT = [sys.executable, "-m", "pipelines.cli"]


def start_run(landing: Path, home: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lock_holder(home: Path, first: subprocess.Popen[str]) -> None:
    lock = home / "run.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if lock.is_file() and lock.read_text().startswith("pid"):
            return
        assert first.poll() is None, "the first run ended before taking the lock"
        time.sleep(0.05)
    raise AssertionError("the first run never took the home's lock")


def loaded_rows(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT delivery_month, path, status, loaded_rows, manifest_rows FROM raw.delivery_files ORDER BY ALL"
        ).fetchall()


@dataclass(frozen=True)
class Contention:
    """A run on a two-month zone, and two more started on its home while it held the lock."""

    home: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]  # no --wait
    queued: subprocess.CompletedProcess[str]  # --wait 240


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture(scope="module")
def contention(tmp_path_factory: pytest.TempPathFactory) -> Contention:
    """One pipeline run for both tests (each run costs ~30 s of CPU): the second run and the
    queued one both start while the first holds the home's lock."""
    root = tmp_path_factory.mktemp("run_safety")
    landing, home = root / "landing", root / "home"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))

    first = start_run(landing, home)
    wait_for_lock_holder(home, first)
    second = start_run(landing, home)
    queued = start_run(landing, home, "--wait", "240")
    return Contention(home, finish(first), finish(second), finish(queued))


def test_a_second_run_on_the_same_home_stops_cleanly_and_the_warehouse_is_intact(
    contention: Contention,
):
    first, second = contention.first, contention.second
    assert first.returncode == 0, first.stderr
    assert second.returncode == 1
    assert "Another riskstrat run" in second.stderr and "was not disturbed" in second.stderr
    assert "Traceback" not in second.stderr
    # The queued run loaded nothing (next test), so these rows are the first run's.
    assert "monthly_job" not in contention.queued.stdout
    rows = loaded_rows(contention.home)
    assert len(rows) == 28
    assert all(status == "loaded" and loaded == manifest for _, _, status, loaded, manifest in rows)


def test_a_second_run_with_wait_queues_behind_the_first(contention: Contention):
    queued = contention.queued
    assert contention.first.returncode == 0, contention.first.stderr
    assert queued.returncode == 0, queued.stderr
    assert "2 month(s)" in queued.stdout
    assert "monthly_job" not in queued.stdout, "the first run had loaded both months"
    assert len(loaded_rows(contention.home)) == 28
