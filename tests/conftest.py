"""Shared test set-up: every test leaves the process environment as it found it.

`riskstrat run` called in-process points RISKSTRAT_* and DAGSTER_HOME at its home (so the
Dagster CLI and UI agree with it); without this, a later test in the same pytest worker
would inherit a home that no longer exists.
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
