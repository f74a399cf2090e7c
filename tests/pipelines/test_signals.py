"""Ctrl-C (SIGINT) and SIGTERM stop `riskstrat run` at once, and the next run finishes the work.

Dagster turns an interrupt inside a step into STEP_UP_FOR_RETRY under the jobs' retry
policy; `riskstrat run` runs each job in a worker thread so the signal reaches the CLI
instead, which marks the run failed, frees its pool slot and exits 128 + the signal.
"""

from __future__ import annotations

import signal
import time
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


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_step_stops_the_run_at_once_and_the_next_run_finishes_it(
    tmp_path: Path, sent: signal.Signals, code: int
):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    home = tmp_path / "home"
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

    assert run.returncode == code, err
    assert time.monotonic() - signalled < 30, "the run should stop at once, not retry"
    assert "Traceback" not in err
    assert f"riskstrat: stopped by {sent.name}." in err
    job, status, events = run_history(home)[-1]
    assert (job, status) == ("monthly_job", dg.DagsterRunStatus.FAILURE)
    assert "STEP_UP_FOR_RETRY" not in events
    assert not slot_holders(home)

    rerun = run_to_end(landing, home)
    assert rerun.returncode == 0, rerun.stderr
    assert "monthly_job for 2024-01..2024-02 (2 months): done" in rerun.stdout
    for month in ("2024-01", "2024-02"):
        assert (home / "reports" / "data_quality" / f"{month}.json").is_file()
