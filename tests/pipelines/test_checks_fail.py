"""Every Dagster check fed the failure it exists for: it fails, with the severity it promises,
and a blocking check stops what is built on its asset.

Checks are called as plain functions where they can be (a partitioned check takes a context
from `dg.build_asset_context`); `dg.materialize` is used where blocking must be shown. Each
kind of failure has a control beside it: the same check passing on the same data untouched.
"""

from __future__ import annotations

import csv
import datetime
import json
import shutil
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from lists.manifest import DeliveredFile, read_manifest, write_manifest
from models import scoring
from models.evaluation import evaluation_report
from models.fairness import audit, write_audit
from models.training import TRAINING_FRAME, save_validation_predictions, write_table
from pipelines.lists import assets as list_assets
from pipelines.lists.assets import federation_summaries, practice_risk_lists, risk_scores
from pipelines.lists.checks import (
    federation_summaries_hold_no_nhs_number,
    practice_risk_lists_hold_only_registered_patients,
    practice_risk_lists_verify_against_manifests,
    risk_scores_are_probabilities_ranked_once,
)
from pipelines.loading.assets import deliveries, reference_data
from pipelines.loading.checks import (
    deliveries_every_file_matches_manifest,
    deliveries_every_practice_delivered,
    reference_data_files_hold_rows,
)
from pipelines.modelling.checks import (
    admission_risk_model_in_use_ranks_people,
    fairness_audit_observed_matches_expected_in_every_group,
    model_card_describes_the_model_in_use,
    model_evaluation_calibration_slope_within_range,
    model_evaluation_model_beats_baselines,
    training_set_one_row_per_person_and_date,
)
from pipelines.partitions import EXTRACT_MONTHS, LIST_MONTHS, extract_months
from pipelines.resources import Warehouse
from pipelines.validation import assets as validation_assets
from pipelines.validation.assets import staged_reference
from pipelines.validation.checks import (
    data_quality_report_matches_the_warehouse,
    quarantined_rows_rate_within_limit,
    reference_checks,
    staged_consultations_practice_volume_not_halved,
)
from tests import supplier
from tests.lists.conftest import publish_months
from tests.lists.population import (
    DIED,
    LEFT,
    OPTED_OUT_LATEST,
    SCORE_MONTH,
    StandInModel,
    build_warehouse,
    stand_in_explain,
)
from tests.pipelines.conftest import HomeResources
from tests.pipelines.test_validation import (
    MONTH,
    lose_a_row,
    make_instance,
    make_warehouse,
    materialise_month,
)
from tests.warehouse.test_staged import CONSULTATION_COLUMNS, consultation
from warehouse import sql_files
from warehouse.home import Home

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
FROM_ANOTHER_PRACTICE = "9990000002"  # registered at B82001 (tests/lists/population.py)


def context_for(month: str) -> dg.AssetExecutionContext:
    """A context for calling a partitioned check directly on `month`."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(EXTRACT_MONTHS, [month])
    instance.add_dynamic_partitions(LIST_MONTHS, [month])
    return dg.build_asset_context(partition_key=month, instance=instance)


def blocking(check: dg.AssetChecksDefinition) -> bool:
    [spec] = check.check_specs
    return spec.blocking


def evaluations_by_name(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# --- The list checks: a published outbox, tampered one way at a time -------------------------


@pytest.fixture(scope="module")
def published_template(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home(tmp_path_factory.mktemp("published") / "home")
    home.root.mkdir()
    build_warehouse(home.database)
    publish_months(home)
    return home


@pytest.fixture
def published(tmp_path: Path, published_template: Home) -> Warehouse:
    """A private copy of a home with January's and February's lists and February's summaries."""
    shutil.copytree(published_template.root, tmp_path / "home")
    return Warehouse(home=str(tmp_path / "home"), lock_wait_seconds=0)


def practice_folder(warehouse: Warehouse, practice: str = "A81001") -> Path:
    federation = "FED02" if practice.startswith("B") else "FED01"
    return warehouse.paths.outbox / federation / practice / SCORE_MONTH


