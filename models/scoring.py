"""Risk scores for one month: every eligible person at the month's index date, ranked and tiered.

`score_month` reads the feature frame at the month's last day (`models.dataset`: only
people registered and alive then, without a Type 1 opt-out in their latest delivery),
asks the current model for each person's calibrated risk of an emergency admission in the
next 12 months and for its top three reasons, and ranks everyone within the area and within
their practice. Tiers follow the area ranking (default, in the spirit of the Kaiser
pyramid: very high = top 0.5%, high = the next 4.5%, rising = the next 15%, low = the
rest). The result replaces the month's rows of `scores.risk_scores`.

Ranks are deterministic: risk descending, then NHS number ascending, so equal risks
always fall in the same order and the same inputs give byte-identical lists.

This module must never log an NHS number, and never imports dagster.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import polars as pl

from lists.tables import (
    RISK_SCORES,
    ensure_scores_schema,
    remove_opted_out,
    write_tier_policy,
)
from warehouse.connection import transaction
from warehouse.months import index_date as month_index_date

log = logging.getLogger(__name__)

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
LOW_TIER = "low"


class ScoringModel(Protocol):
    """What scoring needs from a model (models.registry.RiskModel has it)."""

    version: str

    def predict(self, frame: pl.DataFrame) -> np.ndarray: ...


# (model, feature frame) -> frame with nhs_number and reason_1..reason_3 (or a list column
# `reasons`), clinician-worded, strongest first.
Explainer = Callable[[Any, pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class Tier:
    name: str
    cumulative_share: float  # the tier holds area ranks up to ceil(share * people)


@dataclass(frozen=True)
class TierPolicy:
    """Tiers by area rank, highest first; everyone below the last is `otherwise`.

    A tier's boundary is rounded up (ceil), so the top tier is never empty while anyone is
    scored: with 1,500 people, very high is the top 8, high ranks 9-75, rising 76-300.
    """

    tiers: tuple[Tier, ...] = (
        Tier("very high", 0.005),
        Tier("high", 0.05),
        Tier("rising", 0.20),
    )
    otherwise: str = LOW_TIER

    def __post_init__(self) -> None:
        shares = [t.cumulative_share for t in self.tiers]
        if (
            any(not 0 < s <= 1 for s in shares)
            or shares != sorted(shares)
            or len(set(shares)) != len(shares)
        ):
            raise ValueError(f"tier shares must rise strictly within (0, 1]: {shares}")
        names = [t.name for t in self.tiers] + [self.otherwise]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must differ: {names}")

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, highest risk first, ending with `otherwise`."""
        return (*(t.name for t in self.tiers), self.otherwise)

    def describe(self) -> str:
        """E.g. 'very high = top 0.5% of the area; high = next 4.5%; rising = next 15%; low = the rest'."""
        parts, previous = [], 0.0
        for index, tier in enumerate(self.tiers):
            share = f"{round((tier.cumulative_share - previous) * 100, 6):g}%"
            parts.append(
                f"{tier.name} = {'top' if index == 0 else 'next'} {share}"
                + (" of the area" if index == 0 else "")
            )
            previous = tier.cumulative_share
        return "; ".join([*parts, f"{self.otherwise} = the rest"])

    def boundaries(self, people: int) -> list[tuple[str, int]]:
        """(tier, last area rank in it) for a population of `people`."""
        return [(t.name, math.ceil(round(t.cumulative_share * people, 9))) for t in self.tiers]


DEFAULT_TIERS = TierPolicy()


@dataclass(frozen=True)
class ScoredMonth:
    """What scoring a month did: no NHS numbers, fit for logs and Dagster metadata."""

    month: str
    index_date: datetime.date
    model_version: str
    people: int
    people_per_tier: dict[str, int]
    people_per_practice: dict[str, int]
    risk_quantiles: dict[str, float]
    expected_admissions: float
    risk_histogram: list[int] = field(default_factory=list)  # people per 5-point risk band, 0-100%
    removed_opt_outs: int = 0


def rank_and_tier(scores: pl.DataFrame, tiers: TierPolicy = DEFAULT_TIERS) -> pl.DataFrame:
    """Add area/practice ranks, percentiles and tiers to a frame with nhs_number, practice_code, risk.

    Sorted by area rank. Percentile = share of the population (area or practice) whose risk
    ranks at or below this person's, in percent: 100 for the top rank.
    """
    people = scores.height
    ordered = scores.sort(["risk", "nhs_number"], descending=[True, False]).with_columns(
        pl.int_range(1, people + 1, dtype=pl.Int32).alias("area_rank"),
    )
    ordered = ordered.with_columns(
        (pl.col("area_rank").cum_count().over("practice_code"))
        .cast(pl.Int32)
        .alias("practice_rank"),
        pl.len().over("practice_code").alias("_practice_people"),
    )
    tier = pl.lit(tiers.otherwise)
    for name, last_rank in reversed(tiers.boundaries(people)):
        tier = pl.when(pl.col("area_rank") <= last_rank).then(pl.lit(name)).otherwise(tier)
    return ordered.with_columns(
        ((people - pl.col("area_rank") + 1) * 100.0 / max(people, 1))
        .round(2)
        .alias("area_percentile"),
        (
            (pl.col("_practice_people") - pl.col("practice_rank") + 1)
            * 100.0
            / pl.col("_practice_people")
        )
        .round(2)
        .alias("practice_percentile"),
        tier.alias("tier"),
    ).drop("_practice_people")


