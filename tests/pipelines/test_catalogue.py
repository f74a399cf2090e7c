"""The Dagster UI's catalogue: every asset owned, tagged and versioned; every contract table
described column by column, as the warehouse really holds it; `dg check defs` passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines import catalogue
from pipelines.definitions import build_definitions
from pipelines.resources import RunSettings, Warehouse
from warehouse.deliveries import ensure_raw_schema
from warehouse.staged import ensure_staged_schema

DAGSTER_TYPES = {"VARCHAR": "string", "DATE": "date", "BOOLEAN": "bool", "BIGINT": "int"}
DAGSTER_TYPES |= {"INTEGER": "int", "DOUBLE": "float"}
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> dg.AssetGraph:
    folder = tmp_path_factory.mktemp("catalogue")
    definitions = build_definitions(
        Warehouse(home=str(folder / "home")), RunSettings(landing=str(folder / "landing"))
    )
    return definitions.resolve_asset_graph()


def test_every_asset_has_an_owner_tags_and_a_code_version(graph: dg.AssetGraph) -> None:
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners, key
        assert node.tags["layer"] and node.tags["identifiable"] in {"yes", "no"}, key
        assert node.code_version and len(node.code_version) == 12, key
    assert graph.get(dg.AssetKey("population_drift")).group_name == "monitoring"


def test_only_listed_months_are_partitions_of_the_list_assets(graph: dg.AssetGraph) -> None:
    """Scores, lists, summaries and drift exist only for months a model listed: partitioned by
    those months, not by every extract month (which showed as "35 missing partitions")."""
    for name in ("risk_scores", "practice_risk_lists", "federation_summaries", "population_drift"):
        partitions = graph.get(dg.AssetKey(name)).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition)
        assert partitions.name == "list_months", name
    assert graph.get(dg.AssetKey("deliveries")).partitions_def.name == "extract_months"


def test_an_asset_missing_from_the_catalogue_stops_the_definitions() -> None:
    @dg.asset
    def unowned() -> None: ...

    with pytest.raises(KeyError, match=r"asset unowned has no entry in pipelines/catalogue\.py"):
        catalogue.with_catalogue(dg.Definitions(assets=[unowned]))


def describe(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, Dagster type) of a warehouse table, in order."""
    rows = connection.execute(f"DESCRIBE {table}").fetchall()
    return [(name, DAGSTER_TYPES[kind]) for name, kind, *_ in rows]


def test_each_contract_tables_schema_is_the_warehouse_tables_own(
    graph: dg.AssetGraph, tmp_path: Path
) -> None:
    """Column for column and type for type, against the tables the warehouse creates."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        for schema in ("raw", "staged", "quarantine"):
            connection.execute(f"CREATE SCHEMA {schema}")
        ensure_raw_schema(connection)
        ensure_staged_schema(connection)
        checked = 0
        for key in graph.get_all_asset_keys():
            metadata = graph.get(key).metadata
            if "dagster/column_schema" in metadata:
                schema = metadata["dagster/column_schema"].schema
                table = metadata["dagster/table_name"].text
                assert [(c.name, c.type) for c in schema.columns] == describe(connection, table)
                checked += 1
            for name, value in metadata.items():
                if name.startswith("raw."):
                    assert [(c.name, c.type) for c in value.schema.columns] == describe(
                        connection, name
                    )
                    checked += 1
    assert checked == 22  # 11 staged tables, 11 raw ones


def test_a_staged_columns_rules_come_from_its_contract(graph: dg.AssetGraph) -> None:
    metadata = graph.get(dg.AssetKey("staged_practices")).metadata
    columns = {c.name: c for c in metadata["dagster/column_schema"].schema.columns}
    assert not columns["practice_code"].constraints.nullable
    assert any(rule.startswith("matches ") for rule in columns["practice_code"].constraints.other)


def test_a_code_version_changes_with_its_contract_and_only_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = catalogue.catalogue()
    admissions, practices = entries["staged_admissions"], entries["staged_practices"]
    before = catalogue.code_version(admissions), catalogue.code_version(practices)
    texts = catalogue.contract_texts()
    changed = texts | {"admissions": texts["admissions"] + "\n# a new rule\n"}
    monkeypatch.setattr(catalogue, "contract_texts", lambda: changed)

    after = catalogue.code_version(admissions), catalogue.code_version(practices)

    assert after[0] != before[0]
    assert after[1] == before[1]


@pytest.mark.slow
def test_dg_check_defs_passes(tmp_path: Path) -> None:
    """The code location loads as `dg dev` would load it, with every catalogue entry."""
    environment = os.environ | {
        "RISKSTRAT_HOME": str(tmp_path / "home"),
        "RISKSTRAT_LANDING": str(tmp_path / "landing"),
    }
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "check", "defs"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully." in checked.stdout + checked.stderr
