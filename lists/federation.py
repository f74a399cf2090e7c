"""Each federation's monthly summary by practice, with no NHS number in it.

Written to ``outbox/<federation_code>/summary/<YYYY-MM>/``:
- ``practice_summary.csv`` and ``.html``: per practice, the registered list size, people
  scored and per tier, people on the practice list and new to it, expected emergency
  admissions in the next 12 months (the sum of risks: the expected number of people
  admitted), observed emergency admissions in the last 12 months (among the people
  scored), and the month's data-quality status;
- ``risk_tiers_pseudonymised.csv``: one row per person above the lowest tier, identified
  only by a keyed pseudonym (``pseudonyms``), for following caseloads month to month;
- ``manifest.csv``.

Counts come from the same listable population as the practice lists (registered there on
the score date, alive, no Type 1 opt-out). This module must never write an NHS number.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lists.manifest import DeliveredFile, write_manifest
from lists.paths import federation_folder, make_private_folder
from lists.practice_lists import (
    list_reference,
    listable_scores,
    previous_list_month,
    read_practices,
)
from lists.pseudonyms import pseudonymise
from lists.quality import practice_data_quality
from lists.tables import (
    PRACTICE_LISTS,
    ensure_scores_schema,
    remove_opted_out,
)
from lists.tiers import read_tier_policy
from warehouse.files import write_bytes_atomic
from warehouse.sql_files import read_sql

SUMMARY_CSV, SUMMARY_HTML = "practice_summary.csv", "practice_summary.html"
PSEUDONYMS_CSV = "risk_tiers_pseudonymised.csv"


def tier_column(tier: str) -> str:
    return "tier_" + tier.replace(" ", "_")


@dataclass
class FederationSummary:
    federation_code: str
    federation_name: str
    month: str
    index_date: datetime.date
    model_version: str
    reference: str
    tier_names: tuple[str, ...]
    tier_rule: str
    practices: list[dict[str, Any]]
    totals: dict[str, Any]
    pseudonymised: pl.DataFrame = field(repr=False)

    @property
    def columns(self) -> list[str]:
        return [
            "practice_code",
            "practice_name",
            "vanguard",
            "registered_list_size",
            "people_scored",
            *(tier_column(t) for t in self.tier_names),
            "people_listed",
            "new_to_list",
            "expected_emergency_admissions_12m",
            "observed_emergency_admissions_12m",
            "data_quality",
        ]


@dataclass(frozen=True)
class PublishedSummary:
    federation_code: str
    folder: str
    practices: int
    people_scored: int
    people_per_tier: dict[str, int]
    expected_emergency_admissions_12m: float
    observed_emergency_admissions_12m: int
    files: dict[str, int]  # name -> rows


def build_federation_summaries(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    key: bytes,
) -> list[FederationSummary]:
    ensure_scores_schema(connection)
    remove_opted_out(connection)
    tier_names, tier_rule = read_tier_policy(connection, month)
    practices = read_practices(connection)
    population = listable_scores(connection, month)
    if population.height == 0:
        raise ValueError(f"No listable scores for {month}: score the month before summarising it.")
    index_date = population.get_column("index_date")[0]
    model_version = str(population.get_column("model_version")[0])
    sizes = dict(
        connection.execute(
            read_sql("practice_list_sizes.sql", "lists"), {"month": month, "index_date": index_date}
        ).fetchall()
    )
    listed, new = _list_counts(connection, month)
    quality = practice_data_quality(connection, month, [p.code for p in practices])
    per_practice = {
        str(row["practice_code"]): row
        for row in population.group_by("practice_code")
        .agg(
            pl.len().alias("people_scored"),
            pl.col("risk").sum().alias("expected"),
            pl.col("emergency_admissions_12m").fill_null(0).sum().alias("observed"),
            *((pl.col("tier") == tier).sum().alias(tier_column(tier)) for tier in tier_names),
        )
        .iter_rows(named=True)
    }
    reference = list_reference(population)
    on_lists = _members(connection, month)
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
                    "expected_emergency_admissions_12m": round(
                        float(counts.get("expected", 0.0)), 1
                    ),
                    "observed_emergency_admissions_12m": int(counts.get("observed", 0)),
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
                "observed_emergency_admissions_12m",
            )
        }
        totals["expected_emergency_admissions_12m"] = round(
            sum(row["expected_emergency_admissions_12m"] for row in rows), 1
        )
        codes = [row["practice_code"] for row in rows]
        pseudonymised = (
            population.filter(
                pl.col("practice_code").is_in(codes) & (pl.col("tier") != tier_names[-1])
            )
            .sort("area_rank")
            .select(
                pl.col("nhs_number")
                .map_elements(lambda n: pseudonymise(n, key), return_dtype=pl.Utf8)
                .alias("pseudonym"),
                "practice_code",
                "tier",
                pl.col("risk").round(4).alias("risk_score"),
                pl.col("nhs_number").is_in(on_lists).alias("on_practice_list"),
            )
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
) -> list[PublishedSummary]:
    from lists.rendering import render_federation_html

    summaries = build_federation_summaries(connection, month, key)
    folders = {
        s.federation_code: federation_folder(outbox, s.federation_code, month) for s in summaries
    }
    published = []
    for summary in summaries:
        folder = folders[summary.federation_code]
        make_private_folder(folder, outbox)
        contents = {
            SUMMARY_CSV: (summary_csv(summary), len(summary.practices)),
            SUMMARY_HTML: (render_federation_html(summary).encode("utf-8"), len(summary.practices)),
            PSEUDONYMS_CSV: (pseudonyms_csv(summary), summary.pseudonymised.height),
        }
        for name, (content, _rows) in contents.items():
            write_bytes_atomic(folder / name, content)
        write_manifest(
            folder, [DeliveredFile(name, rows) for name, (_content, rows) in contents.items()]
        )
        published.append(
            PublishedSummary(
                federation_code=summary.federation_code,
                folder=str(folder.relative_to(outbox)),
                practices=len(summary.practices),
                people_scored=int(summary.totals["people_scored"]),
                people_per_tier={
                    t: int(summary.totals[tier_column(t)]) for t in summary.tier_names
                },
                expected_emergency_admissions_12m=float(
                    summary.totals["expected_emergency_admissions_12m"]
                ),
                observed_emergency_admissions_12m=int(
                    summary.totals["observed_emergency_admissions_12m"]
                ),
                files={name: rows for name, (_content, rows) in contents.items()},
            )
        )
    return published


def summary_csv(summary: FederationSummary) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(summary.columns)
    for row in summary.practices:
        writer.writerow(
            [
                "" if row[c] is None else (f"{row[c]:.1f}" if isinstance(row[c], float) else row[c])
                for c in summary.columns
            ]
        )
    return buffer.getvalue().encode("utf-8")


def pseudonyms_csv(summary: FederationSummary) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["pseudonym", "practice_code", "tier", "risk_score", "on_practice_list"])
    for pseudonym, practice_code, tier, risk, on_list in summary.pseudonymised.iter_rows():
        writer.writerow([pseudonym, practice_code, tier, f"{risk:.4f}", "Y" if on_list else "N"])
    return buffer.getvalue().encode("utf-8")


def _list_counts(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[dict[str, int], dict[str, int] | None]:
    """People on each practice's list this month, and how many of them were not on it the
    previous month with lists (None when this is the first month with lists)."""
    listed = {
        str(code): int(count)
        for code, count in connection.execute(
            f"SELECT practice_code, count(*) FROM {PRACTICE_LISTS} WHERE delivery_month = $m GROUP BY 1",
            {"m": month},
        ).fetchall()
    }
    previous = previous_list_month(connection, month)
    if previous is None:
        return listed, None
    new = {
        str(code): int(count)
        for code, count in connection.execute(
            f"SELECT c.practice_code, count(*) FROM {PRACTICE_LISTS} AS c "
            f"ANTI JOIN (SELECT practice_code, nhs_number FROM {PRACTICE_LISTS} "
            "WHERE delivery_month = $p) USING (practice_code, nhs_number) "
            "WHERE c.delivery_month = $m GROUP BY 1",
            {"m": month, "p": previous},
        ).fetchall()
    }
    return listed, new


def _members(connection: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    return [
        str(n)
        for (n,) in connection.execute(
            f"SELECT DISTINCT nhs_number FROM {PRACTICE_LISTS} WHERE delivery_month = $m",
            {"m": month},
        ).fetchall()
    ]
