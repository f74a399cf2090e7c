"""The progress display: job n of N, the step under way, elapsed and time left, on a terminal
(a rich bar) and off one (plain lines); warnings read from a run as one line, no run id."""

from __future__ import annotations

import io
import re

import dagster as dg
from rich.console import Console

from pipelines.progress import LineProgress, LiveProgress, RunProgress, display_for, step_name
from pipelines.runner import RunEvents

RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive(progress: RunProgress, clock: Clock) -> None:
    """A run as the runner tells it: a 2-step job, then a 4-step job, 10 s a step, then the plan
    adds a 4-step job; stops inside the second job's second step."""
    progress.expect(2)
    progress.expect(4)
    progress.job_started("reference_job", 2)
    for step in ("reference_data", "staged_reference"):
        progress.step_started(step)
        clock.now += 10
        progress.step_finished()
    progress.job_finished("reference_job", True, 20.0)
    progress.warning("2024-01/sus/admissions.csv rejected:\n  sha256 differs from the manifest")
    progress.note("plan: train (no model yet)")
    progress.expect(4)
    progress.settle()
    progress.job_started("monthly_job for 2024-01", 4)
    progress.step_started("deliveries")
    clock.now += 10
    progress.step_finished()
    progress.step_started("deliveries_deliveries_every_file_matches_manifest")
    clock.now += 5


def test_off_a_terminal_each_event_is_one_plain_line_with_counts_elapsed_and_time_left() -> None:
    lines: list[str] = []
    clock = Clock()

    drive(LineProgress(lines.append, clock), clock)

    assert lines == [
        "[1/2+] reference_job: started (2 steps)",
        "[1/2+] reference_job: step 1 of 2, reference_data (elapsed 0:00:00)",
        "[1/2+] reference_job: step 2 of 2, staged_reference (elapsed 0:00:10)",
        # 2 of 6 steps in 20 s: 4 steps left, about 40 s
        "[1/2+] reference_job: done in 20.0 s (elapsed 0:00:20, about 0:00:40 left)",
        "warning: 2024-01/sus/admissions.csv rejected: sha256 differs from the manifest",
        "plan: train (no model yet)",
        "[2/3] monthly_job for 2024-01: started (4 steps)",
        "[2/3] monthly_job for 2024-01: step 1 of 4, deliveries (elapsed 0:00:20)",
        "[2/3] monthly_job for 2024-01: step 2 of 4, deliveries_every_file_matches_manifest "
        "(elapsed 0:00:30)",
    ]


def test_off_a_terminal_a_long_step_repeats_itself_every_minute() -> None:
    lines: list[str] = []
    clock = Clock()
    progress = LineProgress(lines.append, clock)
    progress.expect(2)
    progress.settle()
    progress.job_started("model_job", 2)
    progress.step_started("admission_risk_model")
    for _ in range(250):  # 125 s of the runner's half-second ticks
        clock.now += 0.5
        progress.tick()

    assert lines[2:] == [
        "[1/1] model_job: still on step 1 of 2, admission_risk_model (elapsed 0:01:00)",
        "[1/1] model_job: still on step 1 of 2, admission_risk_model (elapsed 0:02:00)",
    ]


def test_a_failed_job_counts_its_skipped_steps_as_done() -> None:
    lines: list[str] = []
    clock = Clock()
    progress = LineProgress(lines.append, clock)
    progress.expect(3)
    progress.expect(3)
    progress.settle()
    progress.job_started("monthly_job", 3)
    progress.step_started("deliveries")
    clock.now += 30

    progress.job_finished("monthly_job", False, 30.0)

    assert progress.steps_done == 3
    assert lines[-1] == "[1/2] monthly_job: FAILED in 30.0 s (elapsed 0:00:30, about 0:00:30 left)"


def test_on_a_terminal_a_live_bar_shows_counts_the_step_under_way_elapsed_and_time_left() -> None:
    screen = io.StringIO()
    clock = Clock()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    progress = display_for(console)
    assert isinstance(progress, LiveProgress)
    progress.clock = clock
    progress.started = clock.now

    drive(progress, clock)
    drawn = screen.getvalue()
    progress.close()

    assert "[2/3] ━" in drawn and "3/10 steps" in drawn  # 3 jobs of 10 steps; 3 steps done
    assert "monthly_job for 2024-01: step 2 of 4, deliveries_every_file_matches_manifest" in drawn
    # Drawn as the last step started: 30 s for 3 steps, so 7 more take about 70 s.
    assert "0:00:30 elapsed, about 0:01:10 left" in drawn
    # Finished jobs, warnings and the plan stay above the bar, as lines.
    assert "[1/2+] reference_job: done in 20.0 s" in drawn
    assert "warning: 2024-01/sus/admissions.csv rejected: sha256 differs" in drawn
    assert "plan: train (no model yet)" in drawn


def test_off_a_terminal_the_display_is_plain_lines() -> None:
    screen = io.StringIO()
    progress = display_for(Console(file=screen, width=40))

    assert isinstance(progress, LineProgress)
    progress.note("recovered: monthly_job run 1234abcd had been left STARTED, marked failed")
    assert screen.getvalue() == (
        "recovered: monthly_job run 1234abcd had been left STARTED, marked failed\n"
    ), "a log line is never wrapped at the console's width"


def test_a_check_step_is_named_by_its_check() -> None:
    assert step_name("staged_practices_staged_practices_meets_contract") == (
        "staged_practices_meets_contract"
    )
    assert step_name("staged_extract_month") == "staged_extract_month"


def test_warnings_an_asset_logs_reach_the_display_as_one_line_without_the_run_id() -> None:
    @dg.asset
    def population_drift(context) -> None:
        context.log.info("scored 1,000 people")
        context.log.warning("2024-01: drift past PSI 0.2 in age, risk")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([population_drift], instance=instance)
    lines: list[str] = []
    progress = LineProgress(lines.append)
    progress.expect(1)
    progress.settle()
    progress.job_started("lists_job", 1)

    RunEvents(instance, result.run_id, progress).read()

    assert lines[1:] == [
        f"[1/1] lists_job: step 1 of 1, population_drift (elapsed {lines[1].split()[-1]}",
        "warning: 2024-01: drift past PSI 0.2 in age, risk",
    ], "info messages stay in the run log"
    assert not any(RUN_ID.search(line) for line in lines)
    assert progress.steps_done == 1
