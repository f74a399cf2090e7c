"""Time and peak memory of building the training set (feature frame) and training the model.

    .venv/bin/python benchmarks/training_benchmark.py --people 100000 --months 36 --work /tmp/bench

Generates a landing zone (`synthetic.generate`, seed 7), loads and stages it (not part of
the figures), then measures, each in its own phase:
  1. feature frame: `models.training.build_training_set` (builds the feature tables in
     DuckDB and reads the planned index dates into polars);
  2. training: `models.training.train` (validation model with early stopping,
     calibration, refit, baselines).
Each phase prints its wall time, its CPU time (user + sys, every thread: the figure to
compare on a shared machine; with --threads 1 it is the work done, not OpenMP threads
spinning at barriers) and its peak memory: the process's peak resident set size sampled every 50 ms during the
phase (the larger of it and the RSS before the phase). `--synthetic` skips the warehouse
and trains on a random frame with the catalogue's columns, to size training alone at
1,000,000 people quickly.

Threads (docs/model.md, "Threads"): `--threads N` trains with N LightGBM threads (default:
the model's own setting, one thread) and `--repeat R` trains R times on the same frame,
printing each wall time, the median, the load average before each run and a digest of
the saved model files (the same digest every time: the model is deterministic):

    .venv/bin/python benchmarks/training_benchmark.py --synthetic --people 50000 --threads 1 --repeat 3
    .venv/bin/python benchmarks/training_benchmark.py --synthetic --people 50000 --threads 2 --repeat 3

`--threads 1,2 --repeat 2` times the counts in turns (1, 2, 1, 2) on one frame, side by
side. `--work W` with W/warehouse.duckdb present uses that warehouse (a copy of a
benchmark home's, say) instead of generating one:

    cp HOME/warehouse.duckdb /tmp/train1m/ && .venv/bin/python benchmarks/training_benchmark.py --work /tmp/train1m --threads 1,2 --repeat 2

Scoring (docs/model.md, "Explanations"): `--scoring` scores one month of a generated zone
twice, explaining everyone and explaining only the people a list can hold (the default),
timing `lists.scores.score_month` and checking the published practice lists are identical
(with `--threads N`, predictions and SHAP values use N threads; default every core):

    .venv/bin/python benchmarks/training_benchmark.py --scoring --people 20000 --months 26 --work /tmp/bench-scoring
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import threading
import time
from pathlib import Path


def rss_megabytes() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    """User + system CPU time of this process, every thread (LightGBM's and DuckDB's) included."""
    times = os.times()
    return times.user + times.system


class Phase:
    """Wall time, CPU time and peak RSS of a block (RSS by sampling /proc/self/status).

    CPU time is the figure to compare on a shared machine: other work stretches the wall
    time, barely the CPU a run needs.
    """

    def __init__(self, name: str) -> None:
        self.name, self.peak, self.seconds, self.cpu = name, 0.0, 0.0, 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_megabytes())
            time.sleep(0.05)

    def __enter__(self) -> Phase:
        self.peak = rss_megabytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._started, self._cpu_started = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self.cpu = cpu_seconds() - self._cpu_started
        self._stop.set()
        self._thread.join()
        print(
            f"{self.name}: {self.seconds:.1f} s, CPU {self.cpu:.1f} s, peak RSS {self.peak:,.0f} MB",
            flush=True,
        )


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


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def model_digest(model) -> str:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256()
    for name, content in sorted(model.files().items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()[:16]


def timed_training(training_set, counts: list[int | None], repeat: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Train `repeat` rounds on the same frame, each round once with each thread count in
    turns (None: the model's own choice); per count, wall times, median, load averages and
    whether every run saved the same model."""
    from models.feature_catalogue import FEATURES, LABEL
    from models.training import train

    runs: dict[int | None, list[dict[str, object]]] = {count: [] for count in counts}
    summary: dict[int | None, dict[str, object]] = {}
    for attempt in range(1, repeat + 1):
        for count in counts:
            parameters = {"num_threads": count} if count is not None else {}
            before = load_average()
            with Phase(f"training {attempt}/{repeat}, threads {count or 'auto'}") as phase:
                result = train(training_set, FEATURES, LABEL, parameters=parameters)
            digest = model_digest(result.model)
            runs[count].append(
                {
                    "seconds": round(phase.seconds, 1),
                    "cpu_seconds": round(phase.cpu, 1),
                    "peak_rss_mb": round(phase.peak),
                    "load_average_before": before,
                    "model_digest": digest,
                }
            )
            summary[count] = {
                "threads": result.model.metadata["parameters"]["num_threads"],
                "best_iteration": result.model.metadata["best_iteration"],
            }
            print(f"  load average before: {before}; model {digest}", flush=True)
    return {
        str(count): {
            **summary[count],
            "runs": runs[count],
            "median_seconds": round(statistics.median(r["seconds"] for r in runs[count]), 1),  # type: ignore[misc]
            "identical_models": len({r["model_digest"] for r in runs[count]}) == 1,
        }
        for count in counts
    } | {"load_average_after": load_average()}


