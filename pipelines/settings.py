"""Where a riskstrat run reads its landing zone and keeps its outputs.

Configured by environment variables so that the Dagster code location
(`dagster dev -m pipelines.definitions`) and the `riskstrat` CLI agree:
`RISKSTRAT_LANDING` (the landing zone), `RISKSTRAT_HOME` (warehouse, reports, outbox and
the Dagster instance; default `./riskstrat-home`) and `RISKSTRAT_TRUTH` (optional
truth.csv of a synthetic feed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_HOME = "riskstrat-home"


def home_from_environment() -> Path:
    return Path(os.environ.get("RISKSTRAT_HOME", DEFAULT_HOME)).resolve()


def landing_from_environment() -> Path:
    return Path(os.environ.get("RISKSTRAT_LANDING", str(home_from_environment() / "landing"))).resolve()


def truth_from_environment() -> Path | None:
    truth = os.environ.get("RISKSTRAT_TRUTH")
    if truth:
        return Path(truth).resolve()
    beside_landing = landing_from_environment().parent / "truth.csv"
    return beside_landing if beside_landing.is_file() else None


def dagster_home(home: Path) -> Path:
    return home / "dagster"


@contextmanager
def configured_environment(landing: Path, home: Path, truth: Path | None) -> Iterator[None]:
    """Point the Dagster code location and instance at this home while a run lasts.

    The variables are restored on leaving, so a run made in-process (tests, notebooks)
    leaves the caller's environment as it found it.
    """
    names = ("RISKSTRAT_LANDING", "RISKSTRAT_HOME", "RISKSTRAT_TRUTH", "DAGSTER_HOME")
    saved = {name: os.environ.get(name) for name in names}
    instance_home = dagster_home(home)
    instance_home.mkdir(parents=True, exist_ok=True)
    wanted = {
        "RISKSTRAT_LANDING": str(landing),
        "RISKSTRAT_HOME": str(home),
        "RISKSTRAT_TRUTH": str(truth) if truth is not None else None,
        "DAGSTER_HOME": str(instance_home),
    }
    try:
        set_variables(wanted)
        yield
    finally:
        set_variables(saved)


def set_variables(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
