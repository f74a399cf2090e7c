"""Fixtures: a home with published lists (tests/lists/population.py), accounts, a client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from review.accounts import add_user
from review.app import ReviewSettings, create_app
from review.store import open_store
from tests.lists.conftest import TEST_KEY, publish_months
from tests.lists.population import build_warehouse
from warehouse.home import Home

PASSWORD = "correct horse battery staple"
PRACTICE_USER, OTHER_PRACTICE_USER, FEDERATION_USER = "field.gp", "hill.gp", "bridge.fed"


@pytest.fixture(scope="session")
def accounts_template(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The staged population, nothing published, and three accounts (argon2 is slow: once)."""
    home = Home(tmp_path_factory.mktemp("accounts") / "home")
    home.root.mkdir()
    build_warehouse(home.database)
    with open_store(home) as store:
        add_user(store, PRACTICE_USER, PASSWORD, practice_code="A81001")
        add_user(store, OTHER_PRACTICE_USER, PASSWORD, practice_code="B82001")
        add_user(store, FEDERATION_USER, PASSWORD, federation_code="FED01")
    return home


@pytest.fixture(scope="session")
def review_template(tmp_path_factory: pytest.TempPathFactory, accounts_template: Home) -> Home:
    """January's and February's lists published, and the accounts."""
    home = Home(tmp_path_factory.mktemp("review") / "home")
    shutil.copytree(accounts_template.root, home.root)
    publish_months(home)
    return home


@pytest.fixture
def staged_review_home(tmp_path: Path, accounts_template: Home) -> Home:
    """A private copy of the accounts and the staged population, no list published yet."""
    home = Home(tmp_path / "staged-home")
    shutil.copytree(accounts_template.root, home.root)
    return home


@pytest.fixture
def review_home(tmp_path: Path, review_template: Home) -> Home:
    """A private copy of the home with January's and February's lists."""
    home = Home(tmp_path / "home")
    shutil.copytree(review_template.root, home.root)
    return home


def make_client(home: Home) -> TestClient:
    # https: the session cookie is Secure, and a client sends it over https only.
    app = create_app(ReviewSettings(home=home.root, pseudonym_key=TEST_KEY.decode()))
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def client(review_home: Home) -> Iterator[TestClient]:
    with make_client(review_home) as test_client:
        yield test_client


def csrf_token(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    """Log in through the form as a browser would; the response's status."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(form.text)},
    )
    return response.status_code
