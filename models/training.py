"""Train the emergency-admission risk model out of time.

The split (`plan_training`), for labelled index dates (month ends with 12 months of
follow-up) ending at V, the latest:
- validation window: everyone eligible at V, the latest labelled index date.
- training dates: V-12, V-15, V-18, V-21 months (quarterly, at most four, so training
  stays bounded at about four times the population), keeping only dates with at least
  12 months of history before them. Training dates end 12 months before V, so every
  training outcome was complete by V: the validation is exactly the situation the model
  is used in (scoring a month whose latest complete outcomes are 12 months old), and no
  training label overlaps the validation window's follow-up. (Overlapping dates leak:
  on a generated zone, training on V-3..V-12 gave AUROC 0.706 at V, but 0.674 when
  the training and validation people were disjoint, the same as V-12 alone; the model
  had memorised people whose admission fell in both follow-up windows.) A feed too short for 12
  months of history before V-12 falls back to V-12 alone, and the plan says so.
- refit dates: the same offsets moved forward 12 months (V, V-3, ...), the latest
  labelled data, for the model that scores the current month. It is trained for the
  number of rounds early stopping chose for the validation model.

The protocol is honest: every choice (early stopping's rounds) is made on a fifth of the
training people, held out whole (`tuning_people`); the validation model is then trained
on all training rows for the chosen rounds and scores V once. V's outcomes reach no
choice, so the figures reported from V are not optimistic. The risks are the booster's
own, not recalibrated (RAW_RISKS; models.calibration says why).

LightGBM is seeded and deterministic (`deterministic`, `force_row_wise`, the thread
count recorded in the parameters): the same inputs give byte-identical model files on the
same machine and on any other. Fits of MULTI_THREAD_ROWS rows or more train on two
threads (0.62x the time at 1,000,000 people on two cores), smaller ones on one
(`training_threads`, docs/model.md, "Threads"); the count never depends on the machine,
since two counts give different models (histograms are summed in a different order).
Each count is deterministic (tested). Predictions use every core. Categorical features
are LightGBM's native categoricals. The risks are not recalibrated (RAW_RISKS). Never trains on truth.csv; never
writes an NHS number to a log.

The training frame and the validation predictions hold every person's NHS number beside
their age, sex, ethnicity, deprivation and outcome: they are kept in the warehouse
(`models.training_frame`, `models.training_plan`, `models.validation_predictions`),
where a later Type 1 opt-out is purged from them (warehouse.features.remove_opted_out),
and never written to a file.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import GroupKFold

from models.baselines import fit_basic_lightgbm, fit_logistic_baseline, prior_admissions_score
from models.boosting import (
    MAX_BIN,
    SEED,
    early_stopping_rounds,
    lightgbm_dataset,
    tuning_people,
)
from models.calibration import Calibrator
from models.ceiling import feature_ceiling_risk
from models.registry import PREDICTION_THREADS, RiskModel, fit_encoding
from warehouse.connection import table_exists, transaction
from warehouse.features import forget_purge
from warehouse.home import Home
from warehouse.months import FOLLOW_UP_MONTHS, months_between

# Threads, measured side by side on a quiet 2-core machine (docs/model.md, "Threads";
# benchmarks/training_benchmark.py --threads 1,2): with two threads, the 1,000,000-people
# training (fits of about 963,000 rows each) took 105 s against 168 s on one, and the
# 100,000-people one (about 96,000 rows a fit) 4.4 s against 6.6 s. Smaller fits keep one
# thread: there the work per histogram barrier is tiny, and under load (a test suite on 2
# cores) OpenMP threads wait at every barrier for a thread the box has descheduled
# (session 2: 50,000-row fits, two threads 1.4x slower at load 2-3 and 6x at 6-8).
# The count is fixed, not the machine's cores: LightGBM sums histograms in an order that
# depends on it, so a count taken from the machine would make the same inputs give another
# model (and version) on another machine.
MULTI_THREAD_ROWS = 90_000
LARGE_FIT_THREADS = 2


def training_threads(rows: int) -> int:
    """LightGBM threads for fits of `rows` rows: LARGE_FIT_THREADS from MULTI_THREAD_ROWS on."""
    return LARGE_FIT_THREADS if rows >= MULTI_THREAD_ROWS else 1


PARAMETERS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",
    # Small, regularised trees: the outcome is noisy (a generated zone's oracle AUROC is
    # about 0.73) and a validation model sees one or a few index dates. 7 leaves, not 15:
    # AUROC +0.002 at V on each of the four choice seeds, no worse calibration (docs/
    # model.md, "Choices measured on the choice seeds"; benchmarks/model_choices.py).
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "max_bin": MAX_BIN,
    "min_data_per_group": 50,
    "cat_smooth": 10.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # train() sets it by the frame's size (training_threads)
    "verbosity": -1,
}
STEP_MONTHS = 3
MAX_TRAINING_DATES = 4
MIN_HISTORY_MONTHS = 12
MAX_COLD_START_DATES = 12
CROSS_VALIDATION_FOLDS = 5
# The risks are the booster's own. Recalibration chosen and fitted on training people did
# not carry a year forward: on the choice seeds it left V's calibration slope further from
# 1 against the true risk than the raw risks (docs/model.md, "Choices measured on the
# choice seeds"), so no calibrator is fitted (models.calibration).
RAW_RISKS: dict[str, Any] = {
    "calibrator": Calibrator().to_dict(),
    "reason": "the booster's own risks, not recalibrated: recalibration fitted on training "
    "people did not carry a year forward to the validation date on the choice seeds",
}
IDENTIFIERS = ("nhs_number", "index_date", "practice_code")


@dataclass(frozen=True)
class TrainingPlan:
    training_dates: tuple[datetime.date, ...]
    validation_date: datetime.date
    refit_dates: tuple[datetime.date, ...]
    notes: tuple[str, ...] = ()
    cold_start: bool = False
    """Fewer than 25 months: trained on every date with complete follow-up (V among them)
    and validated by person-grouped cross-validation at V, not out of time."""

    @property
    def all_dates(self) -> list[datetime.date]:
        return sorted({*self.training_dates, self.validation_date, *self.refit_dates})

    def to_dict(self) -> dict[str, Any]:
        return {
            "training_dates": [d.isoformat() for d in self.training_dates],
            "validation_date": self.validation_date.isoformat(),
            "refit_dates": [d.isoformat() for d in self.refit_dates],
            "notes": list(self.notes),
            "cold_start": self.cold_start,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingPlan:
        dates = datetime.date.fromisoformat
        return cls(
            training_dates=tuple(dates(d) for d in data["training_dates"]),
            validation_date=dates(data["validation_date"]),
            refit_dates=tuple(dates(d) for d in data["refit_dates"]),
            notes=tuple(data.get("notes", ())),
            cold_start=bool(data.get("cold_start", False)),
        )


class NotEnoughHistory(ValueError):
    """The feed is too short to train at all (fewer than 13 months: no complete label)."""


class EmptyTrainingSet(ValueError):
    """A part of the training set (training, validation or refit) has no rows, or only one outcome.

    Raised before LightGBM is called, whose own message ("Check failed: (num_data) > (0)")
    names neither the date nor the table. Deterministic: retrying cannot help.
    """


def plan_training(
    labelled_dates: Sequence[datetime.date],
    *,
    history_start: datetime.date | None = None,
    max_training_dates: int = MAX_TRAINING_DATES,
    step_months: int = STEP_MONTHS,
    min_history_months: int = MIN_HISTORY_MONTHS,
) -> TrainingPlan:
    """Choose training, validation and refit index dates (see the module docstring).

    `history_start` is the month end of the first extract month (default: the first
    labelled date); a date has `months_between(history_start, date) + 1` months of data.
    """
    if not labelled_dates:
        raise NotEnoughHistory("No labelled index dates: the feed needs at least 13 months.")
    dates = sorted(labelled_dates)
    first = history_start or dates[0]
    validation = dates[-1]
    by_offset = {months_between(d, validation): d for d in dates}

    def history(date: datetime.date) -> int:
        return months_between(first, date) + 1

    training = [
        by_offset[offset]
        for offset in range(
            FOLLOW_UP_MONTHS, FOLLOW_UP_MONTHS + step_months * max_training_dates, step_months
        )
        if offset in by_offset and history(by_offset[offset]) >= min_history_months
    ]
    notes = []
    if not training:
        if FOLLOW_UP_MONTHS not in by_offset:
            return cold_start_plan(dates)
        training = [by_offset[FOLLOW_UP_MONTHS]]
        notes.append(
            f"short feed: the only training date {training[0].isoformat()} has "
            f"{history(training[0])} months of history (fewer than {MIN_HISTORY_MONTHS})"
        )
    refit = [by_offset[months_between(d, validation) - FOLLOW_UP_MONTHS] for d in training]
    return TrainingPlan(tuple(sorted(training)), validation, tuple(sorted(refit)), tuple(notes))


COLD_START_NOTE = "not yet validated out of time"


def cold_start_plan(dates: Sequence[datetime.date]) -> TrainingPlan:
    """13 to 24 months of extracts: every labelled date (the latest 12 at most), V among them.

    No date is 12 months before V, so nothing can be validated out of time: the model is
    validated by cross-validation that holds out whole people at V, and says so.
    """
    training = tuple(sorted(dates)[-MAX_COLD_START_DATES:])
    validation = training[-1]
    return TrainingPlan(
        training,
        validation,
        training,
        (
            f"cold start: {COLD_START_NOTE}. With {len(dates)} labelled index date(s), "
            f"none 12 months before {validation.isoformat()}, so the "
            f"model trains on {len(training)} date(s) with complete follow-up and is "
            f"validated by {CROSS_VALIDATION_FOLDS}-fold cross-validation holding out whole "
            "people; out-of-time validation takes over once 25 months are delivered",
        ),
        cold_start=True,
    )


@dataclass
class TrainingSet:
    """Feature frames for every date of a plan, with labels (one frame, split by index date)."""

    plan: TrainingPlan
    frame: pl.DataFrame

    def at(self, dates: Sequence[datetime.date]) -> pl.DataFrame:
        return self.frame.filter(pl.col("index_date").is_in(list(dates)))

    @property
    def training(self) -> pl.DataFrame:
        return self.at(self.plan.training_dates)

    @property
    def validation(self) -> pl.DataFrame:
        return self.at([self.plan.validation_date])

    @property
    def refit(self) -> pl.DataFrame:
        return self.at(self.plan.refit_dates)

    def save(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Replace the stored training set (models.training_frame and its plan), in one transaction."""
        with transaction(connection):
            write_table(connection, TRAINING_FRAME, self.frame)
            connection.execute(
                f"CREATE OR REPLACE TABLE {TRAINING_PLAN} AS SELECT $plan::VARCHAR AS plan",
                {"plan": json.dumps(self.plan.to_dict())},
            )

    @classmethod
    def load(cls, connection: duckdb.DuckDBPyConnection) -> TrainingSet:
        """The stored training set, rows in the order they were built (FileNotFoundError if none)."""
        if not cls.stored(connection):
            raise FileNotFoundError(
                f"The warehouse holds no training set ({TRAINING_FRAME}): build one first."
            )
        [(plan,)] = connection.execute(f"SELECT plan FROM {TRAINING_PLAN}").fetchall()
        return cls(
            plan=TrainingPlan.from_dict(json.loads(plan)),
            frame=read_table(connection, TRAINING_FRAME),
        )

    @staticmethod
    def stored(connection: duckdb.DuckDBPyConnection) -> bool:
        return table_exists(connection, TRAINING_FRAME) and table_exists(connection, TRAINING_PLAN)

    def summary(self, label: str) -> dict[str, Any]:
        parts = {"training": self.training, "validation": self.validation, "refit": self.refit}
        return {
            **self.plan.to_dict(),
            **{f"{name}_rows": part.height for name, part in parts.items()},
            **{
                f"{name}_admission_rate": round(_mean(part.get_column(label)), 4)
                for name, part in parts.items()
            },
        }


