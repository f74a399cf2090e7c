"""The plain baseline that pipeline_benchmark.py times beside `riskstrat run` reads every
delivered row, scores the latest month and learns something, on a tiny generated zone."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.plain_baseline import run_baseline
from synthetic import generate


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    generate(folder, people=1_500, months=26, seed=3)
    return folder / "landing"


@dataclass(frozen=True)
class Baseline:
    """One run of the baseline on the zone: its result and the folder it wrote."""

    result: dict[str, Any]
    out: Path


@pytest.fixture(scope="module")
def baseline(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """One baseline run for both tests (each costs ~20 s of CPU on this zone)."""
    out = tmp_path_factory.mktemp("baseline_out")
    return Baseline(run_baseline(landing, out=out), out)


def manifest_rows(landing: Path) -> int:
    return sum(
        int(row["rows"])
        for manifest in (landing / "extracts").glob("*/manifest.csv")
        for row in csv.DictReader(manifest.open(newline=""))
    )


def test_baseline_reads_every_delivered_row_and_scores_the_latest_month(
    landing: Path, baseline: Baseline
):
    result = baseline.result

    assert result["rows_read"] == manifest_rows(landing)
    assert set(result["seconds"]) == {"load", "features", "train", "score"}
    assert result["scoring_month"] == "2025-02"
    assert result["training_month"] == "2023-02" and result["validation_month"] == "2024-02"
    assert result["people_scored"] > 1_000
    with (baseline.out / "scores.csv").open(newline="") as scores:
        assert sum(1 for _ in csv.DictReader(scores)) == result["people_scored"]
    assert 0.5 < result["auroc"] < 1


def test_baseline_is_deterministic(landing: Path, baseline: Baseline, tmp_path: Path):
    run_baseline(landing, out=tmp_path)

    assert (tmp_path / "scores.csv").read_bytes() == (baseline.out / "scores.csv").read_bytes()