def add_to_practice_list(warehouse: Warehouse, nhs_number: str, practice: str = "A81001") -> None:
    """Append a person to a practice's published risk_list.csv and rewrite its manifest, as a
    publisher with a bug would: the folder still verifies, only the person is wrong."""
    folder = practice_folder(warehouse, practice)
    path = folder / "risk_list.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and nhs_number not in {row["nhs_number"] for row in rows}
    extra = rows[-1] | {"nhs_number": nhs_number, "rank": str(len(rows) + 1)}
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n").writerow(extra)
    listed = read_manifest(folder)
    rows_of = {name: rows for name, (rows, _) in listed.items()} | {"risk_list.csv": len(rows) + 1}
    write_manifest(folder, [DeliveredFile(name, count) for name, count in rows_of.items()])


def test_the_list_checks_pass_on_the_lists_as_published(published: Warehouse) -> None:
    context = context_for(SCORE_MONTH)
    registered = practice_risk_lists_hold_only_registered_patients(context, warehouse=published)
    assert registered.passed, registered.metadata["summary"]
    assert registered.metadata["files_read"].value == 3
    assert registered.metadata["people_read"].value > 20
    assert practice_risk_lists_verify_against_manifests(context, warehouse=published).passed
    assert federation_summaries_hold_no_nhs_number(context, warehouse=published).passed


@pytest.mark.parametrize(
    ("nhs_number", "rule"),
    [
        (FROM_ANOTHER_PRACTICE, "not_registered_there"),
        (OPTED_OUT_LATEST, "type1_opt_out"),  # registered at A81001, opted out in February
        (DIED, "deceased"),  # registered at A81001, died 2024-02-10
        (LEFT, "not_registered_there"),  # left A81001 on 2024-02-05
    ],
    ids=["from_another_practice", "type1_opt_out", "deceased", "deregistered"],
)
def test_a_person_who_may_not_be_on_a_practice_list_fails_the_blocking_check(
    published: Warehouse, nhs_number: str, rule: str
) -> None:
    add_to_practice_list(published, nhs_number)
    context = context_for(SCORE_MONTH)

    result = practice_risk_lists_hold_only_registered_patients(context, warehouse=published)

    assert not result.passed
    assert result.severity == ERROR
    assert blocking(practice_risk_lists_hold_only_registered_patients)
    assert result.metadata["practices_with_unlistable_people"].value == {"A81001": {rule: 1}}
    assert "A81001" in result.metadata["summary"].value
    assert nhs_number not in str(result.metadata), "a check names practices, never a person"
    # The folder still verifies: the failure is this rule's alone.
    assert practice_risk_lists_verify_against_manifests(context, warehouse=published).passed


@pytest.mark.parametrize(
    ("tamper", "problems"),
    [
        ("list_deleted", ["FED01/A81002/2024-02/risk_list.csv: absent"]),
        ("folder_missing", ["FED01/A81002/2024-02: no list published"]),
        (
            "under_another_federation",
            [
                "FED02/B82001/2024-02: no list published",
                "FED01/B82001/2024-02: not a practice of this federation in the reference",
            ],
        ),
    ],
)
def test_a_practice_list_that_cannot_be_judged_fails_the_blocking_check(
    published: Warehouse, tamper: str, problems: list[str]
) -> None:
    """A list that is not there is not a list with nobody wrong in it."""
    if tamper == "list_deleted":
        (practice_folder(published, "A81002") / "risk_list.csv").unlink()
    elif tamper == "folder_missing":
        shutil.rmtree(practice_folder(published, "A81002"))
    else:
        moved = published.paths.outbox / "FED01" / "B82001"
        practice_folder(published, "B82001").parent.rename(moved)

    result = practice_risk_lists_hold_only_registered_patients(
        context_for(SCORE_MONTH), warehouse=published
    )

    assert not result.passed
    assert result.severity == ERROR
    assert result.metadata["problems"].value == problems


