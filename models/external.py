"""External validation: score another landing zone with the current model, without training.

As OHDSI's PatientLevelPrediction does for transportability: the model trained in one
home is applied, unchanged, to another supplier's or system's landing zone, and judged
there at its latest labelled index date with the same evaluation (and fairness audit) as
at home. Nothing is trained or recalibrated; the home's registry is only read.

The other zone is loaded and staged into a temporary warehouse inside a private folder
(its NHS numbers stay in a warehouse file, deleted when done); only reports with counts
and metrics are written, so no NHS number leaves it. Never imports dagster.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from models import registry
from models.baselines import prior_admissions_score
from models.dataset import feature_frame, labelled_index_dates
from models.evaluation import evaluation_report, read_truth_at, write_evaluation
from models.fairness import audit, write_audit
from models.feature_catalogue import LABEL
from models.plotting import calibration_png
from models.training import AUDIT_COLUMNS, IDENTIFIERS, NotEnoughHistory
from warehouse.connection import connect
from warehouse.deliveries import delivered_months, load_month
from warehouse.files import make_private_folder, write_bytes_atomic
from warehouse.reference import known_practices, load_reference
from warehouse.staged import ensure_staged_schema, stage_month, stage_reference


def evaluate_landing_zone(
    landing: Path, models_dir: Path, out: Path, *, truth: Path | None = None
) -> dict[str, Any]:
    """Evaluate the current model of `models_dir` on `landing`; reports under `out`.

    Writes out/evaluation.json (with its plots) and out/fairness.json and returns the
    evaluation. Raises NotEnoughHistory when the zone has no index date with 12 delivered
    months after it, and FileNotFoundError when the home has no current model.
    """
    model = registry.load(models_dir)
    make_private_folder(out)
    with tempfile.TemporaryDirectory(prefix="external-", dir=out) as work:
        predictions, validation_date = _score_zone(landing, Path(work), model, truth)
    report = evaluation_report(
        predictions,
        model_version=model.version,
        validation_date=validation_date,
        cold_start=bool(model.metadata.get("plan", {}).get("cold_start", False)),
    )
    report["external_validation"] = {
        "landing": str(landing),
        "models": str(models_dir),
        "note": "the home's current model applied unchanged: nothing trained or recalibrated",
    }
    write_evaluation(report, out)
    write_audit(audit(predictions), out)
    write_bytes_atomic(
        out / "calibration.png",
        calibration_png(
            predictions.get_column("admitted").to_numpy(), predictions.get_column("risk").to_numpy()
        ),
    )
    return report


def _score_zone(
    landing: Path, work: Path, model: registry.RiskModel, truth: Path | None
) -> tuple[pl.DataFrame, Any]:
    """Load and stage the zone into `work`, and score its latest labelled index date."""
    with connect(work / "warehouse.duckdb") as connection:
        load_reference(connection, landing)
        practices = known_practices(connection)
        ensure_staged_schema(connection)
        stage_reference(connection)
        for month in delivered_months(landing):
            load_month(connection, landing, month, practices)
            stage_month(connection, month)
        labelled = labelled_index_dates(connection)
        if not labelled:
            raise NotEnoughHistory(
                f"{landing} has no index date with 12 delivered months after it: it needs at "
                "least 13 months of extracts to be evaluated."
            )
        validation_date = labelled[-1]
        frame = feature_frame(connection, [validation_date], with_labels=True)
    raw = model.raw_risk(frame)
    predictions = frame.select(
        [c for c in (*IDENTIFIERS, *AUDIT_COLUMNS) if c in frame.columns]
    ).with_columns(
        frame.get_column(LABEL).cast(pl.Int8).alias("admitted"),
        pl.Series("risk", model.calibrator.apply(raw), dtype=pl.Float64),
        pl.Series("risk_uncalibrated", raw, dtype=pl.Float64),
        pl.Series("prior_admissions", prior_admissions_score(frame), dtype=pl.Float64),
    )
    if truth is not None:
        at_validation = read_truth_at(truth, [validation_date]).select("nhs_number", "true_risk")
        predictions = predictions.join(
            at_validation, on="nhs_number", how="left", maintain_order="left"
        )
    else:
        predictions = predictions.with_columns(pl.lit(None, dtype=pl.Float64).alias("true_risk"))
    return predictions, validation_date
