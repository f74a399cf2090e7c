"""CPU time of reading every monthly feed's Great Expectations sample from a warehouse.

    .venv/bin/python benchmarks/suite_sample.py HOME/warehouse.duckdb

Calls `warehouse.validation.staged_frame` for each monthly feed over every loaded month
(one range, as a first run's suites read it) on a read-only connection with DuckDB's
memory capped at 4 GB, and prints each feed's staged and sampled rows and seconds, then the
process's wall and CPU time. Run it from two trees (a `git worktree` of the older commit,
same virtualenv) on the same warehouse to compare samplers side by side.
"""

from __future__ import annotations

import resource
import sys
import time

import duckdb

from data_contracts import load_contracts
from warehouse.validation import staged_frame


def main(database: str) -> None:
    connection = duckdb.connect(database, read_only=True)
    connection.execute("SET memory_limit = '4GB'")
    months = [
        month
        for (month,) in connection.execute(
            "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1"
        ).fetchall()
    ]
    started = time.perf_counter()
    for feed, contract in load_contracts().items():
        if contract.scope == "reference":
            continue
        feed_started = time.perf_counter()
        frame, total = staged_frame(connection, contract, months)
        print(
            f"{feed:15s} {total:>12,} staged, {len(frame):>7,} sampled, "
            f"{time.perf_counter() - feed_started:6.1f} s",
            flush=True,
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"total: wall {time.perf_counter() - started:.1f} s, "
        f"CPU {usage.ru_utime + usage.ru_stime:.1f} s (the process's, imports included)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
