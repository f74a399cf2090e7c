"""The contracts against the standard (ODCS) and against the landing-zone spec."""

from __future__ import annotations

import re

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from data_contracts import Contract, ContractError, load_contracts
from data_contracts.reader import (
    CHECKS,
    KINDS,
    SEVERITIES,
    contract_texts,
    parse_contract,
    validate_odcs,
)
from tests.data_contracts.spec_tables import long_term_condition_codes, spec_feeds

FEEDS = (
    "practices",
    "lsoa_imd",
    "registrations",
    "conditions",
    "consultations",
    "medications",
    "observations",
    "ae_attendances",
    "outpatients",
    "admissions",
    "services",
)
EVENT_FEEDS = {
    "consultations": "consultation_date",
    "medications": "issue_date",
    "observations": "observation_date",
    "ae_attendances": "arrival_date",
    "outpatients": "appointment_date",
    "admissions": "admission_date",
    "services": "start_date",
}
KEYS = {
    "ae_attendances": "attendance_id",
    "outpatients": "appointment_id",
    "admissions": "spell_id",
    "services": "service_id",
}


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return load_contracts()


def test_one_contract_per_spec_feed(contracts: dict[str, Contract]) -> None:
    assert set(contracts) == set(FEEDS) == set(spec_feeds())


@pytest.mark.parametrize("feed", FEEDS)
def test_contract_is_valid_odcs(feed: str) -> None:
    text = contract_texts()[feed]
    model = OpenDataContractStandard.from_string(text)
    assert model.kind == "DataContract"
    assert model.apiVersion is not None and model.apiVersion.startswith("v3.")
    validate_odcs(yaml.safe_load(text))


def test_odcs_validation_rejects_what_the_standard_forbids() -> None:
    document = yaml.safe_load(contract_texts()["admissions"])
    document["schema"][0]["properties"][0]["logicalType"] = "text"
    with pytest.raises(ContractError, match="logicalType"):
        validate_odcs(document)
    document = yaml.safe_load(contract_texts()["admissions"])
    document["schema"][0]["properties"][0]["nullable"] = True
    with pytest.raises(ContractError):
        validate_odcs(document)


def test_a_rule_without_kind_or_with_an_unknown_severity_is_refused() -> None:
    text = contract_texts()["lsoa_imd"]
    with pytest.raises(ContractError, match="severity"):
        parse_contract(text.replace("severity: error", "severity: fatal", 1))
    with pytest.raises(ContractError, match="ruleKind"):
        parse_contract(text.replace("property: ruleKind", "property: kindOfRule", 1))


@pytest.mark.parametrize("feed", FEEDS)
def test_columns_match_the_spec(contracts: dict[str, Contract], feed: str) -> None:
    _, spec_columns = spec_feeds()[feed]
    contract = contracts[feed]
    assert contract.column_names == tuple(column.name for column in spec_columns)
    for spec_column, column in zip(spec_columns, contract.columns, strict=True):
        assert column.required == spec_column.required, column.name
        assert column.physical_type == spec_column.physical_type, column.name
        assert column.description


@pytest.mark.parametrize("feed", FEEDS)
def test_scope_and_file_name_match_the_spec_path(contracts: dict[str, Contract], feed: str) -> None:
    heading, _ = spec_feeds()[feed]
    contract = contracts[feed]
    scope_folder, *_, file_name = heading.split("/")
    assert contract.file_name == file_name
    assert contract.scope == scope_folder


@pytest.mark.parametrize("feed", FEEDS)
def test_code_lists_match_the_spec(contracts: dict[str, Contract], feed: str) -> None:
    _, spec_columns = spec_feeds()[feed]
    for spec_column in spec_columns:
        column = contracts[feed].column(spec_column.name)
        # Notes giving ranges (`A`-`H`) are checked by hand in the tests below.
        if column.allowed_values and spec_column.codes and "`-`" not in spec_column.notes:
            assert set(column.allowed_values) == set(spec_column.codes), column.name


def test_ranged_code_lists() -> None:
    contracts = load_contracts()
    ethnic = contracts["registrations"].column("ethnic_category").allowed_values
    assert ethnic is not None
    assert set(ethnic) == set("ABCDEFGHJKLMNPRSZ") | {"99"}
    methods = contracts["admissions"].column("admission_method").allowed_values
    assert methods is not None
    assert set(methods) == {
        "11", "12", "13",
        *(str(number) for number in range(21, 29)), "2A", "2B", "2C", "2D",
        "31", "32", "81", "82",
    }  # fmt: skip


