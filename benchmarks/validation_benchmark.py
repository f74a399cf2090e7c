"""Benchmark of validation against loading, for one extract month of a generated area.

    python benchmarks/validation_benchmark.py                    # 100,000 people, 2 months
    python benchmarks/validation_benchmark.py --people 1000000   # the 1M-person figure

Generates a landing zone (seed 42), loads reference data and every month into raw, then
times, for the LAST month only (so resend/conflict rules see an earlier month):

- load:      warehouse.deliveries.load_month (manifest, digests, CSV parse, raw insert);
- sql rules: warehouse.staged.stage_month (every row rule of every feed in DuckDB SQL,
             quarantine, ignored rows, warnings, typed staged tables);
- gx:        warehouse.validation.validate_staged for every monthly feed (the contract
             suites on the whole staged month as pandas, results stored in the GX project);
- data docs: warehouse.validation.build_data_docs once.

Prints a markdown table and the ratios; docs/validation.md records the figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def measure(people: int, months: int, folder: Path) -> dict[str, float]:
    from synthetic import generate
    from warehouse.connection import connect
    from warehouse.deliveries import delivered_months, load_month
    from warehouse.reference import known_practices, load_reference
    from warehouse.staged import monthly_contracts, stage_month, stage_reference
    from warehouse.validation import build_data_docs, validate_staged

    generate(folder / "zone", people=people, months=months, seed=42)
    landing = folder / "zone" / "landing"
    home = folder / "home"
    connection = connect(home / "warehouse.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    month_list = delivered_months(landing)
    for month in month_list[:-1]:
        load_month(connection, landing, month, known_practices(connection))
        stage_month(connection, month)
    month = month_list[-1]
    figures: dict[str, float] = {}

    started = time.perf_counter()
    load_month(connection, landing, month, known_practices(connection))
    figures["load"] = time.perf_counter() - started

    started = time.perf_counter()
    outcomes = stage_month(connection, month)
    figures["sql rules"] = time.perf_counter() - started
    figures["rows"] = sum(outcome.delivered_rows for outcome in outcomes.values())

    # The first suite pays Great Expectations' import and project set-up once per process.
    started = time.perf_counter()
    validate_staged(connection, home, "services", month)
    figures["gx set-up"] = time.perf_counter() - started
    started = time.perf_counter()
    for contract in monthly_contracts():
        outcome = validate_staged(connection, home, contract.feed, month)
        figures[f"gx {contract.feed}"] = outcome.seconds
    figures["gx"] = time.perf_counter() - started

    started = time.perf_counter()
    build_data_docs(home)
    figures["data docs"] = time.perf_counter() - started
    connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="riskstrat-validation-benchmark-") as folder:
        figures = measure(arguments.people, arguments.months, Path(folder))
    load = figures["load"]
    print(f"| {arguments.people:,} people, last of {arguments.months} months, "
          f"{int(figures['rows']):,} rows | seconds | x load |")
    print("| --- | ---: | ---: |")
    for name, seconds in figures.items():
        if name == "rows":
            continue
        print(f"| {name} | {seconds:.2f} | {seconds / load:.2f} |")
    validation = figures["sql rules"] + figures["gx"]
    print(f"\nvalidation (sql rules + gx) / load = {validation / load:.2f}; "
          f"gx / sql rules = {figures['gx'] / figures['sql rules']:.1f}")


if __name__ == "__main__":
    main()
