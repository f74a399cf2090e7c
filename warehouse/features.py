"""Build the feature and label tables from the staged layer, one index date at a time.

`features.person_features` holds one row per eligible person (registered and alive at the
index date, no Type 1 opt-out) per index date, with every feature of
`models/feature_catalogue.py`; `features.labels` holds the outcome beside it. The SQL is in
`warehouse/sql/features/`.

This module must never:
- let a feature read anything dated after its index date (the leakage test in
  tests/warehouse/test_features_leakage.py moves every later event and checks nothing
  changes); labels alone look forward, and never feed a feature;
- keep a row of a person whose latest registrations delivery carries a Type 1 opt-out,
  here or in any derived copy (`remove_opted_out` purges the features, models and scores
  schemas whenever features are built, and `purge_opted_out` on every month loaded);
- keep a date's rows built with another opt-out set once features are built again: a
  withdrawn opt-out must bring the person back at every date (`settle_opt_outs`);
- put a value into SQL text: code lists travel as parameters;
- import dagster.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from warehouse.connection import table_exists, transaction
from warehouse.months import FOLLOW_UP_MONTHS, add_months, extract_month, is_month_end
from warehouse.opt_outs import ensure_opt_outs
from warehouse.sql_files import read_sql

# The spec's long-term-condition code list (docs/landing-zone.md), named as the catalogue's flags.
LONG_TERM_CONDITIONS: dict[str, str] = {
    "hypertension": "38341003",
    "diabetes_type1": "46635009",
    "diabetes_type2": "44054006",
    "asthma": "195967001",
    "copd": "13645005",
    "heart_failure": "84114007",
    "atrial_fibrillation": "49436004",
    "ischaemic_heart_disease": "414545008",
    "stroke": "230690007",
    "chronic_kidney_disease": "709044004",
    "dementia": "52448006",
    "depression": "35489007",
    "schizophrenia": "58214004",
    "bipolar_disorder": "13746004",
    "cancer": "363346000",
    "epilepsy": "84757009",
    "rheumatoid_arthritis": "69896004",
    "osteoporosis": "64859006",
    "parkinsons_disease": "49049000",
    "learning_disability": "110359009",
}
# NHS admission method: 21-28 and 2A-2D emergency, 11-13 elective (maternity 31-32 neither).
EMERGENCY_ADMISSION_METHODS = (
    "21",
    "22",
    "23",
    "24",
    "25",
    "26",
    "27",
    "28",
    "2A",
    "2B",
    "2C",
    "2D",
)
ELECTIVE_ADMISSION_METHODS = ("11", "12", "13")
# NHS attended-or-did-not-attend: 5, 6 seen; 3 did not attend, 7 arrived late and not seen.
ATTENDED_STATUSES = ("5", "6")
DID_NOT_ATTEND_STATUSES = ("3", "7")
BMI_CODE = "60621009"
SYSTOLIC_BP_CODE = "271649006"
HBA1C_CODE = "999791000000106"
# Smoking codes in the order that wins when two are recorded on one day.
SMOKING_STATUSES = {"77176002": "current", "8517006": "ex", "266919005": "never"}

PERSON_FEATURES = "features.person_features"
LABELS = "features.labels"
BUILDS = "features.feature_builds"
BUILT_WITH_ANOTHER_SET = "type1_opt_outs IS DISTINCT FROM $o"
"""Where a feature_builds row is of a date built with an opt-out set other than $o."""


def run(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Execute one statement and fetch its whole result.

    DuckDB keeps an unfetched result open on the connection, and a later relation query
    (connection.sql) then fails or misreads; every statement here is run to completion.
    """
    return connection.execute(sql, parameters).fetchall()


