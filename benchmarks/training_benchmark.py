"""Time and peak memory of building the training set (feature frame) and training the model.

    .venv/bin/python benchmarks/training_benchmark.py --people 100000 --months 36 --work /tmp/bench

Generates a landing zone (`synthetic.generate`, seed 7), loads and stages it (not part of
the figures), then measures, each in its own phase:
  1. feature frame: `models.training.build_training_set` (builds the feature tables in
     DuckDB and reads the planned index dates into polars);
  2. training: `models.training.train` (validation model with early stopping,
     calibration, refit, baselines).
Peak memory is the process's peak resident set size sampled every 50 ms during the
phase (the larger of it and the RSS before the phase). `--synthetic` skips the warehouse
and trains on a random frame with the catalogue's columns, to size training alone at
1,000,000 people quickly.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path


def rss_megabytes() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Phase:
    """Wall time and peak RSS of a block, by sampling /proc/self/status."""

    def __init__(self, name: str) -> None:
        self.name, self.peak, self.seconds = name, 0.0, 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_megabytes())
            time.sleep(0.05)

    def __enter__(self) -> Phase:
        self.peak = rss_megabytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self._stop.set()
        self._thread.join()
        print(f"{self.name}: {self.seconds:.1f} s, peak RSS {self.peak:,.0f} MB", flush=True)


def warehouse_for(people: int, months: int, work: Path) -> Path:
    from synthetic import generate
    from tests.warehouse.features_fixtures import build_staged
    from warehouse.connection import connect
    from warehouse.deliveries import delivered_months, load_month
    from warehouse.reference import known_practices, load_reference

    path = work / "warehouse.duckdb"
    if path.exists():
        return path
    generate(work, people=people, months=months, seed=7)
    landing = work / "landing"
    with connect(path) as connection:
        load_reference(connection, landing)
        practices = known_practices(connection)
        for month in delivered_months(landing):
            load_month(connection, landing, month, practices)
        build_staged(connection)
    return path


def synthetic_training_set(people: int, labelled_months: int):  # type: ignore[no-untyped-def]
    import datetime

    import numpy as np
    import polars as pl

    from models.feature_catalogue import FEATURES, LABEL
    from models.training import TrainingSet, plan_training

    rng = np.random.default_rng(7)
    labelled = [datetime.date(2023 + (m // 12), m % 12 + 1, 28) for m in range(labelled_months)]
    plan = plan_training(labelled)
    frames = []
    for date in plan.all_dates:
        columns: dict[str, object] = {
            "nhs_number": np.arange(people).astype(str),
            "index_date": [date] * people,
            "practice_code": rng.choice([f"P{i:03d}" for i in range(100)], people),
        }
        signal = np.zeros(people)
        for feature in FEATURES:
            if feature.kind == "categorical":
                columns[feature.name] = rng.choice(["a", "b", "c", "d"], people)
            elif feature.kind == "flag":
                columns[feature.name] = (rng.random(people) < 0.1).astype(np.int8)
                signal += 0.3 * columns[feature.name]  # type: ignore[operator]
            else:
                columns[feature.name] = rng.poisson(2, people).astype(np.float64)
                signal += 0.05 * columns[feature.name]  # type: ignore[operator]
        columns[LABEL] = (rng.random(people) < 1 / (1 + np.exp(-(signal - 5)))).astype(np.int8)
        frames.append(pl.DataFrame(columns).with_columns(pl.col("index_date").cast(pl.Date)))
    return TrainingSet(plan=plan, frame=pl.concat(frames))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskstrat-training-benchmark"))
    parser.add_argument("--synthetic", action="store_true", help="random frame, no warehouse")
    parser.add_argument(
        "--labelled-months",
        type=int,
        default=24,
        help="with --synthetic: 24 (a 36-month feed: 1 training date) .. 33+ (4 training dates)",
    )
    arguments = parser.parse_args()

    from models.feature_catalogue import FEATURES, LABEL
    from models.training import build_training_set, train

    results: dict[str, object] = {"people": arguments.people, "months": arguments.months}
    if arguments.synthetic:
        with Phase("synthetic frame") as phase:
            training_set = synthetic_training_set(arguments.people, arguments.labelled_months)
    else:
        arguments.work.mkdir(parents=True, exist_ok=True)
        with Phase("generate, load and stage (not the benchmark)"):
            path = warehouse_for(arguments.people, arguments.months, arguments.work)
        from warehouse.connection import connect

        with Phase("feature frame") as phase, connect(path) as connection:
            training_set = build_training_set(connection)
    results["feature_frame"] = {
        "seconds": round(phase.seconds, 1),
        "peak_rss_mb": round(phase.peak),
    }
    results["rows"] = training_set.frame.height
    with Phase("training") as phase:
        result = train(training_set, FEATURES, LABEL)
    results["training"] = {"seconds": round(phase.seconds, 1), "peak_rss_mb": round(phase.peak)}
    results["best_iteration"] = result.model.metadata["best_iteration"]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