@pytest.mark.parametrize("tamper", ["edit_after_manifest", "readable_by_others", "no_manifest"])
def test_a_list_folder_that_does_not_verify_fails_the_manifest_check(
    published: Warehouse, tamper: str
) -> None:
    folder = practice_folder(published, "A81002")
    if tamper == "edit_after_manifest":
        path = folder / "risk_list.csv"
        path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
        expected = "FED01/A81002/2024-02/risk_list.csv: sha256 differs from the manifest"
    elif tamper == "readable_by_others":
        (folder / "risk_list.html").chmod(0o644)
        expected = "FED01/A81002/2024-02/risk_list.html: readable by others"
    else:
        (folder / "manifest.csv").unlink()
        expected = "FED01/A81002/2024-02: no manifest.csv"

    result = practice_risk_lists_verify_against_manifests(
        context_for(SCORE_MONTH), warehouse=published
    )

    assert not result.passed
    assert result.severity == ERROR
    assert result.metadata["problems"].value == [expected]


@pytest.mark.parametrize(
    "written",
    ["9990000001", "999 000 0001", "ref9990000001"],
    ids=["ten_digits", "nhs_spacing", "known_number_inside_a_word"],
)
def test_an_nhs_number_in_a_federation_file_fails_its_check(
    published: Warehouse, written: str
) -> None:
    path = published.paths.outbox / "FED01" / "summary" / SCORE_MONTH / "practice_summary.csv"
    path.write_text(path.read_text() + f"note,{written}\n")

    result = federation_summaries_hold_no_nhs_number(context_for(SCORE_MONTH), warehouse=published)

    assert not result.passed
    assert result.severity == ERROR
    assert list(result.metadata["files_with_nhs_numbers"].value) == [
        "FED01/summary/2024-02/practice_summary.csv"
    ]


def break_list_population_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make lists/sql/list_population.sql forget its registration filter, as a bad edit of the
    file would: every module that reads the file sees the bug."""
    real = sql_files.read_sql

    def read_sql(relative_path: str, package: str = "warehouse") -> str:
        text = real(relative_path, package)
        if relative_path == "list_population.sql":
            filter_ = "SEMI JOIN registered_on_score_date AS r USING (nhs_number, practice_code)\n"
            assert filter_ in text
            text = text.replace(filter_, "")
        return text

    for module in list(sys.modules.values()):
        if getattr(module, "read_sql", None) is real:
            monkeypatch.setattr(module, "read_sql", read_sql)


def score_a_patient_at_the_wrong_practice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make scoring file B82001's highest-risk patient under A81001, as a bug would."""
    real = list_assets.score_month

    def score_month(connection, month, *args, **kwargs):
        scored = real(connection, month, *args, **kwargs)
        connection.execute(
            "UPDATE scores.risk_scores SET practice_code = 'A81001' WHERE delivery_month = $month "
            "AND nhs_number = (SELECT nhs_number FROM scores.risk_scores WHERE delivery_month = "
            "$month AND practice_code = 'B82001' ORDER BY practice_rank LIMIT 1)",
            {"month": month},
        )
        return scored

    monkeypatch.setattr(list_assets, "score_month", score_month)


