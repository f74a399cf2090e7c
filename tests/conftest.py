"""Shared test set-up: every test leaves the process environment as it found it.

`riskstrat run` restores the variables it sets itself; this guards against any test that
sets RISKSTRAT_* or DAGSTER_HOME directly, so a later test in the same pytest worker never
inherits a home that no longer exists.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give a test process whose SIGINT is ignored Python's own SIGINT handler back.

    A process started in the background by a script (`make test &`, some CI runners)
    ignores SIGINT. Dagster, leaving its interrupt capture after an in-process run, maps
    SIGTERM to SIGINT's handler (dagster._utils.interrupts.setup_interrupt_handlers), so
    SIGTERM becomes ignored too; the `tail` processes that mirror each step's compute logs
    then inherit the ignored SIGTERM, and Dagster waits 30 s for each of two to end: about
    a minute per step of every later in-process run (tests/test_home_at_rest.py's fixture
    took 450 s instead of 30). riskstrat's CLI is not affected: it handles both signals
    while it runs (pipelines.cli.signals_stop_the_run).
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
