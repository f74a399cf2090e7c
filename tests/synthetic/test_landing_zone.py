"""The generated landing zone follows docs/landing-zone.md exactly."""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import polars as pl

from synthetic import GenerationSummary, generate
from synthetic.nhs_numbers import is_valid
from tests.synthetic.spec import (
    ADMISSION_METHODS,
    ATTENDANCE_STATUS,
    CLINICIANS,
    ETHNIC,
    EVENT_DATE,
    GP_FILES,
    HEADERS,
    ID_COLUMN,
    MODES,
    NULLABLE,
    OBSERVATION_CODES,
    SERVICE_TYPES,
    SEX,
    SMOKING_CODES,
    SUS_FILES,
    kind_of,
    read_kind,
)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PRACTICE_CODE = re.compile(r"^[A-Z]\d{5}$")


def _month_end(month: str) -> str:
    return str(pl.select(pl.lit(month + "-01").str.to_date().dt.month_end()).item())


def test_layout_has_every_file_for_every_practice_and_month(small: GenerationSummary) -> None:
    landing = small.landing
    practices = pl.read_csv(landing / "reference/practices.csv", infer_schema=False)
    assert practices.columns == HEADERS["reference/practices.csv"]
    assert (
        pl.read_csv(landing / "reference/lsoa_imd.csv", infer_schema=False).columns
        == HEADERS["reference/lsoa_imd.csv"]
    )
    months = sorted(path.name for path in (landing / "extracts").iterdir())
    assert months[0] == "2023-11" and months[-1] == "2024-12" and len(months) == 14
    assert (small.first_month, small.last_month) == ("2023-11", "2024-12")
    for month in months:
        folder = landing / "extracts" / month
        expected = {
            f"gp/{code}/{name}.csv" for code in practices["practice_code"] for name in GP_FILES
        }
        expected |= {f"sus/{name}.csv" for name in SUS_FILES} | {
            "social_care/services.csv",
            "manifest.csv",
        }
        present = {
            path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
        }
        assert present == expected
        for relative in expected - {"manifest.csv"}:
            header = (folder / relative).read_bytes().split(b"\n", 1)[0].decode()
            assert header.split(",") == HEADERS[kind_of(relative)], relative


def test_reference_files_follow_the_spec(small: GenerationSummary) -> None:
    practices = pl.read_csv(small.landing / "reference/practices.csv", infer_schema=False)
    assert practices["practice_code"].is_unique().all()
    assert all(PRACTICE_CODE.match(code) for code in practices["practice_code"])
    assert set(practices["vanguard"]) <= {"Y", "N"} and "Y" in set(practices["vanguard"])
    lsoas = pl.read_csv(small.landing / "reference/lsoa_imd.csv", infer_schema=False)
    assert all(re.match(r"^E01\d{6}$", code) for code in lsoas["lsoa_code"])
    assert set(lsoas["imd_decile"].cast(pl.Int64)) <= set(range(1, 11))


