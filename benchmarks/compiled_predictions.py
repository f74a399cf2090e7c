"""A month's risks from LightGBM and from the compiled model, side by side, on one home.

    python benchmarks/compiled_predictions.py HOME [--month 2026-01] [--rounds 3]

Reads the feature frame of the month's index date from a copy of HOME's warehouse (it is
built there first if it is not yet), then, in turns: LightGBM's `Booster.predict` on every
core, the model compiled afresh (`models.compiled`, into an empty cache), and the
compiled model loaded from that cache (each compiled run includes its check of the first
10,000 risks against LightGBM's). Prints each one's time and checks every risk is
the same bit for bit. The home itself is not changed (its warehouse is copied).
`--settings` also times lleaves' other settings and counts the risks they change.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import compiled, registry  # noqa: E402
from models.dataset import feature_frame  # noqa: E402
from warehouse.months import index_date  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--settings",
        action="store_true",
        help="also compile with lleaves' other settings, once each: time and risks that differ",
    )
    arguments = parser.parse_args()
    model = registry.load(arguments.home / "models")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copyfile(arguments.home / "warehouse.duckdb", copy)
        with duckdb.connect(str(copy)) as connection:
            frame = feature_frame(connection, [index_date(arguments.month)], with_labels=False)
        matrix = model.encoding.matrix(frame)
        # The registry's folder layout in the scratch folder: <models>/<version>/model.txt.
        model_file = Path(scratch) / "models" / model.version / registry.MODEL_FILE
        model_file.parent.mkdir(parents=True)
        shutil.copyfile(arguments.home / "models" / model.version / registry.MODEL_FILE, model_file)
        cache = model_file.parent.parent / compiled.COMPILED_FOLDER
        threads = registry.PREDICTION_THREADS
        print(
            f"model {model.version}: {model.booster.num_trees()} trees; "
            f"{frame.height:,} people at {index_date(arguments.month)}; {threads} threads"
        )

        def lightgbm() -> np.ndarray:
            return np.asarray(model.booster.predict(matrix, num_threads=threads))

        def checked(rows: np.ndarray) -> np.ndarray:
            return np.asarray(model.booster.predict(rows, num_threads=threads))

        def compiled_afresh() -> np.ndarray | None:
            shutil.rmtree(cache, ignore_errors=True)
            return compiled.compiled_risk(model_file, matrix, threads, checked)

        def compiled_cached() -> np.ndarray | None:
            return compiled.compiled_risk(model_file, matrix, threads, checked)

        ways = {
            "LightGBM predict": lightgbm,
            "compiled afresh": compiled_afresh,
            "compiled, cached": compiled_cached,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        risks: dict[str, np.ndarray | None] = {}
        for _ in range(arguments.rounds):
            for name, way in ways.items():
                started = time.perf_counter()
                risks[name] = way()
                times[name].append(time.perf_counter() - started)
        if arguments.settings:
            compare_settings(model_file, matrix, threads, lightgbm())
    baseline = statistics.median(times["LightGBM predict"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(
            f"{name}: median {median:.2f} s ({', '.join(f'{t:.2f}' for t in measured)}), "
            f"{baseline / median:.2f}x LightGBM's speed"
        )
    reference = risks["LightGBM predict"]
    differ = {
        name: (frame.height if found is None else int(np.sum(found != reference)))
        for name, found in risks.items()
    }
    print(", ".join(f"{name}: {count:,} risks differ" for name, count in differ.items()))
    sys.exit(0 if not any(differ.values()) else 1)


def compare_settings(
    model_file: Path, matrix: np.ndarray, threads: int, reference: np.ndarray
) -> None:
    """Why `models.compiled` compiles as it does: each setting's compile and predict times,
    and how many risks differ from LightGBM's (no cache; once each)."""
    import lleaves

    trees = lleaves.Model(model_file=str(model_file)).num_trees()
    settings = {
        "lleaves' defaults (blocks of 34 trees, inlined)": {},
        "one block, inlined": {"fblocksize": trees},
        "one block, not inlined (models.compiled)": {
            **compiled.COMPILE_OPTIONS,
            "fblocksize": trees,
        },
    }
    for name, options in settings.items():
        model = lleaves.Model(model_file=str(model_file))
        started = time.perf_counter()
        model.compile(**options)
        compiling = time.perf_counter() - started
        started = time.perf_counter()
        risk = model.predict(matrix, n_jobs=threads)
        predicting = time.perf_counter() - started
        differ = np.abs(risk - reference)
        print(
            f"{name}: compile {compiling:.1f} s, predict {predicting:.2f} s, "
            f"{int(np.sum(differ > 0)):,} risks differ (by up to {differ.max():.2g})"
        )


if __name__ == "__main__":
    main()
