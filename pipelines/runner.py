"""Run the whole pipeline in-process through Dagster, month by month, for the CLI.

Each month is its own Dagster run (partition), recorded in the instance under the home,
so the Dagster UI shows the same history as the command line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines import planner
from pipelines.definitions import build_definitions
from pipelines.errors import RunStopped
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import RunSettings, Warehouse
from pipelines.run_history import skip_disk_sync_for_run_history
from pipelines.validation.outcomes import blocking_check_message, update_data_docs
from warehouse.deliveries import extract_months as months_in_landing
from warehouse.deliveries import recorded_deliveries
from warehouse.errors import InputError
from warehouse.home import Home
from warehouse.run_lock import HomeBusyError, run_lock
from warehouse.totals import warehouse_totals

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

INSTANCE_SETTINGS = """\
# Written by riskstrat: run history for this home.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


@dataclass
class RunSummary:
    home: Path
    months: list[str] = field(default_factory=list)
    month_status: dict[str, str] = field(default_factory=dict)
    rows_loaded: int = 0
    files_rejected: int = 0
    people: int = 0
    rows_quarantined: int = 0
    auroc: float | None = None
    data_docs: Path | None = None
    model_card: Path | None = None
    practice_list: Path | None = None

    def __str__(self) -> str:
        paths = Home.at(self.home)
        incomplete = [m for m, s in self.month_status.items() if s != "loaded"]
        lines = [
            f"riskstrat: {len(self.months)} month(s) {self.months[0] if self.months else ''}"
            f"{' .. ' + self.months[-1] if len(self.months) > 1 else ''}; "
            f"{self.rows_loaded:,} rows loaded; {self.files_rejected} file(s) rejected.",
            f"  {self.people:,} people; {self.rows_quarantined:,} row(s) quarantined"
            + (f"; model AUROC {self.auroc:.3f}" if self.auroc is not None else "; no model yet"),
        ]
        if incomplete:
            lines.append(
                "  not loaded: " + ", ".join(f"{m} ({self.month_status[m]})" for m in incomplete)
            )
        lines += [
            f"  warehouse        {paths.database}",
            f"  delivery reports {paths.delivery_reports}",
            f"  Dagster history  {paths.dagster} (DAGSTER_HOME)",
            *([f"  practice lists   {paths.outbox}"] if paths.outbox.is_dir() else []),
            *([f"  Data Docs        {self.data_docs}"] if self.data_docs else []),
            *([f"  model card       {self.model_card}"] if self.model_card else []),
            *([f"  a practice list  {self.practice_list}"] if self.practice_list else []),
        ]
        return "\n".join(lines)


Progress = Callable[[str], None]
"""Told one line as each job finishes (pipelines.cli prints them)."""


def run_pipeline(
    landing: Path,
    home: Path,
    truth: Path | None = None,
    wait_seconds: float = 0.0,
    progress: Progress | None = None,
    *,
    reload: bool = False,
    settings: RunSettings | None = None,
    months_in_one_run: bool = True,
) -> RunSummary:
    """Load what the landing zone holds that the home does not, then train and list as planned.

    Holds the home's run lock throughout; a second run waits up to `wait_seconds`.
    `settings` carries the operating policy (its `landing` and `truth` are replaced by
    these arguments); `reload` loads every month folder again. The months to load go
    through Dagster as one run over their range (`months_in_one_run`), else one run each.
    """
    settings = (settings or RunSettings(landing=str(landing))).model_copy(
        update={"landing": str(landing), "truth": str(truth) if truth is not None else ""}
    )
    try:
        with run_lock(home, wait_seconds):
            return run_locked(
                Home.at(home),
                settings,
                progress,
                reload=reload,
                months_in_one_run=months_in_one_run,
            )
    except HomeBusyError as error:
        raise RunStopped(str(error)) from None


