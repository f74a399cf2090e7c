"""Staging every loaded month of a warehouse again, timed by feed and by SQL statement.

    python benchmarks/staging_by_feed.py W/warehouse.duckdb                 # this tree
    python benchmarks/staging_by_feed.py W/warehouse.duckdb --against ce71c17^

Copies the warehouse to a scratch file, opens it as the pipeline does
(``warehouse.connection.connect``: the same memory limit), and runs
``warehouse.staged.stage_months`` over every loaded month in one call, as a first run's
range does, timing each feed and each statement. With ``--against COMMIT`` the commit's
tree is exported (``git archive``) and the same is run from it in a child process, after
this tree's run: compare CPU (user + system) when the machine is shared. Where
docs/performance.md quotes staging at 1,000,000 people, it is this script on the
benchmark's 1,000,000 x 36 warehouse.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def profile(warehouse: Path, scratch: Path) -> None:
    from timed_statements import TimedConnection, statement_key

    import warehouse.staged as staged
    from warehouse.connection import connect

    print(f"staging code: {staged.__file__}")
    database = scratch / "staging.duckdb"
    shutil.copy(warehouse, database)
    connection = connect(database)
    months = [
        month
        for (month,) in connection.execute(
            "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1"
        ).fetchall()
    ]
    statements: dict[tuple[str, str], float] = {}
    current = {"feed": ""}

    stage_feed = staged._stage_feed

    def timed_feed(connection: object, contract: object, months: object) -> object:
        current["feed"] = contract.feed  # type: ignore[attr-defined]
        started = time.perf_counter()
        outcome = stage_feed(connection, contract, months)  # type: ignore[arg-type]
        print(f"{current['feed']:20s} {time.perf_counter() - started:7.2f} s", flush=True)
        return outcome

    staged._stage_feed = timed_feed  # type: ignore[assignment]
    wall, cpu = time.perf_counter(), time.process_time()
    staged.stage_months(
        TimedConnection(
            connection, statements, lambda sql: (current["feed"], statement_key(sql, 70))
        ),
        months,
    )  # type: ignore[arg-type]
    print(
        f"staging {len(months)} months: {time.perf_counter() - wall:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU (this process, every thread)"
    )
    for (feed, sql), seconds in sorted(statements.items(), key=lambda item: -item[1])[:12]:
        print(f"{seconds:7.2f} {feed} {sql}")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--against", help="also run the tree of this commit, after this one")
    parser.add_argument("--scratch", type=Path, help="where the copies go (default: a temp dir)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=arguments.scratch) as scratch:
        print(f"== this tree ({ROOT})", flush=True)
        profile(arguments.warehouse, Path(scratch))
        if arguments.against:
            tree = Path(scratch) / "tree"
            tree.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", arguments.against],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            print(f"== {arguments.against}", flush=True)
            code = (
                f"import sys; sys.path.insert(0, {str(tree)!r}); "
                f"sys.path.insert(1, {str(ROOT / 'benchmarks')!r}); "
                "from pathlib import Path; import staging_by_feed as s; "
                f"s.profile(Path({str(arguments.warehouse)!r}), Path({scratch!r}))"
            )
            subprocess.run([sys.executable, "-c", code], check=True)


if __name__ == "__main__":
    main()
