"""Shared test set-up: every test leaves the process environment as it found it.

`riskstrat run` restores the variables it sets itself; this guards against any test that
sets RISKSTRAT_* or DAGSTER_HOME directly, so a later test in the same pytest worker never
inherits a home that no longer exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
