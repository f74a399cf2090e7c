"""Risk scores for one month: every eligible person at the month's index date, ranked and tiered.

`score_month` reads the feature frame at the month's last day (`models.dataset`: only
people registered and alive then, without a Type 1 opt-out in their latest delivery), has
`models.scoring` compute each person's calibrated risk of an emergency admission in the
next 12 months and its top three reasons, ranks everyone within the area and within their
practice, tiers them (`lists.tiers`), and replaces the month's rows of
`scores.risk_scores`. The same inputs give the same rows.

Given the list policy (`score_month(..., list_policy=...)`), reasons are worded only for
the people a practice list can hold: per practice, as many of its listable people
(`sql/list_population.sql`, the lists' own rule) as its list holds (the vanguard length
for a vanguard practice, the standard length otherwise) in practice rank order, plus
`REASONS_MARGIN` more for anyone who leaves the listable population between scoring and
listing (a later opt-out or recorded death). Everyone else's reasons are NULL. Publishing
explains anyone a list holds who has no reasons yet (`explain_listed`: a longer list, a
practice that became a vanguard), so the lists are identical to ones built when everyone
is explained; computing reasons (SHAP values and their wording) costs far more than the
risks. Without a `list_policy`, everyone is explained.

This module must never log an NHS number, and never imports dagster.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from lists.inputs import listable_scores, read_practices
from lists.practice_lists import ListPolicy
from lists.tables import RISK_SCORES, delete_opted_out_scores, ensure_scores_schema
from lists.tiers import DEFAULT_TIERS, TierPolicy, rank_and_tier, write_tier_policy
from models.dataset import feature_frame
from models.feature_catalogue import CONDITIONS
from models.scoring import REASON_COLUMNS, Explainer, ScoringModel, reasons, risks
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
# What `summarise_scores` reads: not the reasons and list details (0.06 s against 0.18 s at
# 964,252 people: benchmarks/list_pieces.py).
SUMMARY_COLUMNS = ("delivery_month", "index_date", "practice_code", "risk", "tier", "model_version")
# People explained beyond the longest list of each practice: anyone who leaves the listable
# population after scoring (an opt-out or a death delivered later) moves the people below
# them up a list; up to this many a practice, their reasons are already there.
REASONS_MARGIN = 25


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

    Columns in the order of `scores.risk_scores`, sorted by area rank. With `explain`, every
    person of `frame` gets reasons; `score_month` explains only those a list can hold.
    """
    ranked = rank_people(frame, model, month, tiers)
    return with_reasons(ranked, reasons(model, frame, explain))


def rank_people(
    frame: pl.DataFrame, model: ScoringModel, month: str, tiers: TierPolicy = DEFAULT_TIERS
) -> pl.DataFrame:
    """Scores, ranks, tiers and list details for a feature frame at one index date; no reasons (NULL).

    Columns in the order of `scores.risk_scores`, sorted by area rank.
    """
    index_date = month_index_date(month)
    dates = frame.get_column("index_date").unique().to_list() if frame.height else [index_date]
    if dates != [index_date]:
        raise ValueError(f"the feature frame for {month} must be at {index_date} only, not {dates}")
    if frame.get_column("nhs_number").is_duplicated().any():
        raise ValueError(f"the feature frame for {month} has a person more than once")
    ranked = rank_and_tier(risks(frame, model), tiers)
    result = ranked.join(person_details(frame), on="nhs_number", how="left").with_columns(
        pl.lit(month).alias("delivery_month"),
        pl.lit(index_date).alias("index_date"),
        pl.lit(model.version).alias("model_version"),
        *(pl.lit(None, dtype=pl.Utf8).alias(column) for column in REASON_COLUMNS),
    )
    return result.select(SCORE_COLUMNS).sort("area_rank")


