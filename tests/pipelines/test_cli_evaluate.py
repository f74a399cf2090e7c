"""`riskstrat evaluate --landing OTHER_ZONE`: the current model, unchanged, on another zone."""

import json
import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home_with_a_model(tmp_path_factory) -> Path:
    """A home whose registry holds a model trained on a generated 26-month zone."""
    from models.training import build_training_set, train_and_register
    from tests.warehouse.features_fixtures import generate_warehouse
    from warehouse.connection import connect

    zone = tmp_path_factory.mktemp("home-zone")
    generate_warehouse(zone, people=1_500, months=26)
    home = tmp_path_factory.mktemp("home")
    with connect(zone / "warehouse.duckdb") as connection:
        training_set = build_training_set(connection)
    train_and_register(training_set, home / "models")
    return home


def test_evaluate_scores_another_zone_without_training(home_with_a_model, tmp_path, capsys):
    from synthetic import generate

    generate(tmp_path / "other", people=1_200, months=15, seed=3)
    models = home_with_a_model / "models"
    before = {p: p.read_bytes() for p in models.rglob("*") if p.is_file()}

    code = main(
        [
            "evaluate",
            "--landing",
            str(tmp_path / "other" / "landing"),
            "--home",
            str(home_with_a_model),
        ]
    )

    assert code == 0
    assert {p: p.read_bytes() for p in models.rglob("*") if p.is_file()} == before
    assert not (home_with_a_model / "warehouse.duckdb").exists()
    out = home_with_a_model / "reports" / "external" / "other"
    report = json.loads((out / "evaluation.json").read_text())
    current = json.loads((models / "current.json").read_text())["version"]
    assert report["model_version"] == current
    assert report["validation_index_date"] == "2023-03-31"  # 15 months: its latest labelled date
    assert report["validation"]["people"] > 1_000
    assert 0.55 < report["validation"]["auroc"] < report["oracle"]["auroc"]
    assert set(report["baselines"]) == {"prior_admissions"}
    assert (out / "fairness.json").is_file() and (out / "calibration.png").is_file()
    assert [p.name for p in out.iterdir() if p.is_dir()] == []  # the scratch warehouse is gone
    numbers = set(
        pl.read_csv(tmp_path / "other" / "truth.csv", schema_overrides={"nhs_number": pl.Utf8})[
            "nhs_number"
        ]
    )
    written = " ".join(p.read_text() for p in out.glob("*.json"))
    assert not set(re.findall(r"\b\d{10}\b", written)) & numbers
    assert f"AUROC {report['validation']['auroc']:.3f}" in capsys.readouterr().out


def test_evaluate_a_zone_too_short_is_one_clear_message(home_with_a_model, tmp_path, capsys):
    from synthetic import generate

    generate(tmp_path / "short", people=300, months=6, seed=4)
    code = main(
        [
            "evaluate",
            "--landing",
            str(tmp_path / "short" / "landing"),
            "--home",
            str(home_with_a_model),
        ]
    )
    assert code == 1
    error = capsys.readouterr().err
    assert "at least 13 months" in error and "Traceback" not in error
