"""The model registry under `<home>/models/`: what a saved model is, and which one is current.

```
<home>/models/
  current.json                 {"version": ..., "decision": {...}}: the model that scores
  <version>/model.txt          LightGBM text model refitted on the latest labelled data (scores)
  <version>/validation_model.txt  the same recipe trained before the validation date (for comparing)
  <version>/calibrator.json    logistic recalibration applied to model.txt's raw risks
  <version>/metadata.json      version, index dates, features and their encoding, parameters, metrics
  compiled/<version>-<key>-<digest>.o  model.txt compiled for this host (models.compiled; a cache)
```
A version is a content hash of those files, and nothing in them records when or where
they were written, so the same inputs give the same version and byte-identical files.

Risks are predicted on every core the process may use (`PREDICTION_THREADS`): each row's
prediction is computed alone, so the thread count never changes a risk (tested). A large
frame is scored by the model compiled to machine code (`models.compiled`, cached in
`<home>/models/compiled/`): the same risks bit for bit, in about a quarter of the time.

A candidate replaces the current model only when it is not worse out of time: both
models' validation boosters (trained on dates whose outcomes were complete before the
window) score the candidate's validation window, and the candidate's AUROC must be at
least the current one's minus `AUROC_TOLERANCE`. Otherwise the current model stays and
`current.json` says why.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from models.calibration import Calibrator
from models.compiled import COMPILED_FROM_ROWS, compiled_risk
from warehouse.files import write_bytes_atomic

AUROC_TOLERANCE = 0.005


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# LightGBM threads for predictions and SHAP values (models.explanations): every core. One
# large parallel loop over rows, which scales and never changes a result (docs/model.md,
# "Threads"); training's count is fixed instead (models.training.training_threads).
PREDICTION_THREADS = available_cores()
MODEL_FILE, VALIDATION_MODEL_FILE = "model.txt", "validation_model.txt"
CALIBRATOR_FILE, METADATA_FILE, CURRENT_FILE = "calibrator.json", "metadata.json", "current.json"


@dataclass(frozen=True)
class FeatureEncoding:
    """How a feature frame becomes LightGBM's matrix: column order and category codes.

    Categorical features become integer codes in the order of `categories` (sorted, so
    deterministic); a missing or unseen category is NaN, which LightGBM treats as missing.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, kind in enumerate(self.kinds) if kind == "categorical"]

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """The model's input: float32, C order, a column per feature (categories as their codes,
        missing as NaN). Converted by polars in one pass: the same bytes as stacking each
        column as float64 and narrowing with numpy, 0.19 s against 1.73 s at 964,252 people
        (benchmarks/encoding_matrix.py)."""
        if not self.names:
            return np.empty((frame.height, 0))
        columns: list[pl.Expr] = []
        for name, kind in zip(self.names, self.kinds, strict=True):
            if kind == "categorical":
                codes = {value: float(code) for code, value in enumerate(self.categories[name])}
                values = (
                    pl.col(name)
                    .cast(pl.Utf8)
                    .replace_strict(codes, default=None, return_dtype=pl.Float64)
                )
            else:
                values = pl.col(name).cast(pl.Float64)
            columns.append(values.cast(pl.Float32).alias(f"column_{len(columns)}"))
        return frame.select(columns).to_numpy(order="c")

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [
                {"name": n, "kind": k} for n, k in zip(self.names, self.kinds, strict=True)
            ],
            "categories": {name: list(values) for name, values in sorted(self.categories.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureEncoding:
        return cls(
            names=tuple(f["name"] for f in data["features"]),
            kinds=tuple(f["kind"] for f in data["features"]),
            categories={name: tuple(values) for name, values in data["categories"].items()},
        )


def fit_encoding(frames: Sequence[pl.DataFrame], features: Sequence[Any]) -> FeatureEncoding:
    """Column order from the catalogue; category lists from the values seen (no outcomes read)."""
    categories = {}
    for feature in features:
        if feature.kind == "categorical":
            seen: set[str] = set()
            for frame in frames:
                seen.update(
                    v
                    for v in frame.get_column(feature.name).cast(pl.Utf8).unique().to_list()
                    if v is not None
                )
            categories[feature.name] = tuple(sorted(seen))
    return FeatureEncoding(
        names=tuple(f.name for f in features),
        kinds=tuple(f.kind for f in features),
        categories=categories,
    )


@dataclass
class RiskModel:
    """A trained admission-risk model: what the scoring and list stages need."""

    booster: lgb.Booster
    validation_booster: lgb.Booster
    calibrator: Calibrator
    encoding: FeatureEncoding
    metadata: dict[str, Any]
    version: str = ""
    folder: Path | None = None
    """Where the registry keeps it (`load`); None for a model not yet saved."""

    def raw_risk(self, frame: pl.DataFrame, *, validation: bool = False) -> np.ndarray:
        booster = self.validation_booster if validation else self.booster
        matrix = self.encoding.matrix(frame)
        if not validation and self.folder is not None and frame.height >= COMPILED_FROM_ROWS:
            # The same risks bit for bit, from the model compiled to machine code.
            risk = compiled_risk(
                self.folder / MODEL_FILE,
                matrix,
                PREDICTION_THREADS,
                lambda rows: np.asarray(booster.predict(rows, num_threads=PREDICTION_THREADS)),
            )
            if risk is not None:
                return risk
        return np.asarray(booster.predict(matrix, num_threads=PREDICTION_THREADS))

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated 12-month emergency admission risk for each row of a feature frame."""
        return self.calibrator.apply(self.raw_risk(frame))

    def files(self) -> dict[str, bytes]:
        metadata = {k: v for k, v in self.metadata.items() if k not in ("version", "encoding")}
        files = {
            MODEL_FILE: self.booster.model_to_string().encode(),
            VALIDATION_MODEL_FILE: self.validation_booster.model_to_string().encode(),
            CALIBRATOR_FILE: dumps(self.calibrator.to_dict()),
        }
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
        digest.update(dumps({**metadata, "encoding": self.encoding.to_dict()}))
        self.version = "m" + digest.hexdigest()[:12]
        files[METADATA_FILE] = dumps(
            {"version": self.version, **metadata, "encoding": self.encoding.to_dict()}
        )
        return files


def dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode()


def save(model: RiskModel, models_dir: Path) -> str:
    """Write the model's files under models_dir/<version>/; returns the version."""
    files = model.files()
    for name, content in files.items():
        write_bytes_atomic(models_dir / model.version / name, content)
    model.metadata = json.loads(files[METADATA_FILE])
    return model.version


def load(models_dir: Path, version: str | None = None) -> RiskModel:
    """The given version, or the current model."""
    if version is None:
        version = current_version(models_dir)
        if version is None:
            raise FileNotFoundError(f"No current model in {models_dir}: train one first.")
    folder = models_dir / version
    metadata = json.loads((folder / METADATA_FILE).read_text())
    return RiskModel(
        booster=lgb.Booster(model_str=(folder / MODEL_FILE).read_text()),
        validation_booster=lgb.Booster(model_str=(folder / VALIDATION_MODEL_FILE).read_text()),
        calibrator=Calibrator.from_dict(json.loads((folder / CALIBRATOR_FILE).read_text())),
        encoding=FeatureEncoding.from_dict(metadata["encoding"]),
        metadata=metadata,
        version=version,
        folder=folder,
    )


def current_version(models_dir: Path) -> str | None:
    """The version of the model in use, or None before the first model is registered."""
    current = read_current(models_dir)
    return current[0] if current is not None else None


def read_current(models_dir: Path) -> tuple[str, dict[str, Any]] | None:
    """The model in use and the registry's decision that put or kept it there (current.json)."""
    path = models_dir / CURRENT_FILE
    if not path.is_file():
        return None
    current = json.loads(path.read_text())
    return str(current["version"]), dict(current.get("decision", {}))


def read_metadata(models_dir: Path, version: str) -> dict[str, Any]:
    """A saved model's metadata.json: its plan, features, parameters and metrics."""
    metadata: dict[str, Any] = json.loads((models_dir / version / METADATA_FILE).read_text())
    return metadata


@dataclass(frozen=True)
class Decision:
    candidate_version: str
    current_version: str | None
    replaced: bool
    reason: str
    candidate_auroc: float
    current_auroc: float | None

    @property
    def version_in_use(self) -> str:
        return (
            self.candidate_version
            if self.replaced or self.current_version is None
            else self.current_version
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate_version": self.candidate_version,
            "current_version": self.current_version,
            "version_in_use": self.version_in_use,
            "replaced": self.replaced,
            "reason": self.reason,
            "candidate_auroc": self.candidate_auroc,
            "current_auroc": self.current_auroc,
            "auroc_tolerance": AUROC_TOLERANCE,
        }


def decide(
    candidate_version: str,
    candidate_auroc: float,
    current_version: str | None,
    current_auroc: float | None,
    tolerance: float = AUROC_TOLERANCE,
) -> Decision:
    """Replace unless the candidate is worse than the current model by more than `tolerance`."""
    if current_version is None:
        return Decision(candidate_version, None, True, "no current model", candidate_auroc, None)
    if current_version == candidate_version:
        return Decision(
            candidate_version,
            current_version,
            False,
            "the candidate is identical to the current model (same inputs, same files)",
            candidate_auroc,
            current_auroc,
        )
    if current_auroc is None:
        return Decision(
            candidate_version,
            current_version,
            True,
            "the current model cannot score this window (its features are no longer built); replaced",
            candidate_auroc,
            None,
        )
    if candidate_auroc >= current_auroc - tolerance:
        return Decision(
            candidate_version,
            current_version,
            True,
            f"out-of-time AUROC {candidate_auroc:.4f} is not worse than the current model's "
            f"{current_auroc:.4f} (tolerance {tolerance})",
            candidate_auroc,
            current_auroc,
        )
    return Decision(
        candidate_version,
        current_version,
        False,
        f"kept {current_version}: the candidate's out-of-time AUROC {candidate_auroc:.4f} is worse "
        f"than the current model's {current_auroc:.4f} by more than {tolerance}",
        candidate_auroc,
        current_auroc,
    )


def register(
    candidate: RiskModel,
    models_dir: Path,
    validation_frame: pl.DataFrame,
    label: str,
    *,
    tolerance: float = AUROC_TOLERANCE,
    cold_start: bool = False,
) -> Decision:
    """Save the candidate and make it current unless it is worse out of time than the current one.

    A cold-start candidate (models.training.cold_start_plan) trained on the validation date
    itself, so no comparison there is fair: it replaces the current model, having learnt
    from more months.
    """
    from sklearn.metrics import roc_auc_score

    save(candidate, models_dir)
    outcome = validation_frame.get_column(label).to_numpy()
    candidate_auroc = round(
        float(roc_auc_score(outcome, candidate.raw_risk(validation_frame, validation=True))), 4
    )
    current = current_version(models_dir)
    current_auroc: float | None = None
    existing = (
        load(models_dir, current) if current is not None and current != candidate.version else None
    )
    if existing is not None and (cold_start or existing.metadata.get("plan", {}).get("cold_start")):
        # A cold start is validated on months it trained on: no comparison with it is fair.
        reason = (
            "cold start: not yet validated out of time, so not compared on a window it "
            "trained on; the candidate learnt from more months and replaces the current model"
            if cold_start
            else "the current model was a cold start, never validated out of time; replaced "
            "by one that is"
        )
        decision = Decision(candidate.version, current, True, reason, candidate_auroc, None)
    else:
        if existing is not None and set(existing.encoding.names) <= set(validation_frame.columns):
            scores = existing.raw_risk(validation_frame, validation=True)
            current_auroc = round(float(roc_auc_score(outcome, scores)), 4)
        decision = decide(candidate.version, candidate_auroc, current, current_auroc, tolerance)
    in_use = candidate.version if decision.replaced or current is None else current
    write_bytes_atomic(
        models_dir / CURRENT_FILE, dumps({"version": in_use, "decision": decision.to_dict()})
    )
    return decision