def model_validation(connection: duckdb.DuckDBPyConnection) -> str:
    """How the model in use was validated, in words for a list: from the stored training plan.

    The registry always lets a model validated out of time replace a cold-start one, so the
    latest plan is a cold start exactly when the model in use is one.
    """
    if not TrainingSet.stored(connection):
        return "validated out of time"
    [(plan,)] = connection.execute(f"SELECT plan FROM {TRAINING_PLAN}").fetchall()
    if json.loads(plan).get("cold_start", False):
        return f"{COLD_START_NOTE}: validated by cross-validation on its own months"
    return "validated out of time"


def build_training_set(connection: Any, **plan_options: Any) -> TrainingSet:
    """Features and labels at the planned dates, from the warehouse (models.dataset).

    `plan_options` go to `plan_training` (benchmarks/model_benchmark.py compares plans).

    Raises EmptyTrainingSet, with the warehouse's row counts at each planned date, when a
    part of the set has no rows or a single outcome.
    """
    from models import dataset
    from models.feature_catalogue import LABEL

    labelled = dataset.labelled_index_dates(connection)
    plan = plan_training(labelled, **plan_options)
    frame = dataset.feature_frame(connection, plan.all_dates, with_labels=True)
    frame = frame.with_columns(pl.col(LABEL).cast(pl.Int8))
    training_set = TrainingSet(plan=plan, frame=frame)
    try:
        check_training_set(training_set, LABEL)
    except EmptyTrainingSet as error:
        stored = dataset.stored_rows(connection, plan.all_dates)
        raise EmptyTrainingSet(
            f"{error} In the warehouse: "
            + "; ".join(
                f"{d.isoformat()}: {features:,} rows in {dataset.PERSON_FEATURES}, {labels:,} in {dataset.LABELS}"
                for d, (features, labels) in stored.items()
            )
            + "."
        ) from None
    return training_set


