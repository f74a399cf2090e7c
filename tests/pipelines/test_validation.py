"""The validation assets and checks, run through Dagster against a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.loading.assets import deliveries, reference_data
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse
from pipelines.validation import assets as validation_assets
from pipelines.validation.assets import data_quality_report, staged_extract_month, staged_reference
from pipelines.validation.checks import monthly_checks, reference_checks, suite_result
from tests import supplier
from tests.pipelines.conftest import HomeResources
from warehouse.validation import validate_staged

MONTH = "2024-01"


def make_warehouse(tmp_path: Path) -> Warehouse:
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=(MONTH,))
    admissions = landing / "extracts" / MONTH / "sus" / "admissions.csv"
    # One quarantined row (discharge before admission) and one warning (malformed practice code).
    admissions.write_bytes(
        admissions.read_bytes()
        + b"SP-bad,9990000018,A10001,RF4,2024-01-20,2024-01-10,21,J44.1\r\n"
        + b"SP-warn,9990000026,a1,RF4,2024-01-21,,21,J44.1\r\n"
    )
    supplier.write_month(
        landing,
        MONTH,
        supplier.month_files(MONTH) | {"sus/admissions.csv": admissions.read_bytes()},
    )
    return HomeResources(home=str(tmp_path / "home"), landing=str(landing))


def make_instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_months.name, [MONTH])
    return instance


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return make_warehouse(tmp_path)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    return make_instance()


@pytest.fixture(scope="module")
def month_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Warehouse, dg.ExecuteInProcessResult]:
    """One clean month staged, checked and reported, shared by the tests that only read it."""
    warehouse = make_warehouse(tmp_path_factory.mktemp("month"))
    return warehouse, materialise_month(warehouse, make_instance())


def materialise_month(
    warehouse: Warehouse, instance: dg.DagsterInstance, extra_assets=()
) -> dg.ExecuteInProcessResult:
    everything = [
        reference_data,
        staged_reference,
        deliveries,
        staged_extract_month,
        data_quality_report,
        *extra_assets,
        *reference_checks,
        *monthly_checks,
    ]
    reference = dg.materialize(
        everything,
        instance=instance,
        resources=warehouse.resources(),
        selection=[reference_data, staged_reference],
    )
    assert reference.success
    return dg.materialize(
        everything,
        instance=instance,
        resources=warehouse.resources(),
        partition_key=MONTH,
        selection=dg.AssetSelection.assets(
            deliveries, staged_extract_month, data_quality_report, *extra_assets
        ),
        raise_on_error=False,
    )


def test_a_month_stages_reconciles_and_reports(month_run):
    warehouse, result = month_run

    assert result.success
    metadata = {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert metadata["staged_admissions"]["rows_delivered"].value == 3
    assert metadata["staged_admissions"]["rows_staged"].value == 2
    assert metadata["staged_admissions"]["rows_quarantined"].value == 1
    assert metadata["quarantined_rows"]["rows_quarantined"].value == 1
    [by_rule] = metadata["quarantined_rows"]["quarantined_by_rule"].value.records
    assert (by_rule.data["rule"], by_rule.data["rows"]) == ("discharge_not_before_admission", 1)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    reconciliation = [
        e for name, e in evaluations.items() if name.endswith("_every_delivered_row_accounted_for")
    ]
    assert len(reconciliation) == 9 and all(e.passed for e in reconciliation)
    contract = evaluations["staged_admissions_meets_contract"]
    assert not contract.passed, "a malformed hospital-recorded practice code is a warning"
    assert contract.severity == dg.AssetCheckSeverity.WARN
    assert "practice_code_pattern" in contract.metadata["summary"].value
    assert evaluations["staged_consultations_meets_contract"].passed
    report = json.loads((warehouse.paths.reports / "data_quality" / f"{MONTH}.json").read_text())
    [file] = [f for f in report["files"] if f["path"] == "sus/admissions.csv"]
    assert file["quarantined_lines"] == [{"line": 2, "rule": "discharge_not_before_admission"}]
    assert (warehouse.paths.reports / "data_quality" / f"{MONTH}.html").is_file()


def test_reference_checks_called_directly_return_results(month_run):
    warehouse, _ = month_run  # reference data staged
    results = {check.check_key.name: check(warehouse=warehouse) for check in reference_checks}
    assert all(isinstance(r, dg.AssetCheckResult) for r in results.values())
    assert {name: r.passed for name, r in results.items()} == {
        "staged_practices_every_delivered_row_accounted_for": True,
        "staged_lsoa_imd_every_delivered_row_accounted_for": True,
        "staged_practices_meets_contract": True,
        "staged_lsoa_imd_meets_contract": True,
    }


def test_a_staged_table_breaking_its_contract_fails_the_suite_with_error_severity(month_run):
    warehouse, run = month_run
    assert run.success
    with warehouse.connect() as connection:
        # What the suite exists to catch: a row in staged that the SQL should have quarantined.
        # Rolled back afterwards: the month is shared with the other tests of this module.
        connection.execute("BEGIN TRANSACTION")
        connection.execute(
            "UPDATE staged.consultations SET mode = 'carrier_pigeon' WHERE line_number = 1"
        )
        result = suite_result(
            validate_staged(connection, warehouse.paths.root, "consultations", MONTH)
        )
        connection.execute("ROLLBACK")
    assert isinstance(result, dg.AssetCheckResult)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert "mode_in_code_list" in result.metadata["summary"].value


def test_a_blocking_failure_stops_what_is_built_on_the_staged_table(
    warehouse, instance, monkeypatch
):
    built = []

    @dg.asset(deps=["staged_consultations"], partitions_def=extract_months)
    def consultation_features() -> None:
        built.append(True)

    lose_a_row(monkeypatch)
    result = materialise_month(warehouse, instance, extra_assets=[consultation_features])

    assert not result.success
    assert built == []
    [failed] = [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed.check_name == "staged_consultations_every_delivered_row_accounted_for"
    # The auditors' report does not hang on the staged tables, so it is still written.
    assert (warehouse.paths.reports / "data_quality" / f"{MONTH}.json").is_file()


def test_riskstrat_run_stops_on_a_lost_row_with_one_paragraph(warehouse, monkeypatch, capsys):
    lose_a_row(monkeypatch)
    code = main(["run", "--landing", warehouse.landing, "--home", warehouse.home])

    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert MONTH in err
    assert "gp/A10001/consultations.csv (consultations)" in err
    assert "every delivered row is staged, quarantined or ignored" in err
    assert len(err.strip().splitlines()) == 1


def lose_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make staging drop one consultation on the floor, as a bug would."""
    real = validation_assets.stage_months

    def stage_and_lose(connection, months):
        outcomes = real(connection, months)
        connection.execute("DELETE FROM staged.consultations WHERE line_number = 2")
        return outcomes

    monkeypatch.setattr(validation_assets, "stage_months", stage_and_lose)
