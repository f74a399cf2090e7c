"""Population drift: the population stability index (PSI) of key features and of the risk score.

Compares a month's scored population with the population the current model learnt from
(its refit index dates: the rows the scoring model was fitted on) and its validation
scores. Not the training dates of the validation model: on a short feed they have only a
few months of history, so their 12-month counts are truncated and every count "drifts"
on the very month the model is trained (a 26-month zone: consultations_12m PSI 3.5). PSI = sum((a - e) * ln(a / e)) over
bins fixed on the reference: under 0.1 stable, 0.1-0.2 moderate, over 0.2 a significant
shift (the conventional thresholds). Missing values are a bin of their own, so a feed
that stops filling a column shows as drift rather than vanishing.

Plain code: it never imports dagster, and never reads or writes an NHS number into a
report (only per-feature numbers leave this module).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from models.dataset import feature_frame
from models.registry import current_version, read_metadata
from models.training import (
    ModellingRun,
    TrainingSet,
    load_validation_predictions,
    read_table,
    table_exists,
    write_table,
)
from warehouse.connection import transaction
from warehouse.files import write_text_atomic
from warehouse.home import Home
from warehouse.months import index_date

DRIFT_THRESHOLD = 0.2
"""PSI above which a feature (or the score) has shifted significantly."""

MODERATE_THRESHOLD = 0.1

KEY_FEATURES: tuple[str, ...] = (
    "age",
    "imd_decile",
    "ltc_count",
    "frailty_deficits",
    "consultations_12m",
    "bnf_sections_12m",
    "ae_attendances_12m",
    "emergency_admissions_12m",
    "bed_days_12m",
    "outpatient_attendances_12m",
)
"""Features whose drift is tracked month on month (names from models.feature_catalogue)."""

SCORE = "risk"
_EPSILON = 1e-4  # share given to an empty bin, so that ln(a / e) stays finite


def bin_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Interior bin edges fixed on the reference: its deciles, or its own values when few.

    A count with fewer distinct values than `bins` (ltc_count, admissions) gets one bin a
    value, so that PSI compares like with like rather than merging values into quantiles.
    """
    values = reference[np.isfinite(reference)]
    if values.size == 0:
        return np.array([], dtype=float)
    distinct = np.unique(values)
    if distinct.size <= bins:
        return (distinct[:-1] + distinct[1:]) / 2
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin of `edges`, with a last bin for missing values."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    counts = np.bincount(
        np.searchsorted(edges, values[finite], side="right"), minlength=edges.size + 1
    )
    counts = np.append(counts, int((~finite).sum())).astype(float)
    total = counts.sum()
    return counts / total if total else counts


