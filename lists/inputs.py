"""What the lists are made from, read from the warehouse: practices, scores and earlier lists,
and from the model registry: the dates that name a model for a GP.

Read only: nothing here writes or deletes a row. Practice and federation codes are
checked (``paths``) as they are read, before any can become a folder name. The listable
population is decided in SQL (``sql/list_population.sql``), whatever the scores hold.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lists.documents import Practice
from lists.manifest import MadeFrom
from lists.paths import check_federation_code, check_practice_code
from lists.tables import PRACTICE_LISTS, RISK_SCORES, fetch_one
from models.registry import read_metadata
from warehouse.deliveries import deliveries_in_force
from warehouse.months import FOLLOW_UP_MONTHS, add_months
from warehouse.sql_files import read_sql


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


def scored_people(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[int, datetime.date | None, str | None]:
    """(people scored, index date, model version) of `month`'s scores; (0, None, None) if none."""
    row = fetch_one(
        connection,
        f"SELECT count(*), min(index_date), min(model_version) FROM {RISK_SCORES} WHERE delivery_month = $m",
        {"m": month},
    )
    return (int(row[0]), row[1], row[2]) if row else (0, None, None)


def listable_scores(
    connection: duckdb.DuckDBPyConnection, month: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The month's scores of people who may appear on their practice's list (see the SQL),
    in practice rank order; `columns` reads only those (at 1,000,000 people, reading every
    column, reasons and conditions among them, costs seconds a reader does not need)."""
    sql = read_sql("list_population.sql", "lists")
    if columns is not None:
        selected = ", ".join(f'"{_column(name)}"' for name in columns)
        sql = (
            f"SELECT {selected} FROM ({sql}) AS listable "
            "ORDER BY practice_code, practice_rank, nhs_number"
        )
    return connection.sql(sql, params={"month": month}).pl()


def _column(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"not a column name: {name!r}")
    return name


REFERENCE_COLUMNS = (
    "delivery_month",
    "nhs_number",
    "practice_code",
    "risk",
    "tier",
    "model_version",
)
# Text whose Python repr is the text in single quotes: printable ASCII but ' and \.
PLAIN_TEXT = r"^[ -&(-\[\]-~]*$"


def list_reference(scores: pl.DataFrame) -> str:
    """A fingerprint of the scores the lists are made from: names the list run reproducibly.

    The sha256 of one line a row, the Python repr of the row's tuple of `REFERENCE_COLUMNS`
    (e.g. ``('2026-01', '9990000018', 'A81001', 0.0123, 'high', 'm68180bee0d9d')``). The
    lines are built column by column (`_reference_lines`) when every text is plain, else
    row by row: the same bytes either way (tests/lists/test_list_reference.py);
    `benchmarks/list_reference.py` measures both.
    """
    table = scores.select(REFERENCE_COLUMNS)
    lines = _reference_lines(table)
    if lines is None:
        lines = b"".join(repr(row).encode() + b"\n" for row in table.iter_rows())
    return "L" + hashlib.sha256(lines).hexdigest()[:12]


def _reference_lines(table: pl.DataFrame) -> bytes | None:
    """Every row's repr line, built column by column; None unless each text column is a
    string column of plain, non-null texts (whose repr is just the text in quotes)."""
    texts = [name for name in REFERENCE_COLUMNS if name != "risk"]
    if any(table.schema[name] != pl.String for name in texts):
        return None
    plain = table.select(
        pl.all_horizontal(
            pl.col(name).str.contains(PLAIN_TEXT).fill_null(False) for name in texts
        ).all()
    ).item()
    if not plain:
        return None
    risk = _risk_reprs(table.get_column("risk"))

    def quoted(name: str) -> list[pl.Expr]:
        return [pl.lit("'"), pl.col(name), pl.lit("'")]

    line = pl.concat_str(
        [
            pl.lit("("),
            *quoted("delivery_month"),
            pl.lit(", "),
            *quoted("nhs_number"),
            pl.lit(", "),
            *quoted("practice_code"),
            pl.lit(", "),
            risk,
            pl.lit(", "),
            *quoted("tier"),
            pl.lit(", "),
            *quoted("model_version"),
            pl.lit(")\n"),
        ]
    )
    return str(table.select(line).to_series().str.join("").item()).encode()


def _risk_reprs(risk: pl.Series) -> pl.Series:
    """Each risk as Python's repr writes it: the shortest text that reads back the same
    float. Polars writes a Float64 the same way from 1e-4 up to 1e16, where repr does not
    switch to an exponent; anything else (tiny, huge, zero, NaN, null, another type) goes
    through repr itself."""
    if risk.dtype != pl.Float64:
        return pl.Series("risk", [repr(value) for value in risk.to_list()], dtype=pl.String)
    plain = risk.abs().is_between(1e-4, 1e16, closed="left").fill_null(False)
    text = risk.cast(pl.String)
    odd = (~plain).arg_true()
    if len(odd):
        values = risk.gather(odd).to_list()
        text = text.scatter(odd, pl.Series([repr(value) for value in values], dtype=pl.String))
    return text.rename("risk")


def made_from(connection: duckdb.DuckDBPyConnection, month: str, model_version: str) -> MadeFrom:
    """The model and the delivery in force of every loaded month up to `month`: the months
    whose rows the features, and so the scores, of `month` can read."""
    return MadeFrom(model_version, tuple(deliveries_in_force(connection, month)))


def registered_list_sizes(
    connection: duckdb.DuckDBPyConnection, month: str, index_date: datetime.date
) -> dict[str, int]:
    """Each practice's registered list size on the score date (``sql/practice_list_sizes.sql``)."""
    return dict(
        connection.execute(
            read_sql("practice_list_sizes.sql", "lists"), {"month": month, "index_date": index_date}
        ).fetchall()
    )


def previous_list_month(connection: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """The latest month before `month` for which lists were written, if any."""
    row = fetch_one(
        connection,
        f"SELECT max(delivery_month) FROM {PRACTICE_LISTS} WHERE delivery_month < $m",
        {"m": month},
    )
    return str(row[0]) if row and row[0] is not None else None


def previous_lists(
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


def list_counts(
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


def list_members(connection: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    """NHS numbers on any practice's list for `month`."""
    return [
        str(n)
        for (n,) in connection.execute(
            f"SELECT DISTINCT nhs_number FROM {PRACTICE_LISTS} WHERE delivery_month = $m",
            {"m": month},
        ).fetchall()
    ]


def describe_model(models_dir: Path | None, version: str) -> str:
    """The model as a GP can read it: "model of June 2025, trained on data to June 2024".

    A model learns from people as they were at its index dates and what happened to them in
    the 12 months after, so it can be made only once those months are in: "of" is the
    latest index date plus the follow-up, "data to" the latest index date. Without the
    registry's record of `version` (a stand-in model), the id is all there is to say.
    """
    plan: dict[str, Any] = {}
    if models_dir is not None:
        try:
            plan = read_metadata(models_dir, version).get("plan", {})
        except (OSError, json.JSONDecodeError):
            plan = {}
    named = [
        *plan.get("training_dates", []),
        plan.get("validation_date"),
        *plan.get("refit_dates", []),
    ]
    dates = [datetime.date.fromisoformat(d) for d in named if d]
    if not dates:
        return f"model {version}"
    learnt_to = max(dates)
    made = add_months(learnt_to, FOLLOW_UP_MONTHS)
    return f"model of {made:%B %Y}, trained on data to {learnt_to:%B %Y}"
