"""The landing-zone spec (docs/landing-zone.md) as data, and readers for the tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

HEADERS = {
    "reference/practices.csv": [
        "practice_code",
        "practice_name",
        "federation_code",
        "federation_name",
        "vanguard",
    ],
    "reference/lsoa_imd.csv": ["lsoa_code", "imd_decile"],
    "registrations": [
        "nhs_number",
        "date_of_birth",
        "sex",
        "ethnic_category",
        "lsoa_code",
        "registration_date",
        "deregistration_date",
        "date_of_death",
        "care_home",
        "type1_opt_out",
    ],
    "conditions": ["nhs_number", "snomed_code", "diagnosis_date"],
    "consultations": ["nhs_number", "consultation_date", "mode", "clinician"],
    "medications": ["nhs_number", "issue_date", "bnf_code", "repeat"],
    "observations": ["nhs_number", "observation_date", "snomed_code", "value"],
    "ae_attendances": [
        "attendance_id",
        "nhs_number",
        "practice_code",
        "provider_code",
        "arrival_date",
        "arrived_by_ambulance",
        "admitted",
    ],
    "outpatients": [
        "appointment_id",
        "nhs_number",
        "practice_code",
        "provider_code",
        "appointment_date",
        "treatment_function_code",
        "attendance_status",
    ],
    "admissions": [
        "spell_id",
        "nhs_number",
        "practice_code",
        "provider_code",
        "admission_date",
        "discharge_date",
        "admission_method",
        "primary_diagnosis",
    ],
    "services": ["service_id", "nhs_number", "service_type", "start_date", "end_date"],
}
GP_FILES = ("registrations", "conditions", "consultations", "medications", "observations")
SUS_FILES = ("ae_attendances", "outpatients", "admissions")
EVENT_DATE = {
    "consultations": "consultation_date",
    "medications": "issue_date",
    "observations": "observation_date",
    "ae_attendances": "arrival_date",
    "outpatients": "appointment_date",
    "admissions": "admission_date",
    "services": "start_date",
}
ID_COLUMN = {
    "ae_attendances": "attendance_id",
    "outpatients": "appointment_id",
    "admissions": "spell_id",
    "services": "service_id",
}
# Columns that may be empty (everything else is required).
NULLABLE = {
    "lsoa_code",
    "deregistration_date",
    "date_of_death",
    "value",
    "practice_code",
    "discharge_date",
    "end_date",
}
SEX = {"1", "2", "9", "X"}
ETHNIC = {*"ABCDEFGHJKLMNPRS", "Z", "99"}
MODES = {"face_to_face", "telephone", "video", "home_visit", "online"}
CLINICIANS = {"gp", "nurse", "pharmacist", "other"}
OBSERVATION_CODES = {"60621009", "271649006", "999791000000106", "77176002", "8517006", "266919005"}
SMOKING_CODES = {"77176002", "8517006", "266919005"}
ATTENDANCE_STATUS = {"5", "6", "7", "3", "2", "4"}
EMERGENCY_METHODS = {*(str(code) for code in range(21, 29)), "2A", "2B", "2C", "2D"}
ADMISSION_METHODS = {"11", "12", "13", *EMERGENCY_METHODS, "31", "32", "81", "82"}
SERVICE_TYPES = {"home_care", "reablement", "day_care", "residential", "nursing"}
LTC_CODES = {
    "38341003",
    "46635009",
    "44054006",
    "195967001",
    "13645005",
    "84114007",
    "49436004",
    "414545008",
    "230690007",
    "709044004",
    "52448006",
    "35489007",
    "58214004",
    "13746004",
    "363346000",
    "84757009",
    "69896004",
    "64859006",
    "49049000",
    "110359009",
}


def kind_of(relative_path: str) -> str:
    return relative_path.rsplit("/", 1)[-1].removesuffix(".csv")


def read_kind(landing: Path, kind: str, months: list[str] | None = None) -> pl.DataFrame:
    """Every file of one kind across months, as strings, with month and practice columns."""
    folder = "gp/*" if kind in GP_FILES else ("social_care" if kind == "services" else "sus")
    frames = []
    for month_folder in sorted((landing / "extracts").iterdir()):
        if months is not None and month_folder.name not in months:
            continue
        for path in sorted(month_folder.glob(f"{folder}/{kind}.csv")):
            frame = pl.read_csv(path, infer_schema=False).with_columns(
                month=pl.lit(month_folder.name),
                practice=pl.lit(path.parent.name if kind in GP_FILES else None, dtype=pl.String),
            )
            frames.append(frame)
    return pl.concat(frames, how="vertical_relaxed")
