"""Risk scores for one month: every eligible person at the month's index date, ranked and tiered.

`score_month` reads the feature frame at the month's last day (`models.dataset`: only
people registered and alive then, without a Type 1 opt-out in their latest delivery), has
`models.scoring` compute each person's calibrated risk of an emergency admission in the
next 12 months and its top three reasons, ranks everyone within the area and within their
practice, tiers them (`lists.tiers`), and replaces the month's rows of
`scores.risk_scores`. The same inputs give the same rows.

This module must never log an NHS number, and never imports dagster.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from lists.tables import RISK_SCORES, delete_opted_out_scores, ensure_scores_schema
from lists.tiers import DEFAULT_TIERS, TierPolicy, rank_and_tier, write_tier_policy
from models.dataset import feature_frame
from models.feature_catalogue import CONDITIONS
from models.scoring import REASON_COLUMNS, Explainer, ScoringModel, score_frame
from warehouse.connection import transaction
from warehouse.months import index_date as month_index_date

log = logging.getLogger(__name__)

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
    ranked = rank_and_tier(score_frame(frame, model, explain), tiers)
    result = ranked.join(person_details(frame), on="nhs_number", how="left").with_columns(
        pl.lit(month).alias("delivery_month"),
        pl.lit(index_date).alias("index_date"),
        pl.lit(model.version).alias("model_version"),
    )
    return result.select(SCORE_COLUMNS).sort("area_rank")


def person_details(frame: pl.DataFrame) -> pl.DataFrame:
    """What a list shows beside the score, from the feature frame (missing features are null)."""

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
    Then deletes every score and list row of anyone who has since opted out.
    """
    index_date = month_index_date(month)
    if frame is None:
        frame = feature_frame(connection, [index_date], with_labels=False)
    if frame.height == 0:
        raise ValueError(
            f"No eligible person at {index_date}: has {month}'s registrations delivery been "
            "loaded and staged?"
        )
    scores = score_people(frame, model, month, explain=explain, tiers=tiers)
    write_scores(connection, month, scores)
    write_tier_policy(connection, month, tiers)
    removed = delete_opted_out_scores(connection)
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