def test_conditions_scope_is_the_long_term_condition_list() -> None:
    rule = load_contracts()["conditions"].rule("snomed_code_in_scope")
    assert rule.severity == "ignore"
    assert rule.kind == "row"
    assert rule.allowed_values is not None
    assert sorted(rule.allowed_values) == sorted(long_term_condition_codes())
    assert len(rule.allowed_values) == 20


@pytest.mark.parametrize("feed", FEEDS)
def test_every_rule_is_named_and_machine_readable(
    contracts: dict[str, Contract], feed: str
) -> None:
    contract = contracts[feed]
    for rule in contract.rules:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", rule.name)
        assert rule.kind in KINDS
        assert rule.severity in SEVERITIES
        assert rule.check in CHECKS
        assert rule.description
        if rule.reference_feed is not None:
            assert rule.reference_column in contracts[rule.reference_feed].column_names


@pytest.mark.parametrize("feed", FEEDS)
def test_required_and_typed_columns_have_rules(contracts: dict[str, Contract], feed: str) -> None:
    contract = contracts[feed]
    names = {rule.name for rule in contract.rules}
    for column in contract.columns:
        assert (f"{column.name}_required" in names) == column.required
        assert (f"{column.name}_type" in names) == (column.physical_type != "VARCHAR")


@pytest.mark.parametrize("feed", FEEDS)
def test_feed_facts(contracts: dict[str, Contract], feed: str) -> None:
    contract = contracts[feed]
    assert contract.key == KEYS.get(feed)
    assert contract.event_date_column == EVENT_FEEDS.get(feed)
    assert contract.snapshot == (feed in ("registrations", "conditions"))
    if feed in EVENT_FEEDS:
        rule = contract.rule("event_date_within_delivery_month")
        assert (rule.column, rule.severity, rule.kind) == (EVENT_FEEDS[feed], "error", "row")
    if contract.key is not None:
        assert contract.rule(f"{contract.key}_resend").severity == "ignore"
        assert contract.rule(f"{contract.key}_conflict").severity == "error"
    if contract.scope == "gp":
        rule = contract.rule("practice_folder_known")
        assert (rule.kind, rule.severity) == ("file", "error")
    if "nhs_number" in contract.column_names:
        assert contract.rule("nhs_number_valid").severity == "error"


def test_named_rules_from_the_spec() -> None:
    contracts = load_contracts()
    expected = {
        ("practices", "practice_code_pattern"): ("practice_code", "error"),
        ("practices", "practice_code_unique"): ("practice_code", "error"),
        ("lsoa_imd", "lsoa_code_pattern"): ("lsoa_code", "error"),
        ("lsoa_imd", "imd_decile_in_range"): ("imd_decile", "error"),
        ("registrations", "nhs_number_unique"): ("nhs_number", "error"),
        ("registrations", "date_of_birth_not_after_registration_date"): ("date_of_birth", "error"),
        ("registrations", "deregistration_date_within_delivery_month"): (
            "deregistration_date",
            "error",
        ),
        ("registrations", "date_of_death_within_delivery_month"): ("date_of_death", "error"),
        ("registrations", "lsoa_code_known"): ("lsoa_code", "warning"),
        ("admissions", "discharge_not_before_admission"): ("discharge_date", "error"),
        ("admissions", "practice_code_known"): ("practice_code", "warning"),
        ("outpatients", "treatment_function_code_pattern"): ("treatment_function_code", "error"),
        ("medications", "bnf_code_pattern"): ("bnf_code", "error"),
    }
    for (feed, name), (column, severity) in expected.items():
        rule = contracts[feed].rule(name)
        assert (rule.column, rule.severity, rule.kind) == (column, severity, "row"), name
    assert contracts["lsoa_imd"].column("imd_decile").minimum == 1
    assert contracts["lsoa_imd"].column("imd_decile").maximum == 10
    assert contracts["practices"].column("practice_code").pattern == "^[A-Z][0-9]{5}$"


def test_discharge_after_the_delivery_month_is_allowed() -> None:
    # The spec: discharge_date may fall after the month's end (the extract is made later).
    rules = load_contracts()["admissions"].rules
    assert not [rule for rule in rules if rule.column == "discharge_date" and "month" in rule.check]


def test_contracts_are_parsed_once() -> None:
    assert load_contracts() is load_contracts()
