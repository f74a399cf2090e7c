"""The sensors that chain a month's runs: after loading, retrain or score; after training, score."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipelines.operations.sensors import MONTH_TAG, model_trained_sensor, month_loaded_sensor
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import Warehouse


@dg.op
def finished() -> None:
    """Stands in for a monitored job: only its success event and tags reach the sensor."""


@dg.job
def stand_in_job() -> None:
    finished()


@pytest.fixture
def instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(EXTRACT_MONTHS, ["2025-10", "2025-11", "2025-12"])
    return instance


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(home=str(tmp_path / "home"), landing=str(tmp_path / "landing"))


def after_success(sensor, instance, warehouse, tags: dict[str, str]):
    result = stand_in_job.execute_in_process(instance=instance, tags=tags)
    with dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"warehouse": warehouse},
    ) as context:
        if sensor is model_trained_sensor:
            return sensor(context)
        return sensor(context, warehouse=warehouse)


def install_current_model(warehouse: Warehouse) -> None:
    models = warehouse.home_path / "models"
    models.mkdir(parents=True)
    (models / "current.json").write_text("{}")


def test_the_latest_month_loaded_without_a_model_asks_for_training(instance, warehouse):
    request = after_success(month_loaded_sensor, instance, warehouse, {"dagster/partition": "2025-12"})

    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "model_job"
    assert request.tags[MONTH_TAG] == "2025-12"


def test_a_backfilled_older_month_is_scored_by_the_current_model_not_retrained(instance, warehouse):
    install_current_model(warehouse)

    request = after_success(month_loaded_sensor, instance, warehouse, {"dagster/partition": "2025-10"})

    assert isinstance(request, dg.RunRequest)
    assert (request.job_name, request.partition_key) == ("lists_job", "2025-10")


def test_a_backfilled_older_month_without_any_model_waits(instance, warehouse):
    skip = after_success(month_loaded_sensor, instance, warehouse, {"dagster/partition": "2025-10"})

    assert isinstance(skip, dg.SkipReason)
    assert "no model yet" in (skip.skip_message or "")


def test_after_training_the_month_that_asked_is_scored_and_listed(instance, warehouse):
    request = after_success(model_trained_sensor, instance, warehouse, {MONTH_TAG: "2025-11"})

    assert isinstance(request, dg.RunRequest)
    assert (request.job_name, request.partition_key) == ("lists_job", "2025-11")


def test_each_finished_run_triggers_its_own_request_once(instance, warehouse):
    first = after_success(model_trained_sensor, instance, warehouse, {MONTH_TAG: "2025-11"})
    second = after_success(model_trained_sensor, instance, warehouse, {MONTH_TAG: "2025-11"})

    assert isinstance(first, dg.RunRequest) and isinstance(second, dg.RunRequest)
    assert first.run_key != second.run_key
