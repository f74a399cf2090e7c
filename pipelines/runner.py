"""Run the whole pipeline in-process through Dagster, month by month, for the CLI.

Each month is its own Dagster run (partition), recorded in the instance under the home,
so the Dagster UI shows the same history as the command line.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipelines import planner
from pipelines.catalogue import sources_digest
from pipelines.definitions import build_definitions
from pipelines.errors import RunInterrupted, RunStopped
from pipelines.partitions import EXTRACT_MONTHS, LIST_MONTHS, RANGE_END, RANGE_START, range_tags
from pipelines.progress import RunProgress, as_run_progress
from pipelines.resources import RunSettings, Warehouse
from pipelines.run_history import skip_disk_sync_for_run_history
from pipelines.validation.outcomes import blocking_check_message, update_data_docs
from warehouse.deliveries import extract_months as months_in_landing
from warehouse.deliveries import recorded_deliveries
from warehouse.errors import InputError
from warehouse.home import Home, owner_only_files
from warehouse.run_lock import HomeBusyError, run_lock
from warehouse.totals import WarehouseTotals, warehouse_totals

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""Dagster's console logger says nothing: warnings reach the person through the progress
display, as one line without a run id (`RunEvents`), and a failure as `RunStopped`."""
RUNNER_TAG = "riskstrat/runner"
"""Tags each run `riskstrat run` makes with the process that made it (`pid N on HOST`)."""
INTERRUPTED_TAG = "riskstrat/interrupted"
"""Tags a run that stopped part-way (killed, crashed, or a signal): its work is done again."""

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

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
    """What a run left in the home, and where each of its users finds their part."""

    home: Path
    months: list[str] = field(default_factory=list)
    month_status: dict[str, str] = field(default_factory=dict)
    rows_loaded: int = 0
    files_rejected: int = 0
    people: int = 0
    rows_quarantined: int = 0
    auroc: float | None = None
    validated_out_of_time: bool = True
    data_docs: Path | None = None
    model_card: Path | None = None
    practice_list: Path | None = None
    list_month: str | None = None
    practices_listed: int = 0
    federations: int = 0
    data_quality: Path | None = None

    def __str__(self) -> str:
        paths = Home.at(self.home)
        incomplete = [m for m, s in self.month_status.items() if s != "loaded"]
        lines = [
            f"riskstrat: {len(self.months)} month(s) {self.months[0] if self.months else ''}"
            f"{' .. ' + self.months[-1] if len(self.months) > 1 else ''}; "
            f"{self.rows_loaded:,} rows loaded; {self.files_rejected} file(s) rejected.",
            f"  {self.people:,} people; {self.rows_quarantined:,} row(s) quarantined"
            + (f"; model AUROC {self.auroc:.3f}" if self.auroc is not None else "; no model yet")
            + ("" if self.validated_out_of_time else " (not yet validated out of time)"),
        ]
        if incomplete:
            lines.append(
                "  not loaded: " + ", ".join(f"{m} ({self.month_status[m]})" for m in incomplete)
            )
        if self.list_month is not None:
            lines += [
                f"For GPs and community physicians: the {self.list_month} risk lists of "
                f"{self.practices_listed} practice(s)",
                f"  practice lists       {paths.outbox}/<federation>/<practice>/{self.list_month}/",
                *([f"  for example          {self.practice_list}"] if self.practice_list else []),
                "For GP federations",
                f"  federation summaries {paths.outbox}/<federation>/summary/{self.list_month}/ "
                f"({self.federations} federation(s))",
            ]
        else:
            lines.append("For GPs and GP federations: no list yet (no model has been trained)")
        lines += [
            "For auditors",
            f"  data quality         {self.data_quality or paths.data_quality_reports}",
            *([f"  Data Docs            {self.data_docs}"] if self.data_docs else []),
            *([f"  model card           {self.model_card}"] if self.model_card else []),
            "For the data team",
            f"  warehouse            {paths.database}",
            f"  delivery reports     {paths.delivery_reports}/",
            *(
                [f"  drift reports        {paths.drift_reports}/"]
                if paths.drift_reports.is_dir()
                else []
            ),
            f"  Dagster history      {paths.dagster} (DAGSTER_HOME)",
        ]
        return "\n".join(lines)


