"""The drift asset before any model: nothing to compare with, and its check says so without failing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.operations.assets import POPULATION_STABLE, population_drift
from tests.pipelines.conftest import HomeResources


def test_population_drift_without_a_trained_model_passes_and_says_why(tmp_path: Path):
    warehouse = HomeResources(home=str(tmp_path / "home"), landing=str(tmp_path / "landing"))
    context = dg.build_asset_context(partition_key="2024-01")

    result = population_drift(context, **warehouse.resources())

    assert isinstance(result, dg.MaterializeResult)
    [check] = result.check_results or []
    assert check.check_name == POPULATION_STABLE and check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert not (tmp_path / "home" / "reports" / "drift").exists()