def population_stability_index(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, bins: int = 10
) -> float:
    """PSI of `actual` against `expected` (the reference); NaN when either is empty."""
    reference = np.asarray(expected, dtype=float)
    current = np.asarray(actual, dtype=float)
    if reference.size == 0 or current.size == 0:
        return math.nan
    edges = bin_edges(reference, bins)
    e = np.clip(bin_shares(reference, edges), _EPSILON, None)
    a = np.clip(bin_shares(current, edges), _EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def stability(psi: float, threshold: float = DRIFT_THRESHOLD) -> str:
    if math.isnan(psi):
        return "unknown"
    if psi > threshold:
        return "significant"
    return "moderate" if psi > MODERATE_THRESHOLD else "stable"


@dataclass
class DriftReport:
    month: str
    model_version: str | None
    threshold: float
    reference: str
    reference_people: int
    month_people: int
    features: dict[str, float] = field(default_factory=dict)
    score: float | None = None

    @property
    def drifted(self) -> list[str]:
        """Features (and `risk` for the score) whose PSI is past the threshold, worst first."""
        measured = {**self.features, **({SCORE: self.score} if self.score is not None else {})}
        over = [
            (name, psi)
            for name, psi in measured.items()
            if not math.isnan(psi) and psi > self.threshold
        ]
        return [name for name, _ in sorted(over, key=lambda item: -item[1])]

    @property
    def max_psi(self) -> float:
        measured = [
            p for p in (*self.features.values(), self.score) if p is not None and not math.isnan(p)
        ]
        return max(measured, default=math.nan)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["features"] = {
            name: {"psi": _rounded(psi), "stability": stability(psi, self.threshold)}
            for name, psi in self.features.items()
        }
        data["score"] = (
            None
            if self.score is None
            else {"psi": _rounded(self.score), "stability": stability(self.score, self.threshold)}
        )
        data["drifted"] = self.drifted
        data["max_psi"] = _rounded(self.max_psi)
        return data


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def measure_drift(
    month: str,
    reference: pl.DataFrame,
    current: pl.DataFrame,
    *,
    reference_scores: Sequence[float] | np.ndarray | None = None,
    current_scores: Sequence[float] | np.ndarray | None = None,
    features: Sequence[str] = KEY_FEATURES,
    threshold: float = DRIFT_THRESHOLD,
    model_version: str | None = None,
    reference_name: str = "training set",
) -> DriftReport:
    """PSI of each of `features` present in both frames, and of the scores when both given."""
    report = DriftReport(
        month=month,
        model_version=model_version,
        threshold=threshold,
        reference=reference_name,
        reference_people=reference.height,
        month_people=current.height,
    )
    for name in features:
        if name in reference.columns and name in current.columns:
            report.features[name] = population_stability_index(
                _floats(reference.get_column(name)), _floats(current.get_column(name))
            )
    if reference_scores is not None and current_scores is not None:
        report.score = population_stability_index(reference_scores, current_scores)
    return report


def _floats(column: pl.Series) -> np.ndarray:
    return column.cast(pl.Float64).fill_null(float("nan")).to_numpy()


def write_drift_report(report: DriftReport, folder: Path) -> Path:
    """reports/drift/<YYYY-MM>.json, 0600."""
    path = folder / f"{report.month}.json"
    write_text_atomic(path, json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def latest_drift(folder: Path, before_or_at: str | None = None) -> dict[str, object] | None:
    """The latest month's drift report in `folder` (up to `before_or_at`), or None."""
    if not folder.is_dir():
        return None
    months = sorted(
        p.stem for p in folder.glob("*.json") if before_or_at is None or p.stem <= before_or_at
    )
    if not months:
        return None
    data: dict[str, object] = json.loads((folder / f"{months[-1]}.json").read_text())
    return data


DRIFT_REFERENCE = "models.drift_reference"
"""The model in use's reference population: its training rows' key features (part
'training') and its own validation scores (part 'validation'), with its version. Written
only when a training run puts its model in use, so a rejected candidate leaves the
reference of the model that still scores. Record-level, with NHS numbers, so it stays in
the warehouse and Type 1 opt-outs are purged from it with the rest of `models`."""


@dataclass(frozen=True)
class Reference:
    """The population a model learnt from: its training rows and its own validation scores."""

    version: str
    training: pl.DataFrame
    scores: np.ndarray


def record_reference(
    connection: duckdb.DuckDBPyConnection, training_set: TrainingSet, run: ModellingRun
) -> bool:
    """Make the rows the run's model learnt from (its refit dates: the model that scores the
    lists is refitted on them) and its validation scores the reference, if it is in use.

    Not the training dates: on a short feed they hold truncated history, and a month
    compared with them drifts by construction (PSI 3.5 on consultations_12m at 26 months).

    True when recorded. A candidate the registry kept out changes nothing: drift is
    measured against what the model that scores the lists learnt from.
    """
    version = run.result.model.version
    if run.model_in_use.version != version:
        return False
    _write_reference(connection, version, training_set.refit, run.predictions)
    return True


def _write_reference(
    connection: duckdb.DuckDBPyConnection,
    version: str,
    training: pl.DataFrame,
    predictions: pl.DataFrame,
) -> None:
    keys = ["nhs_number", "index_date"]
    features = [name for name in KEY_FEATURES if name in training.columns]
    frame = pl.concat(
        [
            training.select(
                *keys, *(pl.col(name).cast(pl.Float64) for name in features)
            ).with_columns(
                pl.lit("training").alias("part"), pl.lit(None, dtype=pl.Float64).alias(SCORE)
            ),
            predictions.select(*keys, pl.col(SCORE).cast(pl.Float64)).with_columns(
                pl.lit("validation").alias("part")
            ),
        ],
        how="diagonal",
    ).select(pl.lit(version).alias("model_version"), "part", *keys, *features, SCORE)
    with transaction(connection):
        write_table(connection, DRIFT_REFERENCE, frame)


def model_reference(connection: duckdb.DuckDBPyConnection, models_dir: Path) -> Reference | None:
    """The reference of the model in use; None before a model, or if its reference is unknown.

    A home trained before the reference was recorded adopts its stored training set once,
    when that set is the one the model in use was trained on (the same plan).
    """
    version = current_version(models_dir)
    if version is None:
        return None
    if not table_exists(connection, DRIFT_REFERENCE):
        _adopt_stored_training_set(connection, models_dir, version)
        if not table_exists(connection, DRIFT_REFERENCE):
            return None
    stored = read_table(connection, DRIFT_REFERENCE).filter(pl.col("model_version") == version)
    training = stored.filter(pl.col("part") == "training").drop("model_version", "part", SCORE)
    scores = stored.filter(pl.col("part") == "validation").get_column(SCORE).to_numpy()
    if training.is_empty():
        return None
    return Reference(version=version, training=training, scores=scores)


def _adopt_stored_training_set(
    connection: duckdb.DuckDBPyConnection, models_dir: Path, version: str
) -> None:
    if not TrainingSet.stored(connection):
        return
    stored = TrainingSet.load(connection)
    if stored.plan.to_dict() != read_metadata(models_dir, version).get("plan"):
        return
    try:
        predictions = load_validation_predictions(connection)
    except FileNotFoundError:
        return
    _write_reference(connection, version, stored.refit, predictions)


def month_drift(
    connection: duckdb.DuckDBPyConnection,
    home: Home,
    month: str,
    current_scores: Sequence[float] | np.ndarray | None,
    *,
    threshold: float = DRIFT_THRESHOLD,
) -> DriftReport | None:
    """The month's eligible population (and its scores) against the model in use's reference.

    None when the home has no current model or the warehouse no reference for it.
    """
    reference = model_reference(connection, home.models)
    if reference is None:
        return None
    features = feature_frame(
        connection,
        [index_date(month)],
        with_labels=False,
        features=[name for name in KEY_FEATURES if name in reference.training.columns],
    )
    return measure_drift(
        month,
        reference.training,
        features,
        reference_scores=reference.scores,
        current_scores=current_scores,
        threshold=threshold,
        model_version=reference.version,
    )
