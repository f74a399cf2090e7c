"""Path lookup and the NHS number check digit."""

from __future__ import annotations

import pytest

from data_contracts import contract_for_path, is_valid_nhs_number, practice_code_from_path


@pytest.mark.parametrize(
    ("path", "feed"),
    [
        ("gp/F86001/registrations.csv", "registrations"),
        ("gp/F86001/conditions.csv", "conditions"),
        ("gp/Y12345/consultations.csv", "consultations"),
        ("gp/F86001/medications.csv", "medications"),
        ("gp/F86001/observations.csv", "observations"),
        ("sus/ae_attendances.csv", "ae_attendances"),
        ("sus/outpatients.csv", "outpatients"),
        ("sus/admissions.csv", "admissions"),
        ("social_care/services.csv", "services"),
        ("reference/practices.csv", "practices"),
        ("reference/lsoa_imd.csv", "lsoa_imd"),
        # An unknown practice folder still has a contract: practice_folder_known reports it.
        ("gp/ZZZ/registrations.csv", "registrations"),
    ],
)
def test_contract_for_path(path: str, feed: str) -> None:
    contract = contract_for_path(path)
    assert contract is not None
    assert contract.feed == feed


@pytest.mark.parametrize(
    "path",
    [
        "manifest.csv",
        "gp/registrations.csv",
        "gp/F86001/admissions.csv",
        "gp/F86001/extra/registrations.csv",
        "sus/registrations.csv",
        "sus/admissions.CSV",
        "social_care/admissions.csv",
        "reference/admissions.csv",
        "admissions.csv",
        "other/admissions.csv",
        "gp/F86001/notes.txt",
        "",
    ],
)
def test_no_contract_for_other_paths(path: str) -> None:
    assert contract_for_path(path) is None


def test_practice_code_from_path() -> None:
    assert practice_code_from_path("gp/F86001/x.csv") == "F86001"
    assert practice_code_from_path("gp/F86001/registrations.csv") == "F86001"
    assert practice_code_from_path("sus/admissions.csv") is None
    assert practice_code_from_path("reference/practices.csv") is None
    assert practice_code_from_path("gp/x.csv") is None


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000018", "9876543210"])
def test_valid_nhs_numbers(number: str) -> None:
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "9990001234",  # wrong check digit
        "1234567890",  # check digit would be 10: never issued
        "1234567891",
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "943 476 5919",  # spaces
        "94347659I9",  # a letter
        "９４３４７６５９１９",  # full-width digits
        "",
    ],
)
def test_invalid_nhs_numbers(number: str) -> None:
    assert not is_valid_nhs_number(number)
