"""Warehouses for the feature tests: a generated one, and hand-built staged rows.

The generated warehouse goes through the real loader and staged layer
(warehouse.deliveries, warehouse.staged); hand-built cases insert typed rows straight into
the staged tables.
"""

from __future__ import annotations

import atexit
import datetime
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse.connection import connect
from warehouse.deliveries import delivered_months, ensure_raw_schema, load_month
from warehouse.opt_outs import refresh_opt_outs
from warehouse.reference import known_practices, load_reference
from warehouse.staged import ensure_staged_schema, stage_month, stage_reference

PEOPLE = 1_500
MONTHS = 18
SEED = 7
START = "2023-01"


def build_staged(connection: duckdb.DuckDBPyConnection) -> None:
    """Stage the reference feeds and every loaded month from raw (empty tables if none)."""
    ensure_raw_schema(connection)
    ensure_staged_schema(connection)
    stage_reference(connection)
    months = connection.execute(
        "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1"
    ).fetchall()
    for (month,) in months:
        stage_month(connection, month)


_GENERATED: dict[tuple[int, int], Path] = {}


def generated_warehouse(people: int = PEOPLE, months: int = MONTHS) -> Path:
    """A generated, loaded and staged warehouse, built once per test process; read-only use.

    Tests that change it work on `copy_warehouse`.
    """
    key = (people, months)
    if key not in _GENERATED:
        folder = Path(tempfile.mkdtemp(prefix="riskstrat-features-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # 35 MB each, per worker
        _GENERATED[key] = generate_warehouse(folder, people, months)
    return _GENERATED[key]


@contextmanager
def held(lock: Path) -> Iterator[None]:
    """An exclusive lock on `lock` across processes, released when the block ends."""
    with lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def generated_warehouse_with_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated warehouse with features built at every labelled and the scoring date.

    Built once per test run: the pytest-xdist workers share it, the first to ask building
    it under a file lock in the run's base folder (xdist's recipe for a session fixture
    made once), where one build costs ~10 s of CPU a worker otherwise. Read-only use.
    """
    key = (-1, -1)
    if key not in _GENERATED:
        root = tmp_path_factory.getbasetemp()
        if "PYTEST_XDIST_WORKER" in os.environ:
            root = root.parent  # the folder every worker's base folder is in
        folder = root / "generated-warehouse-with-features"
        with held(root / "generated-warehouse-with-features.lock"):
            built = folder / "with_features.duckdb"
            if not built.is_file():
                shutil.rmtree(folder, ignore_errors=True)
                build_with_features(folder, built)
        _GENERATED[key] = built
    return _GENERATED[key]


def build_with_features(folder: Path, target: Path) -> None:
    """Generate, load and stage a warehouse in `folder`, then build its features in `target`
    (written under another name first, so `target` exists only once complete)."""
    from models.dataset import labelled_index_dates, scoring_index_date
    from warehouse.features import replace_features

    source = generate_warehouse(folder)
    partial = folder / "with_features.partial.duckdb"
    shutil.copyfile(source, partial)
    connection = connect(partial)
    try:
        replace_features(
            connection, [*labelled_index_dates(connection), scoring_index_date(connection)]
        )
    finally:
        connection.close()
    partial.rename(target)


def generate_warehouse(folder: Path, people: int = PEOPLE, months: int = MONTHS) -> Path:
    """Generate a landing zone, load every delivered month and stage it; the warehouse path."""
    from synthetic import generate

    generate(folder, people=people, months=months, seed=SEED, start=START)
    landing = folder / "landing"
    path = folder / "warehouse.duckdb"
    connection = connect(path)
    try:
        load_reference(connection, landing)
        practices = known_practices(connection)
        for month in delivered_months(landing):
            load_month(connection, landing, month, practices)
        build_staged(connection)
    finally:
        connection.close()
    return path


def copy_warehouse(source: Path, folder: Path) -> duckdb.DuckDBPyConnection:
    """A writable copy of a warehouse file, opened."""
    target = folder / "copy.duckdb"
    shutil.copyfile(source, target)
    return connect(target)


def empty_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse whose staged tables exist and are empty, for hand-built cases."""
    connection = connect(path)
    build_staged(connection)
    return connection


def insert(connection: duckdb.DuckDBPyConnection, feed: str, **values: Any) -> None:
    """Insert one staged row; unnamed columns are NULL, provenance is filled in; the opt-out
    set follows the registrations, as staging keeps it."""
    month = values.pop("delivery_month", None)
    if month is None:
        for key in (
            "registration_date",
            "admission_date",
            "consultation_date",
            "issue_date",
            "observation_date",
            "arrival_date",
            "appointment_date",
            "start_date",
            "diagnosis_date",
        ):
            if isinstance(values.get(key), datetime.date):
                month = values[key].strftime("%Y-%m")
                break
    row = {"delivery_month": month, "source_file": f"hand/{feed}.csv", "line_number": 1, **values}
    names = ", ".join(row)
    placeholders = ", ".join(f"${name}" for name in row)
    connection.execute(f"INSERT INTO staged.{feed} ({names}) VALUES ({placeholders})", row)
    if feed == "registrations":
        refresh_opt_outs(connection)  # as staging registrations does


def register(
    connection: duckdb.DuckDBPyConnection,
    nhs_number: str,
    months: list[str],
    *,
    practice_code: str = "A10001",
    date_of_birth: datetime.date = datetime.date(1950, 6, 1),
    registration_date: datetime.date = datetime.date(2010, 1, 1),
    per_month: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> None:
    """A registrations snapshot row for the person in each of `months`.

    `overrides` set columns in every month; `per_month` sets them in the months it names.
    """
    for month in months:
        values: dict[str, Any] = {
            "delivery_month": month,
            "practice_code": practice_code,
            "nhs_number": nhs_number,
            "date_of_birth": date_of_birth,
            "sex": "2",
            "ethnic_category": "A",
            "lsoa_code": None,
            "registration_date": registration_date,
            "deregistration_date": None,
            "date_of_death": None,
            "care_home": False,
            "type1_opt_out": False,
        }
        values.update(overrides)
        values.update((per_month or {}).get(month, {}))
        insert(connection, "registrations", **values)


def months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out
