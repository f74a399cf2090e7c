"""The modelling assets on a small generated zone: the model beats the prior-admissions
baseline out of time, and the reports, registry and checks come out as documented."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from pipelines.modelling.assets import (
    admission_risk_model,
    fairness_audit,
    model_card,
    model_evaluation,
    training_set,
)
from pipelines.modelling.checks import (
    fairness_audit_observed_matches_expected_in_every_group,
    model_evaluation_calibration_slope_within_range,
    model_evaluation_model_beats_baselines,
)
from tests.pipelines.conftest import HomeResources

# A generated 30-month zone, loaded, trained and evaluated (about 1 min): not in `make test-fast`.
pytestmark = pytest.mark.slow

PEOPLE, MONTHS = 4_000, 30
ASSETS = [training_set, admission_risk_model, model_evaluation, fairness_audit, model_card]
CHECKS = [
    fairness_audit_observed_matches_expected_in_every_group,
    model_evaluation_model_beats_baselines,
    model_evaluation_calibration_slope_within_range,
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated zone (with truth.csv), loaded and staged once for the module."""
    from models.training import build_training_set
    from tests.warehouse.features_fixtures import generate_warehouse
    from warehouse.connection import connect

    folder = tmp_path_factory.mktemp("modelling-zone")
    generate_warehouse(folder, people=PEOPLE, months=MONTHS)
    with connect(folder / "warehouse.duckdb") as connection:
        build_training_set(connection)  # builds the feature tables once, for every copy
    return folder


def materialise(generated: Path, home: Path, monkeypatch) -> dg.ExecuteInProcessResult:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(generated / "warehouse.duckdb", home / "warehouse.duckdb")
    warehouse = HomeResources(home=str(home), landing=str(generated / "landing"))
    return dg.materialize(
        [*ASSETS, *CHECKS], resources=warehouse.resources(truth=str(generated / "truth.csv"))
    )


