"""Each practice's ranked list for a month: risk_list.csv, .xlsx, .html and manifest.csv.

Written to ``outbox/<federation_code>/<practice_code>/<YYYY-MM>/``. A practice's files hold
only its own patients: people scored at the practice who were registered there on the
score date, with no death recorded and no Type 1 opt-out (``sql/list_population.sql``),
whatever the scores table holds. The list is the practice's top N or top percent
(``ListPolicy``); vanguard practices, whose community physician reviews the list, get the
longer one. Every practice in the reference gets a delivery, an empty list included, so a
missing folder always means something went wrong.

The same scores give byte-identical files: rows are ordered by rank (ties by NHS number),
nothing records when or where the files were made, and the workbook's dates are fixed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lists.documents import PracticeList, PublishedLists
from lists.inputs import (
    describe_model,
    list_reference,
    listable_scores,
    made_from,
    previous_lists,
    read_practices,
    scored_people,
)
from lists.outbox import render_practice_files, write_practice_delivery
from lists.paths import practice_folder
from lists.quality import practice_data_quality
from lists.tables import PRACTICE_LISTS, delete_opted_out_scores, ensure_scores_schema
from lists.tiers import read_tier_policy
from models.training import model_validation
from warehouse.connection import transaction
from warehouse.files import write_json_atomic


@dataclass(frozen=True)
class ListLength:
    """How many of a practice's scored patients its list holds: top N, or top percent (rounded up)."""

    top_n: int | None = None
    top_percent: float | None = None

    def __post_init__(self) -> None:
        if (self.top_n is None) == (self.top_percent is None):
            raise ValueError("give exactly one of top_n and top_percent")
        if self.top_n is not None and self.top_n < 0:
            raise ValueError("top_n must not be negative")
        if self.top_percent is not None and not 0 <= self.top_percent <= 100:
            raise ValueError("top_percent must be within 0-100")

    def people(self, population: int) -> int:
        if self.top_n is not None:
            return min(self.top_n, population)
        assert self.top_percent is not None
        return min(population, math.ceil(round(self.top_percent * population / 100, 9)))

    def describe(self) -> str:
        return f"top {self.top_n}" if self.top_n is not None else f"top {self.top_percent:g}%"


@dataclass(frozen=True)
class ListPolicy:
    standard: ListLength = ListLength(top_percent=2.0)
    vanguard: ListLength = ListLength(top_percent=5.0)

    def for_practice(self, vanguard: bool) -> ListLength:
        return self.vanguard if vanguard else self.standard


def build_practice_lists(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    policy: ListPolicy = ListPolicy(),
    models_dir: Path | None = None,
) -> tuple[list[PracticeList], int]:
    """Every practice's list for `month` and the number of scores dropped as not listable.

    Reads only; `publish_practice_lists` first deletes the rows of anyone since opted out.
    `models_dir` (the registry) lets the lists name the model by its dates, not its id.
    """
    ensure_scores_schema(connection)
    tier_names, tier_rule = read_tier_policy(connection, month)
    practices = read_practices(connection)
    scored, index_date, model_version = scored_people(connection, month)
    validation = model_validation(connection)
    if not scored:
        raise ValueError(
            f"No scores for {month}: score the month (risk_scores) before making its lists."
        )
    assert index_date is not None  # risk_scores.index_date is NOT NULL
    model_label = describe_model(models_dir, str(model_version))
    population = listable_scores(connection, month)
    reference = list_reference(population)
    quality = practice_data_quality(connection, month, [p.code for p in practices])
    previous_month, previous_members, previous_tiers = previous_lists(connection, month)
    lists = []
    for practice in practices:
        patients = population.filter(pl.col("practice_code") == practice.code).sort(
            ["practice_rank", "nhs_number"]
        )
        length = policy.for_practice(practice.vanguard)
        chosen = patients.head(length.people(patients.height))
        earlier = previous_members.get(practice.code, set()) if previous_month else None
        rows = []
        for rank, person in enumerate(chosen.iter_rows(named=True), start=1):
            rows.append(_list_row(rank, person, earlier, previous_tiers, tier_names))
        changes = [r["change"] for r in rows if r["new_to_list"] == "N"]
        lists.append(
            PracticeList(
                practice=practice,
                month=month,
                index_date=index_date,
                model_version=str(model_version),
                model_label=model_label,
                validation=validation,
                reference=reference,
                population=patients.height,
                length_rule=f"{length.describe()} of the practice's scored patients"
                + (
                    " (vanguard practice: the community physician's list)"
                    if practice.vanguard
                    else ""
                ),
                tier_names=tuple(tier_names),
                tier_rule=tier_rule,
                rows=rows,
                population_per_tier=_count_tiers(patients.get_column("tier").to_list(), tier_names),
                listed_per_tier=_count_tiers([r["tier"] for r in rows], tier_names),
                new_to_list=sum(r["new_to_list"] == "Y" for r in rows),
                changed_tier=sum(r["change"].startswith(("up", "down")) for r in rows),
                first_list=earlier is None,
                data_quality=quality.get(practice.code, "unknown"),
                moved_up=sum(c.startswith("up") for c in changes),
                moved_down=sum(c.startswith("down") for c in changes),
                still_listed=sum(c == "" for c in changes),
                left_list=len((earlier or set()) - {r["nhs_number"] for r in rows}),
            )
        )
    return lists, scored - population.height


