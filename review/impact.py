"""Impact tracking: what happened next to the people on the lists, beside similar people.

For everyone listed in an earlier month, and for a comparison group of the same size per
practice taken from just below the list's cut-off (people of similar predicted risk who
were not listed), the share with an emergency admission, an A&E attendance or a death in
the 3, 6 and 12 months after the score date, once the loaded data covers that window.
By federation, vanguard practices against the others, and by practice; by tier, and, for
listed people, by the review decision in force for that month.

This is observational. The comparison group had lower predicted risk by construction
(it sits just below the cut-off) and was not chosen at random, so a difference between
the groups is not the effect of being listed or reviewed; the report says so in every
file. Every count is suppressed as ``review.disclosure`` says (7 or fewer hidden, others
rounded to 5), and rates and their Wilson 95% intervals are computed from the rounded
counts, so no suppressed count can be recovered from a rate. Writes
``reports/impact/impact.csv`` and ``impact.json``; no NHS number, no row id.
"""

from __future__ import annotations

import datetime
import json
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from lists.inputs import read_practices
from lists.tables import fetch_one, table_exists
from review.disclosure import suppressed
from review.published import row_id, row_key
from review.store import store_path
from warehouse.csv_safety import csv_text
from warehouse.features import EMERGENCY_ADMISSION_METHODS
from warehouse.files import write_bytes_atomic, write_json_atomic
from warehouse.home import Home
from warehouse.opt_outs import opt_out_query
from warehouse.sql_files import read_sql

OUTCOMES = ("emergency_admission", "ae_attendance", "death")
NO_DECISION = "no decision recorded"
LISTED, BELOW = "listed", "just below the cut-off"
Z = 1.959964
OBSERVATIONAL = (
    "Observational: the comparison group is people of similar, slightly lower predicted "
    "risk who fell just below the list's cut-off, not a randomised control. Differences "
    "between the groups, tiers or decisions are not effects of listing or review."
)
COLUMNS = (
    "level", "federation_code", "practice_code", "practices", "list_month",
    "horizon_months", "group", "breakdown", "category", "people", "mean_predicted_risk",
    *(f"{o}{s}" for o in OUTCOMES for s in ("_people", "_rate", "_ci_low", "_ci_high")),
)  # fmt: skip


@dataclass(frozen=True)
class ImpactReport:
    list_months: list[str]
    observed_until: str | None
    people: int  # person-windows behind the report (before suppression)
    rows: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        return {
            "observational": OBSERVATIONAL,
            "suppression": "counts of 7 or fewer hidden (empty); others rounded to the nearest 5; "
            "rates and Wilson 95% intervals from the rounded counts",
            "observed_until": self.observed_until,
            "list_months": self.list_months,
            "rows": self.rows,
        }


def impact_people(connection: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, str | None]:
    """One row per person, list month and horizon whose window the data covers; the date covered."""
    if not (
        table_exists(connection, "scores.practice_lists")
        and table_exists(connection, "raw.delivery_months")
    ):
        return pl.DataFrame(), None
    latest = fetch_one(
        connection, "SELECT max(delivery_month) FROM raw.delivery_months WHERE status = 'loaded'"
    )
    if latest is None or latest[0] is None:
        return pl.DataFrame(), None
    first = datetime.date.fromisoformat(f"{latest[0]}-01")
    observed_until = (first.replace(day=28) + datetime.timedelta(days=4)).replace(
        day=1
    ) - datetime.timedelta(days=1)
    query = read_sql("impact_people.sql", "review").replace("{opt_outs}", opt_out_query(connection))
    table = connection.sql(
        query,
        params={
            "emergency_methods": list(EMERGENCY_ADMISSION_METHODS),
            "observed_until": observed_until,
        },
    ).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame, observed_until.isoformat()


