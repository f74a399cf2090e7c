"""The landing-zone sensor: one run request per delivery, none on a second tick, one more on re-delivery."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.operations.sensors import DELIVERY_TAG, landing_zone_sensor
from tests import supplier
from tests.pipelines.conftest import HomeResources
from warehouse.deliveries import manifest_digests


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    return landing


def tick(landing: Path, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    warehouse = HomeResources(home=str(landing.parent / "home"), landing=str(landing))
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(
            cursor=cursor, resources=warehouse.resources(), instance=instance
        ) as context,
    ):
        result = landing_zone_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def requests(result: dg.SensorResult | dg.SkipReason) -> list[dg.RunRequest]:
    return list(result.run_requests or []) if isinstance(result, dg.SensorResult) else []


def test_a_dropped_manifest_yields_exactly_one_run_request_and_its_partition(landing: Path):
    result = tick(landing, None)

    [request] = requests(result)
    assert isinstance(result, dg.SensorResult)
    digest = manifest_digests(landing)["2024-01"]
    assert request.partition_key == "2024-01"
    assert request.run_key == f"2024-01:{digest}"
    assert request.tags[DELIVERY_TAG] == request.run_key
    [added] = result.dynamic_partitions_requests or []
    assert isinstance(added, dg.AddDynamicPartitionsRequest)
    assert added.partitions_def_name == "extract_months" and list(added.partition_keys) == [
        "2024-01"
    ]
    assert json.loads(result.cursor or "{}") == {"2024-01": digest}


def test_a_second_tick_yields_no_run(landing: Path):
    first = tick(landing, None)
    assert isinstance(first, dg.SensorResult)

    second = tick(landing, first.cursor)

    assert isinstance(second, dg.SkipReason)
    assert requests(second) == []


def test_a_redelivered_month_runs_once_more(landing: Path):
    first = tick(landing, None)
    assert isinstance(first, dg.SensorResult)
    files = supplier.month_files("2024-01")
    first_key = requests(first)[0].run_key
    # A corrected delivery: one file changes, so the manifest (and its digest) changes.
    registrations = next(path for path in files if path.endswith("registrations.csv"))
    corrected = files[registrations].replace(b"1941-03-02", b"1941-03-03")
    assert corrected != files[registrations]
    files[registrations] = corrected
    supplier.write_month(landing, "2024-01", files)

    redelivered = tick(landing, first.cursor)
    [request] = requests(redelivered)
    assert request.partition_key == "2024-01" and request.run_key != first_key
    assert isinstance(redelivered, dg.SensorResult)
    assert isinstance(tick(landing, redelivered.cursor), dg.SkipReason)


def test_a_month_without_its_manifest_yields_nothing(landing: Path):
    first = tick(landing, None)
    assert isinstance(first, dg.SensorResult)
    supplier.write_month(landing, "2024-02", supplier.month_files("2024-02"), manifest=None)

    assert requests(tick(landing, first.cursor)) == []

    supplier.write_month(landing, "2024-02", supplier.month_files("2024-02"))
    [request] = requests(tick(landing, first.cursor))
    assert request.partition_key == "2024-02"


def test_an_empty_landing_zone_yields_nothing(tmp_path: Path):
    assert isinstance(tick(tmp_path / "landing", None), dg.SkipReason)


def test_a_lists_request_adds_its_month_to_the_list_months():
    """The list assets are partitioned by the months listed, so a month the sensors list joins
    them first (and the UI never shows the months before a model as missing lists)."""
    from pipelines.operations.sensors import lists_request
    from pipelines.partitions import LIST_MONTHS

    instance = dg.DagsterInstance.ephemeral()

    request = lists_request("2024-02", "run-1", instance)
    again = lists_request("2024-02", "run-2", instance)

    assert (request.job_name, request.partition_key) == ("lists_job", "2024-02")
    assert again.run_key != request.run_key
    assert instance.get_dynamic_partitions(LIST_MONTHS) == ["2024-02"]


def test_a_first_load_of_several_months_is_one_run_over_their_range(tmp_path: Path):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02", "2024-03"))

    result = tick(landing, None)

    [request] = requests(result)
    assert request.partition_key is None
    assert request.partition_key_range == dg.PartitionKeyRange("2024-01", "2024-03")
    digests = manifest_digests(landing)
    assert {
        key: value for key, value in request.tags.items() if key.startswith(f"{DELIVERY_TAG}/")
    } == {f"{DELIVERY_TAG}/{month}": f"{month}:{digest}" for month, digest in digests.items()}
    assert isinstance(result, dg.SensorResult)
    [added] = result.dynamic_partitions_requests or []
    assert isinstance(added, dg.AddDynamicPartitionsRequest)
    assert list(added.partition_keys) == ["2024-01", "2024-02", "2024-03"]
    assert isinstance(tick(landing, result.cursor), dg.SkipReason)
