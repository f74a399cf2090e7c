"""The feature frame on a generated landing zone: shape, index dates, determinism, sense."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from models.dataset import MissingLabels, feature_frame, labelled_index_dates, scoring_index_date
from models.feature_catalogue import FEATURES, LABEL
from tests.warehouse.features_fixtures import copy_warehouse, generated_warehouse_with_features
from warehouse.opt_outs import refresh_opt_outs

D = datetime.date


@pytest.fixture
def connection(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> duckdb.DuckDBPyConnection:
    return copy_warehouse(generated_warehouse_with_features(tmp_path_factory), tmp_path)


@pytest.fixture
def training(connection) -> pl.DataFrame:
    return feature_frame(connection, labelled_index_dates(connection), with_labels=True)


def test_index_dates_follow_the_delivered_months(connection):
    # 18 months, 2023-01 .. 2024-06: T needs its own month and the 12 after it.
    assert labelled_index_dates(connection) == [
        D(2023, 1, 31),
        D(2023, 2, 28),
        D(2023, 3, 31),
        D(2023, 4, 30),
        D(2023, 5, 31),
        D(2023, 6, 30),
    ]
    assert scoring_index_date(connection) == D(2024, 6, 30)


def test_a_missing_month_leaves_no_complete_label_across_it(connection):
    connection.execute("DELETE FROM staged.registrations WHERE delivery_month = '2024-02'")
    refresh_opt_outs(connection)  # as staging does
    # 2023-01-31 needs 2023-02 .. 2024-01 only; every later T's window crosses 2024-02.
    assert labelled_index_dates(connection) == [D(2023, 1, 31)]


def test_the_frame_has_the_interface_columns_and_order(training):
    expected = {
        "nhs_number": pl.Utf8,
        "index_date": pl.Date,
        "practice_code": pl.Utf8,
        **{
            f.name: {"numeric": pl.Float64, "flag": pl.Int8, "categorical": pl.Utf8}[f.kind]
            for f in FEATURES
        },
        LABEL: pl.Int8,
    }
    assert dict(training.schema) == expected
    assert training.equals(training.sort("index_date", "nhs_number"))
    assert training.select(pl.struct("index_date", "nhs_number").is_unique().all()).item()
    flags = [f.name for f in FEATURES if f.kind == "flag"] + [LABEL]
    assert training.select(pl.col(flags).is_in([0, 1]).all()).row(0) == (True,) * len(flags)
    assert training.select(pl.col("practice_code").is_not_null().all()).item()


def test_scoring_frame_without_labels(connection):
    frame = feature_frame(connection, [scoring_index_date(connection)], with_labels=False)
    assert LABEL not in frame.columns
    assert frame.height > 1_000
    with pytest.raises(ValueError, match="no complete label"):
        feature_frame(connection, [scoring_index_date(connection)], with_labels=True)


def test_the_same_warehouse_gives_the_same_frame(connection, training):
    again = feature_frame(connection, labelled_index_dates(connection), with_labels=True)
    assert again.equals(training)
    from warehouse.features import replace_features

    replace_features(connection, labelled_index_dates(connection))
    assert feature_frame(connection, labelled_index_dates(connection), with_labels=True).equals(
        training
    )


def test_opted_out_people_never_appear(connection, training):
    opted_out = [
        n
        for (n,) in connection.execute("SELECT nhs_number FROM features.type1_opt_outs").fetchall()
    ]
    assert opted_out
    assert not training.filter(pl.col("nhs_number").is_in(opted_out)).height


def test_changed_staged_data_is_picked_up(connection, training):
    index_date = D(2023, 3, 31)
    [[nhs_number]] = connection.execute(
        "SELECT min(nhs_number) FROM staged.admissions WHERE admission_date BETWEEN $a AND $b "
        "AND admission_method = '21'",
        {"a": D(2023, 4, 1), "b": D(2024, 3, 31)},
    ).fetchall()
    connection.execute("DELETE FROM staged.admissions WHERE nhs_number = $n", {"n": nhs_number})
    frame = feature_frame(connection, [index_date], with_labels=True)
    row = frame.filter(pl.col("nhs_number") == nhs_number)
    assert row.height == 0 or row[LABEL].item() == 0


def test_features_make_clinical_sense(training):
    prior = training.group_by(pl.col("emergency_admissions_12m") > 0).agg(pl.col(LABEL).mean())
    rates = dict(zip(prior[:, 0], prior[:, 1], strict=True))
    assert rates[True] > 2 * rates[False]
    assert training.select(pl.corr("age", "ltc_count")).item() > 0.3
    assert training.select(pl.corr("ltc_count", "frailty_deficits")).item() > 0.5
    by_care_home = training.group_by("care_home").agg(pl.col("age").mean())
    ages = dict(zip(by_care_home["care_home"], by_care_home["age"], strict=True))
    assert ages[1] > ages[0] + 20
    assert training.select(pl.col("imd_decile").is_between(1, 10).all()).item()
    assert set(training["ethnicity_group"].unique()) <= {
        "White",
        "Mixed",
        "Asian",
        "Black",
        "Other",
        "Not stated",
    }


def test_features_recorded_as_built_without_labels_fail_loudly_not_as_an_empty_frame(connection):
    # The state the 1,000,000-person run was left in: features and build record, no labels.
    day = D(2023, 2, 28)
    [(rows,)] = connection.execute(
        "SELECT count(*) FROM features.person_features WHERE index_date = $d "
        "AND nhs_number NOT IN (SELECT nhs_number FROM features.type1_opt_outs)",
        {"d": day},
    ).fetchall()
    connection.execute("DELETE FROM features.labels WHERE index_date = $d", {"d": day})
    with pytest.raises(
        MissingLabels, match=f"2023-02-28: 0 of the {rows:,} rows of features.person_features"
    ):
        feature_frame(connection, [D(2023, 1, 31), day], with_labels=True)
    assert feature_frame(connection, [D(2023, 1, 31)], with_labels=True).height > 1_000