def person_details(frame: pl.DataFrame) -> pl.DataFrame:
    """What a list shows beside the score, from the feature frame (missing features are null)."""
    from models.feature_catalogue import CONDITIONS

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)

    present = [(name, wording) for name, wording in CONDITIONS if name in frame.columns]
    conditions = (
        pl.concat_list(
            [
                pl.when(pl.col(name) == 1)
                .then(pl.lit(wording))
                .otherwise(pl.lit(None, dtype=pl.Utf8))
                for name, wording in present
            ]
        )
        .list.drop_nulls()
        .list.join("; ")
        if present
        else pl.lit(None, dtype=pl.Utf8)
    )
    days = column("days_since_emergency_admission", pl.Float64())
    last_admission = pl.when(days.is_not_null()).then(
        pl.col("index_date") - pl.duration(days=days.cast(pl.Int64))
    )
    return frame.select(
        "nhs_number",
        column("age", pl.Int32()).alias("age"),
        column("sex", pl.Utf8()).alias("sex"),
        (column("care_home", pl.Int8()) == 1).alias("care_home"),
        conditions.alias("long_term_conditions"),
        column("ltc_count", pl.Int32()).alias("ltc_count"),
        column("emergency_admissions_12m", pl.Int32()).alias("emergency_admissions_12m"),
        last_admission.cast(pl.Date).alias("last_emergency_admission"),
        column("ae_attendances_12m", pl.Int32()).alias("ae_attendances_12m"),
    )


def score_people(
    frame: pl.DataFrame,
    model: ScoringModel,
    month: str,
    *,
    explain: Explainer | None = None,
    tiers: TierPolicy = DEFAULT_TIERS,
) -> pl.DataFrame:
    """Scores, ranks, tiers, reasons and list details for a feature frame at one index date.

    Columns in the order of `scores.risk_scores`, sorted by area rank.
    """
    index_date = month_index_date(month)
    dates = frame.get_column("index_date").unique().to_list() if frame.height else [index_date]
    if dates != [index_date]:
        raise ValueError(f"the feature frame for {month} must be at {index_date} only, not {dates}")
    if frame.get_column("nhs_number").is_duplicated().any():
        raise ValueError(f"the feature frame for {month} has a person more than once")
    risk = np.asarray(model.predict(frame), dtype=np.float64) if frame.height else np.empty(0)
    if (
        risk.shape != (frame.height,)
        or not np.all(np.isfinite(risk))
        or np.any((risk < 0) | (risk > 1))
    ):
        raise ValueError(
            f"model {model.version} returned risks outside [0, 1] or not one per person"
        )
    scores = frame.select("nhs_number", "practice_code").with_columns(
        pl.Series("risk", risk, dtype=pl.Float64)
    )
    ranked = rank_and_tier(scores, tiers)
    reasons = _reasons(model, frame, explain)
    result = (
        ranked.join(reasons, on="nhs_number", how="left")
        .join(person_details(frame), on="nhs_number", how="left")
        .with_columns(
            pl.lit(month).alias("delivery_month"),
            pl.lit(index_date).alias("index_date"),
            pl.lit(model.version).alias("model_version"),
        )
    )
    return result.select(SCORE_COLUMNS).sort("area_rank")


SCORE_COLUMNS = (
    "delivery_month",
    "index_date",
    "nhs_number",
    "practice_code",
    "risk",
    "area_rank",
    "area_percentile",
    "practice_rank",
    "practice_percentile",
    "tier",
    "model_version",
    *REASON_COLUMNS,
    "age",
    "sex",
    "care_home",
    "long_term_conditions",
    "ltc_count",
    "emergency_admissions_12m",
    "last_emergency_admission",
    "ae_attendances_12m",
)


def write_scores(connection: duckdb.DuckDBPyConnection, month: str, scores: pl.DataFrame) -> int:
    """Replace `month`'s rows of scores.risk_scores with `scores` (one transaction); rows written."""
    ensure_scores_schema(connection)
    arrow = scores.select(SCORE_COLUMNS).to_arrow()  # noqa: F841 - read by DuckDB below
    with transaction(connection):
        connection.execute(
            f"DELETE FROM {RISK_SCORES} WHERE delivery_month = $month", {"month": month}
        )
        connection.execute(f"INSERT INTO {RISK_SCORES} SELECT * FROM arrow")
    return scores.height


