"""The plain baseline that pipeline_benchmark.py times beside `riskstrat run` reads every
delivered row, scores the latest month and learns something, on a tiny generated zone."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.plain_baseline import run_baseline
from synthetic import generate


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    generate(folder, people=1_500, months=26, seed=3)
    return folder / "landing"


def manifest_rows(landing: Path) -> int:
    return sum(
        int(row["rows"])
        for manifest in (landing / "extracts").glob("*/manifest.csv")
        for row in csv.DictReader(manifest.open(newline=""))
    )


def test_baseline_reads_every_delivered_row_and_scores_the_latest_month(
    landing: Path, tmp_path: Path
):
    result = run_baseline(landing, out=tmp_path)

    assert result["rows_read"] == manifest_rows(landing)
    assert set(result["seconds"]) == {"load", "features", "train", "score"}
    assert result["scoring_month"] == "2025-02"
    assert result["training_month"] == "2023-02" and result["validation_month"] == "2024-02"
    assert result["people_scored"] > 1_000
    with (tmp_path / "scores.csv").open(newline="") as scores:
        assert sum(1 for _ in csv.DictReader(scores)) == result["people_scored"]
    assert 0.5 < result["auroc"] < 1


def test_baseline_is_deterministic(landing: Path, tmp_path: Path):
    run_baseline(landing, out=tmp_path / "first")
    run_baseline(landing, out=tmp_path / "second")

    assert (tmp_path / "first" / "scores.csv").read_bytes() == (
        tmp_path / "second" / "scores.csv"
    ).read_bytes()
