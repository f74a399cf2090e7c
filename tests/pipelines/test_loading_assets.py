"""The loading assets and checks, materialised through Dagster against a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.loading.assets import deliveries, reference_data
from pipelines.loading.checks import (
    deliveries_every_file_matches_manifest,
    deliveries_every_practice_delivered,
)
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from tests import supplier
from tests.pipelines.conftest import HomeResources


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    return HomeResources(home=str(tmp_path / "home"), landing=str(landing))


@pytest.fixture
def instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_months.name, ["2024-01", "2024-02"])
    return instance


def test_deliveries_materialise_per_month_and_write_the_report(warehouse, instance):
    assets = [reference_data, deliveries]
    checks = [deliveries_every_file_matches_manifest, deliveries_every_practice_delivered]
    dg.materialize([reference_data], instance=instance, resources=warehouse.resources())

    result = dg.materialize(
        [*assets, *checks],
        instance=instance,
        resources=warehouse.resources(),
        partition_key="2024-02",
        selection=[deliveries, *checks],
    )

    assert result.success
    [materialization] = result.asset_materializations_for_node("deliveries")
    assert materialization.metadata["rows_loaded"].value == 11  # see tests/supplier.month_files
    assert materialization.metadata["files_rejected"].value == 0
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name: e.passed for e in evaluations} == {
        "deliveries_every_file_matches_manifest": True,
        "deliveries_every_practice_delivered": True,
    }
    report = json.loads((warehouse.paths.reports / "deliveries" / "2024-02.json").read_text())
    assert report["month"] == "2024-02"
    assert report["status"] == "loaded"
    assert set(report["files"][0]) >= {"path", "manifest_rows", "loaded_rows", "status", "reason"}
    assert all(f["loaded_rows"] == f["manifest_rows"] for f in report["files"])


def test_a_rejected_file_fails_the_warning_check_not_the_run(warehouse, instance):
    target = Path(warehouse.landing) / "extracts" / "2024-01" / "sus" / "admissions.csv"
    target.write_bytes(
        target.read_bytes() + b"SP-extra,9990000018,A10001,RF4,2024-01-20,,21,J44.1\r\n"
    )
    dg.materialize([reference_data], instance=instance, resources=warehouse.resources())

    result = dg.materialize(
        [reference_data, deliveries, deliveries_every_file_matches_manifest],
        instance=instance,
        resources=warehouse.resources(),
        partition_key="2024-01",
        selection=[deliveries, deliveries_every_file_matches_manifest],
    )

    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    report = json.loads((warehouse.paths.reports / "deliveries" / "2024-01.json").read_text())
    [admissions] = [f for f in report["files"] if f["path"] == "sus/admissions.csv"]
    assert admissions["status"] == "rejected"
    assert admissions["loaded_rows"] == 0


def test_definitions_load_and_validate():
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    assert {"reference_job", "monthly_job"} <= {job.name for job in defs.resolve_all_job_defs()}
