"""Fixtures: the tiny staged warehouse of tests/lists/population.py, scored and published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lists.federation import publish_federation_summaries
from lists.practice_lists import ListLength, ListPolicy, publish_practice_lists
from lists.scores import score_month
from tests.lists.population import SCORE_MONTH, StandInModel, build_warehouse, stand_in_explain
from warehouse.connection import connect
from warehouse.home import Home

# Long enough that the people a rule is about would be listed if the rule broke.
TEST_POLICY = ListPolicy(standard=ListLength(top_n=10), vanguard=ListLength(top_n=20))
TEST_KEY = b"test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="session")
def staged_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture
def staged_home(tmp_path: Path, staged_template: Path) -> Home:
    """A home whose warehouse holds the staged population, nothing scored yet."""
    home = Home(tmp_path / "home")
    home.root.mkdir()
    shutil.copy(staged_template, home.database)
    return home


def publish_months(home: Home, months: tuple[str, ...] = ("2024-01", SCORE_MONTH)) -> None:
    """Score each month with the stand-in model, write its lists, then the last month's summaries."""
    with connect(home.database) as connection:
        for month in months:
            score_month(connection, month, StandInModel(), explain=stand_in_explain)
            publish_practice_lists(
                connection, home.outbox, month, TEST_POLICY, list_reports=home.list_reports
            )
        publish_federation_summaries(connection, home.outbox, months[-1], TEST_KEY)


@pytest.fixture(scope="session")
def published_template(tmp_path_factory: pytest.TempPathFactory, staged_template: Path) -> Home:
    home = Home(tmp_path_factory.mktemp("published") / "home")
    home.root.mkdir()
    shutil.copy(staged_template, home.database)
    publish_months(home)
    return home


@pytest.fixture
def published_home(tmp_path: Path, published_template: Home) -> Home:
    """A home with January's and February's lists and February's summaries (a private copy)."""
    home = Home(tmp_path / "home")
    shutil.copytree(published_template.root, home.root)
    return home
