"""The Type 1 opt-out sets' SQL, this tree against another commit, on one warehouse.

    python benchmarks/opt_out_sets.py WAREHOUSE --against REV [--rounds 3]

Times the second statement of the opt-out rule
(``warehouse/sql/staged/type1_opt_outs_check.sql``; ``lists/sql/type1_opt_outs.sql``
before session 9, with ``--then-path``) as written in this tree and at ``REV`` (read with
``git show``), in turns, read-only, and checks both give the same people. Staging
registrations computes it once, beside the first statement (warehouse/opt_outs.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import file_versions  # noqa: E402

SQL = "warehouse/sql/staged/type1_opt_outs_check.sql"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--against", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--then-path", help="the file's path at REV, if it had another")
    arguments = parser.parse_args()
    versions = file_versions(SQL, arguments.against, arguments.then_path)
    connection = duckdb.connect(str(arguments.warehouse), read_only=True)
    [(rows,)] = connection.execute("SELECT count(*) FROM staged.registrations").fetchall()
    print(f"staged.registrations: {rows:,} rows")
    times: dict[str, list[float]] = {name: [] for name in versions}
    people: dict[str, list[tuple]] = {}
    for _ in range(arguments.rounds):
        for name, sql in versions.items():
            started = time.perf_counter()
            people[name] = sorted(connection.execute(sql).fetchall())
            times[name].append(time.perf_counter() - started)
    for name, measured in times.items():
        print(
            f"{name}: median {statistics.median(measured):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in measured)}), {len(people[name]):,} people"
        )
    same = len({tuple(found) for found in people.values()}) == 1
    print("same people" if same else "DIFFERENT people")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
