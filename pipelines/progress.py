"""What a person watching `riskstrat run` sees: job n of N, the step under way, elapsed, ETA.

The runner tells a `RunProgress` what happens as it happens (jobs planned, a job or step
started, a job finished, a note, a warning); a display decides how to show it:

- `LineProgress` writes plain lines, one an event, for logs, CI and pipes (and tests);
- `LiveProgress` draws a `rich` progress bar on a terminal, redrawn ten times a second so
  that a long step (loading 36 months, training) never looks like a hang.

N counts the jobs planned so far, with a `+` while the model and list jobs are still to be
decided (the planner decides them once the months are loaded). The ETA is the elapsed time
scaled by the steps still to run: rough, since steps differ in length, and said to be.
Nothing here reads a row of data, so no NHS number can reach the screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
)
from rich.text import Text


class RunProgress:
    """Counts jobs and steps and estimates the time left; shows nothing (a run nobody watches).

    Subclasses show it: `show(line)` for a line that stays, `refresh()` for the live part.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.jobs_planned = 0
        self.jobs_started = 0
        self.steps_planned = 0
        self.steps_done = 0
        self.finished_job_steps = 0
        self.plan_settled = False
        self.job = "starting"
        self.job_steps = 0
        self.step = ""
        self.step_number = 0

    # --- what the runner says ------------------------------------------------------------

    def expect(self, steps: int) -> None:
        """One more job of `steps` steps is planned."""
        self.jobs_planned += 1
        self.steps_planned += steps
        self.refresh()

    def settle(self) -> None:
        """No job will be added: N is final."""
        self.plan_settled = True
        self.refresh()

    def job_started(self, job: str, steps: int) -> None:
        self.jobs_started += 1
        self.job, self.job_steps, self.step, self.step_number = job, steps, "", 0
        self.show(f"{self.counter()} {job}: started ({steps} steps)", live=True)

    def step_started(self, step_key: str) -> None:
        self.step, self.step_number = step_name(step_key), self.step_number + 1
        self.show(
            f"{self.counter()} {self.job}: step {self.step_number} of {self.job_steps}, "
            f"{self.step} (elapsed {clock_time(self.elapsed())})",
            live=True,
        )

    def step_finished(self) -> None:
        self.steps_done = min(self.steps_done + 1, self.finished_job_steps + self.job_steps)
        self.refresh()

    def job_finished(self, job: str, success: bool, seconds: float) -> None:
        # Steps a failure skipped count as done: they will not run in this run.
        self.finished_job_steps += self.job_steps
        self.steps_done = self.finished_job_steps
        self.job_steps, self.step = 0, ""
        outcome = "done" if success else "FAILED"
        remaining = self.remaining()
        left = f", about {clock_time(remaining)} left" if remaining else ""
        self.show(
            f"{self.counter()} {job}: {outcome} in {seconds:.1f} s "
            f"(elapsed {clock_time(self.elapsed())}{left})"
        )

    def working_on(self, what: str) -> None:
        """Work outside any job (the Data Docs, say): shown as the current job."""
        self.job, self.job_steps, self.step, self.step_number = what, 0, "", 0
        self.show(f"{what} ...", live=True)

    def note(self, line: str) -> None:
        """A line of the run's own story: the plan, a recovered run."""
        self.show(line)

    def warning(self, line: str) -> None:
        """Something a data team should read (a rejected file, drift): one line."""
        self.show(f"warning: {' '.join(line.split())}")

    def tick(self) -> None:
        """Told twice a second while a job runs: a display may show that time passes."""

    def close(self) -> None:
        """The run has ended, one way or the other."""

    # --- what a display shows ------------------------------------------------------------

    def show(self, line: str, *, live: bool = False) -> None:
        """A line that stays; `live`: one a live display shows in its bar instead."""

    def refresh(self) -> None:
        """The live part changed (counts, step, estimate)."""

    # --- the arithmetic ------------------------------------------------------------------

    def counter(self) -> str:
        if not self.jobs_planned:
            return "[planning]"
        return f"[{self.jobs_started}/{self.jobs_planned}{'' if self.plan_settled else '+'}]"

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining(self) -> float | None:
        """Seconds left, as elapsed per step done times the steps planned and not done."""
        if not self.steps_done or self.steps_done >= self.steps_planned:
            return None
        return self.elapsed() / self.steps_done * (self.steps_planned - self.steps_done)