def test_a_bug_in_the_list_sql_is_caught_by_the_blocking_check_and_stops_the_summaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check re-reads the published files, so it does not share list_population.sql's bugs."""
    home = tmp_path / "home"
    build_warehouse(home / "warehouse.duckdb")
    monkeypatch.setattr(scoring, "load_current_model", lambda models_dir: StandInModel())
    monkeypatch.setattr(scoring, "default_explainer", lambda: stand_in_explain)
    score_a_patient_at_the_wrong_practice(monkeypatch)
    break_list_population_sql(monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LIST_MONTHS, [SCORE_MONTH])

    result = dg.materialize(
        [
            risk_scores,
            practice_risk_lists,
            federation_summaries,
            practice_risk_lists_hold_only_registered_patients,
            practice_risk_lists_verify_against_manifests,
            federation_summaries_hold_no_nhs_number,
        ],
        partition_key=SCORE_MONTH,
        resources=HomeResources(
            home=str(home), landing=str(tmp_path), lock_wait_seconds=0
        ).resources(),
        instance=instance,
        run_config={
            "ops": {"practice_risk_lists": {"config": {"top_n": 10, "vanguard_top_n": 10}}}
        },
        raise_on_error=False,
    )

    assert not result.success
    materialised = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert materialised == {"risk_scores", "practice_risk_lists"}, "the summaries were built"
    assert not (home / "outbox" / "FED01" / "summary" / SCORE_MONTH).exists()
    evaluation = evaluations_by_name(result)["practice_risk_lists_hold_only_registered_patients"]
    assert not evaluation.passed and evaluation.severity == ERROR
    assert evaluation.metadata["practices_with_unlistable_people"].value == {
        "A81001": {"not_registered_there": 1}
    }


# --- The modelling checks: reports written by the real report code from crafted predictions ---


def predictions(
    *,
    people: int = 20_000,
    risk: str = "true",
    prior_admissions: str = "weak",
    seed: int = 5,
) -> pl.DataFrame:
    """Out-of-time predictions of known quality: outcomes drawn from a true risk, and the
    model's risk the true one ('true'), pure noise ('noise'), overconfident ('overconfident',
    calibration slope about 0.5) or half the truth for men ('half_for_men')."""
    rng = np.random.default_rng(seed)
    true_risk = rng.beta(2, 10, people)
    admitted = (rng.random(people) < true_risk).astype(np.int64)
    sex = np.where(rng.random(people) < 0.5, "1", "2")
    logit = np.log(true_risk / (1 - true_risk))
    model = {
        "true": true_risk,
        "noise": rng.permutation(true_risk),
        "overconfident": 1 / (1 + np.exp(-(2.0 * (logit - logit.mean()) + logit.mean()))),
        "half_for_men": np.where(sex == "1", true_risk / 2, true_risk),
    }[risk]
    prior = {"weak": true_risk + rng.normal(0, 0.3, people), "strong": true_risk}[prior_admissions]
    return pl.DataFrame(
        {
            "admitted": admitted,
            "risk": model,
            "risk_uncalibrated": model,
            "prior_admissions": prior,
            "logistic_risk": np.clip(true_risk + rng.normal(0, 0.3, people), 0.001, 0.999),
            "true_risk": true_risk,
            "sex": sex,
        }
    )


def write_evaluation_report(warehouse: Warehouse, frame: pl.DataFrame) -> None:
    report = evaluation_report(frame, model_version="mtest", validation_date="2024-12-31")
    warehouse.paths.model_reports.mkdir(parents=True, exist_ok=True)
    (warehouse.paths.model_reports / "evaluation.json").write_text(json.dumps(report))


@pytest.fixture
def model_home(tmp_path: Path) -> Warehouse:
    return Warehouse(home=str(tmp_path / "home"))


def test_the_model_checks_pass_on_a_model_that_is_the_truth(model_home: Warehouse) -> None:
    frame = predictions()
    write_evaluation_report(model_home, frame)
    write_audit(audit(frame), model_home.paths.model_reports)
    for check in (
        fairness_audit_observed_matches_expected_in_every_group,
        model_evaluation_model_beats_baselines,
        model_evaluation_calibration_slope_within_range,
    ):
        assert check(warehouse=model_home).passed, check.check_key.name


def test_a_group_whose_admissions_are_twice_the_expected_fails_the_fairness_check(
    model_home: Warehouse,
) -> None:
    write_audit(audit(predictions(risk="half_for_men")), model_home.paths.model_reports)

    result = fairness_audit_observed_matches_expected_in_every_group(warehouse=model_home)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(fairness_audit_observed_matches_expected_in_every_group)
    [flagged] = result.metadata["flagged"].value
    assert (flagged["attribute"], flagged["group"]) == ("sex", "1")
    assert flagged["observed_to_expected"] > 1.25