Progress = RunProgress | Callable[[str], None]
"""Told what the run does (pipelines.progress); a plain callable is told it as lines."""


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
    settings = run_settings(settings or RunSettings(landing=str(landing)), landing, truth)
    check_landing_zone(landing)
    # Owner-only from the first file on: the home is 0700 and everything the run writes,
    # Dagster's storage and logs included, 0600 (information governance at rest).
    with owner_only_files():
        paths = Home.at(home).ensure()
        try:
            with run_lock(paths.root, wait_seconds):
                return run_locked(
                    paths,
                    settings,
                    progress,
                    reload=reload,
                    months_in_one_run=months_in_one_run,
                )
        except HomeBusyError as error:
            raise RunStopped(str(error)) from None


def check_landing_zone(landing: Path) -> None:
    """Stop before the home is made (a mistyped --landing leaves nothing behind) when
    `landing` is not a landing zone: no extracts/ folder, or no month folder in it."""
    if not (landing / "extracts").is_dir():
        raise RunStopped(
            f"{landing} is not a landing zone: it holds no extracts/ folder. A landing zone "
            "holds reference/ (practices.csv, lsoa_imd.csv) and extracts/<YYYY-MM>/ month "
            "folders (docs/landing-zone.md). Nothing was written."
        )
    if not months_in_landing(landing):
        raise RunStopped(
            f"{landing / 'extracts'} holds no YYYY-MM month folders: nothing to load. "
            "Nothing was written."
        )


def run_settings(policy: RunSettings, landing: Path, truth: Path | None) -> RunSettings:
    """`policy` for this landing zone and truth file. A new resource, not `model_copy`:
    Dagster builds a resource from the config it was constructed with, so fields changed
    by `model_copy` never reached the assets (the pseudonym key, retraining, drift, truth)."""
    return RunSettings(
        landing=str(landing),
        truth=str(truth) if truth is not None else "",
        retrain_every_months=policy.retrain_every_months,
        drift_threshold=policy.drift_threshold,
        pseudonym_key=policy.pseudonym_key,
    )


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
    except duckdb.Error as error:
        raise RunStopped(
            f"The warehouse {home.database} cannot be read ({str(error).splitlines()[0]}). "
            "Nothing was changed. Restore it from a backup, or move it aside and run again "
            "with --reload to rebuild it from the landing zone."
        ) from None
    if not months:  # the month folders went between check_landing_zone and now
        raise RunStopped(f"{landing / 'extracts'} holds no YYYY-MM month folders: nothing to load.")

    definitions = build_definitions(Warehouse(home=str(home.root)), settings)
    watch = as_run_progress(progress)
    with open_instance(home) as instance:
        for line in recover_interrupted_runs(instance):
            watch.note(line)
        if partial := home.remove_partial_files():
            folders = sorted({str(path.parent.relative_to(home.root)) for path in partial})
            watch.note(
                f"recovered: removed {len(partial)} half-written file(s) a process that ended "
                f"left in {', '.join(folders)}"
            )
        new = [m for m in months if not instance.has_dynamic_partition(EXTRACT_MONTHS, m)]
        if new:
            instance.add_dynamic_partitions(EXTRACT_MONTHS, new)
        unfinished = unfinished_work(instance)
        loading = [item.month for item in to_load]
        if unfinished.months:
            # Keyed feeds are judged against earlier months, so from the first month an
            # interrupted run left part-loaded, every month is loaded again, oldest first.
            first = min(unfinished.months)
            loading = sorted({*loading, *(month for month in months if month >= first)})
        runs = month_runs(loading, instance, one_run=months_in_one_run)
        reference = planner.reference_files(landing, sources_digest(REFERENCE_CODE))
        load_reference = reload or not reference_unchanged(instance, home, reference)
        for job_name in ["reference_job"] * load_reference + ["monthly_job"] * len(runs):
            watch.expect(job_steps(definitions, job_name))
        try:
            if load_reference:
                tags = {REFERENCE_TAG: reference.key} if reference else {}
                execute(definitions, "reference_job", instance, None, watch, tags=tags)
            else:
                watch.note("reference files unchanged since the last reference run: not reloaded")
            for run in runs:
                execute(definitions, "monthly_job", instance, run, watch)
            steps = planner.after_loading(home, retrain_every_months=settings.retrain_every_months)
            train, reason = steps.train, steps.train_reason
            if not train and unfinished.model:
                train, reason = True, "the last model run stopped before it finished"
            watch.note(f"plan: {'train' if train else 'no training'} ({reason})")
            list_month = steps.list_month
            # Once trained, a model exists, so a month is listed: the lists job is planned too.
            for job_name in ["model_job"] * train + ["lists_job"] * bool(train or list_month):
                watch.expect(job_steps(definitions, job_name))
            watch.settle()
            if train:
                execute(definitions, "model_job", instance, None, watch)
                if list_month is None:
                    list_month = planner.after_loading(
                        home, retrain_every_months=settings.retrain_every_months
                    ).list_month
            if list_month is not None:
                if not instance.has_dynamic_partition(LIST_MONTHS, list_month):
                    instance.add_dynamic_partitions(LIST_MONTHS, [list_month])
                execute(definitions, "lists_job", instance, list_month, watch)
        except RunStopped:
            update_data_docs(home.root)  # the month's results, up to the failing step
            raise
    # An interrupted run (RunInterrupted, KeyboardInterrupt) stops at once: no Data Docs.
    watch.working_on(f"updating the Data Docs in {home.data_docs}")
    # The summary's totals are counted (in DuckDB's threads: the people over every
    # registrations snapshot take about 1.1 s at 1,000,000 people, benchmarks/
    # list_pieces.py) while the Data Docs are built (in Python): the two overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        recorded = pool.submit(read_recorded, home.root)
        update_data_docs(home.root)
        return summarise(home.root, months, recorded.result())


