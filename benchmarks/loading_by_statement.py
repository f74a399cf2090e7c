"""Loading the first months of a landing zone into a fresh warehouse, timed by SQL statement.

    python benchmarks/loading_by_statement.py LANDING --months 3
    python benchmarks/loading_by_statement.py LANDING --months 3 --tree /path/to/other/checkout

Runs ``warehouse.deliveries.load_month`` for each of the first ``--months`` extract months,
as the monthly job does (the pipeline's connection and memory limit), and prints each
month's time and the statements that took longest, added up over the months. ``--tree``
imports the pipeline from another checkout (a ``git worktree`` or ``git archive`` of a
commit) to compare with this one, run one after the other.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    arguments = parser.parse_args()
    sys.path.insert(0, str(arguments.tree))
    from timed_statements import TimedConnection

    import warehouse.deliveries as deliveries
    from warehouse.connection import connect

    print(f"loading code: {deliveries.__file__}")
    statements: dict[str, float] = {}

    practices = arguments.landing / "reference" / "practices.csv"
    with practices.open(encoding="utf-8") as handle:
        known = sorted({row["practice_code"] for row in csv.DictReader(handle)})
    with tempfile.TemporaryDirectory() as scratch:
        connection = connect(Path(scratch) / "loading.duckdb")
        deliveries.ensure_raw_schema(connection)
        wall, cpu = time.perf_counter(), time.process_time()
        for month in deliveries.extract_months(arguments.landing)[: arguments.months]:
            started = time.perf_counter()
            deliveries.load_month(
                TimedConnection(connection, statements), arguments.landing, month, known
            )  # type: ignore[arg-type]
            print(f"{month}: {time.perf_counter() - started:.1f} s", flush=True)
        print(
            f"{arguments.months} months: {time.perf_counter() - wall:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU"
        )
        for sql, seconds in sorted(statements.items(), key=lambda item: -item[1])[:12]:
            print(f"{seconds:7.2f} {sql}")
        connection.close()


if __name__ == "__main__":
    main()