def feature_parameters(index_date: datetime.date) -> dict[str, Any]:
    """The named parameters of person_features.sql for one index date."""
    return {
        "index_date": index_date,
        "index_month": extract_month(index_date),
        "start_3m": add_months(index_date, -3),
        "start_12m": add_months(index_date, -12),
        "condition_names": list(LONG_TERM_CONDITIONS),
        "condition_codes": list(LONG_TERM_CONDITIONS.values()),
        "emergency_methods": list(EMERGENCY_ADMISSION_METHODS),
        "elective_methods": list(ELECTIVE_ADMISSION_METHODS),
        "attended_statuses": list(ATTENDED_STATUSES),
        "did_not_attend_statuses": list(DID_NOT_ATTEND_STATUSES),
        "bmi_code": BMI_CODE,
        "systolic_bp_code": SYSTOLIC_BP_CODE,
        "hba1c_code": HBA1C_CODE,
        "smoking_codes": list(SMOKING_STATUSES),
        "smoking_statuses": list(SMOKING_STATUSES.values()),
    }


def ensure_feature_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the features schema's opt-out view (over staged.type1_opt_outs, brought up to
    date first) and build bookkeeping table.

    A home built before the opt-out digest was recorded gets the column empty: its dates
    then count as built with another opt-out set, and are rebuilt or dropped.
    """
    run(connection, "CREATE SCHEMA IF NOT EXISTS features")
    ensure_opt_outs(connection)
    run(connection, read_sql("features/type1_opt_outs.sql"))
    run(
        connection,
        f"CREATE TABLE IF NOT EXISTS {BUILDS} (index_date DATE PRIMARY KEY, fingerprint VARCHAR NOT NULL, "
        "type1_opt_outs VARCHAR)",
    )
    run(connection, f"ALTER TABLE {BUILDS} ADD COLUMN IF NOT EXISTS type1_opt_outs VARCHAR")


def source_fingerprint(connection: duckdb.DuckDBPyConnection, index_date: datetime.date) -> str:
    """Digest of the staged data that features and labels at `index_date` can depend on."""
    horizon = add_months(index_date, FOLLOW_UP_MONTHS)
    [(fingerprint,)] = run(
        connection,
        read_sql("features/source_fingerprint.sql"),
        {"horizon_month": f"{horizon.year:04d}-{horizon.month:02d}"},
    )
    return str(fingerprint)


def opt_out_digest(connection: duckdb.DuckDBPyConnection) -> str:
    """Digest of the Type 1 opt-out set: a date's rows are those of the set they were built with."""
    [(digest,)] = run(connection, read_sql("features/type1_opt_out_digest.sql"))
    return str(digest)


class FeatureBuildError(RuntimeError):
    """A build wrote fewer feature or label rows than it selected; nothing of it was kept."""


def replace_features(
    connection: duckdb.DuckDBPyConnection,
    index_dates: Iterable[datetime.date],
    *,
    opt_outs: str | None = None,
) -> int:
    """Replace the features and labels at each index date; rows written to person_features.

    Idempotent per index date: a date's rows are replaced whole, in one transaction, and
    recorded in features.feature_builds only when every feature row has its label. When the
    feature set has changed, the tables are recreated and every date built before is
    rebuilt in the same call, so no date's rows silently disappear. Every call also brings
    the other dates built before up to the current opt-out set (`settle_opt_outs`).
    `opt_outs` is the set's digest when the caller has just computed it (`opt_out_digest`
    reads every registrations snapshot).
    """
    dates = _month_ends(index_dates)
    ensure_feature_schema(connection)
    if dates:
        dropped = _ensure_tables_match(connection, dates[0])
        dates = sorted({*dates, *dropped})
    if opt_outs is None:
        opt_outs = opt_out_digest(connection)
    written = sum(_replace_index_date(connection, index_date, opt_outs) for index_date in dates)
    settle_opt_outs(connection, opt_outs)
    return written


BUILT_OPT_OUTS = "features.built_type1_opt_outs"
"""The opt-out set every built date was built with (after `settle_opt_outs`, all share one).
Its column is not named nhs_number, so `remove_opted_out` leaves it alone: it is the record
of who was removed, needed to see who has since withdrawn."""