def with_reasons(scores: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """`scores` with reason_1..reason_3 from `found` (nhs_number, reasons); NULL for anyone else."""
    return (
        scores.drop(REASON_COLUMNS)
        .join(found.select("nhs_number", *REASON_COLUMNS), on="nhs_number", how="left")
        .select(SCORE_COLUMNS)
        .sort("area_rank")
    )


def people_to_explain(
    listable: pl.DataFrame,
    list_policy: ListPolicy,
    margin: int = REASONS_MARGIN,
    vanguards: frozenset[str] | None = None,
) -> list[str]:
    """NHS numbers a practice list built with `list_policy` can hold, from the listable scores.

    Per practice: the first (its list's length for its listable population + `margin`)
    people in practice rank order (ties by NHS number, as the lists break them). With
    `vanguards` (the practice codes that are vanguards), each practice gets its own list's
    length; without, every practice the longer of the standard and vanguard lengths. A
    practice that becomes a vanguard after scoring is explained in full when its list is
    published (`explain_listed`).
    """
    chosen: list[str] = []
    ordered = listable.select("practice_code", "practice_rank", "nhs_number").sort(
        "practice_code", "practice_rank", "nhs_number"
    )
    for (practice,), people in ordered.group_by("practice_code", maintain_order=True):
        if vanguards is None:
            longest = max(
                list_policy.standard.people(people.height),
                list_policy.vanguard.people(people.height),
            )
        else:
            longest = list_policy.for_practice(practice in vanguards).people(people.height)
        chosen.extend(people.get_column("nhs_number").head(longest + margin).to_list())
    return chosen


def person_details(frame: pl.DataFrame) -> pl.DataFrame:
    """What a list shows beside the score, from the feature frame (missing features are null)."""

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)

    present = [(name, wording) for name, wording in CONDITIONS if name in frame.columns]
    # The conditions a person has, in catalogue order, joined by "; " ("" for none): one
    # concat_str skipping the nulls, 0.09 s against 1.92 s as a list column dropped of its
    # nulls and joined, at 964,252 people (the same strings; benchmarks/list_pieces.py).
    conditions = (
        pl.concat_str(
            [pl.when(pl.col(name) == 1).then(pl.lit(wording)) for name, wording in present],
            separator="; ",
            ignore_nulls=True,
        )
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
    with transaction(connection):
        replace_scores(connection, month, scores)
    return scores.height


def replace_scores(connection: duckdb.DuckDBPyConnection, month: str, scores: pl.DataFrame) -> None:
    """Delete `month`'s rows of scores.risk_scores and insert `scores` (within the caller's transaction)."""
    arrow = scores.select(SCORE_COLUMNS).to_arrow()  # noqa: F841 - read by DuckDB below
    connection.execute(f"DELETE FROM {RISK_SCORES} WHERE delivery_month = $month", {"month": month})
    connection.execute(f"INSERT INTO {RISK_SCORES} SELECT * FROM arrow")


def write_reasons(connection: duckdb.DuckDBPyConnection, month: str, found: pl.DataFrame) -> None:
    """Set reason_1..reason_3 of `month`'s rows for the people of `found` (caller's transaction)."""
    arrow = found.select("nhs_number", *REASON_COLUMNS).to_arrow()  # noqa: F841 - read below
    connection.execute(
        f"UPDATE {RISK_SCORES} AS s "
        "SET reason_1 = r.reason_1, reason_2 = r.reason_2, reason_3 = r.reason_3 "
        "FROM arrow AS r WHERE s.delivery_month = $month AND s.nhs_number = r.nhs_number",
        {"month": month},
    )


def read_scores(
    connection: duckdb.DuckDBPyConnection, month: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """A month's scores (only `columns` of `SCORE_COLUMNS`, if given), in area rank order."""
    if columns is not None and not set(columns) <= set(SCORE_COLUMNS):
        raise ValueError(
            f"not columns of {RISK_SCORES}: {sorted(set(columns) - set(SCORE_COLUMNS))}"
        )
    ensure_scores_schema(connection)
    return connection.sql(
        f"SELECT {', '.join(columns or ['*'])} FROM {RISK_SCORES} WHERE delivery_month = $month "
        "ORDER BY area_rank",
        params={"month": month},
    ).pl()


def people_lists_can_hold(
    connection: duckdb.DuckDBPyConnection, month: str, list_policy: ListPolicy, margin: int
) -> list[str]:
    """`people_to_explain` over `month`'s listable scores, each practice at its own list's
    length (scoring and publishing ask the same question, so publishing adds no one)."""
    vanguards = frozenset(p.code for p in read_practices(connection) if p.vanguard)
    listable = listable_scores(connection, month, ("practice_code", "practice_rank", "nhs_number"))
    return people_to_explain(listable, list_policy, margin, vanguards)


def score_month(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    model: ScoringModel,
    *,
    explain: Explainer | None = None,
    tiers: TierPolicy = DEFAULT_TIERS,
    list_policy: ListPolicy | None = None,
    frame: pl.DataFrame | None = None,
) -> ScoredMonth:
    """Score every eligible person at `month`'s index date and store it in scores.risk_scores.

    With `list_policy`, reasons only for the people a list built with that policy (or a
    shorter one) can hold (`people_to_explain`); without it, for everyone. The caller must
    pass the policy the lists will be published with: a longer list would show empty reasons.
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
    if explain is None or list_policy is None:
        write_scores(
            connection, month, score_people(frame, model, month, explain=explain, tiers=tiers)
        )
    else:
        ensure_scores_schema(connection)
        with transaction(connection):
            # Who can be listed is the lists' own SQL over the month's scores, so the scores
            # are written first and the reasons set in the same transaction.
            replace_scores(connection, month, rank_people(frame, model, month, tiers))
            whom = people_lists_can_hold(connection, month, list_policy, REASONS_MARGIN)
            chosen = frame.filter(pl.col("nhs_number").is_in(whom))
            write_reasons(connection, month, reasons(model, chosen, explain))
    write_tier_policy(connection, month, tiers)
    removed = delete_opted_out_scores(connection)
    summary = summarise_scores(read_scores(connection, month, SUMMARY_COLUMNS), tiers)
    log.info(
        "scored %s people at %s with model %s", f"{summary.people:,}", index_date, model.version
    )
    return dataclasses.replace(summary, removed_opt_outs=removed)


def explain_listed(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    list_policy: ListPolicy,
    model: Callable[[], ScoringModel],
    explain: Explainer,
) -> int:
    """Word reasons for everyone a list built with `list_policy` can hold who has none yet.

    Scoring explains the people the default lists can hold; lists configured longer than
    that find the rest unexplained, and this explains them from the month's feature frame
    (`model` is called only then). Returns how many people it explained.
    """
    whom = people_lists_can_hold(connection, month, list_policy, margin=0)
    missing = [
        str(number)
        for (number,) in connection.execute(
            f"SELECT nhs_number FROM {RISK_SCORES} WHERE delivery_month = $month "
            "AND reason_1 IS NULL AND list_contains($whom, nhs_number) ORDER BY nhs_number",
            {"month": month, "whom": whom},
        ).fetchall()
    ]
    if not missing:
        return 0
    frame = feature_frame(connection, [month_index_date(month)], with_labels=False)
    chosen = frame.filter(pl.col("nhs_number").is_in(missing))
    with transaction(connection):
        write_reasons(connection, month, reasons(model(), chosen, explain))
    return len(missing)


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
