"""A home survives what happens to the runs on it, proved on real `riskstrat run` processes.

- Ctrl-C (SIGINT) and SIGTERM stop a run at once, and the next run finishes the work.
  Dagster turns an interrupt inside a step into STEP_UP_FOR_RETRY under the jobs' retry
  policy; `riskstrat run` runs each job in a worker thread so the signal reaches the CLI
  instead, which marks the run failed, frees its pool slot and exits 128 + the signal.
- Two runs at once on one home: the second stops cleanly (or queues with `--wait`), and
  the warehouse stays whole.

One home serves all of it (each run costs ~15 s of CPU): SIGINT stops the first run,
SIGTERM the next (itself redoing the work SIGINT stopped), and while the run that then
finishes the work holds the home's lock, a run without `--wait` and a queued one start on
the same home.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests import supplier
from tests.pipelines.test_recovery import RERUN_LIMIT_SECONDS, environment, slot_holders

RISKSTRAT = [sys.executable, "-m", "pipelines.cli"]


def start_run(landing: Path, home: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """The process's exit and output; a hang ends the test instead of the suite."""
    try:
        out, err = process.communicate(timeout=RERUN_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{' '.join(process.args)} was still running after {RERUN_LIMIT_SECONDS} s")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def run_history(home: Path) -> list[tuple[str, dg.DagsterRunStatus, list[str]]]:
    """Each run's job, status and event types, oldest first."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = reversed(instance.get_run_records())
        return [
            (
                record.dagster_run.job_name,
                record.dagster_run.status,
                [
                    entry.dagster_event.event_type_value
                    for entry in instance.all_logs(record.dagster_run.run_id)
                    if entry.dagster_event is not None
                ],
            )
            for record in records
        ]


def loaded_rows(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT delivery_month, path, status, loaded_rows, manifest_rows FROM raw.delivery_files ORDER BY ALL"
        ).fetchall()


SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""Each signal, and the exit code it gives (128 + its number)."""


@dataclass(frozen=True)
class Stopped:
    """What a run signalled during a monthly step left: its exit, and the home after it."""

    code: int
    err: str
    seconds_to_stop: float
    last_run: tuple[str, dg.DagsterRunStatus, list[str]]
    slots_held_after: set[str]


def stop_during_a_monthly_step(landing: Path, home: Path, sent: signal.Signals) -> Stopped:
    run = start_run(landing, home)
    assert run.stdout is not None
    for line in run.stdout:  # the reference job runs only when its files changed
        if "monthly_job" in line:
            break
    deadline = time.monotonic() + 300
    while not slot_holders(home):  # a monthly step is running
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)

    signalled = time.monotonic()
    run.send_signal(sent)
    _, err = run.communicate(timeout=120)
    seconds = time.monotonic() - signalled
    return Stopped(run.returncode, err, seconds, run_history(home)[-1], slot_holders(home))


def wait_for_lock_holder(home: Path, holder: subprocess.Popen[str]) -> None:
    lock = home / "run.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if lock.is_file() and lock.read_text().startswith(f"pid {holder.pid},"):
            return
        assert holder.poll() is None, "the run ended before taking the lock"
        time.sleep(0.05)
    raise AssertionError("the run never took the home's lock")


@dataclass(frozen=True)
class RunsOnOneHome:
    home: Path
    stopped: dict[signal.Signals, Stopped]
    rerun: subprocess.CompletedProcess[str]  # after both signals: finishes the work
    second: subprocess.CompletedProcess[str]  # started while the rerun held the lock, no --wait
    queued: subprocess.CompletedProcess[str]  # started then too, --wait 240


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> RunsOnOneHome:
    root = tmp_path_factory.mktemp("run_safety")
    landing, home = root / "landing", root / "home"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    stopped = {sent: stop_during_a_monthly_step(landing, home, sent) for sent in SIGNALS}

    rerun = start_run(landing, home)
    wait_for_lock_holder(home, rerun)
    second = start_run(landing, home)
    queued = start_run(landing, home, "--wait", "240")
    return RunsOnOneHome(home, stopped, finish(rerun), finish(second), finish(queued))


@pytest.mark.parametrize("sent", SIGNALS, ids=lambda sent: sent.name)
def test_a_signal_during_a_step_stops_the_run_at_once(runs: RunsOnOneHome, sent: signal.Signals):
    stopped = runs.stopped[sent]
    assert stopped.code == SIGNALS[sent], stopped.err
    assert stopped.seconds_to_stop < 30, "the run should stop at once, not retry"
    assert "Traceback" not in stopped.err
    assert f"riskstrat: stopped by {sent.name}." in stopped.err
    job, status, events = stopped.last_run
    assert (job, status) == ("monthly_job", dg.DagsterRunStatus.FAILURE)
    assert "STEP_UP_FOR_RETRY" not in events
    assert not stopped.slots_held_after


def test_the_run_after_the_signals_finishes_the_work(runs: RunsOnOneHome):
    rerun = runs.rerun
    assert rerun.returncode == 0, rerun.stderr
    assert "monthly_job for 2024-01..2024-02 (2 months): done" in rerun.stdout
    for month in ("2024-01", "2024-02"):
        assert (runs.home / "reports" / "data_quality" / f"{month}.json").is_file()


def test_a_second_run_on_the_same_home_stops_cleanly_and_the_warehouse_is_intact(
    runs: RunsOnOneHome,
):
    second = runs.second
    assert runs.rerun.returncode == 0, runs.rerun.stderr
    assert second.returncode == 1
    assert "Another riskstrat run" in second.stderr and "was not disturbed" in second.stderr
    assert "Traceback" not in second.stderr
    # The queued run loaded nothing (next test), so these rows are the rerun's.
    assert "monthly_job" not in runs.queued.stdout
    rows = loaded_rows(runs.home)
    assert len(rows) == 28
    assert all(status == "loaded" and loaded == manifest for _, _, status, loaded, manifest in rows)


def test_a_second_run_with_wait_queues_behind_the_first(runs: RunsOnOneHome):
    queued = runs.queued
    assert runs.rerun.returncode == 0, runs.rerun.stderr
    assert queued.returncode == 0, queued.stderr
    assert "2 month(s)" in queued.stdout
    assert "monthly_job" not in queued.stdout, "the first run had loaded both months"
    assert len(loaded_rows(runs.home)) == 28
