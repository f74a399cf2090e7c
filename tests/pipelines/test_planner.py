"""One planner, two callers: `riskstrat run` and the sensors take the same decision in each case.

Each case lays out a home's state (months loaded, the current model, a drift report) and a
landing zone, then asks (1) the planner, (2) the runner, with job execution recorded
rather than run, and (3) the sensors that follow a monthly run and a training run. All
three must agree with the case's expected decision.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest

from pipelines import planner, runner
from pipelines.operations.schedules import build_monthly_schedule
from pipelines.operations.sensors import (
    DELIVERY_TAG,
    landing_zone_sensor,
    model_trained_sensor,
    month_loaded_sensor,
)
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import RunSettings, Warehouse
from warehouse.connection import connect
from warehouse.deliveries import ensure_raw_schema
from warehouse.home import Home


def months(first: str, count: int) -> list[str]:
    year, month = (int(part) for part in first.split("-"))
    serials = range(year * 12 + month - 1, year * 12 + month - 1 + count)
    return [f"{serial // 12:04d}-{serial % 12 + 1:02d}" for serial in serials]


@dataclass(frozen=True)
class Case:
    name: str
    loaded: int  # months loaded from 2023-01
    model_learnt_up_to: str | None = None  # the current model's latest index date
    model_cold_start: bool = False  # the current model was trained on under 25 months
    drifted_in_latest: bool = False
    redelivered: str | None = None  # a month whose manifest changed since it was loaded
    new_months: int = 0  # months delivered but not loaded yet
    expect_train: bool = False
    expect_list: bool = False
    expect_load: list[str] = field(default_factory=list)


CASES = [
    Case("12 months: no index date has a complete follow-up yet", loaded=12),
    Case("13 months, no model yet: a cold start", loaded=13, expect_train=True, expect_list=True),
    Case(
        "24 months, a cold-start model current: score with it",
        loaded=24,
        model_learnt_up_to="2023-12-31",
        model_cold_start=True,
        expect_list=True,
    ),
    Case(
        "25 months, a cold-start model current: out-of-time validation takes over",
        loaded=25,
        model_learnt_up_to="2023-12-31",
        model_cold_start=True,
        expect_train=True,
        expect_list=True,
    ),
    Case("enough history, no model yet: train", loaded=25, expect_train=True, expect_list=True),
    Case(
        "a new month, model current: score it",
        loaded=26,
        model_learnt_up_to="2024-01-31",
        expect_list=True,
    ),
    Case(
        "three new labelled months: quarterly retrain",
        loaded=28,
        model_learnt_up_to="2024-01-31",
        expect_train=True,
        expect_list=True,
    ),
    Case(
        "drift against the current model: retrain",
        loaded=26,
        model_learnt_up_to="2024-01-31",
        drifted_in_latest=True,
        expect_train=True,
        expect_list=True,
    ),
    Case(
        "a re-delivered month is loaded again, and every month after it",
        loaded=26,
        model_learnt_up_to="2024-01-31",
        redelivered="2023-06",
        expect_list=True,
        expect_load=months("2023-06", 21),
    ),
    Case(
        "a delivered month not yet loaded",
        loaded=25,
        new_months=1,
        model_learnt_up_to="2024-01-31",
        expect_list=True,
        expect_load=["2025-02"],
    ),
]


def manifest_bytes(month: str, version: int = 1) -> bytes:
    return f"path,rows,sha256\r\n# {month} delivery {version}\r\n".encode()


def lay_out(case: Case, root: Path) -> tuple[Home, Path]:
    """The home and landing zone of a case: bookkeeping only, no activity rows."""
    home, landing = Home.at(root / "home"), root / "landing"
    loaded = months("2023-01", case.loaded)
    for month in [*loaded, *months("2023-01", case.loaded + case.new_months)[case.loaded :]]:
        folder = landing / "extracts" / month
        folder.mkdir(parents=True)
        version = 2 if month == case.redelivered else 1
        (folder / "manifest.csv").write_bytes(manifest_bytes(month, version))
    with connect(home.database) as connection:
        ensure_raw_schema(connection)
        connection.execute(
            "CREATE TABLE staged.registrations (delivery_month VARCHAR, nhs_number VARCHAR)"
        )
        for month in loaded:
            digest = hashlib.sha256(manifest_bytes(month)).hexdigest()
            connection.execute(
                "INSERT INTO raw.delivery_months VALUES (?, 'loaded', NULL, ?, [])", [month, digest]
            )
            connection.execute("INSERT INTO staged.registrations VALUES (?, '9990000018')", [month])
    if case.model_learnt_up_to is not None:
        folder = home.models / "v1"
        folder.mkdir(parents=True)
        (home.models / "current.json").write_text(json.dumps({"version": "v1", "decision": {}}))
        plan = {
            "training_dates": [],
            "validation_date": case.model_learnt_up_to,
            "refit_dates": [],
            "cold_start": case.model_cold_start,
        }
        (folder / "metadata.json").write_text(json.dumps({"plan": plan}))
    if case.drifted_in_latest:
        home.drift_reports.mkdir(parents=True)
        report = {"month": loaded[-1], "model_version": "v1", "drifted": ["age"], "threshold": 0.2}
        (home.drift_reports / f"{loaded[-1]}.json").write_text(json.dumps(report))
    return home, landing


def latest_loaded(case: Case) -> str:
    return months("2023-01", case.loaded)[-1]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_the_planner_decides_as_expected(case: Case, tmp_path: Path):
    home, landing = lay_out(case, tmp_path)

    steps = planner.after_loading(home)
    to_load = [item.month for item in planner.months_to_load(home, landing)]

    assert (steps.train, steps.list_month is not None) == (case.expect_train, case.expect_list), (
        steps
    )
    assert steps.list_month in (None, latest_loaded(case))
    assert to_load == case.expect_load


def test_riskstrat_run_takes_the_planners_decisions(case: Case, tmp_path: Path, monkeypatch):
    home, landing = lay_out(case, tmp_path)
    jobs: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        runner,
        "execute",
        lambda definitions, job, instance, partition, progress=None, tags=None: jobs.append(
            (job, partition)
        ),
    )

    runner.run_pipeline(landing=landing, home=home.root)

    # The months to load go through Dagster as one run over their range.
    loads = [case.expect_load] if len(case.expect_load) > 1 else case.expect_load
    expected = [("reference_job", None), *(("monthly_job", months) for months in loads)]
    if case.expect_train:
        expected.append(("model_job", None))
    if case.expect_list:
        expected.append(("lists_job", latest_loaded(case)))
    assert jobs == expected


@dg.op
def finished() -> None:
    """Stands in for a monitored job: only its success event reaches the sensor."""


@dg.job
def stand_in_job() -> None:
    finished()


def after_success(sensor, home: Home, landing: Path) -> dg.RunRequest | dg.SkipReason:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(EXTRACT_MONTHS, months("2023-01", 30))
    result = stand_in_job.execute_in_process(instance=instance)
    resources = {
        "warehouse": Warehouse(home=str(home.root)),
        "settings": RunSettings(landing=str(landing)),
    }
    with dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources=resources,
    ) as context:
        return sensor(context, **resources)


def requested_months(request: dg.RunRequest) -> list[str]:
    """The months a run request loads: its partition, or every month of its range (each
    month's delivery is a tag of the run; the range runs from the first to the last)."""
    if request.partition_key is not None:
        return [request.partition_key]
    tagged = sorted(
        key.rsplit("/", 1)[1] for key in request.tags if key.startswith(f"{DELIVERY_TAG}/")
    )
    assert request.partition_key_range is not None
    assert (request.partition_key_range.start, request.partition_key_range.end) == (
        tagged[0],
        tagged[-1],
    )
    return tagged


def test_the_sensors_take_the_planners_decisions(case: Case, tmp_path: Path):
    home, landing = lay_out(case, tmp_path)
    resources = {
        "warehouse": Warehouse(home=str(home.root)),
        "settings": RunSettings(landing=str(landing)),
    }
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(resources=resources, instance=instance) as context,
    ):
        delivered = landing_zone_sensor(context)
    requested = (
        [month for r in delivered.run_requests for month in requested_months(r)]
        if isinstance(delivered, dg.SensorResult)
        else []
    )

    after_month = after_success(month_loaded_sensor, home, landing)
    after_model = after_success(model_trained_sensor, home, landing)

    assert requested == case.expect_load
    if case.expect_train:
        assert isinstance(after_month, dg.RunRequest) and after_month.job_name == "model_job"
    elif case.expect_list:
        assert isinstance(after_month, dg.RunRequest)
        assert (after_month.job_name, after_month.partition_key) == (
            "lists_job",
            latest_loaded(case),
        )
    else:
        assert isinstance(after_month, dg.SkipReason)
    if case.expect_list:
        assert isinstance(after_model, dg.RunRequest)
        assert (after_model.job_name, after_model.partition_key) == (
            "lists_job",
            latest_loaded(case),
        )
    else:
        assert isinstance(after_model, dg.SkipReason)


