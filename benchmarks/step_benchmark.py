"""One pipeline step, this tree against an earlier commit, side by side on the same data.

    python benchmarks/step_benchmark.py staging --warehouse HOME/warehouse.duckdb --against e639837
    python benchmarks/step_benchmark.py loading --landing ZONE/landing --months 8 --against e639837
    python benchmarks/step_benchmark.py reports --warehouse HOME/warehouse.duckdb --against e639837
    python benchmarks/step_benchmark.py suites --warehouse HOME/warehouse.duckdb --against e639837

`staging` stages every loaded month of a copy of the warehouse again (warehouse.staged.
stage_months); `reports` writes every loaded month's data-quality report and the auditor's
index from a copy of the warehouse (warehouse.quality); `suites` runs every monthly feed's
Great Expectations suite once over every loaded month, as a range run's
staged_month_meets_contract check does (warehouse.validation.validate_month; Great
Expectations is imported before the clock starts); `loading` loads the first `--months` month folders of a landing zone into a
fresh database (warehouse.deliveries.load_month). Each is run in a child process, for this
tree and for the commit checked out in a temporary git worktree (same virtualenv), in turns
(A B A B ...), and the medians are printed with the ratio. CPU time (the process's, every
thread included) is the figure to trust on a shared machine; wall time is printed beside
it with the load average, and means something only when the load is below the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, shutil, sys, time
from pathlib import Path
import duckdb
step, data, months, scratch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
database = scratch / "bench.duckdb"
for leftover in (database, Path(f"{database}.wal")):
    leftover.unlink(missing_ok=True)
if step == "reports":
    from warehouse.quality import write_auditor_index, write_month_reports
    shutil.copy(data, database)
    connection = duckdb.connect(str(database))
    loaded = [m for (m,) in connection.execute(
        "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1").fetchall()]
    shutil.rmtree(scratch / "reports", ignore_errors=True)
    cpu, wall = time.process_time(), time.perf_counter()
    for month in loaded:
        write_month_reports(connection, scratch / "reports", month)
    write_auditor_index(connection, scratch / "reports")
    rows = connection.execute("SELECT sum(loaded_rows) FROM raw.delivery_files").fetchone()[0]
elif step == "suites":
    from warehouse.staged import monthly_contracts
    from warehouse.validation import validate_month
    shutil.copy(data, database)
    connection = duckdb.connect(str(database))
    loaded = [m for (m,) in connection.execute(
        "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1").fetchall()]
    feeds = [contract.feed for contract in monthly_contracts()]
    shutil.rmtree(scratch / "home", ignore_errors=True)
    import data_contracts.expectations  # Great Expectations' import, outside the clock
    cpu, wall = time.process_time(), time.perf_counter()
    outcomes = validate_month(connection, scratch / "home", feeds, loaded)
    rows = sum(outcome.rows for outcome in outcomes.values())
elif step == "staging":
    from warehouse.staged import stage_months
    shutil.copy(data, database)
    connection = duckdb.connect(str(database))
    loaded = [m for (m,) in connection.execute(
        "SELECT delivery_month FROM raw.delivery_months WHERE status = 'loaded' ORDER BY 1").fetchall()]
    cpu, wall = time.process_time(), time.perf_counter()
    stage_months(connection, loaded)
    rows = sum(connection.execute(f"SELECT count(*) FROM staged.{t}").fetchone()[0]
               for (t,) in connection.execute(
                   "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staged'").fetchall())
else:
    from warehouse.deliveries import extract_months, load_month
    connection = duckdb.connect(str(database))
    for schema in ("raw", "staged", "quarantine"):
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    known = sorted({p.name for p in (data / "extracts").glob("*/gp/*")})
    cpu, wall = time.process_time(), time.perf_counter()
    rows = 0
    for month in extract_months(data)[:months]:
        rows += sum(f.loaded_rows for f in load_month(connection, data, month, known).files)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"cpu": cpu, "wall": wall, "rows": rows}))
"""


def measure(code: Path, step: str, data: Path, months: int, scratch: Path) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, step, str(data), str(months), str(scratch)],
        cwd=code,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("staging", "reports", "suites", "loading"))
    parser.add_argument(
        "--warehouse", type=Path, help="staging, reports, suites: a warehouse.duckdb to copy"
    )
    parser.add_argument("--landing", type=Path, help="loading: a landing zone")
    parser.add_argument("--months", type=int, default=1000, help="loading: the first N months")
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--repeat", type=int, default=2)
    arguments = parser.parse_args()
    needs = "landing" if arguments.step == "loading" else "warehouse"
    data = getattr(arguments, needs)
    if data is None:
        parser.error(f"{arguments.step} needs --{needs}")
    with tempfile.TemporaryDirectory(prefix="step-benchmark-") as temporary:
        scratch = Path(temporary)
        earlier = scratch / "earlier"
        subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "worktree",
                "add",
                "--detach",
                "-q",
                str(earlier),
                arguments.against,
            ],
            check=True,
        )
        try:
            results: dict[str, list[dict[str, float]]] = {"this tree": [], arguments.against: []}
            for _ in range(arguments.repeat):
                for name, code in (("this tree", ROOT), (arguments.against, earlier)):
                    results[name].append(
                        measure(code, arguments.step, data, arguments.months, scratch)
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=False
            )
            shutil.rmtree(earlier, ignore_errors=True)
    load = os.getloadavg()
    print(
        f"{arguments.step} of {data}: {arguments.repeat} runs each, load average {load[0]:.1f} / {load[1]:.1f}"
    )
    medians = {}
    for name, runs in results.items():
        medians[name] = {
            key: statistics.median(run[key] for run in runs) for key in ("cpu", "wall")
        }
        print(
            f"  {name:>12}: CPU {medians[name]['cpu']:6.1f} s, wall {medians[name]['wall']:6.1f} s, "
            f"{int(runs[0]['rows']):,} rows"
        )
    now, then = medians["this tree"], medians[arguments.against]
    print(
        f"  ratio (this tree / {arguments.against}): CPU {now['cpu'] / then['cpu']:.2f}, wall {now['wall'] / then['wall']:.2f}"
    )


if __name__ == "__main__":
    main()
