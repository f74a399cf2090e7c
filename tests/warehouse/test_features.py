"""Features and labels on hand-built staged rows: windows, bed days, labels, eligibility."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from models.dataset import feature_frame
from models.feature_catalogue import FEATURE_NAMES, FEATURES, LABEL
from tests.data_contracts.spec_tables import long_term_condition_codes
from tests.warehouse.features_fixtures import empty_warehouse, insert, months_between, register
from warehouse.features import (
    EMERGENCY_ADMISSION_METHODS,
    LONG_TERM_CONDITIONS,
    ensure_feature_schema,
    feature_parameters,
    replace_features,
)
from warehouse.sql_files import read_sql

MONTHS = months_between("2023-01", "2024-06")
T = datetime.date(2023, 6, 30)
D = datetime.date


@pytest.fixture
def connection(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return empty_warehouse(tmp_path / "warehouse.duckdb")


def person(frame: pl.DataFrame, nhs_number: str, index_date: datetime.date = T) -> dict:
    rows = frame.filter((pl.col("nhs_number") == nhs_number) & (pl.col("index_date") == index_date))
    assert rows.height == 1, f"{nhs_number} has {rows.height} rows at {index_date}"
    return rows.row(0, named=True)


def spell(
    connection, nhs_number: str, admitted: datetime.date, discharged, method: str = "21"
) -> None:
    insert(
        connection,
        "admissions",
        spell_id=f"S{nhs_number}{admitted}{method}",
        nhs_number=nhs_number,
        practice_code="Z99999",
        provider_code="RF4",
        admission_date=admitted,
        discharge_date=discharged,
        admission_method=method,
        primary_diagnosis="I50.0",
    )


def test_the_sql_returns_the_catalogue_columns_in_order(connection):
    register(connection, "1", MONTHS)
    ensure_feature_schema(connection)
    columns = [
        row[0]
        for row in connection.execute(
            "DESCRIBE " + read_sql("features/person_features.sql"), feature_parameters(T)
        ).fetchall()
    ]
    assert columns == ["nhs_number", "index_date", "practice_code", *FEATURE_NAMES]


def test_the_catalogue_is_well_formed():
    assert len(set(FEATURE_NAMES)) == len(FEATURES)
    groups = {"demographic", "condition", "frailty", "activity", "social_care", "observation"}
    for feature in FEATURES:
        assert feature.kind in ("numeric", "categorical", "flag"), feature.name
        assert feature.group in groups, feature.name
        assert feature.description and feature.phrase, feature.name
        value = "female" if feature.kind == "categorical" else 3.0
        assert feature.phrase.format(value=value), feature.name
    assert LABEL not in FEATURE_NAMES


def test_the_condition_code_list_is_the_specs():
    assert tuple(LONG_TERM_CONDITIONS.values()) == long_term_condition_codes()
    conditions = [f.name for f in FEATURES if f.group == "condition" and f.kind == "flag"]
    assert conditions == list(LONG_TERM_CONDITIONS)


def test_a_spell_over_the_index_date_counts_bed_days_only_up_to_it(connection):
    for number in ("1", "2", "3", "4"):
        register(connection, number, MONTHS)
    spell(connection, "1", D(2023, 6, 27), D(2023, 7, 10))  # discharged after T
    spell(connection, "2", D(2023, 6, 25), None)  # still in hospital
    spell(connection, "3", D(2022, 6, 20), D(2022, 7, 5))  # began before the 12-month window
    spell(connection, "3", D(2023, 3, 1), D(2023, 3, 4), method="12")  # elective, 3 nights
    spell(connection, "4", D(2023, 7, 1), D(2023, 7, 3))  # after T: nothing

    frame = feature_frame(connection, [T], with_labels=False)

    one = person(frame, "1")
    assert (one["bed_days_12m"], one["days_since_emergency_admission"]) == (3, 3)
    assert (one["emergency_admissions_3m"], one["emergency_admissions_12m"]) == (1, 1)
    assert person(frame, "2")["bed_days_12m"] == 5
    three = person(frame, "3")
    # The spell admitted before the 12-month look-back is invisible, though it ran into the
    # window: a training date whose feed began after it could not see it either.
    assert three["bed_days_12m"] == 3
    assert three["elective_admissions_12m"] == 1
    assert three["emergency_admissions_12m"] == 0
    assert three["days_since_emergency_admission"] is None
    four = person(frame, "4")
    assert (four["bed_days_12m"], four["emergency_admissions_12m"]) == (0, 0)
    assert four["days_since_emergency_admission"] is None


def test_label_window_is_after_the_index_date_to_twelve_months_on(connection):
    for number in "ABCDEF":
        register(connection, number, MONTHS)
    spell(connection, "A", T, D(2023, 7, 2))  # on T: not after it
    spell(connection, "B", D(2024, 6, 30), None)  # exactly T + 12 months
    spell(connection, "C", D(2023, 8, 1), D(2023, 8, 3), method="31")  # maternity
    spell(connection, "C", D(2023, 9, 1), D(2023, 9, 3), method="11")  # elective
    spell(connection, "D", D(2024, 7, 1), None)  # a day too late
    spell(connection, "E", D(2023, 12, 1), D(2023, 12, 9), method="2A")
    spell(connection, "F", D(2023, 7, 1), D(2023, 7, 2), method="82")  # transfer

    frame = feature_frame(connection, [T], with_labels=True)

    labels = dict(zip(frame["nhs_number"], frame[LABEL], strict=True))
    assert labels == {"A": 0, "B": 1, "C": 0, "D": 0, "E": 1, "F": 0}
    assert person(frame, "A")["emergency_admissions_3m"] == 1  # T itself is history


def test_only_registered_living_people_without_an_opt_out_are_eligible(connection):
    register(connection, "alive", MONTHS)
    register(
        connection,
        "died",
        ["2023-04", "2023-05"],
        per_month={"2023-05": {"date_of_death": D(2023, 5, 10)}},
    )
    register(
        connection,
        "died_in_month",
        MONTHS[:6],
        per_month={"2023-06": {"date_of_death": D(2023, 6, 15)}},
    )
    register(
        connection,
        "left",
        MONTHS[:6],
        per_month={"2023-06": {"deregistration_date": D(2023, 6, 20)}},
    )
    register(connection, "joined_later", MONTHS[6:], registration_date=D(2023, 7, 5))
    opted_out_months = {m: {"type1_opt_out": True} for m in MONTHS[2:]}
    register(connection, "opted_out", MONTHS, per_month=opted_out_months)
    later = {m: {"type1_opt_out": True} for m in months_between("2024-01", "2024-06")}
    register(connection, "opts_out_later", MONTHS, per_month=later)
    withdrawn = {m: {"type1_opt_out": True} for m in months_between("2023-02", "2023-05")}
    register(connection, "withdrew_opt_out", MONTHS, per_month=withdrawn)

    dates = [D(2023, 1, 31), D(2023, 4, 30), T, D(2023, 7, 31)]
    frame = feature_frame(connection, dates, with_labels=False)
    present = {d: set(frame.filter(pl.col("index_date") == d)["nhs_number"]) for d in dates}

    assert present[D(2023, 1, 31)] == {"alive", "died_in_month", "left", "withdrew_opt_out"}
    assert present[D(2023, 4, 30)] == {"alive", "died", "died_in_month", "left", "withdrew_opt_out"}
    assert present[T] == {"alive", "withdrew_opt_out"}
    assert present[D(2023, 7, 31)] == {"alive", "joined_later", "withdrew_opt_out"}
    # Nor do opt-outs linger in the warehouse's feature tables.
    stored = {
        n
        for (n,) in connection.execute("SELECT nhs_number FROM features.person_features").fetchall()
    }
    assert not stored & {"opted_out", "opts_out_later"}


def test_a_person_registered_at_two_practices_belongs_to_the_latest_registration(connection):
    register(connection, "mover", MONTHS, practice_code="A10001", date_of_birth=D(1940, 7, 1))
    register(
        connection,
        "mover",
        ["2023-06"],
        practice_code="A10002",
        registration_date=D(2023, 6, 10),
        date_of_birth=D(1940, 7, 1),
        care_home=True,
    )

    frame = feature_frame(connection, [D(2023, 5, 31), T], with_labels=False)

    assert person(frame, "mover", D(2023, 5, 31))["practice_code"] == "A10001"
    moved = person(frame, "mover")
    assert (moved["practice_code"], moved["care_home"], moved["age"]) == ("A10002", 1, 82)


def test_demographics_conditions_observations_and_social_care(connection):
    insert(connection, "lsoa_imd", lsoa_code="E01000001", imd_decile=2)
    register(
        connection,
        "p",
        MONTHS,
        sex="1",
        ethnic_category="N",
        lsoa_code="E01000001",
        date_of_birth=D(1950, 7, 1),
    )
    register(connection, "q", MONTHS, sex="X", ethnic_category="99", lsoa_code="E01999999")
    for month in MONTHS:
        insert(
            connection,
            "conditions",
            delivery_month=month,
            practice_code="A10001",
            nhs_number="p",
            snomed_code="84114007",
            diagnosis_date=D(2020, 6, 30),
        )
        insert(
            connection,
            "conditions",
            delivery_month=month,
            practice_code="A10001",
            nhs_number="p",
            snomed_code="73211009",
            diagnosis_date=D(2019, 1, 1),
        )  # not an LTC
        if month >= "2023-09":  # diagnosed after T: in later snapshots only
            insert(
                connection,
                "conditions",
                delivery_month=month,
                practice_code="A10001",
                nhs_number="p",
                snomed_code="13645005",
                diagnosis_date=D(2023, 9, 1),
            )
    for day, code, value in [
        (D(2023, 1, 5), "60621009", 31.0),
        (D(2023, 5, 5), "60621009", 29.5),
        (D(2023, 7, 5), "60621009", 40.0),
        (D(2023, 6, 1), "77176002", None),
        (D(2023, 6, 1), "8517006", None),
        (D(2023, 2, 1), "999791000000106", 61.0),
    ]:
        insert(
            connection,
            "observations",
            practice_code="A10001",
            nhs_number="p",
            observation_date=day,
            snomed_code=code,
            value=value,
        )
    for day in (D(2023, 6, 2), D(2023, 6, 2), D(2023, 1, 10), D(2023, 7, 1)):
        insert(
            connection,
            "consultations",
            practice_code="A10001",
            nhs_number="p",
            consultation_date=day,
            mode="home_visit",
            clinician="gp",
        )
    for day, code in [
        (D(2023, 6, 1), "0205051R0"),
        (D(2023, 6, 1), "0205052C0"),
        (D(2023, 1, 1), "0601012V0"),
        (D(2023, 7, 1), "0407010H0"),
    ]:
        insert(
            connection,
            "medications",
            practice_code="A10001",
            nhs_number="p",
            issue_date=day,
            bnf_code=code,
            repeat=True,
        )
    insert(
        connection,
        "services",
        service_id="SC1",
        nhs_number="p",
        service_type="home_care",
        start_date=D(2023, 2, 1),
        end_date=D(2023, 8, 1),
    )
    insert(
        connection,
        "ae_attendances",
        attendance_id="AE1",
        nhs_number="p",
        practice_code=None,
        provider_code="RF4",
        arrival_date=D(2023, 5, 1),
        arrived_by_ambulance=True,
        admitted=False,
    )
    for status, number in (("5", 1), ("3", 2), ("7", 3), ("2", 4)):
        insert(
            connection,
            "outpatients",
            appointment_id=f"OP{number}",
            nhs_number="p",
            practice_code="Z00000",
            provider_code="RF4",
            appointment_date=D(2023, 4, number),
            treatment_function_code="320",
            attendance_status=status,
        )

    frame = feature_frame(connection, [T], with_labels=False)
    p, q = person(frame, "p"), person(frame, "q")

    assert (p["age"], p["sex"], p["ethnicity_group"], p["imd_decile"]) == (72, "male", "Black", 2)
    assert (q["sex"], q["ethnicity_group"], q["imd_decile"]) == ("not known", "Not stated", None)
    assert (p["heart_failure"], p["copd"], p["ltc_count"]) == (1, 0, 1)
    assert p["years_since_heart_failure"] == pytest.approx(3.0, abs=0.01)
    assert p["years_since_copd"] is None
    assert (p["bmi"], p["hba1c"], p["systolic_bp"]) == (29.5, 61.0, None)
    assert (p["smoking_status"], q["smoking_status"]) == ("current", "not recorded")
    assert (p["consultations_3m"], p["consultations_12m"], p["home_visits_12m"]) == (2, 3, 3)
    assert (p["bnf_sections_3m"], p["bnf_sections_12m"]) == (1, 2)
    assert (p["social_care_active"], p["social_care_started_12m"]) == (1, 1)
    assert (p["ae_attendances_3m"], p["ambulance_arrivals_12m"]) == (1, 1)
    assert (p["outpatient_attendances_12m"], p["outpatient_dnas_12m"]) == (1, 2)
    # Heart failure, a home visit, active social care, an ambulance arrival.
    assert p["frailty_deficits"] == 4
    assert q["frailty_deficits"] == 0 and q["ltc_count"] == 0


def test_building_twice_replaces_the_index_date(connection):
    register(connection, "1", MONTHS)
    assert replace_features(connection, [T]) == 1
    assert replace_features(connection, [T, T]) == 1
    counts = connection.execute(
        "SELECT (SELECT count(*) FROM features.person_features), (SELECT count(*) FROM features.labels)"
    ).fetchone()
    assert counts == (1, 1)


def test_index_dates_must_be_month_ends(connection):
    with pytest.raises(ValueError, match="last day of a month"):
        replace_features(connection, [D(2023, 6, 15)])


def test_emergency_methods_are_the_specs():
    methods = [*(str(n) for n in range(21, 29)), "2A", "2B", "2C", "2D"]
    assert list(EMERGENCY_ADMISSION_METHODS) == methods


def test_latest_active_and_days_since_look_back_twelve_months_only(connection):
    # Recorded 13 months before T: a training date 12 months into a feed could never see
    # them, so the scoring date must not either (docs/features.md, "Look-back").
    register(connection, "p", MONTHS)
    old = D(2022, 5, 31)
    insert(
        connection,
        "observations",
        practice_code="A10001",
        nhs_number="p",
        observation_date=old,
        snomed_code="60621009",
        value=31.0,
    )
    insert(
        connection,
        "services",
        service_id="SC9",
        nhs_number="p",
        service_type="nursing",
        start_date=old,
        end_date=None,
    )
    spell(connection, "p", old, None)  # still open at T

    p = person(feature_frame(connection, [T], with_labels=False), "p")

    assert p["bmi"] is None and p["smoking_status"] == "not recorded"
    assert (p["social_care_active"], p["social_care_started_12m"]) == (0, 0)
    assert (p["bed_days_12m"], p["days_since_emergency_admission"]) == (0, None)
    assert p["frailty_deficits"] == 0