def decisions_in_force(home: Home) -> pl.DataFrame:
    """(practice_code, list_month, row_id, decision): the last decision per person and month."""
    schema = {
        "practice_code": pl.Utf8,
        "list_month": pl.Utf8,
        "row_id": pl.Utf8,
        "decision": pl.Utf8,
    }
    path = store_path(home)
    if not path.is_file():
        return pl.DataFrame(schema=schema)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = connection.execute(
            "SELECT practice_code, list_month, row_id, decision FROM ("
            "  SELECT *, row_number() OVER (PARTITION BY practice_code, list_month, row_id"
            "                               ORDER BY id DESC) AS n FROM decisions"
            ") WHERE n = 1"
        ).fetchall()
    finally:
        connection.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def build_impact(
    connection: duckdb.DuckDBPyConnection, home: Home, pseudonym_key: bytes
) -> ImpactReport:
    people, observed_until = impact_people(connection)
    list_months = (
        sorted(
            r[0]
            for r in connection.execute(
                "SELECT DISTINCT delivery_month FROM scores.practice_lists"
            ).fetchall()
        )
        if table_exists(connection, "scores.practice_lists")
        else []
    )
    if people.is_empty():
        return ImpactReport(list_months, observed_until, 0, [])
    practices = pl.DataFrame(
        [
            {"practice_code": p.code, "federation_code": p.federation_code, "vanguard": p.vanguard}
            for p in read_practices(connection)
        ],
        schema={"practice_code": pl.Utf8, "federation_code": pl.Utf8, "vanguard": pl.Boolean},
    )
    key = row_key(pseudonym_key)
    people = (
        people.with_columns(
            pl.col("nhs_number")
            .map_elements(lambda n: row_id(n, key), return_dtype=pl.Utf8)
            .alias("row_id")
        )
        .join(practices, on="practice_code", how="left")
        .join(decisions_in_force(home), on=["practice_code", "list_month", "row_id"], how="left")
        .with_columns(
            pl.when(pl.col("on_list")).then(pl.lit(LISTED)).otherwise(pl.lit(BELOW)).alias("group"),
            pl.col("decision").fill_null(NO_DECISION),
            pl.when(pl.col("vanguard"))
            .then(pl.lit("vanguard"))
            .otherwise(pl.lit("other"))
            .alias("practices"),
        )
        .drop("nhs_number", "row_id")
    )
    rows: list[dict[str, Any]] = []
    for level, keys in (
        ("federation", ["federation_code", "practices"]),
        ("practice", ["federation_code", "practice_code", "practices"]),
    ):
        for breakdown, column in (("all", None), ("tier", "tier"), ("decision", "decision")):
            frame = people if breakdown != "decision" else people.filter(pl.col("on_list"))
            rows += _cells(frame, level, keys, breakdown, column)
    rows.sort(key=lambda r: tuple(str(r[c]).zfill(2) for c in COLUMNS[:9]))
    return ImpactReport(list_months, observed_until, people.height, rows)


def _cells(
    frame: pl.DataFrame, level: str, keys: list[str], breakdown: str, column: str | None
) -> list[dict[str, Any]]:
    group_by = [*keys, "list_month", "horizon_months", "group", *([column] if column else [])]
    counted = frame.group_by(group_by).agg(
        pl.len().alias("people"),
        pl.col("risk").mean().alias("mean_predicted_risk"),
        *(pl.col(o).sum().alias(o) for o in OUTCOMES),
    )
    cells = []
    for cell in counted.iter_rows(named=True):
        people = suppressed(int(cell["people"]))
        row: dict[str, Any] = {
            "level": level,
            "federation_code": cell["federation_code"],
            "practice_code": cell.get("practice_code", ""),
            "practices": cell["practices"],
            "list_month": cell["list_month"],
            "horizon_months": cell["horizon_months"],
            "group": cell["group"],
            "breakdown": breakdown,
            "category": cell[column] if column else "all",
            "people": people,
            "mean_predicted_risk": round(cell["mean_predicted_risk"], 3) if people else None,
        }
        for outcome in OUTCOMES:
            events = suppressed(int(cell[outcome])) if people else None
            row |= dict.fromkeys(
                f"{outcome}{s}" for s in ("_people", "_rate", "_ci_low", "_ci_high")
            )
            if people is not None and events is not None:
                # From the rounded counts: a rate must not give a hidden or rounded count away.
                low, high = wilson(events, people)
                row |= {
                    f"{outcome}_people": events,
                    f"{outcome}_rate": round(events / people, 3),
                    f"{outcome}_ci_low": low,
                    f"{outcome}_ci_high": high,
                }
        cells.append(row)
    return cells


def wilson(events: int, people: int) -> tuple[float, float]:
    """The Wilson score 95% interval of events/people, to 3 decimals."""
    share = events / people
    denominator = 1 + Z**2 / people
    centre = (share + Z**2 / (2 * people)) / denominator
    half = Z * math.sqrt(share * (1 - share) / people + Z**2 / (4 * people**2)) / denominator
    return round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)


def write_impact(home: Home, report: ImpactReport) -> list[str]:
    """reports/impact/: impact.csv, impact.json and about.md (what it does not show)."""
    folder = home.reports / "impact"
    write_json_atomic(folder / "impact.json", report.document())
    text = csv_text(
        COLUMNS, ([("" if r[c] is None else r[c]) for c in COLUMNS] for r in report.rows)
    )
    write_bytes_atomic(folder / "impact.csv", text.encode("utf-8"))
    about = (
        "# Impact of the lists\n\n"
        f"{OBSERVATIONAL}\n\nSuppression: {report.document()['suppression']}.\n\n"
        f"Outcomes observed up to {report.observed_until}; list months "
        f"{', '.join(report.list_months) or 'none'}. A window (3, 6 or 12 months after a "
        "list's score date) appears once the loaded data covers it to its end. See "
        "docs/review.md.\n"
    )
    write_bytes_atomic(folder / "about.md", about.encode("utf-8"))
    return ["reports/impact/impact.csv", "reports/impact/impact.json", "reports/impact/about.md"]


def read_impact(home: Home, federation_code: str) -> dict[str, Any] | None:
    """The written report's federation-level rows for one federation (already suppressed)."""
    path = home.reports / "impact" / "impact.json"
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    document["rows"] = [
        r
        for r in document["rows"]
        if r["level"] == "federation"
        and r["federation_code"] == federation_code
        and r["breakdown"] in ("all", "decision")
    ]
    return document
