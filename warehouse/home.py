"""A riskstrat home: the one place that spells the paths under it.

```
<home>/
  warehouse.duckdb        raw, staged, quarantine, features and scores schemas
  run.lock                held by the run using the home (warehouse.run_lock)
  models/                 the model registry (current.json names the model in use)
    training_set/         the last training frame and its plan
  reports/                deliveries/, data_quality/, data_docs/, model/, lists/, drift/
  outbox/                 <federation>/<practice>/<YYYY-MM>/ lists; <federation>/summary/
  gx/                     the Great Expectations context
  secrets/                the pseudonym key
  dagster/                the Dagster instance (DAGSTER_HOME): run history
```
Plain code: never imports dagster, never creates a folder it is not asked to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.connection import connect


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def at(cls, root: Path | str) -> Home:
        return cls(Path(root).resolve())

    @property
    def database(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def run_lock(self) -> Path:
        return self.root / "run.lock"

    @property
    def models(self) -> Path:
        """The model registry (models.registry reads and writes it)."""
        return self.root / "models"

    @property
    def training_set(self) -> Path:
        return self.models / "training_set"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def delivery_reports(self) -> Path:
        return self.reports / "deliveries"

    @property
    def data_quality_reports(self) -> Path:
        return self.reports / "data_quality"

    @property
    def data_docs(self) -> Path:
        return self.reports / "data_docs"

    @property
    def model_reports(self) -> Path:
        return self.reports / "model"

    @property
    def list_reports(self) -> Path:
        return self.reports / "lists"

    @property
    def drift_reports(self) -> Path:
        return self.reports / "drift"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def great_expectations(self) -> Path:
        return self.root / "gx"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def dagster(self) -> Path:
        """The Dagster instance's folder (DAGSTER_HOME)."""
        return self.root / "dagster"

    def connect(
        self, *, read_only: bool = False, wait_seconds: float = 0.0
    ) -> duckdb.DuckDBPyConnection:
        return connect(self.database, read_only=read_only, wait_seconds=wait_seconds)

    def has_warehouse(self) -> bool:
        return self.database.is_file()