def test_a_model_no_better_than_a_baseline_fails_the_baselines_check(
    model_home: Warehouse,
) -> None:
    write_evaluation_report(model_home, predictions(risk="noise", prior_admissions="strong"))

    result = model_evaluation_model_beats_baselines(warehouse=model_home)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(model_evaluation_model_beats_baselines)
    assert result.metadata["model_auroc"].value < result.metadata["prior_admissions_auroc"].value


def test_an_overconfident_model_fails_the_calibration_slope_check(model_home: Warehouse) -> None:
    write_evaluation_report(model_home, predictions(risk="overconfident"))

    result = model_evaluation_calibration_slope_within_range(warehouse=model_home)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(model_evaluation_calibration_slope_within_range)
    assert result.metadata["calibration_slope"].value < 0.9
    # Ranking is untouched by overconfidence: only the slope check fails.
    assert model_evaluation_model_beats_baselines(warehouse=model_home).passed


# --- The loading checks and the volume check: a third month with three faults ----------------

CONSULTATIONS = "gp/A10001/consultations.csv"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, dg.ExecuteInProcessResult]:
    """Three months loaded; 2024-03 arrives with A10001's consultations cut from 40 rows to 12,
    no files from A10002, and sus/admissions.csv changed after its manifest was written."""
    folder = tmp_path_factory.mktemp("loading")
    landing = folder / "landing"
    supplier.write_landing(landing, months=())
    for month, count in (("2024-01", 40), ("2024-02", 40), ("2024-03", 12)):
        rows = [consultation(consultation_date=f"{month}-03")] * count
        files = supplier.month_files(month) | {
            CONSULTATIONS: supplier.csv_bytes(rows, CONSULTATION_COLUMNS)
        }
        if month == "2024-03":
            files = {path: content for path, content in files.items() if "A10002" not in path}
        supplier.write_month(landing, month, files)
    admissions = landing / "extracts" / "2024-03" / "sus" / "admissions.csv"
    admissions.write_bytes(
        admissions.read_bytes() + b"SP-late,9990000018,A10001,RF4,2024-03-20,,21,J44.1\r\n"
    )

    warehouse = HomeResources(home=str(folder / "home"), landing=str(landing))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(EXTRACT_MONTHS, ["2024-01", "2024-02", "2024-03"])
    everything = [reference_data, deliveries]
    assert dg.materialize(
        [reference_data], instance=instance, resources=warehouse.resources()
    ).success
    for month in ("2024-01", "2024-02", "2024-03"):
        result = dg.materialize(
            everything,
            instance=instance,
            resources=warehouse.resources(),
            partition_key=month,
            selection=[deliveries],
        )
    return warehouse, result


def test_the_loading_checks_pass_on_a_clean_month(loaded) -> None:
    warehouse, _ = loaded
    context = context_for("2024-02")
    assert deliveries_every_file_matches_manifest(context, warehouse=warehouse).passed
    assert deliveries_every_practice_delivered(context, warehouse=warehouse).passed
    assert staged_consultations_practice_volume_not_halved(context, warehouse=warehouse).passed


def test_a_file_changed_after_its_manifest_fails_the_rejected_files_check(loaded) -> None:
    warehouse, run = loaded
    assert run.success, "a rejected file warns; it does not stop the month"

    result = deliveries_every_file_matches_manifest(context_for("2024-03"), warehouse=warehouse)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(deliveries_every_file_matches_manifest)
    [rejected] = result.metadata["rejected_files"].value
    assert (rejected["month"], rejected["path"]) == ("2024-03", "sus/admissions.csv")
    assert "sha256 differs" in rejected["reason"]


def test_a_practice_that_sent_nothing_fails_the_every_practice_check(loaded) -> None:
    warehouse, _ = loaded

    result = deliveries_every_practice_delivered(context_for("2024-03"), warehouse=warehouse)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(deliveries_every_practice_delivered)
    assert result.metadata["missing_practices"].value == {"2024-03": ["A10002"]}


