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

import csv
import datetime
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lists.manifest import DeliveredFile, write_manifest
from lists.paths import (
    check_federation_code,
    check_practice_code,
    make_private_folder,
    practice_folder,
)
from lists.quality import practice_data_quality
from lists.rendering import render_practice_html, render_practice_workbook
from lists.tables import (
    PRACTICE_LISTS,
    RISK_SCORES,
    ensure_scores_schema,
    fetch_one,
    remove_opted_out,
)
from lists.tiers import read_tier_policy
from warehouse.connection import transaction
from warehouse.files import write_bytes_atomic, write_json_atomic
from warehouse.sql_files import read_sql

CSV_FILE, XLSX_FILE, HTML_FILE = "risk_list.csv", "risk_list.xlsx", "risk_list.html"
CSV_COLUMNS = (
    "nhs_number",
    "rank",
    "risk_score",
    "tier",
    "new_to_list",
    "tier_last_month",
    "change",
    "age",
    "sex",
    "reason_1",
    "reason_2",
    "reason_3",
    "long_term_conditions",
    "ltc_count",
    "last_emergency_admission",
    "emergency_admissions_12m",
    "ae_attendances_12m",
    "care_home",
)


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


@dataclass(frozen=True)
class Practice:
    code: str
    name: str
    federation_code: str
    federation_name: str
    vanguard: bool


@dataclass
class PracticeList:
    """One practice's list for a month. Holds NHS numbers: goes to the practice's folder only."""

    practice: Practice
    month: str
    index_date: datetime.date
    model_version: str
    reference: str  # list fingerprint: the same scores give the same reference
    population: int  # the practice's scored, listable patients
    length_rule: str
    tier_names: tuple[str, ...]
    tier_rule: str
    rows: list[dict[str, Any]]
    population_per_tier: dict[str, int]
    listed_per_tier: dict[str, int]
    new_to_list: int
    changed_tier: int
    first_list: bool
    data_quality: str


@dataclass(frozen=True)
class PublishedList:
    """What was written for one practice: counts and paths, no NHS numbers."""

    practice_code: str
    federation_code: str
    folder: str
    population: int
    listed: int
    listed_per_tier: dict[str, int]
    new_to_list: int
    changed_tier: int
    data_quality: str
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


@dataclass(frozen=True)
class PublishedLists:
    month: str
    model_version: str
    reference: str
    lists: list[PublishedList]
    dropped_scores: (
        int  # scored people not listable (not registered at that practice, deceased, opted out)
    )

    def report(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "model_version": self.model_version,
            "list_reference": self.reference,
            "dropped_scores": self.dropped_scores,
            "practices": [
                {
                    "practice_code": p.practice_code,
                    "federation_code": p.federation_code,
                    "folder": p.folder,
                    "population": p.population,
                    "listed": p.listed,
                    "listed_per_tier": p.listed_per_tier,
                    "new_to_list": p.new_to_list,
                    "changed_tier": p.changed_tier,
                    "data_quality": p.data_quality,
                    "files": p.files,
                }
                for p in self.lists
            ],
        }


def read_practices(connection: duckdb.DuckDBPyConnection) -> list[Practice]:
    """Every practice of the reference, codes checked before any becomes a path."""
    rows = connection.execute(
        "SELECT practice_code, practice_name, federation_code, federation_name, coalesce(vanguard, FALSE) "
        "FROM staged.practices WHERE practice_code IS NOT NULL ORDER BY federation_code, practice_code"
    ).fetchall()
    practices = []
    for code, name, federation_code, federation_name, vanguard in rows:
        practices.append(
            Practice(
                code=check_practice_code(code),
                name=str(name or code),
                federation_code=check_federation_code(federation_code),
                federation_name=str(federation_name or federation_code),
                vanguard=bool(vanguard),
            )
        )
    return practices


