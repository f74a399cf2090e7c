"""The lists' reference (`lists.inputs.list_reference`) against its row-by-row definition.

    python benchmarks/list_reference.py WAREHOUSE [--month 2026-01] [--rounds 3]

Reads the month's listable scores (read-only), then, in turns, digests them row by row (a
Python repr a row, as the reference was first written) and with `list_reference`, and
checks both give the same reference.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lists.inputs import REFERENCE_COLUMNS, list_reference, listable_scores  # noqa: E402


def row_by_row(scores: pl.DataFrame) -> str:
    digest = hashlib.sha256()
    for row in scores.select(REFERENCE_COLUMNS).iter_rows():
        digest.update(repr(row).encode() + b"\n")
    return "L" + digest.hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with duckdb.connect(str(arguments.warehouse), read_only=True) as connection:
        scores = listable_scores(connection, arguments.month, REFERENCE_COLUMNS)
    print(f"{scores.height:,} listable people in {arguments.month}")
    ways = {"row by row": row_by_row, "list_reference": list_reference}
    times: dict[str, list[float]] = {name: [] for name in ways}
    found: dict[str, str] = {}
    for _ in range(arguments.rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            found[name] = way(scores)
            times[name].append(time.perf_counter() - started)
    for name, measured in times.items():
        print(
            f"{name}: median {statistics.median(measured):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in measured)}), reference {found[name]}"
        )
    same = len(set(found.values())) == 1
    print("same reference" if same else "DIFFERENT references")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
