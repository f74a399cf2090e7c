"""The monthly schedule: the latest delivered month, once per delivery, on the configured day."""

from __future__ import annotations

import datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.operations.schedules import build_monthly_schedule
from pipelines.operations.sensors import DELIVERY_TAG
from tests import supplier
from tests.pipelines.conftest import HomeResources
from warehouse.deliveries import manifest_digests

monthly_schedule = build_monthly_schedule()
TICK = datetime.datetime(2024, 3, 10, 6, 0, tzinfo=datetime.UTC)


@pytest.fixture
def instance(tmp_path: Path) -> dg.DagsterInstance:
    # A persistent instance: schedule contexts reopen it by reference.
    (tmp_path / "dagster").mkdir()
    return dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster"))


def tick(instance: dg.DagsterInstance, landing: Path) -> list[dg.RunRequest] | dg.SkipReason:
    warehouse = HomeResources(home=str(landing.parent / "home"), landing=str(landing))
    # Closed on leaving the block: the context opens the instance (by reference) on first
    # use, and an instance left open leaves Dagster's definitions-state storage pointing at
    # it after it is collected, breaking later materialisations in the same process.
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=TICK, resources=warehouse.resources()
    ) as context:
        result = monthly_schedule(context)
    assert isinstance(result, list | dg.SkipReason)
    return result


def test_the_schedule_ticks_after_the_delivery_day_in_london():
    assert monthly_schedule.cron_schedule == "0 6 10 * *"
    assert monthly_schedule.execution_timezone == "Europe/London"
    assert monthly_schedule.job_name == "monthly_job"


def test_the_schedule_requests_every_delivered_month_the_warehouse_lacks(
    tmp_path: Path, instance: dg.DagsterInstance
):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    supplier.write_month(landing, "2024-03", supplier.month_files("2024-03"), manifest=None)

    requests = tick(instance, landing)

    assert isinstance(requests, list)
    # 2024-03 has no manifest yet; nothing is loaded, so both delivered months are wanted,
    # as one run over their range, each month's delivery a tag of it.
    [request] = requests
    assert request.partition_key_range == dg.PartitionKeyRange("2024-01", "2024-02")
    digests = manifest_digests(landing)
    assert request.tags[f"{DELIVERY_TAG}/2024-02"] == f"2024-02:{digests['2024-02']}"
    assert request.tags[f"{DELIVERY_TAG}/2024-01"] == f"2024-01:{digests['2024-01']}"
    assert instance.has_dynamic_partition("extract_months", "2024-02")


def test_the_schedule_skips_a_delivery_that_already_ran(
    tmp_path: Path, instance: dg.DagsterInstance
):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    [request] = tick(instance, landing)
    instance.add_run(
        dg.DagsterRun(
            job_name="monthly_job",
            run_id="a-sensor-run",
            tags=dict(request.tags),
            status=dg.DagsterRunStatus.SUCCESS,
        )
    )

    assert isinstance(tick(instance, landing), dg.SkipReason)


def test_the_schedule_skips_months_a_range_run_already_covers(
    tmp_path: Path, instance: dg.DagsterInstance
):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    [request] = tick(instance, landing)
    instance.add_run(
        dg.DagsterRun(
            job_name="monthly_job",
            run_id="a-sensor-range-run",
            tags=dict(request.tags),
            status=dg.DagsterRunStatus.STARTED,
        )
    )
    supplier.write_month(landing, "2024-03", supplier.month_files("2024-03"))

    [later] = tick(instance, landing)

    assert later.partition_key == "2024-03"


def test_the_schedule_skips_when_nothing_is_delivered(tmp_path: Path, instance: dg.DagsterInstance):
    (tmp_path / "landing" / "extracts").mkdir(parents=True)
    skipped = tick(instance, tmp_path / "landing")
    assert isinstance(skipped, dg.SkipReason) and "late" in (skipped.skip_message or "")
