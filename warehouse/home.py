"""A riskstrat home: the one place that spells the paths under it.

```
<home>/                   mode 0700; every file in it 0600, every folder 0700
  warehouse.duckdb        raw, staged, quarantine, features, models and scores schemas
  run.lock                held by the run using the home (warehouse.run_lock)
  models/                 the model registry (current.json names the model in use)
  reports/                deliveries/, data_quality/ (each keeping earlier versions in history/),
                          data_docs/, model/, lists/, drift/
  outbox/                 <federation>/<practice>/<YYYY-MM>/ lists; <federation>/summary/
                          (each folder's earlier manifests in manifests/)
  gx/                     the Great Expectations context
  secrets/                the pseudonym key
  dagster/                the Dagster instance (DAGSTER_HOME): run history
  review/                 the review app's own SQLite store (review.sqlite3): accounts,
                          decisions and the access log, by row id, never by NHS number
```
Identifiable data at rest: record-level data with NHS numbers lives only in
`warehouse.duckdb` and in the practice folders of `outbox/` (the training frame and the
validation predictions are warehouse tables, `models.training_frame` and
`models.validation_predictions`). The home is private to its owner: `Home.ensure()`
makes it 0700, and a run writes under `owner_only_files()`, the umask that makes every
file Dagster, Great Expectations, DuckDB and riskstrat write 0600 and every folder 0700
(riskstrat's own writers, warehouse.files, set those modes whatever the umask).

Plain code: never imports dagster, never creates a folder it is not asked to.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.connection import connect
from warehouse.files import FOLDER_MODE, make_private_folder, remove_partial_files

OWNER_ONLY_UMASK = 0o077
"""The umask of a run: files 0600 (0666 & ~0o077) and folders 0700, whoever writes them."""


@contextmanager
def owner_only_files() -> Iterator[None]:
    """Run the block with the process umask at 0o077, then restore the caller's.

    The umask is the process's, not a thread's: set it once around a whole run (the CLI,
    `pipelines.runner.run_pipeline`), never around one step of a threaded executor. It is
    the one setting that reaches the files riskstrat does not write itself (Dagster's run
    and event storage and compute logs, the Great Expectations context, DuckDB's WAL).
    """
    previous = os.umask(OWNER_ONLY_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


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
    def retired_record_files(self) -> tuple[Path, ...]:
        """Record-level files earlier versions kept outside the warehouse (now warehouse tables)."""
        return (self.models / "training_set", self.models / "validation_predictions.parquet")

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

    @property
    def review(self) -> Path:
        """The review app's folder: its SQLite store, beside (never inside) the warehouse."""
        return self.root / "review"

    def ensure(self) -> Home:
        """Create the home (and missing parents) 0700, and make an existing home 0700."""
        make_private_folder(self.root)
        self.root.chmod(FOLDER_MODE)
        return self

    def remove_retired_record_files(self) -> list[Path]:
        """Delete `retired_record_files` that exist (a home upgraded in place); those deleted."""
        removed = []
        for path in self.retired_record_files:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(path)
        return removed

    def remove_partial_files(self) -> list[Path]:
        """Delete the half-written files killed writers left in the folders runs write.

        Called under the run lock. The review app's folder is not swept (the app writes
        there all the time); files whose writer still runs are left alone.
        """
        return [
            *remove_partial_files(self.models, legacy_registry=True),
            *remove_partial_files(self.reports),
            *remove_partial_files(self.outbox),
        ]

    def connect(
        self, *, read_only: bool = False, wait_seconds: float = 0.0
    ) -> duckdb.DuckDBPyConnection:
        return connect(self.database, read_only=read_only, wait_seconds=wait_seconds)

    def has_warehouse(self) -> bool:
        return self.database.is_file()