def folder_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def timed_scoring(path: Path, work: Path, repeat: int) -> dict[str, object]:
    """Score the latest month explaining everyone, then only the listable; lists compared."""
    import shutil

    from lists.practice_lists import ListPolicy, publish_practice_lists
    from lists.scores import score_month
    from models.dataset import feature_frame
    from models.explanations import explain
    from models.registry import load
    from models.training import build_training_set, train_and_register
    from warehouse.connection import connect
    from warehouse.months import index_date

    models_dir = work / "models"
    with connect(path) as connection:
        if not (models_dir / "current.json").exists():
            with Phase("train the scoring model (not the benchmark)"):
                train_and_register(build_training_set(connection), models_dir)
        month = connection.execute(
            "SELECT max(delivery_month) FROM staged.registrations"
        ).fetchone()[0]  # type: ignore[index]
        frame = feature_frame(connection, [index_date(month)], with_labels=False)
    model = load(models_dir)
    results: dict[str, object] = {"month": month, "people": frame.height}
    outboxes = {}
    for name, policy in (("everyone", None), ("listable_only", ListPolicy())):
        runs = []
        for attempt in range(1, repeat + 1):
            copy = work / f"scoring-{name}.duckdb"
            shutil.copy(path, copy)
            before = load_average()
            with connect(copy) as connection:
                with Phase(f"score_month, reasons for {name} {attempt}/{repeat}") as phase:
                    score_month(
                        connection, month, model, explain=explain, frame=frame, list_policy=policy
                    )
                explained = connection.execute(
                    "SELECT count(*) FROM scores.risk_scores WHERE delivery_month = $m "
                    "AND reason_1 IS NOT NULL",
                    {"m": month},
                ).fetchone()[0]  # type: ignore[index]
                outbox = work / f"outbox-{name}"
                shutil.rmtree(outbox, ignore_errors=True)
                publish_practice_lists(connection, outbox, month)
            copy.unlink()
            runs.append({"seconds": round(phase.seconds, 2), "load_average_before": before})
        outboxes[name] = folder_digests(work / f"outbox-{name}")
        results[name] = {
            "runs": runs,
            "median_seconds": round(statistics.median(r["seconds"] for r in runs), 2),  # type: ignore[misc]
            "people_with_a_reason": explained,
        }
    results["published_files"] = len(outboxes["everyone"])
    results["identical_lists"] = outboxes["everyone"] == outboxes["listable_only"]
    return results


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
    parser.add_argument(
        "--threads",
        type=lambda text: [int(n) for n in text.split(",")],
        default=None,
        help="LightGBM threads: training's, or with --scoring prediction's (default: the "
        "model's); for training, a list such as 1,2 times each count in turns on one frame",
    )
    parser.add_argument("--repeat", type=int, default=1, help="time training (or scoring) R times")
    parser.add_argument(
        "--scoring",
        action="store_true",
        help="time scoring a month with reasons for everyone vs only the listable (needs 25+ months)",
    )
    arguments = parser.parse_args()

    from models.training import build_training_set

    results: dict[str, object] = {
        "people": arguments.people,
        "months": arguments.months,
        "load_average_at_start": load_average(),
    }
    if arguments.scoring:
        if arguments.threads is not None:  # prediction and SHAP threads, for scoring
            from models import explanations, registry

            [threads] = arguments.threads
            registry.PREDICTION_THREADS = explanations.PREDICTION_THREADS = threads
        results["threads"] = arguments.threads
        arguments.work.mkdir(parents=True, exist_ok=True)
        with Phase("generate, load and stage (not the benchmark)"):
            path = warehouse_for(arguments.people, arguments.months, arguments.work)
        results["scoring"] = timed_scoring(path, arguments.work, arguments.repeat)
        print(json.dumps(results, indent=2))
        return
    if arguments.synthetic:
        with Phase("synthetic frame") as phase:
            training_set = synthetic_training_set(arguments.people, arguments.labelled_months)
    else:
        arguments.work.mkdir(parents=True, exist_ok=True)
        with Phase("generate, load and stage (not the benchmark)"):
            path = warehouse_for(arguments.people, arguments.months, arguments.work)
        results["warehouse"] = str(path)  # --people and --months only say what is generated
        from warehouse.connection import connect

        with Phase("feature frame") as phase, connect(path) as connection:
            training_set = build_training_set(connection)
    results["feature_frame"] = {
        "seconds": round(phase.seconds, 1),
        "peak_rss_mb": round(phase.peak),
    }
    results["rows"] = training_set.frame.height
    # Several counts are timed side by side: once each per round, in turns, on one frame.
    results["training"] = timed_training(
        training_set, arguments.threads or [None], arguments.repeat
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
