"""Two runs at once on one home: the second stops cleanly (or queues), the warehouse stays whole."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb

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


def test_a_second_run_on_the_same_home_stops_cleanly_and_the_warehouse_is_intact(tmp_path: Path):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    home = tmp_path / "home"

    first = start_run(landing, home)
    wait_for_lock_holder(home, first)
    second = start_run(landing, home)
    _, second_err = second.communicate(timeout=300)
    _, first_err = first.communicate(timeout=300)

    assert first.returncode == 0, first_err
    assert second.returncode == 1
    assert "Another riskstrat run" in second_err and "was not disturbed" in second_err
    assert "Traceback" not in second_err
    rows = loaded_rows(home)
    assert len(rows) == 28
    assert all(status == "loaded" and loaded == manifest for _, _, status, loaded, manifest in rows)


def test_a_second_run_with_wait_queues_behind_the_first(tmp_path: Path):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    home = tmp_path / "home"

    first = start_run(landing, home)
    wait_for_lock_holder(home, first)
    second = start_run(landing, home, "--wait", "240")

    assert first.wait(timeout=300) == 0
    second_out, second_err = second.communicate(timeout=300)
    assert second.returncode == 0, second_err
    assert "1 month(s)" in second_out
    assert len(loaded_rows(home)) == 14
