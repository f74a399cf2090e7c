"""Ctrl-C (SIGINT) and SIGTERM stop `riskstrat run` at once, and the next run finishes the work.

Dagster turns an interrupt inside a step into STEP_UP_FOR_RETRY under the jobs' retry
policy; `riskstrat run` runs each job in a worker thread so the signal reaches the CLI
instead, which marks the run failed, frees its pool slot and exits 128 + the signal.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from tests import supplier
from tests.pipelines.test_recovery import run_to_end, slot_holders, start_run


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


@dataclass(frozen=True)
class Interrupted:
    """One home: a run stopped by SIGINT, the next stopped by SIGTERM, then a run to the end."""

    home: Path
    stopped: dict[signal.Signals, Stopped]
    rerun: subprocess.CompletedProcess[str]


def stop_during_a_monthly_step(landing: Path, home: Path, sent: signal.Signals) -> Stopped:
    run = start_run(landing, home)
    assert run.stdout is not None
    for line in run.stdout:
        if "reference_job: done" in line:
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


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Interrupted:
    """Both signals on one home, so one run to the end serves both (each run costs ~20 s of
    CPU): the SIGTERM lands on a run that is itself redoing the work SIGINT stopped."""
    root = tmp_path_factory.mktemp("signals")
    landing, home = root / "landing", root / "home"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    stopped = {sent: stop_during_a_monthly_step(landing, home, sent) for sent in SIGNALS}
    return Interrupted(home, stopped, run_to_end(landing, home))


@pytest.mark.parametrize("sent", SIGNALS, ids=lambda sent: sent.name)
def test_a_signal_during_a_step_stops_the_run_at_once(
    interrupted: Interrupted, sent: signal.Signals
):
    stopped = interrupted.stopped[sent]
    assert stopped.code == SIGNALS[sent], stopped.err
    assert stopped.seconds_to_stop < 30, "the run should stop at once, not retry"
    assert "Traceback" not in stopped.err
    assert f"riskstrat: stopped by {sent.name}." in stopped.err
    job, status, events = stopped.last_run
    assert (job, status) == ("monthly_job", dg.DagsterRunStatus.FAILURE)
    assert "STEP_UP_FOR_RETRY" not in events
    assert not stopped.slots_held_after


def test_the_run_after_the_signals_finishes_the_work(interrupted: Interrupted):
    rerun = interrupted.rerun
    assert rerun.returncode == 0, rerun.stderr
    assert "monthly_job for 2024-01..2024-02 (2 months): done" in rerun.stdout
    for month in ("2024-01", "2024-02"):
        assert (interrupted.home / "reports" / "data_quality" / f"{month}.json").is_file()