def test_the_schedule_takes_the_planners_decisions(case: Case, tmp_path: Path):
    home, landing = lay_out(case, tmp_path)
    resources = {
        "warehouse": Warehouse(home=str(home.root)),
        "settings": RunSettings(landing=str(landing)),
    }
    (tmp_path / "dagster").mkdir()
    # A persistent instance: schedule contexts reopen it by reference.
    instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster"))
    with dg.build_schedule_context(instance=instance, resources=resources) as context:
        result = build_monthly_schedule()(context)

    requested = (
        [month for r in result for month in requested_months(r)] if isinstance(result, list) else []
    )
    assert requested == case.expect_load


def test_a_landing_zone_without_extracts_is_one_clear_error(tmp_path: Path):
    with pytest.raises(runner.RunStopped, match="extracts"):
        runner.run_pipeline(landing=tmp_path / "nowhere", home=tmp_path / "home")


def test_months_run_as_one_range_per_stretch_of_consecutive_partitions():
    order = ["2024-01", "2024-02", "2024-04", "2024-05", "2024-03"]  # 2024-03 delivered late

    assert planner.month_runs(["2024-01", "2024-02"], order) == [["2024-01", "2024-02"]]
    assert planner.month_runs(["2024-03", "2024-04", "2024-05"], order) == [
        "2024-03",
        ["2024-04", "2024-05"],
    ]
    assert planner.month_runs(["2024-05"], order) == ["2024-05"]
    assert planner.month_runs(["2024-01", "2024-02"], order, one_run=False) == [
        "2024-01",
        "2024-02",
    ]
    assert planner.month_runs([], order) == []