def read_scores(connection: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """A month's scores, in area rank order."""
    ensure_scores_schema(connection)
    return connection.sql(
        f"SELECT * FROM {RISK_SCORES} WHERE delivery_month = $month ORDER BY area_rank",
        params={"month": month},
    ).pl()


def score_month(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    model: ScoringModel,
    *,
    explain: Explainer | None = None,
    tiers: TierPolicy = DEFAULT_TIERS,
    frame: pl.DataFrame | None = None,
) -> ScoredMonth:
    """Score every eligible person at `month`'s index date and store it in scores.risk_scores.

    `frame` overrides the feature frame (tests); by default it is read from the warehouse.
    """
    index_date = month_index_date(month)
    if frame is None:
        from models.dataset import feature_frame

        frame = feature_frame(connection, [index_date], with_labels=False)
    if frame.height == 0:
        raise ValueError(
            f"No eligible person at {index_date}: has {month}'s registrations delivery been "
            "loaded and staged?"
        )
    scores = score_people(frame, model, month, explain=explain, tiers=tiers)
    write_scores(connection, month, scores)
    write_tier_policy(
        connection,
        month,
        [*((t.name, t.cumulative_share) for t in tiers.tiers), (tiers.otherwise, None)],
        tiers.describe(),
    )
    removed = remove_opted_out(connection)
    summary = summarise_scores(read_scores(connection, month), tiers)
    log.info(
        "scored %s people at %s with model %s", f"{summary.people:,}", index_date, model.version
    )
    return dataclasses.replace(summary, removed_opt_outs=removed)


def summarise_scores(scores: pl.DataFrame, tiers: TierPolicy = DEFAULT_TIERS) -> ScoredMonth:
    """Counts and the risk distribution of one month's scores (no NHS numbers)."""
    month = str(scores.get_column("delivery_month")[0]) if scores.height else ""
    per_tier = dict.fromkeys(tiers.names, 0)
    for tier, count in scores.group_by("tier").len().iter_rows():
        per_tier[str(tier)] = int(count)
    per_practice = {
        str(code): int(count)
        for code, count in scores.group_by("practice_code").len().sort("practice_code").iter_rows()
    }
    risk = scores.get_column("risk").to_numpy() if scores.height else np.zeros(1)
    quantiles = {
        label: round(float(np.quantile(risk, q)), 4)
        for label, q in (
            ("min", 0.0),
            ("p25", 0.25),
            ("median", 0.5),
            ("p75", 0.75),
            ("p95", 0.95),
            ("p99", 0.99),
            ("max", 1.0),
        )
    }
    return ScoredMonth(
        month=month,
        index_date=scores.get_column("index_date")[0] if scores.height else datetime.date.min,
        model_version=str(scores.get_column("model_version")[0]) if scores.height else "",
        people=scores.height,
        people_per_tier=per_tier,
        people_per_practice=per_practice,
        risk_quantiles=quantiles,
        expected_admissions=round(float(scores.get_column("risk").sum()), 1)
        if scores.height
        else 0.0,
        risk_histogram=[
            int(count)
            for count in np.histogram(scores.get_column("risk").to_numpy(), bins=20, range=(0, 1))[
                0
            ]
        ],
    )


def load_current_model(models_dir: Path) -> Any:
    """The model in use, from the registry under <home>/models (models.registry)."""
    from models import registry

    return registry.load(models_dir)


def default_explainer() -> Explainer | None:
    """models.explanations.explain when it exists; None (reasons left empty) otherwise."""
    try:
        from models import explanations
    except ImportError:
        return None
    explain = getattr(explanations, "explain", None)
    return explain if callable(explain) else None


def _reasons(model: ScoringModel, frame: pl.DataFrame, explain: Explainer | None) -> pl.DataFrame:
    empty = frame.select("nhs_number").with_columns(
        [pl.lit(None, dtype=pl.Utf8).alias(c) for c in REASON_COLUMNS]
    )
    if explain is None:
        log.warning("no explainer available: the lists' reasons are empty")
        return empty
    reasons = explain(model, frame)
    if "reasons" in reasons.columns and not set(REASON_COLUMNS) <= set(reasons.columns):
        reasons = reasons.with_columns(
            pl.col("reasons").list.get(i, null_on_oob=True).alias(c)
            for i, c in enumerate(REASON_COLUMNS)
        )
    missing = [c for c in ("nhs_number", *REASON_COLUMNS) if c not in reasons.columns]
    if missing:
        raise ValueError(f"the explainer's frame lacks {missing}")
    return reasons.select(
        pl.col("nhs_number").cast(pl.Utf8), *(pl.col(c).cast(pl.Utf8) for c in REASON_COLUMNS)
    )