def check_training_set(training_set: TrainingSet, label: str) -> None:
    """Raise EmptyTrainingSet unless training, validation and refit rows each hold both outcomes."""
    plan = training_set.plan
    parts = {
        "training": plan.training_dates,
        "validation": (plan.validation_date,),
        "refit": plan.refit_dates,
    }
    problems = []
    for part, dates in parts.items():
        frame = training_set.at(dates)
        plural = len(dates) > 1
        where = f"the {part} date{'s' if plural else ''} {', '.join(d.isoformat() for d in dates)}"
        admitted = int(frame.get_column(label).cast(pl.Int64).sum()) if frame.height else 0
        if frame.height == 0:
            problems.append(f"{where} {'have' if plural else 'has'} no rows")
        elif admitted in (0, frame.height):
            outcome = "no one admitted" if admitted == 0 else "everyone admitted"
            problems.append(
                f"{where} {'have' if plural else 'has'} {frame.height:,} rows but {outcome} (label {label})"
            )
    if problems:
        raise EmptyTrainingSet(
            "Cannot train: "
            + "; ".join(problems)
            + " (features.person_features joined to features.labels)."
        )


@dataclass
class TrainingResult:
    model: RiskModel
    validation_raw: np.ndarray  # validation booster's raw risks on the validation window
    validation_risk: (
        np.ndarray
    )  # the model's risks on the validation window: what evaluation reports
    baseline_scores: dict[str, np.ndarray] = field(default_factory=dict)


