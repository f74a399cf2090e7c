"""A second supplier: hand-written landing zones that follow the spec but not our generator.

Written with Python's csv module (CRLF line ends, minimal quoting), columns in an order of
the supplier's choosing, sometimes with extra columns: everything the spec allows. Tests use
it to prove the pipeline loads any conforming landing zone, and to craft one fault at a time.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

Rows = Sequence[dict[str, str]]

PRACTICES = [
    {
        "federation_name": "North Locality",
        "practice_code": "A10001",
        "practice_name": "Riverside Surgery",
        "federation_code": "FED01",
        "vanguard": "Y",
    },
    {
        "federation_name": "North Locality",
        "practice_code": "A10002",
        "practice_name": "Hill, Top & Vale",
        "federation_code": "FED01",
        "vanguard": "N",
    },
]
LSOA = [
    {"imd_decile": "3", "lsoa_code": "E01000001"},
    {"imd_decile": "9", "lsoa_code": "E01000002"},
]
NHS_NUMBERS = ["9990000018", "9990000026", "9990000034"]


def csv_bytes(rows: Rows, columns: Sequence[str]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def month_files(month: str) -> dict[str, bytes]:
    """One month of a small area: two practices, hospital and social care files."""
    day = f"{month}-15"
    registrations = [
        {
            "lsoa_code": "E01000001",
            "nhs_number": NHS_NUMBERS[0],
            "date_of_birth": "1941-03-02",
            "sex": "2",
            "ethnic_category": "A",
            "registration_date": "1990-01-01",
            "deregistration_date": "",
            "date_of_death": "",
            "care_home": "Y",
            "type1_opt_out": "N",
        },
        {
            "lsoa_code": "",
            "nhs_number": NHS_NUMBERS[1],
            "date_of_birth": "1980-07-30",
            "sex": "1",
            "ethnic_category": "99",
            "registration_date": "2010-05-05",
            "deregistration_date": "",
            "date_of_death": "",
            "care_home": "N",
            "type1_opt_out": "N",
        },
    ]
    registration_columns = [
        "type1_opt_out",
        "care_home",
        "date_of_death",
        "deregistration_date",
        "registration_date",
        "lsoa_code",
        "ethnic_category",
        "sex",
        "date_of_birth",
        "nhs_number",
    ]
    conditions = [
        {"nhs_number": NHS_NUMBERS[0], "snomed_code": "84114007", "diagnosis_date": "2015-02-01"}
    ]
    consultations = [
        {
            "nhs_number": NHS_NUMBERS[0],
            "consultation_date": day,
            "mode": "home_visit",
            "clinician": "gp",
        },
        {
            "nhs_number": NHS_NUMBERS[0],
            "consultation_date": day,
            "mode": "home_visit",
            "clinician": "gp",
        },
    ]
    medications = [
        {"nhs_number": NHS_NUMBERS[0], "issue_date": day, "bnf_code": "0205051R0", "repeat": "Y"}
    ]
    observations = [
        {
            "nhs_number": NHS_NUMBERS[0],
            "observation_date": day,
            "snomed_code": "271649006",
            "value": "142",
        },
        {
            "nhs_number": NHS_NUMBERS[1],
            "observation_date": day,
            "snomed_code": "77176002",
            "value": "",
        },
    ]
    files: dict[str, bytes] = {}
    for practice, people in (("A10001", registrations[:1]), ("A10002", registrations[1:])):
        files[f"gp/{practice}/registrations.csv"] = csv_bytes(people, registration_columns)
        files[f"gp/{practice}/conditions.csv"] = csv_bytes(
            [c for c in conditions if any(p["nhs_number"] == c["nhs_number"] for p in people)],
            ["snomed_code", "nhs_number", "diagnosis_date"],
        )
        files[f"gp/{practice}/consultations.csv"] = csv_bytes(
            [c for c in consultations if any(p["nhs_number"] == c["nhs_number"] for p in people)],
            ["nhs_number", "consultation_date", "mode", "clinician", "supplier_batch"],
        )
        files[f"gp/{practice}/medications.csv"] = csv_bytes(
            [m for m in medications if any(p["nhs_number"] == m["nhs_number"] for p in people)],
            ["nhs_number", "issue_date", "bnf_code", "repeat"],
        )
        files[f"gp/{practice}/observations.csv"] = csv_bytes(
            [o for o in observations if any(p["nhs_number"] == o["nhs_number"] for p in people)],
            ["value", "snomed_code", "observation_date", "nhs_number"],
        )
    files["sus/ae_attendances.csv"] = csv_bytes(
        [
            {
                "attendance_id": f"AE-{month}-1",
                "nhs_number": NHS_NUMBERS[0],
                "practice_code": "A10001",
                "provider_code": "RF4",
                "arrival_date": day,
                "arrived_by_ambulance": "Y",
                "admitted": "Y",
            }
        ],
        [
            "attendance_id",
            "nhs_number",
            "practice_code",
            "provider_code",
            "arrival_date",
            "arrived_by_ambulance",
            "admitted",
        ],
    )
    files["sus/outpatients.csv"] = csv_bytes(
        [
            {
                "appointment_id": f"OP-{month}-1",
                "nhs_number": NHS_NUMBERS[1],
                "practice_code": "",
                "provider_code": "RF4",
                "appointment_date": day,
                "treatment_function_code": "320",
                "attendance_status": "3",
            }
        ],
        [
            "appointment_id",
            "nhs_number",
            "practice_code",
            "provider_code",
            "appointment_date",
            "treatment_function_code",
            "attendance_status",
        ],
    )
    files["sus/admissions.csv"] = csv_bytes(
        [
            {
                "spell_id": f"SP-{month}-1",
                "nhs_number": NHS_NUMBERS[0],
                "practice_code": "A10001",
                "provider_code": "RF4",
                "admission_date": day,
                "discharge_date": "",
                "admission_method": "21",
                "primary_diagnosis": "I50.0",
            }
        ],
        [
            "spell_id",
            "nhs_number",
            "practice_code",
            "provider_code",
            "admission_date",
            "discharge_date",
            "admission_method",
            "primary_diagnosis",
        ],
    )
    files["social_care/services.csv"] = csv_bytes(
        [], ["service_id", "nhs_number", "service_type", "start_date", "end_date"]
    )
    return files


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    rows = [
        {
            "path": path,
            "rows": str(count_rows(content)),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        for path, content in sorted(files.items())
    ]
    return csv_bytes(rows, ["sha256", "path", "rows"])


def count_rows(content: bytes) -> int:
    """Data rows as the supplier counts them (header excluded; undecodable bytes still count)."""
    text = content.decode("utf-8", errors="replace")
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)


def write_month(
    landing: Path, month: str, files: dict[str, bytes], *, manifest: bytes | None = b""
) -> None:
    """Write a month folder; the manifest is computed from `files` unless given (None: no manifest)."""
    folder = landing / "extracts" / month
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)
    if manifest is not None:
        (folder / "manifest.csv").write_bytes(manifest or manifest_bytes(files))


def write_landing(landing: Path, months: Sequence[str] = ("2024-01", "2024-02")) -> None:
    (landing / "reference").mkdir(parents=True, exist_ok=True)
    (landing / "reference" / "practices.csv").write_bytes(
        csv_bytes(
            PRACTICES,
            ["federation_name", "practice_code", "practice_name", "federation_code", "vanguard"],
        )
    )
    (landing / "reference" / "lsoa_imd.csv").write_bytes(
        csv_bytes(LSOA, ["lsoa_code", "imd_decile"])
    )
    for month in months:
        write_month(landing, month, month_files(month))
