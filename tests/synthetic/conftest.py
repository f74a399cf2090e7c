"""Landing zones shared by the generator's tests: generated once per session, small and seeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import GenerationSummary, generate


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """2,000 people over 14 months: two index dates with a full year of follow-up."""
    return generate(
        tmp_path_factory.mktemp("small"), people=2_000, months=14, seed=7, start="2023-11"
    )


@pytest.fixture(scope="session")
def larger(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """20,000 people over 13 months, for realism, calibration and the fairness subgroup."""
    return generate(tmp_path_factory.mktemp("larger"), people=20_000, months=13, seed=11)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """2,000 people over 8 months with delivery faults injected."""
    return generate(tmp_path_factory.mktemp("faulty"), people=2_000, months=8, seed=3, faults=True)


def month_folders(landing: Path) -> list[Path]:
    return sorted((landing / "extracts").iterdir())