HEARTBEAT_SECONDS = 60.0
"""Plain lines repeat the step under way after this long without a line, so a log shows a
long step (a large month's staging, training) as alive, not hung."""


class LineProgress(RunProgress):
    """Plain lines, each told to `write` (print, a list's append): for logs, CI and pipes."""

    def __init__(
        self, write: Callable[[str], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(clock)
        self.write = write
        self.last_line = self.clock()

    def show(self, line: str, *, live: bool = False) -> None:
        self.write(line)
        self.last_line = self.clock()

    def tick(self) -> None:
        if self.step and self.clock() - self.last_line >= HEARTBEAT_SECONDS:
            self.show(
                f"{self.counter()} {self.job}: still on step {self.step_number} of "
                f"{self.job_steps}, {self.step} (elapsed {clock_time(self.elapsed())})"
            )


class TimesColumn(ProgressColumn):
    """The run's elapsed time and estimated time left, redrawn with the bar."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__()
        self.run = progress

    def render(self, task: Task) -> Text:
        remaining = self.run.remaining()
        left = f"about {clock_time(remaining)} left" if remaining else "time left unknown yet"
        return Text(f"{clock_time(self.run.elapsed())} elapsed, {left}", style="progress.elapsed")


class TwoLineBar(Progress):
    """Counts, bar, elapsed and time left on one line; the job and step under way below it."""

    def __init__(self, run: RunProgress, console: Console) -> None:
        self.run = run  # before Progress starts drawing
        super().__init__(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed}/{task.total} steps"),
            TimesColumn(run),
            console=console,
            transient=True,
        )

    def get_renderables(self) -> Iterator[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        run = self.run
        step = f": step {run.step_number} of {run.job_steps}, {run.step}" if run.step else ""
        yield Text(f"  {run.job}{step}", no_wrap=True, overflow="ellipsis")


class LiveProgress(RunProgress):
    """A rich progress bar on a terminal: finished jobs, notes and warnings print above it."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.bar = TwoLineBar(self, console)
        self.task = self.bar.add_task(self.counter(), total=1)
        self.bar.start()

    def show(self, line: str, *, live: bool = False) -> None:
        if not live:
            self.bar.console.print(line, markup=False, highlight=False)
        self.refresh()

    def refresh(self) -> None:
        self.bar.update(
            self.task,
            description=self.counter(),
            completed=self.steps_done,
            total=max(self.steps_planned, 1),
        )
        self.bar.refresh()  # now, not at the next tick: a step's start shows at once

    def close(self) -> None:
        self.bar.stop()


def as_run_progress(progress: RunProgress | Callable[[str], None] | None) -> RunProgress:
    """A display for the runner: a `RunProgress` as it is, a line callback as plain lines."""
    if progress is None:
        return RunProgress()
    if isinstance(progress, RunProgress):
        return progress
    return LineProgress(progress)


def display_for(console: Console) -> RunProgress:
    """A live bar when `console` is a terminal, else plain lines (CI, logs, a pipe)."""
    if console.is_terminal:
        return LiveProgress(console)

    def write(line: str) -> None:
        print(line, file=console.file, flush=True)  # never wrapped: a log line stays one line

    return LineProgress(write)


def step_name(step_key: str) -> str:
    """A step as a person would name it: an asset check's step `<asset>_<check>` is the
    check's own name, which already starts with the asset's."""
    for match in re.finditer("_", step_key):
        asset, check = step_key[: match.start()], step_key[match.end() :]
        if check.startswith(asset + "_"):
            return check
    return step_key


def clock_time(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
