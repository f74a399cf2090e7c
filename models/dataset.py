"""The modelling data set: index dates and the feature frame, read from the warehouse.

`feature_frame` returns one row per eligible person per index date (registered and alive
at the index date, no Type 1 opt-out in the latest delivery), sorted by (index_date,
nhs_number), with the columns nhs_number, index_date, practice_code, every feature of
`models.feature_catalogue.FEATURES` in catalogue order and, when asked, the label.

This module must never:
- return a label for an index date without twelve whole delivered months after it (the
  label would silently miss admissions not yet delivered);
- return a row of a person whose latest registrations delivery carries a Type 1 opt-out;
- import dagster. It reads the warehouse, building feature tables when they are missing or
  older than the staged data (warehouse.features).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import duckdb
import polars as pl

from models.feature_catalogue import FEATURES, LABEL
from warehouse.features import LABELS, PERSON_FEATURES, ensure_features_built, run
from warehouse.months import FOLLOW_UP_MONTHS, add_months, extract_month, index_date

_POLARS_TYPES: dict[str, pl.DataType] = {
    "numeric": pl.Float64(),
    "flag": pl.Int8(),
    "categorical": pl.Utf8(),
}


def delivered_months(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Months ('YYYY-MM') with a registrations snapshot in the staged layer, oldest first."""
    rows = run(
        connection,
        "SELECT DISTINCT delivery_month FROM staged.registrations "
        "WHERE delivery_month IS NOT NULL ORDER BY 1",
    )
    return [str(month) for (month,) in rows]


def scoring_index_date(connection: duckdb.DuckDBPyConnection) -> datetime.date:
    """The last day of the latest delivered month: the index date scored for this month."""
    months = delivered_months(connection)
    if not months:
        raise ValueError("the warehouse holds no delivered month: nothing to score")
    return index_date(months[-1])


def labelled_index_dates(connection: duckdb.DuckDBPyConnection) -> list[datetime.date]:
    """Month ends T whose month and each of the 12 months after it are delivered, oldest first.

    Then T + 12 months is on or before the last delivered month's end and no month of the
    label window is missing.
    """
    months = delivered_months(connection)
    delivered = set(months)
    labelled = []
    for month in months:
        day = index_date(month)
        window = [add_months(day, offset) for offset in range(1, FOLLOW_UP_MONTHS + 1)]
        if all(extract_month(d) in delivered for d in window):
            labelled.append(day)
    return labelled


def feature_frame(
    connection: duckdb.DuckDBPyConnection,
    index_dates: Sequence[datetime.date],
    *,
    with_labels: bool,
    features: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Features (and labels) of every eligible person at each index date.

    Builds the features of any index date not yet built from the current staged data.
    `features` limits the frame to those feature columns (besides nhs_number, index_date
    and practice_code): a reader of a few columns need not read and convert all of them.
    Raises ValueError for an index date that is not a month end, or, with labels, that
    lacks twelve delivered months after it.
    """
    dates = sorted(set(index_dates))
    if with_labels:
        unlabelled = sorted(set(dates) - set(labelled_index_dates(connection)))
        if unlabelled:
            raise ValueError(
                "no complete label for index date(s) "
                + ", ".join(d.isoformat() for d in unlabelled)
                + ": each needs its own month and the 12 months after it delivered"
            )
    wanted = FEATURES if features is None else [f for f in FEATURES if f.name in set(features)]
    if features is not None and len(wanted) != len(set(features)):
        unknown = sorted(set(features) - {f.name for f in FEATURES})
        raise ValueError(f"not in the feature catalogue: {', '.join(unknown)}")
    schema: dict[str, pl.DataType] = {
        "nhs_number": pl.Utf8(),
        "index_date": pl.Date(),
        "practice_code": pl.Utf8(),
        **{f.name: _POLARS_TYPES[f.kind] for f in wanted},
    }
    if with_labels:
        schema[LABEL] = pl.Int8()
    if not dates:
        return pl.DataFrame(schema=schema)
    ensure_features_built(connection, dates)
    columns = ["nhs_number", "index_date", "practice_code", *(f.name for f in wanted)]
    select = ", ".join(f"p.{_quote(name)}" for name in columns)
    join = ""
    if with_labels:
        select += f", l.{_quote(LABEL)}"
        join = f" JOIN {LABELS} AS l USING (nhs_number, index_date)"
    # Selected into a temporary table first, then read and counted against it: a frame that
    # came back shorter than the rows selected must fail loudly, never train quietly.
    run(
        connection,
        f"CREATE OR REPLACE TEMP TABLE feature_frame_rows AS SELECT {select} "
        f"FROM {PERSON_FEATURES} AS p{join} "
        "WHERE list_contains($dates, p.index_date) "
        "AND p.nhs_number NOT IN (SELECT nhs_number FROM features.type1_opt_outs)",
        {"dates": dates},
    )
    try:
        [(counted,)] = run(connection, "SELECT count(*) FROM feature_frame_rows")
        if with_labels:
            _check_every_row_labelled(connection, dates)
        frame = pl.from_arrow(
            connection.sql(
                "SELECT * FROM feature_frame_rows ORDER BY index_date, nhs_number"
            ).to_arrow_table()
        )
    finally:
        run(connection, "DROP TABLE IF EXISTS feature_frame_rows")
    assert isinstance(frame, pl.DataFrame)
    if frame.height != counted:
        raise RuntimeError(f"the feature frame read {frame.height} rows of {counted} selected")
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


class MissingLabels(RuntimeError):
    """features.person_features holds rows at an index date that features.labels lacks."""


def stored_rows(
    connection: duckdb.DuckDBPyConnection, dates: Sequence[datetime.date]
) -> dict[datetime.date, tuple[int, int]]:
    """Rows in features.person_features and features.labels at each date (opt-outs excluded)."""
    counted = {d: (0, 0) for d in sorted(set(dates))}
    for table, position in ((PERSON_FEATURES, 0), (LABELS, 1)):
        rows = run(
            connection,
            f"SELECT index_date, count(*) FROM {table} WHERE list_contains($dates, index_date) "
            "AND nhs_number NOT IN (SELECT nhs_number FROM features.type1_opt_outs) GROUP BY 1",
            {"dates": list(counted)},
        )
        for day, count in rows:
            pair = list(counted[day])
            pair[position] = int(count)
            counted[day] = (pair[0], pair[1])
    return counted


def _check_every_row_labelled(
    connection: duckdb.DuckDBPyConnection, dates: Sequence[datetime.date]
) -> None:
    """The frame's inner join must not drop feature rows quietly: raise if any lacks a label."""
    missing = run(
        connection,
        f"SELECT p.index_date, count(*), count(l.nhs_number) FROM {PERSON_FEATURES} AS p "
        f"LEFT JOIN {LABELS} AS l USING (nhs_number, index_date) "
        "WHERE list_contains($dates, p.index_date) "
        "AND p.nhs_number NOT IN (SELECT nhs_number FROM features.type1_opt_outs) "
        "GROUP BY 1 HAVING count(*) > count(l.nhs_number) ORDER BY 1",
        {"dates": list(dates)},
    )
    if missing:
        raise MissingLabels(
            "; ".join(
                f"{day.isoformat()}: {labelled:,} of the {rows:,} rows of {PERSON_FEATURES} "
                f"have a label in {LABELS}"
                for day, rows, labelled in missing
            )
            + ". The feature build recorded these dates as complete; rebuild them "
            "(warehouse.features.replace_features)."
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
