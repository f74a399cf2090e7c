"""Each federation's monthly summary by practice, with no NHS number in it.

Written to ``outbox/<federation_code>/summary/<YYYY-MM>/``:
- ``practice_summary.csv`` and ``.html``: per practice, the registered list size, people
  scored and per tier, people on the practice list and new to it, the people expected to
  have at least one emergency admission in the next 12 months (the sum of their risks)
  beside the people who had at least one in the last 12 months (a count of people, not of
  admissions, so the two compare like with like), and the month's data-quality status;
- ``risk_tiers_pseudonymised.csv``: one row per person above the lowest tier, identified
  only by a keyed pseudonym (``pseudonyms``), for following caseloads month to month;
- ``manifest.csv``.

Counts come from the same listable population as the practice lists (registered there on
the score date, alive, no Type 1 opt-out). This module must never write an NHS number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lists.documents import FederationSummary, PublishedSummary, tier_column
from lists.inputs import (
    describe_model,
    list_counts,
    list_members,
    list_reference,
    listable_scores,
    made_from,
    read_practices,
    registered_list_sizes,
)
from lists.outbox import write_federation_delivery
from lists.paths import federation_folder
from lists.pseudonyms import pseudonymise_many
from lists.quality import practice_data_quality
from lists.tables import delete_opted_out_scores, ensure_scores_schema
from lists.tiers import read_tier_policy

FEDERATION_COLUMNS = (
    "delivery_month",
    "index_date",
    "model_version",
    "nhs_number",
    "practice_code",
    "area_rank",
    "risk",
    "tier",
    "emergency_admissions_12m",
)
"""The scores a federation summary reads (the list details and reasons stay unread)."""


def build_federation_summaries(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    key: bytes,
    models_dir: Path | None = None,
) -> list[FederationSummary]:
    """Every federation's summary of `month`. Reads only; see `publish_federation_summaries`.

    `models_dir` (the registry) lets the summary name the model by its dates, not its id.
    """
    ensure_scores_schema(connection)
    tier_names, tier_rule = read_tier_policy(connection, month)
    practices = read_practices(connection)
    population = listable_scores(connection, month, FEDERATION_COLUMNS)
    if population.height == 0:
        raise ValueError(f"No listable scores for {month}: score the month before summarising it.")
    index_date = population.get_column("index_date")[0]
    model_version = str(population.get_column("model_version")[0])
    model_label = describe_model(models_dir, model_version)
    sizes = registered_list_sizes(connection, month, index_date)
    listed, new = list_counts(connection, month)
    quality = practice_data_quality(connection, month, [p.code for p in practices])
    per_practice = {
        str(row["practice_code"]): row
        for row in population.group_by("practice_code")
        .agg(
            pl.len().alias("people_scored"),
            pl.col("risk").sum().alias("expected"),
            (pl.col("emergency_admissions_12m").fill_null(0) > 0).sum().alias("observed"),
            *((pl.col("tier") == tier).sum().alias(tier_column(tier)) for tier in tier_names),
        )
        .iter_rows(named=True)
    }
    reference = list_reference(population)
    on_lists = list_members(connection, month)
    summaries = []
    federations = sorted({(p.federation_code, p.federation_name) for p in practices})
    for federation_code, federation_name in federations:
        rows: list[dict[str, Any]] = []
        for practice in (p for p in practices if p.federation_code == federation_code):
            counts = per_practice.get(practice.code, {})
            rows.append(
                {
                    "practice_code": practice.code,
                    "practice_name": practice.name,
                    "vanguard": "Y" if practice.vanguard else "N",
                    "registered_list_size": int(sizes.get(practice.code, 0)),
                    "people_scored": int(counts.get("people_scored", 0)),
                    **{tier_column(t): int(counts.get(tier_column(t), 0)) for t in tier_names},
                    "people_listed": listed.get(practice.code, 0),
                    "new_to_list": None if new is None else new.get(practice.code, 0),
                    "expected_people_admitted_next_12m": round(
                        float(counts.get("expected", 0.0)), 1
                    ),
                    "observed_people_admitted_last_12m": int(counts.get("observed", 0)),
                    "data_quality": quality.get(practice.code, "unknown"),
                }
            )
        totals: dict[str, Any] = {
            column: sum(row[column] or 0 for row in rows)
            for column in (
                "registered_list_size",
                "people_scored",
                *(tier_column(t) for t in tier_names),
                "people_listed",
                "observed_people_admitted_last_12m",
            )
        }
        totals["expected_people_admitted_next_12m"] = round(
            sum(row["expected_people_admitted_next_12m"] for row in rows), 1
        )
        codes = [row["practice_code"] for row in rows]
        above_lowest = population.filter(
            pl.col("practice_code").is_in(codes) & (pl.col("tier") != tier_names[-1])
        ).sort("area_rank")
        pseudonymised = above_lowest.select(
            pl.Series(
                "pseudonym",
                pseudonymise_many(above_lowest.get_column("nhs_number").to_list(), key),
                dtype=pl.Utf8,
            ),
            "practice_code",
            "tier",
            pl.col("risk").round(4).alias("risk_score"),
            pl.col("nhs_number").is_in(on_lists).alias("on_practice_list"),
        )
        summaries.append(
            FederationSummary(
                federation_code=federation_code,
                federation_name=federation_name,
                month=month,
                index_date=index_date,
                model_version=model_version,
                reference=reference,
                tier_names=tuple(tier_names),
                tier_rule=tier_rule,
                practices=rows,
                model_label=model_label,
                totals=totals,
                pseudonymised=pseudonymised,
            )
        )
    return summaries


def publish_federation_summaries(
    connection: duckdb.DuckDBPyConnection,
    outbox: Path,
    month: str,
    key: bytes,
    models_dir: Path | None = None,
) -> list[PublishedSummary]:
    """Write every federation's summary folder for `month`.

    First deletes every score and list row of anyone who has since opted out. All codes
    are checked before the first file is written.
    """
    delete_opted_out_scores(connection)
    summaries = build_federation_summaries(connection, month, key, models_dir)
    folders = {
        s.federation_code: federation_folder(outbox, s.federation_code, month) for s in summaries
    }
    return [
        write_federation_delivery(
            outbox,
            folders[summary.federation_code],
            summary,
            made_from(connection, month, summary.model_version),
        )
        for summary in summaries
    ]
