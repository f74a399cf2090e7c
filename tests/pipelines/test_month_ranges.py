"""A first load as one run over the range of months gives exactly what a run a month gives.

The same small landing zone (with delivery faults, so quarantine, rejected files and an
incomplete month are all exercised) is loaded twice: once as one Dagster run over every
month, once month by month. Every warehouse table, delivery report and data-quality report
must be identical, byte for byte.
"""

from __future__ import annotations

import dagster as dg
import pytest

from benchmarks.compare_homes import differences, file_digests, table_digests
from pipelines.runner import open_instance, run_pipeline
from synthetic import generate
from warehouse.home import Home

pytestmark = pytest.mark.slow


def report_folders(home: Home) -> list[str]:
    """The delivery and data-quality report folders, relative to the home."""
    return [
        folder.relative_to(home.root).as_posix()
        for folder in (home.delivery_reports, home.data_quality_reports)
    ]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Home]:
    root = tmp_path_factory.mktemp("ranges")
    generate(root / "zone", people=800, months=7, seed=5, faults=True)
    landing = root / "zone" / "landing"
    in_one_run = Home.at(root / "one-run")
    month_by_month = Home.at(root / "month-by-month")
    run_pipeline(landing, in_one_run.root, months_in_one_run=True)
    run_pipeline(landing, month_by_month.root, months_in_one_run=False)
    return in_one_run, month_by_month


def test_the_first_load_is_one_dagster_run_over_the_range(homes: tuple[Home, Home]):
    in_one_run, month_by_month = homes
    with open_instance(in_one_run) as instance:
        monthly = instance.get_run_records(dg.RunsFilter(job_name="monthly_job"))
    with open_instance(month_by_month) as instance:
        separate = instance.get_run_records(dg.RunsFilter(job_name="monthly_job"))
    assert len(monthly) == 1 and len(separate) == 7
    tags = monthly[0].dagster_run.tags
    assert (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    ) == (
        min(r.dagster_run.tags["dagster/partition"] for r in separate),
        max(r.dagster_run.tags["dagster/partition"] for r in separate),
    )


def test_every_table_is_identical_either_way(homes: tuple[Home, Home]):
    in_one_run, month_by_month = homes
    ranged, monthly = table_digests(in_one_run.root), table_digests(month_by_month.root)
    assert ranged.keys() == monthly.keys() and len(ranged) > 20
    assert {name for name in ranged if ranged[name] != monthly[name]} == set()
    assert not ranged["quarantine.rows"].startswith("0 rows"), (
        "the faults should have quarantined rows"
    )


def test_every_report_is_identical_either_way(homes: tuple[Home, Home]):
    in_one_run, month_by_month = homes
    folders = report_folders(in_one_run)
    ranged = file_digests(in_one_run.root, folders)
    # a delivery report a month; quality reports for loaded months
    assert len(ranged) >= 7 + 2 * 7 - 2
    assert file_digests(month_by_month.root, folders).keys() == ranged.keys()
    assert differences(in_one_run.root, month_by_month.root, folders) == []