def test_a_halved_consultation_file_fails_the_volume_check(loaded) -> None:
    warehouse, _ = loaded

    result = staged_consultations_practice_volume_not_halved(
        context_for("2024-03"), warehouse=warehouse
    )

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(staged_consultations_practice_volume_not_halved)
    assert result.metadata["practices"].value == ["A10001"]
    [anomaly] = result.metadata["anomalies"].value.records
    assert (anomaly.data["rows"], anomaly.data["previous_average"]) == (12, 40.0)


# --- The validation checks: a staged table that lost a row or broke its contract -------------


@pytest.fixture
def staged_reference_home(tmp_path: Path) -> Warehouse:
    warehouse = make_warehouse(tmp_path)
    result = dg.materialize([reference_data, staged_reference], resources=warehouse.resources())
    assert result.success
    return warehouse


def test_reference_rows_lost_or_breaking_their_contract_fail_the_blocking_checks(
    staged_reference_home: Warehouse,
) -> None:
    checks = {check.check_key.name: check for check in reference_checks}
    reconciliation = checks["staged_practices_every_delivered_row_accounted_for"]
    suite = checks["staged_practices_meets_contract"]
    assert reconciliation(warehouse=staged_reference_home).passed
    assert suite(warehouse=staged_reference_home).passed
    assert blocking(reconciliation) and blocking(suite)

    with staged_reference_home.connect() as connection:
        connection.execute("DELETE FROM staged.practices WHERE line_number = 1")
    lost = reconciliation(warehouse=staged_reference_home)
    assert not lost.passed and lost.severity == ERROR
    assert "reference/practices.csv (practices): +1 of 2" in lost.metadata["summary"].value

    with staged_reference_home.connect() as connection:
        connection.execute("UPDATE staged.practices SET practice_code = 'bad1'")
    broken = suite(warehouse=staged_reference_home)
    assert not broken.passed and broken.severity == ERROR
    assert "practice_code_pattern" in broken.metadata["summary"].value


