"""Benchmark of validation against loading, for one extract month of a generated area.

    python benchmarks/validation_benchmark.py                    # 100,000 people, 2 months
    python benchmarks/validation_benchmark.py --people 1000000   # the 1M-person figure
    python benchmarks/validation_benchmark.py --zone /tmp/zone   # a zone generated already

Generates a landing zone (seed 42; or reads ``--zone``, a folder holding ``landing/``),
loads reference data and every month into raw, then times, for the LAST month only (so
resend/conflict rules see an earlier month):

- load:      warehouse.deliveries.load_month (manifest, digests, CSV parse, raw insert);
- sql rules: warehouse.staged.stage_month (every row rule of every feed in DuckDB SQL,
             quarantine, ignored rows, warnings, typed staged tables);
- gx set-up: the first suite in the process (importing Great Expectations, the project);
- gx:        warehouse.validation.validate_month for every monthly feed (the contract
             suites on the staged month, sampled above 50,000 rows, as pandas; results
             stored in the GX project), as the ``staged_month_meets_contract`` check runs;
- data docs: warehouse.validation.build_data_docs once.

Prints a markdown table (wall seconds, this process's CPU seconds, and wall x load) and
the ratios; docs/validation.md records the figures. CPU seconds are the steadier figure
on a shared machine: wall time there includes waiting for the cores and the disk.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def measure(
    people: int, months: int, folder: Path, zone: Path | None = None
) -> dict[str, tuple[float, float]]:
    from synthetic import generate
    from warehouse.connection import connect
    from warehouse.deliveries import delivered_months, load_month
    from warehouse.reference import known_practices, load_reference
    from warehouse.staged import monthly_contracts, stage_month, stage_reference
    from warehouse.validation import build_data_docs, validate_month, validate_staged

    if zone is None:
        zone = folder / "zone"
        generate(zone, people=people, months=months, seed=42)
    landing = zone / "landing"
    home = folder / "home"
    connection = connect(home / "warehouse.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    month_list = delivered_months(landing)
    for month in month_list[:-1]:
        load_month(connection, landing, month, known_practices(connection))
        stage_month(connection, month)
    month = month_list[-1]
    figures: dict[str, tuple[float, float]] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        figures[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    timed("load", lambda: load_month(connection, landing, month, known_practices(connection)))
    outcomes = timed("sql rules", lambda: stage_month(connection, month))
    rows = sum(outcome.delivered_rows for outcome in outcomes.values())
    timed("gx set-up", lambda: validate_staged(connection, home, "services", month))
    feeds = [contract.feed for contract in monthly_contracts()]
    suites = timed("gx", lambda: validate_month(connection, home, feeds, month))
    for feed, suite in suites.items():
        figures[f"gx {feed} ({suite.rows:,} of {suite.staged_rows:,} rows)"] = (
            suite.seconds,
            float("nan"),
        )
    timed("data docs", lambda: build_data_docs(home))
    connection.close()
    figures["rows"] = (float(rows), 0.0)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument(
        "--zone", type=Path, help="a generated zone (holding landing/) to use instead"
    )
    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="riskstrat-validation-benchmark-") as folder:
        figures = measure(arguments.people, arguments.months, Path(folder), arguments.zone)
    print(f"load average after: {os.getloadavg()}")
    rows = int(figures.pop("rows")[0])
    load = figures["load"][0]
    where = arguments.zone or f"{arguments.people:,} people"
    print(f"| {where}, last month, {rows:,} rows | seconds | cpu seconds | x load |")
    print("| --- | ---: | ---: | ---: |")
    for name, (seconds, cpu) in figures.items():
        cpu_text = "" if cpu != cpu else f"{cpu:.2f}"  # NaN: measured inside the suite only
        print(f"| {name} | {seconds:.2f} | {cpu_text} | {seconds / load:.2f} |")
    validation = figures["sql rules"][0] + figures["gx"][0]
    cpu_validation = figures["sql rules"][1] + figures["gx"][1]
    print(
        f"\nvalidation (sql rules + gx) / load = {validation / load:.2f} wall, "
        f"{cpu_validation / figures['load'][1]:.2f} cpu; "
        f"gx / sql rules = {figures['gx'][0] / figures['sql rules'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
