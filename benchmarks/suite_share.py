"""How much of a small `riskstrat run` the Great Expectations suites take (docs/validation.md).

    .venv/bin/python benchmarks/suite_share.py --work /tmp/bench-suites

Generates the zone of tests/test_faults_end_to_end.py (1,500 people x 4 months, every
kind of fault, seed 11; reused when --work holds it), then runs the pipeline in this
process (`pipelines.runner.run_pipeline`, as `riskstrat run` does) into a fresh home,
timing every suite (`warehouse.validation.validate_staged`, the monthly suites and the
reference ones) by wall time and by the CPU time of the thread that ran it. Prints the
suites' total against the whole run's wall and CPU seconds, and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

PEOPLE, MONTHS, SEED = 1_500, 4, 11


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskstrat-suite-share"))
    arguments = parser.parse_args()
    zone, home = arguments.work / "zone", arguments.work / "home"
    if not (zone / "landing").is_dir():
        from synthetic import generate

        generate(zone, people=PEOPLE, months=MONTHS, seed=SEED, start="2023-01", faults=True)
    shutil.rmtree(home, ignore_errors=True)

    import pipelines.validation.checks as checks
    import warehouse.validation as validation
    from pipelines.runner import run_pipeline

    suites: list[tuple[float, float]] = []
    original = validation.validate_staged

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            suites.append((time.perf_counter() - wall, time.thread_time() - cpu))

    # validate_month looks the function up in its module; the reference check imported it.
    validation.validate_staged = timed  # type: ignore[assignment]
    checks.validate_staged = timed  # type: ignore[assignment]
    print(f"load average before: {load_average()}", flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    run_pipeline(zone / "landing", home)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"load average after: {load_average()}\n")
    suite_wall, suite_cpu = sum(s[0] for s in suites), sum(s[1] for s in suites)
    print(f"{PEOPLE:,} people x {MONTHS} months with faults, seed {SEED}\n")
    print("| | wall (s) | CPU (s) |")
    print("| --- | ---: | ---: |")
    print(f"| whole run (`run_pipeline`) | {wall:.1f} | {cpu:.1f} |")
    print(f"| {len(suites)} suites (`validate_staged`) | {suite_wall:.1f} | {suite_cpu:.1f} |")
    print(f"| suites' share | {suite_wall / wall:.0%} | {suite_cpu / cpu:.0%} |")


if __name__ == "__main__":
    main()
