"""Benchmark of the synthetic generator: wall time, rows written and peak memory.

    python benchmarks/generator_benchmark.py                 # 100k and 1M people x 36 months
    python benchmarks/generator_benchmark.py --people 100000 # one size

Each size runs in its own child process, so its peak resident memory and CPU time
(getrusage) are its own; CPU time is the figure to compare when other work shares the
machine, since wall time then depends on the load. Output goes to a temporary folder that is deleted afterwards. Prints a markdown table;
docs/generator.md records the figures measured on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from synthetic import generate
started = time.perf_counter()
summary = generate(Path(sys.argv[1]), people=int(sys.argv[2]), months=int(sys.argv[3]), seed=42)
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "rows": sum(count for kind, count in summary.rows.items() if kind != "truth"),
    "truth_rows": summary.rows["truth"],
    "people_ever_registered": summary.people_ever_registered,
    "nhs_numbers_outside_test_range": summary.nhs_numbers_outside_test_range,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
}))
"""


def measure(people: int, months: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="riskstrat-benchmark-") as folder:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, folder, str(people), str(months)],
            check=True,
            capture_output=True,
            text=True,
        )
        bytes_written = sum(
            path.stat().st_size for path in Path(folder).rglob("*") if path.is_file()
        )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["gigabytes"] = bytes_written / 1e9
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark synthetic.generate")
    parser.add_argument("--people", type=int, action="append", help="population size (repeatable)")
    parser.add_argument("--months", type=int, default=36)
    arguments = parser.parse_args()
    sizes = arguments.people or [100_000, 1_000_000]
    print(
        "| people | months | wall time (s) | CPU time (s) | landing-zone rows | truth rows "
        "| written (GB) | peak RSS (MB) | people ever registered | NHS numbers outside 999 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for people in sizes:
        figures = measure(people, arguments.months)
        print(
            f"| {people:,} | {arguments.months} | {figures['seconds']:.1f} | {figures['cpu_seconds']:.1f} "
            f"| {int(figures['rows']):,} "
            f"| {int(figures['truth_rows']):,} | {figures['gigabytes']:.2f} | {figures['peak_mb']:,.0f} "
            f"| {int(figures['people_ever_registered']):,} "
            f"| {int(figures['nhs_numbers_outside_test_range']):,} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
