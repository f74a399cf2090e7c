"""How long a process that has imported what `riskstrat run` imports takes to exit: the
interpreter's ordinary exit against `pipelines.cli.leave` (the command's way out).

    python benchmarks/exit_time.py [--rounds 3]

Each round starts two child interpreters in turns; each imports the pipeline's modules
(Dagster, Great Expectations, LightGBM, the definitions), prints the time, and then either
returns (the ordinary exit) or calls `leave(0)`; the parent times from the printed time to
the child's end, and checks both exited 0 with nothing on stderr.
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
import sys, time
from pipelines.cli import hide_dagster_notices, leave
hide_dagster_notices()
import pipelines.runner, pipelines.definitions, data_contracts.expectations  # noqa
print(time.time(), flush=True)
if sys.argv[1] == "leave":
    leave(0)
"""


def exit_time(way: str) -> float:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, way], cwd=ROOT, capture_output=True, text=True, check=True
    )
    ended = time.time()
    if child.stderr:
        raise SystemExit(f"the {way} child wrote to stderr:\n{child.stderr}")
    return ended - float(child.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    times: dict[str, list[float]] = {"ordinary exit": [], "pipelines.cli.leave": []}
    for _ in range(arguments.rounds):
        times["ordinary exit"].append(exit_time("plain"))
        times["pipelines.cli.leave"].append(exit_time("leave"))
    for name, measured in times.items():
        print(
            f"{name}: median {statistics.median(measured):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in measured)})"
        )


if __name__ == "__main__":
    main()
