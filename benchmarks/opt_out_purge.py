"""Time the Type 1 opt-out purges on a warehouse: the view, the digest, each purge once.

    .venv/bin/python benchmarks/opt_out_purge.py W

W is a copy of a home's warehouse.duckdb (the purges write to it: use a copy). Run it
from two trees (git worktrees at two commits) on copies of the same warehouse to compare.
Prints seconds per call; no NHS number is printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lists.tables import delete_opted_out_scores
from warehouse import features
from warehouse.connection import connect
from warehouse.sql_files import read_sql


def timed(label: str, call):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = call()
    print(f"{label}: {time.perf_counter() - started:.2f} s", flush=True)
    return result


def main() -> None:
    connection = connect(Path(sys.argv[1]))
    [(people,)] = timed(
        "the opt-out view",
        lambda: connection.execute("SELECT count(*) FROM features.type1_opt_outs").fetchall(),
    )
    print(f"  {people:,} people with a Type 1 opt-out")
    timed(
        "the opt-out digest",
        lambda: connection.execute(read_sql("features/type1_opt_out_digest.sql")).fetchall(),
    )
    removed = timed("remove_opted_out", lambda: features.remove_opted_out(connection))
    print(f"  rows deleted per table: {removed or 'none'}")
    timed(
        "settle_opt_outs",
        lambda: features.settle_opt_outs(connection, features.opt_out_digest(connection)),
    )
    timed("delete_opted_out_scores", lambda: delete_opted_out_scores(connection))


if __name__ == "__main__":
    main()
