"""riskstrat run writes Dagster's run history without a disk sync per event, and keeps it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy

from pipelines.runner import open_instance
from warehouse.home import Home


@dg.op
def finished() -> None:
    """A run with a few events to record."""


@dg.job
def small_job() -> None:
    finished()


def test_run_history_commits_without_a_disk_sync_and_survives_reopening(tmp_path: Path):
    home = Home.at(tmp_path / "home")
    with open_instance(home) as instance:
        result = small_job.execute_in_process(instance=instance)
        assert result.success
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'probe.db'}")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0
    with open_instance(home) as reopened:
        [record] = reopened.get_run_records()
        assert record.dagster_run.run_id == result.run_id
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