def settle_opt_outs(connection: duckdb.DuckDBPyConnection, opt_outs: str) -> dict[str, int]:
    """Leave no date built with an opt-out set other than `opt_outs` (the current digest);
    returns the rows `remove_opted_out` deleted per table (none when nothing changed).

    A new opt-out only removes a person, so deleting rows is enough (`remove_opted_out`) and
    the dates keep their rows, recorded as built with the current set. A withdrawn one must
    bring the person back, which only a rebuild can: then the dates built with another set
    are dropped, rows and build record together, to be rebuilt when next asked for (the
    dates of this call were built with the current set and stay). A home without the record
    of the set its dates were built with is treated as if someone had withdrawn.
    """
    if _purged_with(connection) == opt_outs and not _built_with_another_set(connection, opt_outs):
        # Nothing changed since every derived table was purged with this very set, and no
        # writer since has let anyone of it in (each excludes the current set): nothing to do.
        return {}
    withdrawn = _someone_withdrew(connection)
    with transaction(connection):
        stale = f"SELECT index_date FROM {BUILDS} WHERE {BUILT_WITH_ANOTHER_SET}"
        if withdrawn:
            for table in (PERSON_FEATURES, LABELS):
                if table_exists(connection, table):
                    run(
                        connection,
                        f"DELETE FROM {table} WHERE index_date IN ({stale})",
                        {"o": opt_outs},
                    )
            run(
                connection,
                f"DELETE FROM {BUILDS} WHERE {BUILT_WITH_ANOTHER_SET}",
                {"o": opt_outs},
            )
        else:
            run(
                connection,
                f"UPDATE {BUILDS} SET type1_opt_outs = $o WHERE {BUILT_WITH_ANOTHER_SET}",
                {"o": opt_outs},
            )
        run(
            connection,
            f"CREATE OR REPLACE TABLE {BUILT_OPT_OUTS} AS "
            "SELECT DISTINCT CAST(nhs_number AS VARCHAR) AS opted_out FROM features.type1_opt_outs",
        )
    removed = remove_opted_out(connection)
    # Recorded only once the purge has committed: a process killed before this line
    # leaves the old record, and the next call settles again.
    run(
        connection, f"CREATE OR REPLACE TABLE {PURGED_WITH} AS SELECT $o AS digest", {"o": opt_outs}
    )
    return removed


PURGED_WITH = "features.purged_type1_opt_outs"
"""The digest of the opt-out set the last completed `settle_opt_outs` purged every derived
table with (one row)."""


def forget_purge(connection: duckdb.DuckDBPyConnection) -> None:
    """For a writer that puts people's rows into a derived table without excluding the
    opt-out set (rows restored from files an earlier version wrote): the next
    `settle_opt_outs` (the purge after every month loaded) then purges in full again."""
    run(connection, f"DROP TABLE IF EXISTS {PURGED_WITH}")


def _purged_with(connection: duckdb.DuckDBPyConnection) -> str | None:
    if not table_exists(connection, PURGED_WITH):
        return None
    rows = run(connection, f"SELECT digest FROM {PURGED_WITH}")
    return str(rows[0][0]) if rows else None


def _built_with_another_set(connection: duckdb.DuckDBPyConnection, opt_outs: str) -> bool:
    [(others,)] = run(
        connection,
        f"SELECT count(*) FROM {BUILDS} WHERE {BUILT_WITH_ANOTHER_SET}",
        {"o": opt_outs},
    )
    return bool(others)


