"""How long a process that has imported what `riskstrat run` imports takes to exit, with
and without `gc.freeze()` first (pipelines.cli.main freezes before the command exits).

    python benchmarks/exit_time.py [--rounds 3]

Each round starts two child interpreters in turns; each imports the pipeline's modules
(Dagster, Great Expectations, LightGBM, the definitions), prints the time, optionally
freezes, and returns; the parent times from the printed time to the child's end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import gc, sys, time
import pipelines.runner, pipelines.definitions, data_contracts.expectations  # noqa
print(time.time(), flush=True)
if sys.argv[1] == "freeze":
    gc.freeze()
"""


def exit_time(way: str) -> float:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, way], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return time.time() - float(child.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    times: dict[str, list[float]] = {"plain exit": [], "gc.freeze() first": []}
    for _ in range(arguments.rounds):
        times["plain exit"].append(exit_time("plain"))
        times["gc.freeze() first"].append(exit_time("freeze"))
    for name, measured in times.items():
        print(
            f"{name}: median {statistics.median(measured):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in measured)})"
        )


if __name__ == "__main__":
    main()