def train(
    training_set: TrainingSet,
    features: Sequence[Any],
    label: str,
    *,
    parameters: dict[str, Any] | None = None,
    seed: int = SEED,
) -> TrainingResult:
    """Train, calibrate, validate out of time once, and refit; fit the baselines on the same split.

    Every choice (the rounds, by early stopping) is made on the training people held out
    by `tuning_people`. The risks are not recalibrated (RAW_RISKS). The validation date V only scores the
    finished validation model, once: its outcomes reach no choice, so its figures are not
    optimistic.
    """
    check_training_set(training_set, label)
    training, validation, refit = training_set.training, training_set.validation, training_set.refit
    parameters = {
        **PARAMETERS,
        "num_threads": training_threads(max(training.height, refit.height)),  # the largest fit
        **(parameters or {}),
        "seed": seed,
    }
    encoding = fit_encoding([training, validation, refit], features)
    categorical = encoding.categorical_indices

    tuning = tuning_people(training, seed)
    training_matrix = encoding.matrix(training)
    training_outcome = training.get_column(label).to_numpy()
    # Chosen on the held-out training people, never on V: V is scored once, below.
    best_iteration = early_stopping_rounds(
        parameters, training_matrix, training_outcome, tuning, categorical
    )
    validation_booster = lgb.train(
        parameters,
        lightgbm_dataset(training_matrix, training_outcome, categorical),
        num_boost_round=best_iteration,
    )
    del training_matrix

    if training_set.plan.cold_start:
        # V is a training date: it is scored by models that never saw the person.
        validation_raw, baseline_scores = cross_validated_scores(
            training, validation, label, features, encoding, parameters, best_iteration
        )
        booster = validation_booster  # the refit dates are the training dates
    else:
        validation_raw = np.asarray(
            validation_booster.predict(encoding.matrix(validation), num_threads=PREDICTION_THREADS)
        )
        baseline_scores = out_of_time_baseline_scores(training_set, label, features)
        refit_data = lightgbm_dataset(
            encoding.matrix(refit), refit.get_column(label).to_numpy(), categorical
        )
        booster = lgb.train(parameters, refit_data, num_boost_round=best_iteration)
        del refit_data
    metadata = {
        "outcome": label,
        "plan": training_set.plan.to_dict(),
        "training_rows": training.height,
        "refit_rows": refit.height,
        "validation_rows": validation.height,
        "tuning_people": int(
            training.filter(pl.Series(tuning)).get_column("nhs_number").n_unique()
        ),
        "parameters": parameters,
        "best_iteration": best_iteration,
        "calibration": RAW_RISKS,
        "lightgbm_version": lgb.__version__,
    }
    model = RiskModel(booster, validation_booster, Calibrator(), encoding, metadata)
    return TrainingResult(
        model=model,
        validation_raw=validation_raw,
        validation_risk=model.calibrator.apply(validation_raw),
        baseline_scores=baseline_scores,
    )


