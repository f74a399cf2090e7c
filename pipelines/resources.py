"""Dagster resources: the warehouse of one home, and the settings a run operates by.

Both are `ConfigurableResource`s: `riskstrat run` builds them from its arguments, and the
code location (`pipelines.definitions`) fills them from `dg.EnvVar`s, so no module reads
the process environment behind its caller's back.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from models.drift import DRIFT_THRESHOLD
from models.retraining import DEFAULT_RETRAIN_EVERY
from warehouse.home import Home


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse and output folders of one riskstrat home."""

    home: str
    lock_wait_seconds: float = 60.0

    @property
    def paths(self) -> Home:
        """Every path under the home, spelled once (warehouse.home.Home)."""
        return Home.at(self.home)

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return self.paths.connect(read_only=read_only, wait_seconds=self.lock_wait_seconds)


class RunSettings(dg.ConfigurableResource):
    """Where the deliveries are, and the operating policy (retraining cadence, drift threshold)."""

    landing: str
    truth: str = ""
    """The generator's truth.csv for a synthetic feed; empty means truth.csv beside the
    landing folder when there is one (evaluation then reports the oracle), else none."""
    retrain_every_months: int = DEFAULT_RETRAIN_EVERY
    drift_threshold: float = DRIFT_THRESHOLD
    pseudonym_key: str = ""
    """Key of the federation pseudonyms; empty means <home>/secrets/pseudonym.key."""

    @property
    def landing_path(self) -> Path:
        return Path(self.landing)

    @property
    def truth_path(self) -> Path | None:
        if self.truth:
            return Path(self.truth)
        beside = self.landing_path.parent / "truth.csv"
        return beside if beside.is_file() else None