def _someone_withdrew(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether anyone the built dates left out no longer has an opt-out (True if unknown)."""
    if not table_exists(connection, BUILT_OPT_OUTS):
        return True
    [(withdrawn,)] = run(
        connection,
        f"SELECT count(*) FROM (SELECT opted_out FROM {BUILT_OPT_OUTS} EXCEPT "
        "SELECT CAST(nhs_number AS VARCHAR) FROM features.type1_opt_outs)",
    )
    return bool(withdrawn)


def _replace_index_date(
    connection: duckdb.DuckDBPyConnection, index_date: datetime.date, opt_outs: str
) -> int:
    """One index date's features, labels and build record, all or nothing; rows written."""
    fingerprint = source_fingerprint(connection, index_date)
    run(
        connection,
        "CREATE OR REPLACE TEMP TABLE person_features_batch AS "
        + read_sql("features/person_features.sql"),
        feature_parameters(index_date),
    )
    try:
        _check_batch_shape(connection)
        with transaction(connection):
            rows = _replace_from_batch(connection, index_date, fingerprint, opt_outs)
    finally:
        run(connection, "DROP TABLE IF EXISTS person_features_batch")
    return rows


def _replace_from_batch(
    connection: duckdb.DuckDBPyConnection,
    index_date: datetime.date,
    fingerprint: str,
    opt_outs: str,
) -> int:
    """Inside the date's transaction: swap in the batch and its labels, check, record."""
    [(rows,)] = run(connection, "SELECT count(*) FROM person_features_batch")
    run(connection, f"DELETE FROM {PERSON_FEATURES} WHERE index_date = $d", {"d": index_date})
    [(featured,)] = run(
        connection, f"INSERT INTO {PERSON_FEATURES} SELECT * FROM person_features_batch"
    )
    run(connection, f"DELETE FROM {LABELS} WHERE index_date = $d", {"d": index_date})
    [(labelled,)] = run(
        connection,
        f"INSERT INTO {LABELS} " + read_sql("features/labels.sql"),
        {"index_date": index_date, "emergency_methods": list(EMERGENCY_ADMISSION_METHODS)},
    )
    # Read back as the training frame will: every feature row joined to its label.
    [(joined,)] = run(
        connection,
        f"SELECT count(*) FROM {PERSON_FEATURES} AS p JOIN {LABELS} AS l "
        "USING (nhs_number, index_date) WHERE p.index_date = $d",
        {"d": index_date},
    )
    if not rows == featured == labelled == joined:
        raise FeatureBuildError(
            f"the build at {index_date.isoformat()} selected {rows:,} people but wrote "
            f"{featured:,} rows to {PERSON_FEATURES} and {labelled:,} to {LABELS} "
            f"({joined:,} feature rows with a label); it was rolled back and not recorded "
            f"in {BUILDS}"
        )
    run(
        connection,
        f"INSERT OR REPLACE INTO {BUILDS} (index_date, fingerprint, type1_opt_outs) VALUES ($d, $f, $o)",
        {"d": index_date, "f": fingerprint, "o": opt_outs},
    )
    return int(rows)


def ensure_features_built(
    connection: duckdb.DuckDBPyConnection, index_dates: Iterable[datetime.date]
) -> list[datetime.date]:
    """Build the index dates never built, or built from other staged data or another opt-out
    set; those rebuilt. Dates not asked for are settled to the current opt-out set."""
    dates = _month_ends(index_dates)
    ensure_feature_schema(connection)
    opt_outs = opt_out_digest(connection)
    built = {
        day: (fingerprint, digest)
        for day, fingerprint, digest in run(
            connection, f"SELECT index_date, fingerprint, type1_opt_outs FROM {BUILDS}"
        )
    }
    stale = [d for d in dates if built.get(d) != (source_fingerprint(connection, d), opt_outs)]
    if stale or not table_exists(connection, PERSON_FEATURES):
        replace_features(connection, stale, opt_outs=opt_outs)
    else:
        settle_opt_outs(connection, opt_outs)
    return stale


PURGED_SCHEMAS = ("features", "models", "scores")
"""Schemas whose tables are derived copies of people's records: an opt-out is removed from
every table in them with an nhs_number column (features and labels, the training frame
and validation predictions, scores and earlier lists), whatever package made the table."""


def remove_opted_out(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Delete every row of anyone whose latest registrations delivery carries an opt-out.

    From every table of `PURGED_SCHEMAS` that has an nhs_number column, in one transaction;
    returns the rows deleted per table (tables with none deleted are left out). The staged
    and raw layers keep the delivered rows: they are the record of what was delivered, and
    the opt-out itself is read from them.
    """
    tables = [
        f"{_quote(schema)}.{_quote(name)}"
        for schema, name in run(
            connection,
            "SELECT t.table_schema, t.table_name FROM information_schema.tables AS t "
            "JOIN information_schema.columns AS c USING (table_catalog, table_schema, table_name) "
            "WHERE t.table_catalog = current_database() AND t.table_type = 'BASE TABLE' "
            "AND t.table_schema IN (SELECT unnest($schemas)) AND c.column_name = 'nhs_number' "
            "ORDER BY 1, 2",
            {"schemas": list(PURGED_SCHEMAS)},
        )
    ]
    removed = {}
    with transaction(connection):
        # The set once (the view reads every registrations snapshot), then a semi-join a table.
        run(
            connection,
            "CREATE OR REPLACE TEMP TABLE opted_out_now AS "
            "SELECT DISTINCT CAST(nhs_number AS VARCHAR) AS nhs_number FROM features.type1_opt_outs",
        )
        for table in tables:
            [(rows,)] = run(
                connection,
                f"DELETE FROM {table} WHERE CAST(nhs_number AS VARCHAR) IN "
                "(SELECT nhs_number FROM opted_out_now)",
            )
            if rows:
                removed[table.replace('"', "")] = int(rows)
        run(connection, "DROP TABLE opted_out_now")
    return removed


def purge_opted_out(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """`settle_opt_outs` for a month loaded: every derived table purged of the current
    opt-out set and the built dates brought up to it, whether or not the run builds features.

    Settling here, not only removing the rows, records the set as purged with, so the
    scoring that follows in the same run finds nothing left to settle (at 1,000,000 people
    the purge and its bookkeeping read every registrations snapshot several times). Nothing
    to do before registrations are staged; returns the rows deleted per table.
    """
    if not table_exists(connection, "staged.registrations"):
        return {}
    ensure_feature_schema(connection)
    return settle_opt_outs(connection, opt_out_digest(connection))


def _ensure_tables_match(
    connection: duckdb.DuckDBPyConnection, index_date: datetime.date
) -> list[datetime.date]:
    """Create the tables in the feature set's shape, or recreate them when it changed.

    Returns the index dates whose rows a recreation dropped (their build records go with
    them, in the same transaction), for the caller to rebuild. The tables are created with
    explicit column types in a transaction of their own, never by CREATE TABLE ... AS in
    the transaction that fills them: DuckDB 2.0 then misses rows of a date of a row group
    or more (122,880 rows) in that connection's later scans, which at 1,000,000 people
    left labels unwritten behind features recorded as built.
    """
    run(
        connection,
        "CREATE OR REPLACE TEMP TABLE person_features_shape AS SELECT * FROM ("
        + read_sql("features/person_features.sql").strip().rstrip(";")
        + ") LIMIT 0",
        feature_parameters(index_date),
    )
    wanted = _columns(connection, "person_features_shape")
    run(connection, "DROP TABLE person_features_shape")
    if (
        table_exists(connection, PERSON_FEATURES)
        and _columns(connection, PERSON_FEATURES) == wanted
    ):
        return []
    with transaction(connection):
        dropped = [d for (d,) in run(connection, f"SELECT index_date FROM {BUILDS} ORDER BY 1")]
        columns = ", ".join(f"{_quote(name)} {kind}" for name, kind in wanted)
        run(connection, f"CREATE OR REPLACE TABLE {PERSON_FEATURES} ({columns})")
        run(
            connection,
            f"CREATE OR REPLACE TABLE {LABELS} (nhs_number VARCHAR NOT NULL, index_date DATE NOT NULL, "
            "emergency_admission_12m TINYINT NOT NULL)",
        )
        # Rows built with the old feature set are gone, so are their build records.
        run(connection, f"DELETE FROM {BUILDS}")
    return dropped


def _check_batch_shape(connection: duckdb.DuckDBPyConnection) -> None:
    """A batch must have the table's columns: never recreate the tables between two dates."""
    batch, table = (
        _columns(connection, "person_features_batch"),
        _columns(connection, PERSON_FEATURES),
    )
    if batch != table:
        differing = sorted({name for name, _ in set(batch) ^ set(table)})
        raise FeatureBuildError(
            f"a batch's columns differ from {PERSON_FEATURES}'s built in the same call: "
            + ", ".join(differing)
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(str(row[0]), str(row[1])) for row in run(connection, f"DESCRIBE {table}")]


def _month_ends(
    index_dates: Iterable[datetime.date] | Sequence[datetime.date],
) -> list[datetime.date]:
    dates = sorted(set(index_dates))
    wrong = [d for d in dates if not is_month_end(d)]
    if wrong:
        raise ValueError(
            "index dates must be the last day of a month (snapshots are as at month end): "
            + ", ".join(d.isoformat() for d in wrong)
        )
    return dates