def listable_scores(connection: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """The month's scores of people who may appear on their practice's list (see the SQL)."""
    return connection.sql(read_sql("list_population.sql", "lists"), params={"month": month}).pl()


def list_reference(scores: pl.DataFrame) -> str:
    """A fingerprint of the scores the lists are made from: names the list run reproducibly."""
    digest = hashlib.sha256()
    for row in scores.select(
        "delivery_month", "nhs_number", "practice_code", "risk", "tier", "model_version"
    ).iter_rows():
        digest.update(repr(row).encode() + b"\n")
    return "L" + digest.hexdigest()[:12]


def build_practice_lists(
    connection: duckdb.DuckDBPyConnection,
    month: str,
    policy: ListPolicy = ListPolicy(),
) -> tuple[list[PracticeList], int]:
    """Every practice's list for `month` and the number of scores dropped as not listable."""
    ensure_scores_schema(connection)
    remove_opted_out(connection)
    tier_names, tier_rule = read_tier_policy(connection, month)
    practices = read_practices(connection)
    scored_row = fetch_one(
        connection,
        f"SELECT count(*), min(index_date), min(model_version) FROM {RISK_SCORES} WHERE delivery_month = $m",
        {"m": month},
    )
    scored, index_date, model_version = scored_row if scored_row else (0, None, None)
    if not scored:
        raise ValueError(
            f"No scores for {month}: score the month (risk_scores) before making its lists."
        )
    population = listable_scores(connection, month)
    reference = list_reference(population)
    quality = practice_data_quality(connection, month, [p.code for p in practices])
    previous_month, previous_members, previous_tiers = _previous(connection, month)
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
        lists.append(
            PracticeList(
                practice=practice,
                month=month,
                index_date=index_date,
                model_version=str(model_version),
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
            )
        )
    return lists, int(scored) - population.height


def publish_practice_lists(
    connection: duckdb.DuckDBPyConnection,
    outbox: Path,
    month: str,
    policy: ListPolicy = ListPolicy(),
    reports: Path | None = None,
) -> PublishedLists:
    """Write every practice's delivery for `month` and record who is on each list.

    All codes are checked before the first file is written. With `reports`, also writes
    reports/lists/<month>.json (counts and digests, no NHS numbers).
    """
    lists, dropped = build_practice_lists(connection, month, policy)
    folders = {
        pl_.practice.code: practice_folder(
            outbox, pl_.practice.federation_code, pl_.practice.code, month
        )
        for pl_ in lists
    }
    published = [
        write_practice_delivery(outbox, folders[item.practice.code], item) for item in lists
    ]
    record_list_members(connection, month, lists)
    model_version = lists[0].model_version if lists else ""
    reference = lists[0].reference if lists else ""
    result = PublishedLists(month, model_version, reference, published, dropped)
    if reports is not None:
        write_json_atomic(reports / "lists" / f"{month}.json", result.report())
    return result


def write_practice_delivery(outbox: Path, folder: Path, item: PracticeList) -> PublishedList:
    """risk_list.csv, .xlsx, .html, then manifest.csv, each atomically with mode 0600."""
    make_private_folder(folder, outbox)
    contents = {
        CSV_FILE: practice_csv(item).encode("utf-8"),
        XLSX_FILE: render_practice_workbook(item, CSV_COLUMNS),
        HTML_FILE: render_practice_html(item).encode("utf-8"),
    }
    for name, content in contents.items():
        write_bytes_atomic(folder / name, content)
    write_manifest(folder, [DeliveredFile(name, len(item.rows)) for name in contents])
    return PublishedList(
        practice_code=item.practice.code,
        federation_code=item.practice.federation_code,
        folder=str(folder.relative_to(outbox)),
        population=item.population,
        listed=len(item.rows),
        listed_per_tier=item.listed_per_tier,
        new_to_list=item.new_to_list,
        changed_tier=item.changed_tier,
        data_quality=item.data_quality,
        files={name: hashlib.sha256(content).hexdigest() for name, content in contents.items()},
    )


def practice_csv(item: PracticeList) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in item.rows:
        writer.writerow([_csv_value(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


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


def previous_list_month(connection: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """The latest month before `month` for which lists were written, if any."""
    row = fetch_one(
        connection,
        f"SELECT max(delivery_month) FROM {PRACTICE_LISTS} WHERE delivery_month < $m",
        {"m": month},
    )
    return str(row[0]) if row and row[0] is not None else None


def _previous(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[str | None, dict[str, set[str]], dict[str, str]]:
    """The latest earlier month with lists: its members per practice and everyone's tier then."""
    previous = previous_list_month(connection, month)
    if previous is None:
        return None, {}, {}
    members: dict[str, set[str]] = {}
    for practice_code, nhs_number in connection.execute(
        f"SELECT practice_code, nhs_number FROM {PRACTICE_LISTS} WHERE delivery_month = $m",
        {"m": previous},
    ).fetchall():
        members.setdefault(str(practice_code), set()).add(str(nhs_number))
    tiers = {
        str(nhs_number): str(tier)
        for nhs_number, tier in connection.execute(
            f"SELECT nhs_number, tier FROM {RISK_SCORES} WHERE delivery_month = $m", {"m": previous}
        ).fetchall()
    }
    return previous, members, tiers


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


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _count_tiers(tiers: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for tier in tiers:
        counts[tier] = counts.get(tier, 0) + 1
    return counts
