"""The model's input matrix (`FeatureEncoding.matrix`) against its column-by-column form.

    python benchmarks/encoding_matrix.py HOME [--rounds 3]

Reads the feature frame at the latest built index date of HOME's warehouse (read-only)
and the current model's encoding, then, in turns, builds the matrix as it was built before
session 9 (each column to a float64 NumPy array, stacked, narrowed to float32) and with
`matrix` (polars, one pass), and checks both are the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import in_turns  # noqa: E402
from models import registry  # noqa: E402
from warehouse.features import PERSON_FEATURES  # noqa: E402


def column_by_column(encoding: registry.FeatureEncoding, frame: pl.DataFrame) -> np.ndarray:
    columns = []
    for name, kind in zip(encoding.names, encoding.kinds, strict=True):
        column = frame.get_column(name)
        if kind == "categorical":
            codes = {value: float(code) for code, value in enumerate(encoding.categories[name])}
            values = column.cast(pl.Utf8).replace_strict(
                codes, default=None, return_dtype=pl.Float64
            )
            columns.append(values.to_numpy())
        else:
            columns.append(column.cast(pl.Float64).to_numpy())
    return np.column_stack(columns).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    encoding = registry.load(arguments.home / "models").encoding
    connection = duckdb.connect(str(arguments.home / "warehouse.duckdb"), read_only=True)
    frame = connection.sql(
        f"SELECT * FROM {PERSON_FEATURES} WHERE index_date = (SELECT max(index_date) FROM {PERSON_FEATURES})"
    ).pl()
    print(f"{frame.height:,} people, {len(encoding.names)} features")
    ways = {
        "column by column": lambda: column_by_column(encoding, frame),
        "matrix": lambda: encoding.matrix(frame),
    }
    built = in_turns(arguments.rounds, ways)
    first, second = built.values()
    same = (
        first.dtype == second.dtype
        and first.shape == second.shape
        and first.tobytes() == second.tobytes()
    )
    print("same bytes" if same else "DIFFERENT bytes")
    print(f"C order: {second.flags['C_CONTIGUOUS']}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
