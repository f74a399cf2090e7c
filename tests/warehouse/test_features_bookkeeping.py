"""The build bookkeeping (features.feature_builds) never says an index date is built when
its features or labels are missing, at the size where DuckDB writes whole row groups.

At 1,000,000 people the first training run failed with an empty training frame: the
feature table was created (CREATE TABLE ... AS, from the batch) in the same transaction
that inserted an index date of 122,880 rows or more (one DuckDB row group, written
optimistically to disk), and that connection's later scans of the table - the labels
INSERT among them - missed those rows. Features and the build record were committed,
labels were not. 130,000 people per date is the smallest size that shows it; 100,000
people (about 96,000 eligible) never did.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pytest

from tests.warehouse.features_fixtures import empty_warehouse
from warehouse import features
from warehouse.connection import connect
from warehouse.opt_outs import refresh_opt_outs

# Just over one DuckDB row group (122,880 rows).
PEOPLE = 130_000
DATES = [datetime.date(2023, 1, 31), datetime.date(2023, 2, 28)]


def register_many(connection: duckdb.DuckDBPyConnection, people: int, months: list[str]) -> None:
    """`people` registered people in each month's snapshot, every tenth admitted as an emergency."""
    for month in months:
        connection.execute(
            "INSERT INTO staged.registrations (delivery_month, source_file, line_number, practice_code, "
            "nhs_number, date_of_birth, sex, ethnic_category, registration_date, care_home, type1_opt_out) "
            "SELECT $month, 'bulk/registrations.csv', i, 'A' || lpad(CAST(i % 50 AS VARCHAR), 5, '0'), "
            "CAST(9000000000 + i AS VARCHAR), DATE '1950-06-01' + CAST(i % 20000 AS INTEGER), "
            "CAST(1 + i % 2 AS VARCHAR), 'A', DATE '2010-01-01', false, false FROM range($people) AS t(i)",
            {"month": month, "people": people},
        )
    refresh_opt_outs(connection)  # as staging does
    connection.execute(
        "INSERT INTO staged.admissions (delivery_month, source_file, line_number, spell_id, nhs_number, "
        "practice_code, provider_code, admission_date, discharge_date, admission_method, primary_diagnosis) "
        "SELECT '2023-06', 'bulk/admissions.csv', i, 'S' || i, CAST(9000000000 + i AS VARCHAR), 'A00001', "
        "'RF4', DATE '2023-06-10', DATE '2023-06-12', '21', 'I50.0' FROM range(0, $people, 10) AS t(i)",
        {"people": people},
    )


def counts(connection: duckdb.DuckDBPyConnection, table: str) -> dict[datetime.date, int]:
    return dict(
        connection.execute(f"SELECT index_date, count(*) FROM {table} GROUP BY 1").fetchall()
    )


@pytest.fixture(scope="module")
def large_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bookkeeping") / "warehouse.duckdb"
    connection = empty_warehouse(path)
    register_many(connection, PEOPLE, ["2023-01", "2023-02"])
    connection.close()
    return path


def copy(source: Path, folder: Path) -> Path:
    target = folder / "warehouse.duckdb"
    target.write_bytes(source.read_bytes())
    return target


def test_the_first_build_of_a_row_group_sized_date_labels_every_row(large_warehouse, tmp_path):
    path = copy(large_warehouse, tmp_path)
    connection = connect(path)
    features.replace_features(connection, DATES)
    # What this connection reads next (the training frame joins labels to features) ...
    assert counts(connection, features.LABELS) == {d: PEOPLE for d in DATES}
    joined = connection.execute(
        f"SELECT p.index_date, count(*), sum(l.emergency_admission_12m) FROM {features.PERSON_FEATURES} AS p "
        f"JOIN {features.LABELS} AS l USING (nhs_number, index_date) GROUP BY 1"
    ).fetchall()
    assert {d: (n, int(admitted)) for d, n, admitted in joined} == {
        d: (PEOPLE, PEOPLE // 10) for d in DATES
    }
    connection.close()
    # ... and what is on disk, read afresh.
    connection = connect(path, read_only=True)
    assert counts(connection, features.PERSON_FEATURES) == {d: PEOPLE for d in DATES}
    assert counts(connection, features.LABELS) == {d: PEOPLE for d in DATES}
    built = {
        d for (d,) in connection.execute(f"SELECT index_date FROM {features.BUILDS}").fetchall()
    }
    assert built == set(DATES)
    connection.close()


def test_a_build_that_writes_fewer_labels_than_features_is_rolled_back_and_not_recorded(
    large_warehouse, tmp_path, monkeypatch
):
    connection = connect(copy(large_warehouse, tmp_path))
    real = features.read_sql

    def short_labels(name: str) -> str:
        sql = real(name)
        return f"SELECT * FROM ({sql}) LIMIT 10" if name == "features/labels.sql" else sql

    monkeypatch.setattr(features, "read_sql", short_labels)
    with pytest.raises(
        features.FeatureBuildError,
        match=r"2023-01-31 selected 130,000 people .* 10 to features.labels",
    ):
        features.replace_features(connection, DATES[:1])
    assert counts(connection, features.PERSON_FEATURES) == {}
    assert counts(connection, features.LABELS) == {}
    assert connection.execute(f"SELECT count(*) FROM {features.BUILDS}").fetchone() == (0,)
    assert connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'person_features_batch'"
    ).fetchone() == (0,)


def test_a_changed_feature_set_rebuilds_the_dates_built_before_instead_of_dropping_them(tmp_path):
    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    register_many(connection, 100, ["2023-01", "2023-02"])
    features.replace_features(connection, DATES[:1])
    # A warehouse built by an older feature set: one column fewer, one retired column more.
    connection.execute(f"ALTER TABLE {features.PERSON_FEATURES} DROP COLUMN smoking_status")
    connection.execute(f"ALTER TABLE {features.PERSON_FEATURES} ADD COLUMN retired_feature INTEGER")
    features.replace_features(connection, DATES[1:])
    assert counts(connection, features.PERSON_FEATURES) == {d: 100 for d in DATES}
    assert counts(connection, features.LABELS) == {d: 100 for d in DATES}
    built = {
        d for (d,) in connection.execute(f"SELECT index_date FROM {features.BUILDS}").fetchall()
    }
    assert built == set(DATES)
    columns = [
        row[0] for row in connection.execute(f"DESCRIBE {features.PERSON_FEATURES}").fetchall()
    ]
    assert "smoking_status" in columns and "retired_feature" not in columns


def test_a_batch_whose_columns_differ_from_the_table_is_refused_not_recreated(tmp_path):
    connection = empty_warehouse(tmp_path / "warehouse.duckdb")
    register_many(connection, 100, ["2023-01", "2023-02"])
    features.replace_features(connection, DATES[:1])
    connection.execute(f"ALTER TABLE {features.PERSON_FEATURES} ALTER COLUMN age TYPE VARCHAR")
    with pytest.raises(features.FeatureBuildError, match="age"):
        features._replace_index_date(connection, DATES[1], features.opt_out_digest(connection))
    assert counts(connection, features.PERSON_FEATURES) == {DATES[0]: 100}
