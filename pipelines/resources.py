"""Dagster resources: the warehouse and the home's output folders."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.settings import home_from_environment, landing_from_environment
from warehouse.connection import connect
from warehouse.home import Home


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse and output folders of one riskstrat home."""

    home: str
    landing: str
    lock_wait_seconds: float = 60.0

    @property
    def paths(self) -> Home:
        """Every path under the home, spelled once (warehouse.home.Home)."""
        return Home.at(self.home)

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def landing_path(self) -> Path:
        return Path(self.landing)

    @property
    def database_path(self) -> Path:
        return self.home_path / "warehouse.duckdb"

    @property
    def reports_path(self) -> Path:
        return self.home_path / "reports"

    @property
    def outbox_path(self) -> Path:
        return self.home_path / "outbox"

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return connect(self.database_path, read_only=read_only, wait_seconds=self.lock_wait_seconds)


def warehouse_from_environment() -> Warehouse:
    return Warehouse(home=str(home_from_environment()), landing=str(landing_from_environment()))