def test_every_value_is_in_its_code_list_and_format(small: GenerationSummary) -> None:
    landing = small.landing
    lsoas = set(pl.read_csv(landing / "reference/lsoa_imd.csv", infer_schema=False)["lsoa_code"])
    for kind in (*GP_FILES, *SUS_FILES, "services"):
        frame = read_kind(landing, kind)
        assert frame.height > 0, kind
        for column in HEADERS[kind]:
            if column not in NULLABLE:
                assert frame[column].null_count() == 0, (kind, column)
            values = frame[column].drop_nulls()
            if column.endswith("_date"):
                assert values.str.contains(r"^\d{4}-\d{2}-\d{2}$").all(), (kind, column)
                assert values.str.to_date(strict=True).len() == values.len()
        numbers = frame["nhs_number"].unique().to_list()
        assert all(number.startswith("999") and is_valid(number) for number in numbers), kind
    registrations = read_kind(landing, "registrations")
    assert set(registrations["sex"]) <= SEX
    assert set(registrations["ethnic_category"]) <= ETHNIC
    assert set(registrations["lsoa_code"].drop_nulls()) <= lsoas
    for column in ("care_home", "type1_opt_out"):
        assert set(registrations[column]) == {"Y", "N"}
    consultations = read_kind(landing, "consultations")
    assert set(consultations["mode"]) == MODES
    assert set(consultations["clinician"]) == CLINICIANS
    medications = read_kind(landing, "medications")
    assert (medications["bnf_code"].str.len_chars() == 9).all()
    assert set(medications["repeat"]) == {"Y", "N"}
    observations = read_kind(landing, "observations")
    assert set(observations["snomed_code"]) <= OBSERVATION_CODES
    smoking = observations["snomed_code"].is_in(list(SMOKING_CODES))
    assert (observations["value"].is_null() == smoking).all()
    assert observations.filter(~smoking)["value"].cast(pl.Float64).min() > 0
    ae = read_kind(landing, "ae_attendances")
    assert set(ae["arrived_by_ambulance"]) == {"Y", "N"} and set(ae["admitted"]) == {"Y", "N"}
    outpatients = read_kind(landing, "outpatients")
    assert set(outpatients["attendance_status"]) <= ATTENDANCE_STATUS
    assert outpatients["treatment_function_code"].str.contains(r"^\d{3}$").all()
    admissions = read_kind(landing, "admissions")
    assert set(admissions["admission_method"]) <= ADMISSION_METHODS
    assert admissions["primary_diagnosis"].str.contains(r"^[A-Z]\d{2}(\.\d)?$").all()
    for frame in (ae, outpatients, admissions):
        assert frame["provider_code"].str.len_chars().eq(3).all()
        codes = frame["practice_code"]
        assert codes.drop_nulls().str.contains(PRACTICE_CODE.pattern).all()
        assert 0 < codes.null_count() < 0.1 * frame.height  # sometimes null, mostly present
    assert set(read_kind(landing, "services")["service_type"]) <= SERVICE_TYPES


def test_events_fall_inside_their_delivery_month(small: GenerationSummary) -> None:
    for kind, column in EVENT_DATE.items():
        frame = read_kind(small.landing, kind)
        assert (frame[column].str.slice(0, 7) == frame["month"]).all(), kind
    admissions = read_kind(small.landing, "admissions").with_columns(
        pl.col("admission_date", "discharge_date").str.to_date()
    )
    assert (
        admissions["discharge_date"].drop_nulls()
        >= admissions.filter(pl.col("discharge_date").is_not_null())["admission_date"]
    ).all()
    assert admissions["discharge_date"].null_count() > 0  # some still in hospital
    later = admissions.filter(pl.col("discharge_date").dt.strftime("%Y-%m") > pl.col("month"))
    assert later.height > 0  # some discharges after the month's end
    services = read_kind(small.landing, "services").with_columns(
        pl.col("start_date", "end_date").str.to_date()
    )
    assert (
        services.drop_nulls("end_date")
        .select(pl.col("end_date") >= pl.col("start_date"))
        .to_series()
    ).all()