REFERENCE_TAG = "riskstrat/reference"
"""Tag of a reference run: the `planner.ReferenceFiles.key` of the files and code it loaded."""
REFERENCE_CODE = ("pipelines", "warehouse", "data_contracts")
"""The code the reference run's results depend on (any change to it reloads them)."""


def reference_unchanged(
    instance: dg.DagsterInstance, home: Home, reference: planner.ReferenceFiles | None
) -> bool:
    """Whether running the reference job again would change nothing: its latest run
    succeeded on these same files and code, and the warehouse holds what was loaded from
    these files (not a backup's, or another landing zone's loaded outside this runner)."""
    if reference is None:
        return False
    latest = instance.get_run_records(filters=dg.RunsFilter(job_name="reference_job"), limit=1)
    if not latest:
        return False
    run = latest[0].dagster_run
    return (
        run.status == dg.DagsterRunStatus.SUCCESS
        and run.tags.get(REFERENCE_TAG) == reference.key
        and planner.reference_loaded(home, reference.files)
    )


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


def recover_interrupted_runs(instance: dg.DagsterInstance) -> list[str]:
    """Close what a killed run left open in the home's Dagster instance; one line for each.

    Called under the home's run lock, so no other `riskstrat run` is alive on this home: a run
    executed in-process (no code location origin: `riskstrat run`, never the daemon or the UI)
    that is still unfinished belongs to a process that died (SIGKILL, the OOM killer, a power
    cut). It is marked failed, and the `warehouse` pool slot it held is freed, or every later
    run would wait for it forever. Slots still held by any finished run are freed too (a run
    the daemon launched that died the same way; Dagster frees those only with run monitoring).
    The warehouse needs nothing: DuckDB rolls back the dead run's open transaction.
    """
    lines = []
    storage = instance.event_log_storage
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if run.remote_job_origin is not None:
            continue  # launched through the code location: the daemon's to monitor
        owner = run.tags.get(RUNNER_TAG, "an earlier riskstrat run")
        instance.add_run_tags(run.run_id, {INTERRUPTED_TAG: "process ended"})
        instance.report_run_failed(
            run,
            message=f"The process running this run ({owner}) ended before it finished "
            "(killed or crashed); marked failed by the next riskstrat run on this home.",
        )
        if storage.supports_global_concurrency_limits:
            storage.free_concurrency_slots_for_run(run.run_id)
        lines.append(
            f"recovered: {run.job_name} run {run.run_id[:8]} ({owner}) had been left "
            f"{run.status.value} by a process that ended; marked failed, its pool slot freed"
        )
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            holder = instance.get_run_by_id(run_id)
            if holder is None or holder.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return lines


