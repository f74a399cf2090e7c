"""SHAP contributions grouped by the way each tree treats people, against one LightGBM call.

    python benchmarks/tree_contributions.py HOME [--people 30837] [--rounds 3]

Reads the feature frame at the latest built index date of HOME's warehouse (read-only),
takes a fixed sample of ``--people`` (as many as the new month's lists can hold at
1,000,000 people), and, in turns, works out their contributions with the current model by
one `Booster.predict(pred_contrib=True)` call (as before session 10) and by
`models.tree_contributions.contributions`. Then it prints the largest difference and
checks the reasons worded from each (`models.explanations`' wording) are the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import in_turns  # noqa: E402
from models import explanations, registry, tree_contributions  # noqa: E402
from warehouse.features import PERSON_FEATURES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--people", type=int, default=30_837)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    model = registry.load(arguments.home / "models")
    connection = duckdb.connect(str(arguments.home / "warehouse.duckdb"), read_only=True)
    frame = connection.sql(
        f"SELECT * FROM {PERSON_FEATURES} WHERE index_date = (SELECT max(index_date) FROM {PERSON_FEATURES}) "
        "ORDER BY nhs_number"
    ).pl()
    frame = frame.sample(min(arguments.people, frame.height), seed=1)
    matrix = model.encoding.matrix(frame)
    print(
        f"{frame.height:,} people, {len(model.encoding.names)} features, {model.booster.num_trees()} trees"
    )
    threads = registry.PREDICTION_THREADS
    ways = {
        "one pred_contrib call": lambda: np.asarray(
            model.booster.predict(matrix, pred_contrib=True, num_threads=threads)
        ),
        "grouped by tree": lambda: tree_contributions.contributions(model.booster, matrix, threads),
    }
    worked = in_turns(arguments.rounds, ways)
    one, grouped = worked.values()
    print(f"largest difference {np.abs(one - grouped).max():.3g}")
    features = len(model.encoding.names)
    reasons = {}
    for name, contrib in worked.items():
        explanations.contributions = lambda _model, _frame, c=contrib: c[:, :features]  # type: ignore[misc]
        reasons[name] = explanations.explain(model, frame)
    same = reasons["one pred_contrib call"].equals(reasons["grouped by tree"])
    print("same reasons" if same else "DIFFERENT reasons")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