def test_registration_snapshots(small: GenerationSummary) -> None:
    registrations = read_kind(small.landing, "registrations")
    months = sorted(set(registrations["month"]))
    assert (
        registrations.group_by("month", "practice")
        .agg(pl.col("nhs_number").is_unique().all())["nhs_number"]
        .all()
    )
    # A person is registered at one practice at a time.
    assert (
        registrations.group_by("month")
        .agg(pl.col("nhs_number").is_unique().all())["nhs_number"]
        .all()
    )
    for column in ("deregistration_date", "date_of_death"):
        dated = registrations.drop_nulls(column)
        assert dated.height > 0, column
        assert (dated[column].str.slice(0, 7) == dated["month"]).all(), column
    died = registrations.drop_nulls("date_of_death")
    assert (died["deregistration_date"] == died["date_of_death"]).all()
    assert (registrations["date_of_birth"] <= registrations["registration_date"]).all()
    for month in months:
        assert (
            registrations.filter(pl.col("month") == month)["registration_date"] <= _month_end(month)
        ).all()
    # People who left in an earlier month are not in later files.
    for earlier, later in itertools.pairwise(months):
        left = registrations.filter(
            (pl.col("month") == earlier) & pl.col("deregistration_date").is_not_null()
        )
        assert left.height > 0
        assert not set(left["nhs_number"]) & set(
            registrations.filter(pl.col("month") == later)["nhs_number"]
        )
    # New registrations and births appear during the run.
    first = registrations.filter(pl.col("month") == months[0])
    new = registrations.filter(pl.col("registration_date") >= months[0] + "-01")
    assert new.height > 0 and (new["date_of_birth"] >= months[0] + "-01").any()
    assert first["care_home"].eq("Y").any()
    # Opt-outs: some at the start, some opting out part-way through, none with GP data.
    opted = registrations.filter(pl.col("type1_opt_out") == "Y")
    assert opted.height > 0
    first_opted = set(first.filter(pl.col("type1_opt_out") == "Y")["nhs_number"])
    assert set(opted["nhs_number"]) - first_opted  # some opted out later
    for kind in ("conditions", "consultations", "medications", "observations"):
        frame = read_kind(small.landing, kind).join(
            opted.select("nhs_number", "month"), on=["nhs_number", "month"], how="inner"
        )
        assert frame.height == 0, kind


def test_condition_snapshot(small: GenerationSummary) -> None:
    conditions = read_kind(small.landing, "conditions")
    registrations = read_kind(small.landing, "registrations")
    joined = conditions.join(registrations, on=["nhs_number", "month", "practice"], how="left")
    assert joined["date_of_birth"].null_count() == 0  # everyone is on that practice's list
    for month in set(conditions["month"]):
        assert (
            conditions.filter(pl.col("month") == month)["diagnosis_date"] <= _month_end(month)
        ).all()
    assert (joined["diagnosis_date"] >= joined["date_of_birth"]).all()
    from tests.synthetic.spec import LTC_CODES

    codes = set(conditions["snomed_code"])
    assert len(codes & LTC_CODES) >= 18
    assert codes - LTC_CODES  # valid but out-of-scope codes appear too


def test_manifests_match_their_files(small: GenerationSummary) -> None:
    for folder in sorted((small.landing / "extracts").iterdir()):
        manifest = pl.read_csv(folder / "manifest.csv", infer_schema=False)
        assert manifest.columns == ["path", "rows", "sha256"]
        listed = set(manifest["path"])
        present = {path.relative_to(folder).as_posix() for path in folder.rglob("*.csv")} - {
            "manifest.csv"
        }
        assert listed == present
        for path, rows, digest in manifest.iter_rows():
            data = (folder / path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest
            assert data.count(b"\n") - 1 == int(rows)
            assert b"\r" not in data


def test_ids_are_unique_across_all_months(small: GenerationSummary) -> None:
    for kind, column in ID_COLUMN.items():
        frame = read_kind(small.landing, kind)
        assert frame[column].is_unique().all(), kind


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "first", people=1_000, months=6, seed=5, faults=True)
    second = generate(tmp_path / "second", people=1_000, months=6, seed=5, faults=True)
    other = generate(tmp_path / "other", people=1_000, months=6, seed=6)

    def contents(root: Path) -> dict[str, bytes]:
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert contents(tmp_path / "first") == contents(tmp_path / "second")
    assert first.rows == second.rows
    assert contents(tmp_path / "first" / "landing") != contents(tmp_path / "other" / "landing")
    assert other.faults is None and not (tmp_path / "other" / "faults.json").exists()


def test_summary_describes_the_run(small: GenerationSummary) -> None:
    assert small.people == 2_000 and small.months == 14
    assert small.practices == 2 and small.federations == 1
    assert small.truth.exists() and small.landing.is_dir()
    assert small.rows["registrations"] == read_kind(small.landing, "registrations").height
    assert small.nhs_numbers_outside_test_range == 0