@dataclass(frozen=True)
class UnfinishedWork:
    """What runs that stopped part-way left to do again: months to load, a model to train."""

    months: frozenset[str]
    model: bool


def unfinished_work(instance: dg.DagsterInstance) -> UnfinishedWork:
    """Work whose latest run stopped part-way (tagged `INTERRUPTED_TAG`): the months such a
    monthly run covered, unless a later run loaded them, and the model if the latest model
    run stopped. Read from the run history, so it survives a rerun that is killed in turn."""
    order = list(instance.get_dynamic_partitions(EXTRACT_MONTHS))
    settled: set[str] = set()
    months: set[str] = set()
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name="monthly_job")):
        run = record.dagster_run  # newest first: the latest run of a month decides
        covered = run_months(run, order)
        if run.tags.get(INTERRUPTED_TAG):
            months |= set(covered) - settled
        settled |= set(covered)
    latest_model = instance.get_run_records(filters=dg.RunsFilter(job_name="model_job"), limit=1)
    model = bool(latest_model) and INTERRUPTED_TAG in latest_model[0].dagster_run.tags
    return UnfinishedWork(frozenset(months), model)


def run_months(run: dg.DagsterRun, order: list[str]) -> list[str]:
    """The extract months a monthly run covers: its partition, or its range of partitions."""
    if run.tags.get(RANGE_START) in order and run.tags.get(RANGE_END) in order:
        start, end = order.index(run.tags[RANGE_START]), order.index(run.tags[RANGE_END])
        return order[start : end + 1]
    partition = run.tags.get("dagster/partition")
    return [partition] if partition else []


def read_recorded(home: Path) -> tuple[dict[str, Any], WarehouseTotals]:
    """The deliveries recorded and the totals, from the warehouse (read-only)."""
    with Home.at(home).connect(read_only=True) as connection:
        return recorded_deliveries(connection), warehouse_totals(connection)


def summarise(
    home: Path, months: list[str], recorded_and_totals: tuple[dict[str, Any], WarehouseTotals]
) -> RunSummary:
    """What the run left in the home, read back rather than tallied on the way
    (`recorded_and_totals`: `read_recorded`)."""
    paths = Home.at(home)
    summary = RunSummary(home=home, months=months)
    recorded, totals = recorded_and_totals
    summary.month_status = {month: recorded[month].status for month in months if month in recorded}
    summary.rows_loaded, summary.files_rejected = totals.rows_loaded, totals.files_rejected
    summary.people, summary.rows_quarantined = totals.people, totals.rows_quarantined
    evaluation = paths.model_reports / "evaluation.json"
    if evaluation.is_file():
        report = json.loads(evaluation.read_text())
        summary.auroc = float(report["validation"]["auroc"])
        summary.validated_out_of_time = not report.get("cold_start", False)
    data_docs = paths.data_docs / "index.html"
    summary.data_docs = data_docs if data_docs.is_file() else None
    cards = [paths.model_reports / name for name in ("model_card.html", "model_card.md")]
    summary.model_card = next((card for card in cards if card.is_file()), None)
    index = paths.data_quality_reports / "index.html"
    pages = sorted(paths.data_quality_reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].html"))
    summary.data_quality = index if index.is_file() else (pages[-1] if pages else None)
    lists = sorted(
        path for path in paths.outbox.glob("*/*/*/risk_list.html") if path.parts[-3] != "summary"
    )
    if lists:
        summary.list_month = lists[-1].parent.name
        month_lists = [path for path in lists if path.parent.name == summary.list_month]
        summary.practice_list = month_lists[0]
        summary.practices_listed = len(month_lists)
        summary.federations = len(list(paths.outbox.glob(f"*/summary/{summary.list_month}")))
    return summary