def run_locked(
    home: Home,
    settings: RunSettings,
    progress: Progress | None = None,
    *,
    reload: bool = False,
    months_in_one_run: bool = True,
) -> RunSummary:
    landing = settings.landing_path
    try:
        to_load = planner.months_to_load(home, landing, reload=reload)
        months = months_in_landing(landing)
    except InputError as error:
        raise RunStopped(str(error)) from None
    if not months:
        raise RunStopped(f"{landing / 'extracts'} holds no YYYY-MM month folders: nothing to load.")

    definitions = build_definitions(Warehouse(home=str(home.root)), settings)
    with open_instance(home) as instance:
        new = [m for m in months if not instance.has_dynamic_partition(EXTRACT_MONTHS, m)]
        if new:
            instance.add_dynamic_partitions(EXTRACT_MONTHS, new)
        try:
            execute(definitions, "reference_job", instance, None, progress)
            for run in month_runs(
                [item.month for item in to_load], instance, one_run=months_in_one_run
            ):
                execute(definitions, "monthly_job", instance, run, progress)
            steps = planner.after_loading(home, retrain_every_months=settings.retrain_every_months)
            if progress is not None:
                progress(
                    f"plan: {'train' if steps.train else 'no training'} ({steps.train_reason})"
                )
            if steps.train:
                execute(definitions, "model_job", instance, None, progress)
            if steps.list_month is not None:
                execute(definitions, "lists_job", instance, steps.list_month, progress)
        finally:
            update_data_docs(home.root)
    return summarise(home.root, months)


@contextmanager
def open_instance(home: Home) -> Iterator[dg.DagsterInstance]:
    """The home's own Dagster instance (its run history), made on first use."""
    skip_disk_sync_for_run_history()
    home.dagster.mkdir(parents=True, exist_ok=True)
    settings = home.dagster / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_SETTINGS)
    with dg.DagsterInstance.from_config(str(home.dagster)) as instance:
        yield instance


def summarise(home: Path, months: list[str]) -> RunSummary:
    """What the run left in the home, read back rather than tallied on the way."""
    paths = Home.at(home)
    summary = RunSummary(home=home, months=months)
    with paths.connect(read_only=True) as connection:
        recorded = recorded_deliveries(connection)
        totals = warehouse_totals(connection)
    summary.month_status = {month: recorded[month].status for month in months if month in recorded}
    summary.rows_loaded, summary.files_rejected = totals.rows_loaded, totals.files_rejected
    summary.people, summary.rows_quarantined = totals.people, totals.rows_quarantined
    evaluation = paths.model_reports / "evaluation.json"
    if evaluation.is_file():
        summary.auroc = float(json.loads(evaluation.read_text())["validation"]["auroc"])
    data_docs = paths.data_docs / "index.html"
    summary.data_docs = data_docs if data_docs.is_file() else None
    card = paths.model_reports / "model_card.md"
    summary.model_card = card if card.is_file() else None
    lists = sorted(
        path for path in paths.outbox.glob("*/*/*/risk_list.html") if path.parts[-3] != "summary"
    )
    summary.practice_list = lists[-1] if lists else None
    return summary


def month_runs(
    months: list[str], instance: dg.DagsterInstance, *, one_run: bool = True
) -> list[str | list[str]]:
    """The monthly runs that load `months`: one run over the whole range when the months are
    consecutive partitions of the instance (a first load, a backfill), else one run a month
    (a month folder delivered late sits after later months in the partition order)."""
    if not months:
        return []
    order = {
        key: index for index, key in enumerate(instance.get_dynamic_partitions(EXTRACT_MONTHS))
    }
    positions = [order[month] for month in months]
    consecutive = positions == list(range(positions[0], positions[0] + len(positions)))
    if one_run and consecutive and len(months) > 1:
        return [months]
    return list(months)


def execute(
    definitions: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    partition: str | list[str] | None,
    progress: Progress | None = None,
) -> dg.ExecuteInProcessResult:
    """Run one job in-process, for one partition, a range of partitions (a list), or none."""
    job = definitions.resolve_job_def(job_name)
    started = time.monotonic()
    if isinstance(partition, list):
        tags = {RANGE_START: partition[0], RANGE_END: partition[-1]}
        result = job.execute_in_process(
            instance=instance, tags=tags, run_config=QUIET_LOGS, raise_on_error=False
        )
        where = f" for {partition[0]}..{partition[-1]} ({len(partition)} months)"
    else:
        result = job.execute_in_process(
            instance=instance, partition_key=partition, run_config=QUIET_LOGS, raise_on_error=False
        )
        where = f" for {partition}" if partition else ""
    if progress is not None:
        outcome = "done" if result.success else "FAILED"
        progress(f"{job_name}{where}: {outcome} in {time.monotonic() - started:.1f} s")
    if not result.success:
        raise RunStopped(f"{job_name}{where}: {failure_message(result)}")
    return result


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """A failed blocking check's summary, else the first failing step's own words."""
    blocked = blocking_check_message(result)
    if blocked is not None:
        return blocked
    for event in result.all_events:
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        error = data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            return f"step {event.step_key} failed: {error.message.strip()}"
    return "the run failed; see the Dagster run log in the home's dagster folder."
