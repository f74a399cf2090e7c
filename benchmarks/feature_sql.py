"""One index date's feature SQL, this tree against another commit, on one warehouse.

    python benchmarks/feature_sql.py WAREHOUSE --against REV [--dates 2026-01-31 ...] [--rounds 2]

Runs ``warehouse/sql/features/person_features.sql`` as written in this tree and at ``REV``
(read with ``git show``), in turns, read-only, for each date (by default the warehouse's
latest registrations month), and checks that both give the same rows: the same count, and
no row of either missing from the other (EXCEPT ALL both ways).
"""

from __future__ import annotations

import argparse
import datetime
import re
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import file_versions  # noqa: E402
from warehouse.features import feature_parameters  # noqa: E402
from warehouse.months import index_date  # noqa: E402

SQL = "warehouse/sql/features/person_features.sql"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--against", required=True)
    parser.add_argument("--dates", nargs="*", type=datetime.date.fromisoformat)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    versions = file_versions(SQL, arguments.against)
    connection = duckdb.connect(str(arguments.warehouse), read_only=True)
    [(latest,)] = connection.execute(
        "SELECT max(delivery_month) FROM staged.registrations"
    ).fetchall()
    dates = arguments.dates or [index_date(str(latest))]
    same = True
    for date in dates:
        times: dict[str, list[float]] = {name: [] for name in versions}
        for _ in range(arguments.rounds):
            for position, (name, sql) in enumerate(versions.items()):
                used = set(re.findall(r"\$([a-z_0-9]+)", sql))
                parameters = {k: v for k, v in feature_parameters(date).items() if k in used}
                started = time.perf_counter()
                connection.execute(
                    f"CREATE OR REPLACE TEMP TABLE built_{position} AS {sql}", parameters
                )
                times[name].append(time.perf_counter() - started)
        [(rows,)] = connection.execute("SELECT count(*) FROM built_0").fetchall()
        [(other,)] = connection.execute("SELECT count(*) FROM built_1").fetchall()
        [(missing,)] = connection.execute(
            "SELECT count(*) FROM (SELECT * FROM built_0 EXCEPT ALL SELECT * FROM built_1)"
        ).fetchall()
        [(extra,)] = connection.execute(
            "SELECT count(*) FROM (SELECT * FROM built_1 EXCEPT ALL SELECT * FROM built_0)"
        ).fetchall()
        medians = {name: statistics.median(measured) for name, measured in times.items()}
        print(
            f"{date}: "
            + ", ".join(
                f"{name} median {medians[name]:.2f} s ({', '.join(f'{t:.2f}' for t in measured)})"
                for name, measured in times.items()
            )
            + f"; {rows:,} and {other:,} rows, {missing + extra:,} differ"
        )
        same = same and rows == other and missing == extra == 0
    print("same rows" if same else "DIFFERENT rows")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
