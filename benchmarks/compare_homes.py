"""Compare two riskstrat homes: every output file byte for byte, and every warehouse table's rows.

    python benchmarks/compare_homes.py HOME_A HOME_B

Used to show that a change leaves the pipeline's outputs as they were: run the same landing
zone into two homes (before and after the change) and compare them. Skipped: `dagster/`
(run history), `gx/` and `reports/data_docs/` (Great Expectations writes run times into
them), `run.lock`, and the warehouse file itself (its tables are compared row by row,
ordered, instead). Give both homes the same pseudonym key (copy `secrets/pseudonym.key`
before the second run), or the federation's pseudonymised files differ by design.
Exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import duckdb

SKIPPED = ("dagster/", "gx/", "reports/data_docs/", "run.lock", "warehouse.duckdb")


def file_digests(home: Path) -> dict[str, str]:
    digests = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if path.is_file() and not relative.startswith(SKIPPED):
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def table_digests(home: Path) -> dict[str, str]:
    digests = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2"
        ).fetchall()
        for schema, name in tables:
            rows = connection.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
            digests[f"{schema}.{name}"] = f"{len(rows)} rows {digest[:16]}"
    return digests


def differences(first: Path, second: Path) -> tuple[list[str], int, int]:
    found = []
    files_a, files_b = file_digests(first), file_digests(second)
    for name in sorted(set(files_a) | set(files_b)):
        if files_a.get(name) != files_b.get(name):
            where = (
                " (only in B)"
                if name not in files_a
                else " (only in A)"
                if name not in files_b
                else ""
            )
            found.append(f"file differs: {name}{where}")
    tables_a, tables_b = table_digests(first), table_digests(second)
    for name in sorted(set(tables_a) | set(tables_b)):
        if tables_a.get(name) != tables_b.get(name):
            found.append(f"table differs: {name}: {tables_a.get(name)} | {tables_b.get(name)}")
    return found, len(files_a), len(tables_a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    arguments = parser.parse_args()
    found, files, tables = differences(arguments.first, arguments.second)
    print("\n".join(found))
    print(f"{files} files, {tables} tables compared; {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