def corrupt_a_consultation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make staging let through a consultation its contract forbids (an error rule), as a bug
    would. The seam is the quarantine summary, which staged_extract_month reads right after
    staging, however the staging itself is done."""
    real = validation_assets.quarantined_by_rule

    def corrupt_then_summarise(connection, month):
        connection.execute(
            "UPDATE staged.consultations SET mode = 'carrier_pigeon' WHERE line_number = 1"
        )
        return real(connection, month)

    monkeypatch.setattr(validation_assets, "quarantined_by_rule", corrupt_then_summarise)


@pytest.mark.parametrize(
    ("fault", "failing_check"),
    [
        (lose_a_row, "staged_consultations_every_delivered_row_accounted_for"),
        (corrupt_a_consultation, "staged_consultations_meets_contract"),
    ],
    ids=["unaccounted_row", "critical_contract_failure"],
)
def test_a_blocking_staged_check_failure_stops_what_is_built_on_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault, failing_check: str
) -> None:
    built = []

    @dg.asset(deps=["staged_consultations"], partitions_def=extract_months)
    def consultation_features() -> None:
        built.append(True)

    fault(monkeypatch)
    result = materialise_month(
        make_warehouse(tmp_path), make_instance(), extra_assets=[consultation_features]
    )

    assert not result.success
    assert built == [], "an asset built on a failed staged table ran"
    failed = {
        e.check_name: e.severity
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == ERROR
    }
    assert failed == {failing_check: ERROR}


# --- The checks on every other asset that can go wrong ----------------------------------------


def test_a_reference_file_with_a_header_alone_fails_its_blocking_check(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path)
    practices = Path(warehouse.landing) / "reference" / "practices.csv"
    header = practices.read_text().splitlines()[0]
    assert reference_data_files_hold_rows(warehouse=with_reference_loaded(warehouse)).passed
    practices.write_text(header + "\n")

    result = dg.materialize(
        [reference_data, staged_reference, reference_data_files_hold_rows],
        resources=warehouse.resources(),
        raise_on_error=False,
    )

    assert not result.success
    assert blocking(reference_data_files_hold_rows)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == ERROR
    assert "reference/practices.csv" in evaluation.metadata["summary"].value
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {"reference_data"}, "practices were staged from an empty file"


def with_reference_loaded(warehouse: HomeResources) -> HomeResources:
    assert dg.materialize([reference_data], resources=warehouse.resources()).success
    return warehouse


@pytest.fixture(scope="module")
def clean_month(tmp_path_factory: pytest.TempPathFactory) -> HomeResources:
    """One month without a fault, staged, checked and reported."""
    folder = tmp_path_factory.mktemp("clean-month")
    supplier.write_landing(folder / "landing", months=(MONTH,))
    warehouse = HomeResources(home=str(folder / "home"), landing=str(folder / "landing"))
    assert materialise_month(warehouse, make_instance()).success
    return warehouse


@pytest.fixture
def clean_copy(tmp_path: Path, clean_month: HomeResources) -> HomeResources:
    shutil.copytree(clean_month.paths.root, tmp_path / "home")
    return HomeResources(home=str(tmp_path / "home"), landing=clean_month.landing)


def test_a_feed_with_a_third_of_its_rows_quarantined_fails_the_quarantine_rate_check(
    tmp_path: Path, clean_month: HomeResources
) -> None:
    assert quarantined_rows_rate_within_limit(context_for(MONTH), warehouse=clean_month).passed
    faulty = make_warehouse(tmp_path)  # one of its three admissions breaks an error rule
    assert materialise_month(faulty, make_instance()).success

    result = quarantined_rows_rate_within_limit(context_for(MONTH), warehouse=faulty)

    assert not result.passed
    assert result.severity == WARN
    assert not blocking(quarantined_rows_rate_within_limit)
    assert "1 of 3 admissions rows quarantined (33.3%)" in result.metadata["summary"].value


@pytest.mark.parametrize("tamper", ["count_changed", "file_left_out", "html_missing"])
def test_a_data_quality_report_that_disagrees_with_the_warehouse_fails_its_check(
    clean_copy: HomeResources, tamper: str
) -> None:
    check = data_quality_report_matches_the_warehouse
    assert check(context_for(MONTH), warehouse=clean_copy).passed
    folder = clean_copy.paths.data_quality_reports
    report = json.loads((folder / f"{MONTH}.json").read_text())
    if tamper == "count_changed":
        report["files"][0]["staged_rows"] += 1
        expected = f"{MONTH}: {report['files'][0]['path']} staged rows: the report says"
    elif tamper == "file_left_out":
        expected = f"{MONTH}: {report['files'].pop()['path']} is not in the report"
    else:
        (folder / f"{MONTH}.html").unlink()
        expected = f"{MONTH}: {MONTH}.html is missing"
    (folder / f"{MONTH}.json").write_text(json.dumps(report))

    result = check(context_for(MONTH), warehouse=clean_copy)

    assert not result.passed
    assert result.severity == ERROR
    assert expected in result.metadata["summary"].value


def store_training_frame(warehouse: Warehouse, frame: pl.DataFrame) -> None:
    with warehouse.connect() as connection:
        write_table(connection, TRAINING_FRAME, frame)


def test_a_person_twice_at_one_index_date_fails_the_training_set_check(
    model_home: Warehouse,
) -> None:
    frame = pl.DataFrame(
        {
            "nhs_number": ["9990000018", "9990000026", "9990000018"],
            "index_date": [datetime.date(2024, 1, 31)] * 2 + [datetime.date(2024, 2, 29)],
            "emergency_admission_12m": [0, 1, 0],
        }
    )
    store_training_frame(model_home, frame)
    assert training_set_one_row_per_person_and_date(warehouse=model_home).passed
    store_training_frame(model_home, pl.concat([frame, frame.head(1)]))  # a join fanned out

    result = training_set_one_row_per_person_and_date(warehouse=model_home)

    assert not result.passed
    assert result.severity == ERROR
    assert blocking(training_set_one_row_per_person_and_date)
    assert result.metadata["repeated_rows"].value == 1


def register_stand_in(warehouse: Warehouse, version: str = "mtest") -> Path:
    """A registry whose current.json names `version`, with the version's files."""
    models = warehouse.paths.models
    (models / version).mkdir(parents=True, exist_ok=True)
    for name in ("model.txt", "calibrator.json"):
        (models / version / name).write_text("stand-in\n")
    (models / "current.json").write_text(json.dumps({"version": version, "decision": {}}))
    return models / version


