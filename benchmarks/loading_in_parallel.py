"""Loading the first months of a landing zone one month at a time against two at once.

    python benchmarks/loading_in_parallel.py LANDING --months 6

Loads the first ``--months`` extract months into two fresh warehouses with
``warehouse.deliveries.load_months``, first with one worker (each month after the other, as
before), then with ``LOADING_WORKERS``, and prints each run's wall and CPU time. Then it
compares every raw table of the two warehouses row by row, in their stored order: the two
must be identical, bookkeeping included.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from warehouse import deliveries
from warehouse.connection import connect


def load(landing: Path, months: list[str], known: list[str], path: Path, workers: int) -> None:
    connection = connect(path)
    wall, cpu = time.perf_counter(), time.process_time()
    outcomes = list(deliveries.load_months(connection, landing, months, known, workers=workers))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = sum(outcome.loaded_rows for outcome in outcomes)
    print(
        f"{workers} worker(s): {len(months)} months, {rows:,} rows: {wall:.1f} s wall, {cpu:.1f} s CPU"
    )
    connection.close()


def differences(first: Path, second: Path) -> list[str]:
    """Raw tables whose rows, in stored order, differ between the two warehouses."""
    connection = duckdb.connect(str(first), read_only=True)
    connection.execute(f"ATTACH '{second}' AS other (READ_ONLY)")
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'raw' AND table_catalog = current_database() ORDER BY 1"
        ).fetchall()
    ]
    different = []
    for table in tables:
        # Stored order: each row's position in a plain scan (preserve_insertion_order).
        count = connection.execute(
            f"WITH a AS (SELECT row_number() OVER () AS position, t AS row FROM raw.{table} AS t), "
            f"b AS (SELECT row_number() OVER () AS position, t AS row FROM other.raw.{table} AS t) "
            "SELECT count(*) FROM a FULL JOIN b USING (position) "
            "WHERE a.row IS DISTINCT FROM b.row"
        ).fetchone()[0]
        rows = connection.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
        print(f"  raw.{table}: {rows:,} rows, {count:,} differing")
        if count:
            different.append(table)
    return different


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--months", type=int, default=6)
    arguments = parser.parse_args()
    with (arguments.landing / "reference" / "practices.csv").open(encoding="utf-8") as handle:
        known = sorted({row["practice_code"] for row in csv.DictReader(handle)})
    months = deliveries.extract_months(arguments.landing)[: arguments.months]
    with tempfile.TemporaryDirectory() as scratch:
        one, two = Path(scratch) / "one.duckdb", Path(scratch) / "two.duckdb"
        load(arguments.landing, months, known, one, workers=1)
        load(arguments.landing, months, known, two, workers=deliveries.LOADING_WORKERS)
        different = differences(one, two)
    print("identical" if not different else f"DIFFERENT: {', '.join(different)}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