def month_runs(
    months: list[str], instance: dg.DagsterInstance, *, one_run: bool = True
) -> list[str | list[str]]:
    """The monthly runs that load `months`, in the instance's partition order (planner)."""
    return planner.month_runs(
        months, instance.get_dynamic_partitions(EXTRACT_MONTHS), one_run=one_run
    )


def execute(
    definitions: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    partition: str | list[str] | None,
    progress: Progress | None = None,
    *,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run one job in-process, for one partition, a range of partitions (a list), or none;
    `tags` are added to the run's."""
    job = definitions.resolve_job_def(job_name)
    watch = as_run_progress(progress)
    started = time.monotonic()
    run_id = str(uuid.uuid4())
    tags = {**(tags or {}), RUNNER_TAG: f"pid {os.getpid()} on {socket.gethostname()}"}
    if isinstance(partition, list):
        tags |= range_tags(partition)
        where = f" for {partition[0]}..{partition[-1]} ({len(partition)} months)"
    else:
        where = f" for {partition}" if partition else ""
    ended: list[dg.ExecuteInProcessResult | BaseException] = []

    def run_job() -> None:
        try:
            ended.append(
                job.execute_in_process(
                    instance=instance,
                    run_id=run_id,
                    partition_key=partition if isinstance(partition, str) else None,
                    tags=tags,
                    run_config=QUIET_LOGS,
                    raise_on_error=False,
                )
            )
        except BaseException as error:
            ended.append(error)

    # The job runs in a worker thread so that SIGINT and SIGTERM reach this (main) thread,
    # not Dagster's step boundary, which turns an interrupt into a retry under the retry
    # policy. On a signal the run is marked failed and its slot freed here, and the process
    # exits (pipelines.cli) without waiting for the step: its DuckDB transaction rolls back.
    # Meanwhile this thread reads the run's events, to show each step as it starts.
    worker = threading.Thread(target=run_job, name=f"riskstrat {job_name}", daemon=True)
    events = RunEvents(instance, run_id, watch)
    watch.job_started(f"{job_name}{where}", job_steps(definitions, job_name))
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
            events.read()
            watch.tick()
    except (RunInterrupted, KeyboardInterrupt) as interrupt:
        mark_interrupted(instance, run_id, interrupt)
        raise
    events.read()
    if isinstance(ended[0], BaseException):
        raise ended[0]
    result = ended[0]
    watch.job_finished(f"{job_name}{where}", result.success, time.monotonic() - started)
    if not result.success:
        raise RunStopped(f"{job_name}{where}: {failure_message(result)}")
    return result


def job_steps(definitions: dg.Definitions, job_name: str) -> int:
    """The steps a run of the job executes: one an asset, multi-asset or separate check."""
    return len(definitions.resolve_job_def(job_name).nodes)


STEP_ENDED = frozenset({dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE})


class RunEvents:
    """Tells `progress` what a run's event log records as the run goes: steps starting and
    ending, and the warnings its assets log (as one line each, without the run id)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, progress: RunProgress) -> None:
        self.instance, self.run_id, self.progress = instance, run_id, progress
        self.cursor: str | None = None

    def read(self) -> None:
        """Everything recorded since the last read."""
        if not self.instance.has_run(self.run_id):
            return
        found = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = found.cursor
        for record in found.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None:
                if level_number(entry.level) >= logging.WARNING:
                    self.progress.warning(entry.user_message)
            elif event.event_type == dg.DagsterEventType.STEP_START and event.step_key:
                self.progress.step_started(event.step_key)
            elif event.event_type in STEP_ENDED:
                self.progress.step_finished()


def level_number(level: str | int) -> int:
    """A log level as its number (Dagster records either)."""
    return level if isinstance(level, int) else logging.getLevelNamesMapping().get(level, 0)


def mark_interrupted(instance: dg.DagsterInstance, run_id: str, reason: BaseException) -> None:
    """Record in the run history that a signal stopped the run, and free its pool slot."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return
    signal_name = reason.signal_name if isinstance(reason, RunInterrupted) else "SIGINT"
    instance.add_run_tags(run_id, {INTERRUPTED_TAG: signal_name})
    instance.report_run_failed(
        run, message=f"riskstrat run stopped on {signal_name}; the next run does this work again."
    )
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


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
