"""Compare two riskstrat homes: every output file byte for byte, and every warehouse table's rows.

    python benchmarks/compare_homes.py HOME_A HOME_B

Used to show that a change leaves the pipeline's outputs as they were: run the same landing
zone into two homes (before and after the change) and compare them. Skipped: `dagster/`
(run history), `gx/` and `reports/data_docs/` (Great Expectations writes run times into
them), `run.lock`, and the warehouse file itself (its tables are compared row by row,
ordered, instead). Give both homes the same pseudonym key (copy `secrets/pseudonym.key`
before the second run), or the federation's pseudonymised files differ by design.
Exits 1 when anything differs.

The tests that need two homes to be the same (tests/pipelines/test_month_ranges.py,
tests/pipelines/test_recovery.py) compare them with `differences` too, narrowed to the
folders they are about.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

SKIPPED = ("dagster/", "gx/", "reports/data_docs/", "run.lock", "warehouse.duckdb")
WAREHOUSE = "warehouse.duckdb"


def file_digests(home: Path, folders: Sequence[str] = ("",)) -> dict[str, str]:
    """sha256 of every file under `folders` of the home (all of it by default), but SKIPPED."""
    digests = {}
    for folder in folders:
        for path in sorted((home / folder).rglob("*")):
            relative = path.relative_to(home).as_posix()
            if path.is_file() and not relative.startswith(SKIPPED):
                digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def table_digests(home: Path) -> dict[str, str]:
    """Every warehouse table: its row count and the sha256 of its rows in a fixed order."""
    digests = {}
    with duckdb.connect(str(home / WAREHOUSE), read_only=True) as connection:
        tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
        ).fetchall()
        for schema, name in tables:
            rows = connection.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
            digests[f"{schema}.{name}"] = f"{len(rows)} rows {digest}"
    return digests


def home_digests(home: Path, folders: Sequence[str] = ("",)) -> dict[str, str]:
    """`file_digests` and `table_digests` together, by file path or table name."""
    return file_digests(home, folders) | table_digests(home)


def differences(first: Path, second: Path, folders: Sequence[str] = ("",)) -> list[str]:
    """One line for each file or table that differs, or is in one home only."""
    a, b = home_digests(first, folders), home_digests(second, folders)
    found = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            where = " (only in B)" if name not in a else " (only in A)" if name not in b else ""
            found.append(f"differs: {name}{where}: {a.get(name)} | {b.get(name)}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    arguments = parser.parse_args()
    found = differences(arguments.first, arguments.second)
    files, tables = file_digests(arguments.first), table_digests(arguments.first)
    print("\n".join(found))
    print(f"{len(files)} files, {len(tables)} tables compared; {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
