"""Time, CPU and memory of building the feature and label tables (docs/features.md).

    .venv/bin/python benchmarks/features_benchmark.py --people 20000 --months 26 --work /tmp/bench

Generates a landing zone (`synthetic.generate`, seed 1), loads and stages it (not part of
the figures; reused when --work already holds it), then measures on a fresh copy of the
warehouse, each in its own phase:
  1. `warehouse.features.replace_features` at the scoring date (the latest month's end);
  2. `replace_features` at the labelled index dates (at most --dates of them, the latest);
  3. `models.dataset.feature_frame(..., with_labels=True)` reading those dates back.
For each: wall seconds, this process's CPU seconds (DuckDB's threads included), rows, and
the process's peak resident memory so far. CPU seconds are the figure to compare on a
shared machine; the load average (`os.getloadavg`) is printed before and after. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def staged_warehouse(people: int, months: int, work: Path) -> Path:
    """Generate, load and stage a zone under `work`, once; the warehouse's path."""
    from synthetic import generate
    from warehouse.connection import connect
    from warehouse.deliveries import delivered_months, ensure_raw_schema, load_month
    from warehouse.reference import known_practices, load_reference
    from warehouse.staged import ensure_staged_schema, stage_month, stage_reference

    path = work / "loaded.duckdb"  # DuckDB names the catalog after the file: not a schema name
    if path.exists():
        return path
    if not (work / "landing").is_dir():
        generate(work, people=people, months=months, seed=1)
    landing = work / "landing"
    with connect(path) as connection:
        load_reference(connection, landing)
        practices = known_practices(connection)
        for month in delivered_months(landing):
            load_month(connection, landing, month, practices)
        ensure_raw_schema(connection)
        ensure_staged_schema(connection)
        stage_reference(connection)
        for month in delivered_months(landing):
            stage_month(connection, month)
    return path


def measured(name: str, action) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Run `action`; its wall and CPU seconds, its result and the peak RSS so far."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = action()
    row = {
        "step": name,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "rows": rows,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(f"{name}: {row['wall']:.1f} s wall, {row['cpu']:.1f} s CPU, {rows:,} rows", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=26)
    parser.add_argument("--dates", type=int, default=6, help="labelled index dates to build")
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskstrat-features-benchmark"))
    arguments = parser.parse_args()
    arguments.work.mkdir(parents=True, exist_ok=True)

    from models.dataset import feature_frame, labelled_index_dates, scoring_index_date
    from warehouse.connection import connect
    from warehouse.features import replace_features

    staged = staged_warehouse(arguments.people, arguments.months, arguments.work)
    path = arguments.work / "warehouse.duckdb"
    shutil.copyfile(staged, path)
    print(f"load average before: {load_average()}", flush=True)
    with connect(path) as connection:
        scoring = scoring_index_date(connection)
        labelled = labelled_index_dates(connection)[-arguments.dates :]
        rows = [
            measured(
                "replace_features, scoring date", lambda: replace_features(connection, [scoring])
            ),
            measured(
                f"replace_features, {len(labelled)} labelled dates",
                lambda: replace_features(connection, labelled),
            ),
            measured(
                f"feature_frame(with_labels=True), {len(labelled)} dates",
                lambda: feature_frame(connection, labelled, with_labels=True).height,
            ),
        ]
    path.unlink()
    print(f"load average after: {load_average()}\n")
    print(f"{arguments.people:,} people x {arguments.months} months, seed 1\n")
    print("| step | wall (s) | CPU (s) | rows | peak RSS (MB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['step']} | {row['wall']:.1f} | {row['cpu']:.1f} | {row['rows']:,} "
            f"| {row['peak_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
