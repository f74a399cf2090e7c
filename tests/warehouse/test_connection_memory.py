"""DuckDB's memory is bounded, and work larger than the bound spills inside the home.

Unbounded, DuckDB may take 80% of the machine: a first load of 1,000,000 people held
13.3 GB (docs/performance.md). ``warehouse.connection.connect`` sets
``memory_limit`` (4 GB, or ``RISKSTRAT_DUCKDB_MEMORY_LIMIT``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.connection import MEMORY_LIMIT_VARIABLE, connect


def setting(connection, name: str) -> str:
    return connection.execute("SELECT current_setting(?)", [name]).fetchone()[0]


def test_the_warehouse_connection_bounds_duckdb_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    with connect(tmp_path / "home" / "warehouse.duckdb") as connection:
        assert setting(connection, "memory_limit") == "3.7 GiB"  # 4 GB, as DuckDB prints it
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "1GB")
    with connect(tmp_path / "home" / "warehouse.duckdb", read_only=True) as connection:
        assert setting(connection, "memory_limit") == "953.6 MiB"


def test_a_window_larger_than_the_limit_spills_beside_the_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging windows (resends, conflicts) partition a whole feed: with a small limit
    they still finish, spilling into the home's own folder rather than failing."""
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "16MB")
    database = tmp_path / "home" / "warehouse.duckdb"
    with connect(database) as connection:
        assert Path(setting(connection, "temp_directory")) == Path(f"{database}.tmp")
        connection.execute("SET threads = 1")
        # About 50 MB of rows: more than three times the limit.
        connection.execute(
            "CREATE TABLE rows AS SELECT i % 300007 AS id, "
            "md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS content FROM range(600000) t(i)"
        )
        repeats = connection.execute(
            "SELECT count(*) FILTER (WHERE occurrence > 1) FROM ("
            "  SELECT row_number() OVER (PARTITION BY id ORDER BY content) AS occurrence"
            "  FROM rows)"
        ).fetchone()
        assert repeats == (600000 - 300007,)