@pytest.fixture(scope="module")
def first_run(generated, tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    try:
        yield home, materialise(generated, home, monkeypatch)
    finally:
        monkeypatch.undo()


def test_model_beats_prior_admissions_out_of_time_and_is_reported_beside_the_oracle(first_run):
    home, result = first_run
    assert result.success
    evaluation = json.loads((home / "reports" / "model" / "evaluation.json").read_text())
    assert list(evaluation)[:4] == ["model_version", "validation", "baselines", "oracle"]
    model, prior = (
        evaluation["validation"]["auroc"],
        evaluation["baselines"]["prior_admissions"]["auroc"],
    )
    assert model > prior + 0.03
    assert evaluation["oracle"]["auroc"] > 0.6
    assert 0.75 < evaluation["validation"]["calibration_slope"] < 1.25  # 5,000 people: wide
    assert (home / "reports" / "model" / "calibration.png").read_bytes()[:4] == b"\x89PNG"


def test_model_metadata_has_auroc_slope_plot_baselines_and_oracle(first_run):
    _, result = first_run
    [materialization] = result.asset_materializations_for_node("admission_risk_model")
    metadata = materialization.metadata
    for key in (
        "auroc",
        "calibration_slope",
        "prior_admissions_auroc",
        "logistic_auroc",
        "oracle_auroc",
    ):
        assert key in metadata
    assert metadata["calibration_plot"].value.startswith(
        "![calibration, out of time](data:image/png;base64,"
    )


def test_registry_files_reports_and_card(first_run):
    home, _ = first_run
    current = json.loads((home / "models" / "current.json").read_text())
    folder = home / "models" / current["version"]
    assert {p.name for p in folder.iterdir()} == {
        "model.txt",
        "validation_model.txt",
        "calibrator.json",
        "metadata.json",
    }
    fairness = json.loads((home / "reports" / "model" / "fairness.json").read_text())
    assert {"age_band", "sex", "ethnicity_group", "imd_quintile", "practice"} <= set(
        fairness["groups"]
    )
    card = (home / "reports" / "model" / "model_card.md").read_text()
    for heading in (
        "Intended use and users",
        "Data and months",
        "Predictors",
        "Outcome",
        "Performance",
        "Calibration",
        "Subgroup results",
        "Limitations",
    ):
        assert f"## {heading}" in card
    page = (home / "reports" / "model" / "model_card.html").read_text()
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 4
    assert "Retrained quarterly" in card and "no current model (" not in card


def test_each_check_gives_its_rules_verdict_on_the_run_and_none_blocks(first_run):
    """Each verdict is worked out here from the run's stored validation predictions (AUROCs,
    calibration slope) or the audit's per-group counts, by the rule docs/model.md states."""
    home, result = first_run
    predictions = stored_predictions(home)
    admitted = predictions.get_column("admitted").to_numpy()
    risk = predictions.get_column("risk").to_numpy()
    model_auroc = roc_auc_score(admitted, risk)
    baselines = [
        roc_auc_score(admitted, predictions.get_column(name).to_numpy())
        for name in ("prior_admissions", "logistic_risk")
    ]
    logit = np.log(risk / (1 - risk)).reshape(-1, 1)
    [[slope]] = LogisticRegression(penalty=None).fit(logit, admitted).coef_
    fairness = json.loads((home / "reports" / "model" / "fairness.json").read_text())
    ratios = [
        group["observed"] / group["expected"]
        for groups in fairness["groups"].values()
        for group in groups
        if group["expected"] >= fairness["minimum_expected_to_judge"]
    ]
    expected = {
        "model_evaluation_model_beats_baselines": all(model_auroc > b for b in baselines),
        "model_evaluation_calibration_slope_within_range": 0.9 <= slope <= 1.1,
        "fairness_audit_observed_matches_expected_in_every_group": all(
            0.8 <= ratio <= 1.25 for ratio in ratios
        ),
    }

    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}

    assert {name: e.passed for name, e in evaluations.items()} == expected
    assert {e.severity for e in evaluations.values()} == {dg.AssetCheckSeverity.WARN}
    # A failed check blocks nothing: the run succeeds and the model card, built on the audit,
    # is written. (At 4,000 people some audit groups miss the band, so one check fails.)
    assert not all(expected.values()), "this run should show a failing check not blocking"
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "training_set",
        "admission_risk_model",
        "model_evaluation",
        "fairness_audit",
        "model_card",
    }


def test_no_nhs_number_in_metadata(first_run, generated):
    home, result = first_run
    numbers = set(
        pl.read_csv(generated / "truth.csv", schema_overrides={"nhs_number": pl.Utf8})[
            "nhs_number"
        ].to_list()
    )
    text = " ".join(
        str(value.value)
        for event in result.get_asset_materialization_events()
        for value in event.materialization.metadata.values()
    )
    text += " ".join(str(e.metadata) for e in result.get_asset_check_evaluations())
    for path in (home / "reports" / "model").glob("*.json"):
        text += path.read_text()
    text += (home / "reports" / "model" / "model_card.md").read_text()
    found = set(re.findall(r"\b\d{10}\b", text))
    assert not found & numbers


def test_rerun_gives_identical_model_files_and_scores(first_run, generated, tmp_path, monkeypatch):
    home, _ = first_run
    again = tmp_path / "again"
    assert materialise(generated, again, monkeypatch).success
    version = json.loads((home / "models" / "current.json").read_text())["version"]
    assert json.loads((again / "models" / "current.json").read_text())["version"] == version
    for name in ("model.txt", "validation_model.txt", "calibrator.json", "metadata.json"):
        assert (home / "models" / version / name).read_bytes() == (
            again / "models" / version / name
        ).read_bytes()
    first, second = (stored_predictions(folder) for folder in (home, again))
    assert first.height and first.equals(second)
    assert not (home / "models" / "validation_predictions.parquet").exists()


def stored_predictions(home):
    from models.training import load_validation_predictions
    from warehouse.home import Home

    with Home.at(home).connect(read_only=True) as connection:
        return load_validation_predictions(connection)
