"""Where a riskstrat run reads its landing zone and keeps its outputs.

Configured by environment variables so that the Dagster code location
(`dagster dev -m pipelines.definitions`) and the `riskstrat` CLI agree:
`RISKSTRAT_LANDING` (the landing zone), `RISKSTRAT_HOME` (warehouse, reports, outbox and
the Dagster instance; default `./riskstrat-home`) and `RISKSTRAT_TRUTH` (optional
truth.csv of a synthetic feed).
"""

from __future__ import annotations

import os
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


def configure_environment(landing: Path, home: Path, truth: Path | None) -> None:
    """Point the Dagster code location and instance at this home before they load."""
    os.environ["RISKSTRAT_LANDING"] = str(landing)
    os.environ["RISKSTRAT_HOME"] = str(home)
    if truth is not None:
        os.environ["RISKSTRAT_TRUTH"] = str(truth)
    else:
        os.environ.pop("RISKSTRAT_TRUTH", None)
    instance_home = dagster_home(home)
    instance_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(instance_home)
