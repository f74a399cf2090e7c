"""Run the whole pipeline in-process through Dagster, month by month, for the CLI.

Each month is its own Dagster run (partition), recorded in the instance under the home,
so the Dagster UI shows the same history as the command line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.definitions import build_definitions
from pipelines.errors import RunStopped
from pipelines.lists.months import month_for_lists
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import Warehouse
from pipelines.settings import configured_environment
from pipelines.validation.outcomes import blocking_check_message, update_data_docs
from warehouse.connection import connect
from warehouse.deliveries import extract_months as months_in_landing
from warehouse.errors import InputError
from warehouse.run_lock import HomeBusyError, run_lock

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
        incomplete = [m for m, s in self.month_status.items() if s != "loaded"]
        lines = [
            f"riskstrat: {len(self.months)} month(s) {self.months[0] if self.months else ''}"
            f"{' .. ' + self.months[-1] if len(self.months) > 1 else ''}; "
            f"{self.rows_loaded:,} rows loaded; {self.files_rejected} file(s) rejected.",
            f"  {self.people:,} people; {self.rows_quarantined:,} row(s) quarantined"
            + (f"; model AUROC {self.auroc:.3f}" if self.auroc is not None else "; no model yet"),
        ]
        if incomplete:
            lines.append("  not loaded: " + ", ".join(f"{m} ({self.month_status[m]})" for m in incomplete))
        lines += [
            f"  warehouse        {self.home / 'warehouse.duckdb'}",
            f"  delivery reports {self.home / 'reports' / 'deliveries'}",
            f"  Dagster history  {self.home / 'dagster'} (DAGSTER_HOME)",
            *([f"  practice lists   {self.home / 'outbox'}"] if (self.home / "outbox").is_dir() else []),
            *([f"  Data Docs        {self.data_docs}"] if self.data_docs else []),
            *([f"  model card       {self.model_card}"] if self.model_card else []),
            *([f"  a practice list  {self.practice_list}"] if self.practice_list else []),
        ]
        return "\n".join(lines)


Progress = Callable[[str], None]
"""Told one line as each job finishes (pipelines.cli prints them)."""


def run_pipeline(
    landing: Path, home: Path, truth: Path | None = None, wait_seconds: float = 0.0,
    progress: Progress | None = None,
) -> RunSummary:
    """Materialise every asset for every month folder of `landing` into `home`.

    Holds the home's run lock throughout; a second run waits up to `wait_seconds`.
    """
    try:
        with run_lock(home, wait_seconds):
            return run_locked(landing, home, truth, progress)
    except HomeBusyError as error:
        raise RunStopped(str(error)) from None


def run_locked(
    landing: Path, home: Path, truth: Path | None, progress: Progress | None = None
) -> RunSummary:
    if truth is None and (landing.parent / "truth.csv").is_file():
        truth = landing.parent / "truth.csv"
    with configured_environment(landing, home, truth):
        return run_configured(landing, home, progress)


def run_configured(landing: Path, home: Path, progress: Progress | None) -> RunSummary:
    settings = home / "dagster" / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_SETTINGS)
    try:
        months = months_in_landing(landing)
    except InputError as error:
        raise RunStopped(str(error)) from None
    if not months:
        raise RunStopped(f"{landing / 'extracts'} holds no YYYY-MM month folders: nothing to load.")

    definitions = build_definitions(Warehouse(home=str(home), landing=str(landing)))
    with dg.DagsterInstance.get() as instance:
        new = [m for m in months if not instance.has_dynamic_partition(EXTRACT_MONTHS, m)]
        if new:
            instance.add_dynamic_partitions(EXTRACT_MONTHS, new)
        try:
            execute(definitions, "reference_job", instance, None, progress)
            for month in months:
                execute(definitions, "monthly_job", instance, month, progress)
            if modelling_ready(home):
                execute(definitions, "model_job", instance, None, progress)
            lists_month = month_for_lists(home)
            if lists_month is not None:
                execute(definitions, "lists_job", instance, lists_month, progress)
        finally:
            update_data_docs(home)
    return summarise(home, months)


def modelling_ready(home: Path) -> bool:
    """Train the model only once the warehouse holds enough labelled months (25 or more)."""
    from models.training import can_train

    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        return can_train(connection)


def summarise(home: Path, months: list[str]) -> RunSummary:
    """What the run left in the warehouse, read back rather than tallied on the way."""
    summary = RunSummary(home=home, months=months)
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        for month, status in connection.execute(
            "SELECT delivery_month, status FROM raw.delivery_months ORDER BY 1"
        ).fetchall():
            if month in months:
                summary.month_status[month] = status
        loaded, rejected = connection.execute(
            "SELECT coalesce(sum(loaded_rows), 0), count(*) FILTER (WHERE status = 'rejected') "
            "FROM raw.delivery_files"
        ).fetchone() or (0, 0)
    summary.rows_loaded, summary.files_rejected = int(loaded), int(rejected)
    summarise_outputs(summary)
    return summary


def summarise_outputs(summary: RunSummary) -> None:
    """People, quarantined rows, AUROC and where to look: each left empty when not made yet."""
    home = summary.home
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        tables = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
        }
        if "staged.registrations" in tables:
            row = connection.execute("SELECT count(DISTINCT nhs_number) FROM staged.registrations").fetchone()
            summary.people = int(row[0]) if row else 0
        if "quarantine.rows" in tables:
            row = connection.execute(
                "SELECT count(*) FROM (SELECT DISTINCT delivery_month, source_file, line_number "
                "FROM quarantine.rows)"
            ).fetchone()
            summary.rows_quarantined = int(row[0]) if row else 0
    evaluation = home / "reports" / "model" / "evaluation.json"
    if evaluation.is_file():
        summary.auroc = float(json.loads(evaluation.read_text())["validation"]["auroc"])
    data_docs = home / "reports" / "data_docs" / "index.html"
    summary.data_docs = data_docs if data_docs.is_file() else None
    card = home / "reports" / "model" / "model_card.md"
    summary.model_card = card if card.is_file() else None
    lists = sorted(
        path for path in (home / "outbox").glob("*/*/*/risk_list.html") if path.parts[-3] != "summary"
    )
    summary.practice_list = lists[-1] if lists else None


def execute(
    definitions: dg.Definitions, job_name: str, instance: dg.DagsterInstance, partition_key: str | None,
    progress: Progress | None = None,
) -> dg.ExecuteInProcessResult:
    job = definitions.resolve_job_def(job_name)
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance, partition_key=partition_key, run_config=QUIET_LOGS, raise_on_error=False
    )
    where = f" for {partition_key}" if partition_key else ""
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