@pytest.mark.parametrize("fault", ["same_risk_for_all", "risk_above_one", "model_file_missing"])
def test_a_model_that_cannot_rank_fails_its_blocking_check(
    model_home: Warehouse, fault: str
) -> None:
    folder = register_stand_in(model_home)
    frame = predictions(people=2_000)
    with model_home.connect() as connection:
        save_validation_predictions(connection, frame)
    assert admission_risk_model_in_use_ranks_people(warehouse=model_home).passed
    if fault == "same_risk_for_all":
        frame, expected = frame.with_columns(risk=pl.lit(0.1)), "every one of 2,000 people"
    elif fault == "risk_above_one":
        frame = frame.with_columns(risk=pl.col("risk") * 100)
        expected = "out-of-time risks are not probabilities"
    else:
        (folder / "model.txt").unlink()
        expected = "mtest/model.txt is missing from the registry"
    with model_home.connect() as connection:
        save_validation_predictions(connection, frame)

    result = admission_risk_model_in_use_ranks_people(warehouse=model_home)

    assert not result.passed
    assert result.severity == ERROR
    assert blocking(admission_risk_model_in_use_ranks_people)
    assert expected in result.metadata["summary"].value


def test_a_model_card_left_from_an_earlier_model_fails_its_check(model_home: Warehouse) -> None:
    register_stand_in(model_home, "mearlier")
    model_home.paths.model_reports.mkdir(parents=True)
    (model_home.paths.model_reports / "model_card.md").write_text("# Model mearlier\n")
    assert model_card_describes_the_model_in_use(warehouse=model_home).passed
    register_stand_in(model_home, "mlater")  # a new model, and the card not rewritten

    result = model_card_describes_the_model_in_use(warehouse=model_home)

    assert not result.passed
    assert result.severity == WARN
    assert "does not name the model in use (mlater)" in result.metadata["summary"].value


@pytest.mark.parametrize(
    ("tamper", "counted"),
    [
        ("UPDATE scores.risk_scores SET risk = 1.5 WHERE area_rank = 1", "risks_not_probabilities"),
        (
            "UPDATE scores.risk_scores SET area_rank = 1 WHERE area_rank = 2",
            "repeated_area_ranks",
        ),
        (
            "UPDATE scores.risk_scores SET practice_rank = 1 WHERE practice_rank = 2",
            "repeated_practice_ranks",
        ),
        ("DELETE FROM scores.risk_scores", "people_scored"),
    ],
    ids=["risk_above_one", "area_rank_repeated", "practice_rank_repeated", "no_one_scored"],
)
def test_scores_that_are_not_probabilities_ranked_once_fail_the_blocking_check(
    published: Warehouse, tamper: str, counted: str
) -> None:
    check = risk_scores_are_probabilities_ranked_once
    assert check(context_for(SCORE_MONTH), warehouse=published).passed
    with published.connect() as connection:
        connection.execute(
            tamper + (" AND" if "WHERE" in tamper else " WHERE") + " delivery_month = $m",
            {"m": SCORE_MONTH},
        )

    result = check(context_for(SCORE_MONTH), warehouse=published)

    assert not result.passed
    assert result.severity == ERROR
    assert blocking(check)
    if counted == "people_scored":
        assert result.metadata["people_scored"].value == 0
    else:
        assert result.metadata[counted].value > 0