def out_of_time_baseline_scores(
    training_set: TrainingSet, label: str, features: Sequence[Any]
) -> dict[str, np.ndarray]:
    """The baselines fitted on the training dates (the basic one on the latest), scored at V."""
    validation = training_set.validation
    basic = fit_basic_lightgbm(
        training_set.at([max(training_set.plan.training_dates)]), label, features
    )
    return {
        "prior_admissions": prior_admissions_score(validation),
        "logistic": fit_logistic_baseline(training_set.training, label).predict(validation),
        "basic_lightgbm": basic.predict(validation),
    }


def cross_validated_scores(
    training: pl.DataFrame,
    validation: pl.DataFrame,
    label: str,
    features: Sequence[Any],
    encoding: Any,
    parameters: dict[str, Any],
    rounds: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cold start: the model's and baselines' risks at V, each fold of people scored by fits
    on every row (every date) of the other people, never their own."""
    people = validation.get_column("nhs_number")
    raw, logistic, basic = (np.empty(validation.height) for _ in range(3))
    folds = GroupKFold(n_splits=CROSS_VALIDATION_FOLDS)
    for _, held in folds.split(np.zeros(validation.height), groups=people.to_numpy()):
        fitting = training.filter(~pl.col("nhs_number").is_in(people.gather(held).implode()))
        part = validation[held]
        data = lightgbm_dataset(
            encoding.matrix(fitting),
            fitting.get_column(label).to_numpy(),
            encoding.categorical_indices,
        )
        booster = lgb.train(parameters, data, num_boost_round=rounds)
        raw[held] = booster.predict(encoding.matrix(part), num_threads=PREDICTION_THREADS)
        logistic[held] = fit_logistic_baseline(fitting, label).predict(part)
        latest = fitting.filter(pl.col("index_date") == pl.col("index_date").max())
        basic[held] = fit_basic_lightgbm(latest, label, features).predict(part)
    return raw, {
        "prior_admissions": prior_admissions_score(validation),
        "logistic": logistic,
        "basic_lightgbm": basic,
    }


def score(model: RiskModel, frame: pl.DataFrame) -> pl.DataFrame:
    """Calibrated risk per person: nhs_number, index_date, practice_code, risk, model_version."""
    return frame.select([c for c in IDENTIFIERS if c in frame.columns]).with_columns(
        pl.Series("risk", model.predict(frame), dtype=pl.Float64),
        pl.lit(model.version).alias("model_version"),
    )


AUDIT_COLUMNS = (
    "age",
    "sex",
    "ethnicity_group",
    "imd_decile",
    "ltc_count",
    "emergency_admissions_12m",
)
TRAINING_FRAME, TRAINING_PLAN = "models.training_frame", "models.training_plan"
VALIDATION_PREDICTIONS = "models.validation_predictions"
ROW_ORDER = "row_order"
"""Stored tables keep their frame's row order in this column: the order LightGBM trained
in, and the order the evaluation's seeded bootstrap resamples."""


@dataclass
class ModellingRun:
    """One training run: the candidate, the registry's decision and the model in use."""

    result: TrainingResult
    decision: Any  # models.registry.Decision
    model_in_use: RiskModel
    predictions: pl.DataFrame  # the validation window scored by the model in use (has NHS numbers)


def train_and_register(
    training_set: TrainingSet,
    models_dir: Path,
    *,
    features: Sequence[Any] | None = None,
    label: str | None = None,
    truth: Path | None = None,
    seed: int = SEED,
) -> ModellingRun:
    """Train a candidate, register it (or keep the current model) and score the validation window.

    Writes models_dir/<version>/... and models_dir/current.json. The predictions (with NHS
    numbers) are returned, never written to a file: the caller stores them in the warehouse
    with `save_validation_predictions`, where the evaluation and fairness audit read them.
    """
    from models import registry
    from models.evaluation import read_truth_at

    if features is None or label is None:
        from models.feature_catalogue import FEATURES, LABEL

        features, label = features or FEATURES, label or LABEL
    result = train(training_set, features, label, seed=seed)
    validation = training_set.validation
    decision = registry.register(
        result.model, models_dir, validation, label, cold_start=training_set.plan.cold_start
    )
    in_use = (
        result.model
        if decision.version_in_use == result.model.version
        else registry.load(models_dir)
    )
    if in_use is result.model:
        raw, risk = result.validation_raw, result.validation_risk
    else:
        raw = in_use.raw_risk(validation, validation=True)
        risk = in_use.calibrator.apply(raw)
    predictions = validation.select(
        [c for c in (*IDENTIFIERS, *AUDIT_COLUMNS) if c in validation.columns]
    ).with_columns(
        validation.get_column(label).cast(pl.Int8).alias("admitted"),
        pl.Series("risk", risk, dtype=pl.Float64),
        pl.Series("risk_uncalibrated", raw, dtype=pl.Float64),
        pl.Series("prior_admissions", result.baseline_scores["prior_admissions"], dtype=pl.Float64),
        pl.Series("logistic_risk", result.baseline_scores["logistic"], dtype=pl.Float64),
        pl.Series(
            "basic_lightgbm_risk", result.baseline_scores["basic_lightgbm"], dtype=pl.Float64
        ),
    )
    plan = training_set.plan
    truth_frame = (
        read_truth_at(truth, [*plan.training_dates, plan.validation_date])
        if truth is not None
        else None
    )
    ceiling = None
    if truth_frame is not None and not plan.cold_start:
        # A cold start trains on V itself: no ceiling could be judged there honestly.
        ceiling = feature_ceiling_risk(
            training_set.training,
            validation,
            truth_frame,
            result.model.encoding,
            result.model.metadata["parameters"],
            seed=seed,
        )
    predictions = predictions.with_columns(
        pl.Series("feature_ceiling_risk", ceiling, dtype=pl.Float64)
        if ceiling is not None
        else pl.lit(None, dtype=pl.Float64).alias("feature_ceiling_risk")
    )
    if truth_frame is not None:
        at_validation = truth_frame.filter(pl.col("index_date") == plan.validation_date).select(
            pl.col("nhs_number").cast(predictions.schema["nhs_number"]), "true_risk"
        )
        predictions = predictions.join(
            at_validation, on="nhs_number", how="left", maintain_order="left"
        )
    else:
        predictions = predictions.with_columns(pl.lit(None, dtype=pl.Float64).alias("true_risk"))
    return ModellingRun(
        result=result, decision=decision, model_in_use=in_use, predictions=predictions
    )


def _mean(column: pl.Series) -> float:
    """The mean of a 0/1 column; 0 for an empty one."""
    mean = column.cast(pl.Float64).mean()
    return float(mean) if isinstance(mean, int | float) else 0.0


def save_validation_predictions(
    connection: duckdb.DuckDBPyConnection, predictions: pl.DataFrame
) -> None:
    """Replace models.validation_predictions: the validation window scored by the model in use."""
    with transaction(connection):
        write_table(connection, VALIDATION_PREDICTIONS, predictions)


def keep_validation_predictions(connection: duckdb.DuckDBPyConnection, run: ModellingRun) -> bool:
    """Save the run's validation predictions if its model was put in use; True when saved.

    The evaluation, the model card and the drift reference describe the model that scores
    the lists: a candidate the registry kept out must not replace what they are drawn from.
    """
    if run.model_in_use.version != run.result.model.version:
        return False
    save_validation_predictions(connection, run.predictions)
    return True


def load_validation_predictions(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """models.validation_predictions, in the order they were saved (FileNotFoundError if none)."""
    if not table_exists(connection, VALIDATION_PREDICTIONS):
        raise FileNotFoundError(
            f"The warehouse holds no validation predictions ({VALIDATION_PREDICTIONS}): "
            "train a model first."
        )
    return read_table(connection, VALIDATION_PREDICTIONS)


def adopt_retired_files(connection: duckdb.DuckDBPyConnection, home: Home) -> list[Path]:
    """Move a training set and predictions an earlier version left as files into the warehouse.

    Earlier versions wrote `models/training_set/{frame.parquet,plan.json}` and
    `models/validation_predictions.parquet` (record-level, with NHS numbers). A home upgraded
    in place keeps using them (drift reads them) from the warehouse, where opt-outs are
    purged; the files are deleted. Returns the paths deleted.
    """
    folder, predictions = home.retired_record_files
    files_hold_a_set = (folder / "plan.json").is_file() and (folder / "frame.parquet").is_file()
    adopted = False
    if files_hold_a_set and not TrainingSet.stored(connection):
        plan = TrainingPlan.from_dict(json.loads((folder / "plan.json").read_text()))
        TrainingSet(plan, pl.read_parquet(folder / "frame.parquet")).save(connection)
        adopted = True
    if predictions.is_file() and not table_exists(connection, VALIDATION_PREDICTIONS):
        save_validation_predictions(connection, pl.read_parquet(predictions))
        adopted = True
    if adopted:
        # The files predate any opt-out delivered since: the next purge must read them.
        forget_purge(connection)
    return home.remove_retired_record_files()


def write_table(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace `table` with `frame`, recording its row order (inside the caller's transaction)."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    connection.register("frame_to_store", frame.with_row_index(ROW_ORDER).to_arrow())
    try:
        connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame_to_store")
    finally:
        connection.unregister("frame_to_store")


def read_table(connection: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A table `write_table` stored, as the frame it was: same columns, types and row order."""
    frame = connection.sql(f"SELECT * FROM {table} ORDER BY {ROW_ORDER}").pl()
    return frame.drop(ROW_ORDER)
