"""End to end: a landing zone from our own generator, loaded through Dagster, loses no row."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.loading.assets import deliveries, reference_data
from pipelines.partitions import EXTRACT_MONTHS
from synthetic import generate
from tests.pipelines.conftest import HomeResources
from warehouse.connection import connect
from warehouse.deliveries import read_manifest


def test_every_generated_row_is_loaded_month_by_month(tmp_path: Path):
    generate(tmp_path / "data", people=800, months=3, seed=11, start="2024-04")
    landing = tmp_path / "data" / "landing"
    warehouse = HomeResources(home=str(tmp_path / "home"), landing=str(landing))
    instance = dg.DagsterInstance.ephemeral()
    months = ["2024-04", "2024-05", "2024-06"]
    instance.add_dynamic_partitions(EXTRACT_MONTHS, months)

    assert dg.materialize(
        [reference_data], instance=instance, resources=warehouse.resources()
    ).success
    for month in months:
        result = dg.materialize(
            [reference_data, deliveries],
            instance=instance,
            resources=warehouse.resources(),
            partition_key=month,
            selection=[deliveries],
        )
        assert result.success

    with connect(warehouse.paths.database, read_only=True) as connection:
        loaded = dict(
            ((month, path), rows)
            for month, path, rows in connection.execute(
                "SELECT delivery_month, path, loaded_rows FROM raw.delivery_files WHERE status = 'loaded'"
            ).fetchall()
        )
        registrations = connection.execute(
            "SELECT count(*) FROM raw.registrations WHERE delivery_month = '2024-06'"
        ).fetchone()
    for month in months:
        manifest = read_manifest(landing / "extracts" / month / "manifest.csv")
        assert {path: loaded.get((month, path)) for path in manifest} == {
            path: rows for path, (rows, _) in manifest.items()
        }
    assert registrations is not None and registrations[0] > 700