def publish_practice_lists(
    connection: duckdb.DuckDBPyConnection,
    outbox: Path,
    month: str,
    policy: ListPolicy = ListPolicy(),
    list_reports: Path | None = None,
    models_dir: Path | None = None,
) -> PublishedLists:
    """Write every practice's delivery for `month` and record who is on each list.

    First deletes every score and list row of anyone who has since opted out. All codes
    are checked before the first file is written. With `list_reports` (``Home.list_reports``),
    also writes <list_reports>/<month>.json (counts and digests, no NHS numbers). With
    `models_dir` (``Home.models``), the lists name the model by its dates.
    """
    delete_opted_out_scores(connection)
    lists, dropped = build_practice_lists(connection, month, policy, models_dir)
    folders = {
        item.practice.code: practice_folder(
            outbox, item.practice.federation_code, item.practice.code, month
        )
        for item in lists
    }
    model_version = lists[0].model_version if lists else ""
    reference = lists[0].reference if lists else ""
    inputs = made_from(connection, month, model_version)
    published = [
        write_practice_delivery(outbox, folders[item.practice.code], item, inputs, contents)
        for item, contents in zip(lists, render_practice_files(lists), strict=True)
    ]
    record_list_members(connection, month, lists)
    result = PublishedLists(month, model_version, reference, published, dropped)
    if list_reports is not None:
        write_json_atomic(list_reports / f"{month}.json", result.report())
    return result


def record_list_members(
    connection: duckdb.DuckDBPyConnection, month: str, lists: Sequence[PracticeList]
) -> None:
    """Replace `month`'s rows of scores.practice_lists: next month's 'new' and 'changed' read them."""
    members = pl.DataFrame(
        [
            {
                "delivery_month": month,
                "practice_code": item.practice.code,
                "nhs_number": row["nhs_number"],
                "list_rank": row["rank"],
                "tier": row["tier"],
            }
            for item in lists
            for row in item.rows
        ],
        schema={
            "delivery_month": pl.Utf8,
            "practice_code": pl.Utf8,
            "nhs_number": pl.Utf8,
            "list_rank": pl.Int32,
            "tier": pl.Utf8,
        },
    )
    arrow = members.to_arrow()  # noqa: F841 - read by DuckDB below
    with transaction(connection):
        connection.execute(f"DELETE FROM {PRACTICE_LISTS} WHERE delivery_month = $m", {"m": month})
        connection.execute(f"INSERT INTO {PRACTICE_LISTS} SELECT * FROM arrow")


def _list_row(
    rank: int,
    person: dict[str, Any],
    earlier: set[str] | None,
    previous_tiers: dict[str, str],
    tier_names: Sequence[str],
) -> dict[str, Any]:
    nhs_number = str(person["nhs_number"])
    tier = str(person["tier"])
    before = previous_tiers.get(nhs_number)
    new = earlier is None or nhs_number not in earlier
    if new:
        change = "new"
    elif before is None or before == tier:
        change = ""
    else:
        order = {name: i for i, name in enumerate(tier_names)}
        direction = "up" if order.get(tier, 99) < order.get(before, 99) else "down"
        change = f"{direction} from {before}"
    return {
        "nhs_number": nhs_number,
        "rank": rank,
        "risk_score": float(person["risk"]),
        "tier": tier,
        "new_to_list": "Y" if new else "N",
        "tier_last_month": before or "",
        "change": change,
        "age": person["age"],
        "sex": person["sex"] or "",
        "reason_1": person["reason_1"] or "",
        "reason_2": person["reason_2"] or "",
        "reason_3": person["reason_3"] or "",
        "long_term_conditions": person["long_term_conditions"] or "",
        "ltc_count": person["ltc_count"],
        "last_emergency_admission": person["last_emergency_admission"],
        "emergency_admissions_12m": person["emergency_admissions_12m"],
        "ae_attendances_12m": person["ae_attendances_12m"],
        "care_home": "Y" if person["care_home"] else "N",
        "area_percentile": person["area_percentile"],
    }


def _count_tiers(tiers: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for tier in tiers:
        counts[tier] = counts.get(tier, 0) + 1
    return counts
