"""The SQL and the Great Expectations suite are generated from the same contract rules.

For every feed the test builds a small raw table: one good row, then one row per row rule
that breaks that rule and no other rule of the same column's kind. The quarantine SQL must
flag exactly that row for that rule, and the suite's expectation for the rule must fail on
that row. A rule added to a contract without SQL or an expectation fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import great_expectations as gx
import pytest

from data_contracts import Contract, Rule, is_valid_nhs_number, load_contracts
from data_contracts.expectations import (
    RULES_WITHOUT_EXPECTATION,
    expectation_suite,
    severity_suites,
    suite_parameters,
)
from data_contracts.sql import (
    METADATA_COLUMNS,
    reference_placeholders,
    render,
    row_violations_parameters,
    row_violations_sql,
    row_warnings_parameters,
    row_warnings_sql,
    staged_select_sql,
)

DELIVERY_MONTH = "2024-03"
FEEDS = tuple(sorted(load_contracts()))

# A value for every column that meets every rule (test data, not a restatement of rules).
GOOD_VALUES: dict[str, str | None] = {
    "practice_code": "F86001",
    "practice_name": "Riverside Surgery",
    "federation_code": "FED01",
    "federation_name": "North Federation",
    "vanguard": "Y",
    "lsoa_code": "E01000001",
    "imd_decile": "3",
    "date_of_birth": "1950-01-01",
    "sex": "2",
    "ethnic_category": "A",
    "registration_date": "2000-01-01",
    "deregistration_date": None,
    "date_of_death": None,
    "care_home": "N",
    "type1_opt_out": "N",
    "diagnosis_date": "2010-05-05",
    "consultation_date": "2024-03-15",
    "mode": "telephone",
    "clinician": "gp",
    "issue_date": "2024-03-15",
    "bnf_code": "0205051R0",
    "repeat": "Y",
    "observation_date": "2024-03-15",
    "value": "25.5",
    "provider_code": "RF4",
    "arrival_date": "2024-03-15",
    "arrived_by_ambulance": "Y",
    "admitted": "N",
    "appointment_date": "2024-03-15",
    "treatment_function_code": "320",
    "attendance_status": "5",
    "admission_date": "2024-03-15",
    "discharge_date": "2024-03-20",
    "admission_method": "21",
    "primary_diagnosis": "J44.1",
    "service_type": "home_care",
    "start_date": "2024-03-15",
    "end_date": None,
}
GOOD_SNOMED = {"conditions": "38341003", "observations": "60621009"}
BAD_TYPED_TEXT = {"DATE": "2024-02-30", "BOOLEAN": "maybe", "INTEGER": "1.0", "DOUBLE": "nan"}
AFTER_THE_MONTH = "2024-04-01"
# Breaking some rules necessarily breaks another: (feed, rule) -> rules whose bad row it
# also flags. A date of birth after the month's end is after the registration date too,
# and an admission after the month's end is after the good row's discharge date.
IMPLIED = {
    ("registrations", "date_of_birth_not_after_registration_date"): {
        "date_of_birth_not_after_delivery_month_end"
    },
    ("admissions", "discharge_not_before_admission"): {"event_date_within_delivery_month"},
}


def valid_nhs_numbers() -> Iterator[str]:
    number = 9990000000
    while True:
        number += 1
        if is_valid_nhs_number(str(number)):
            yield str(number)


def source_file(contract: Contract) -> str:
    if contract.scope == "gp":
        return f"gp/F86001/{contract.file_name}"
    return f"{contract.scope}/{contract.file_name}"


def good_row(contract: Contract, identity: int, nhs_number: str) -> dict[str, str | None]:
    row = {}
    for name in contract.column_names:
        if name == contract.key:
            row[name] = f"{name}-{identity}"
        elif name == "nhs_number":
            row[name] = nhs_number
        elif name == "snomed_code":
            row[name] = GOOD_SNOMED[contract.feed]
        else:
            row[name] = GOOD_VALUES[name]
    # Columns that must be unique in a file get a distinct value on every row.
    if contract.feed == "practices":
        row["practice_code"] = f"F{86000 + identity:05d}"
    if contract.feed == "lsoa_imd":
        row["lsoa_code"] = f"E01{identity:06d}"
    return row


def break_rule(
    contract: Contract, rule: Rule, row: dict[str, Any], baseline: dict[str, Any]
) -> dict[str, Any]:
    """The row changed so that it breaks `rule`."""
    column = str(rule.column)
    if rule.when_column is not None:
        row[rule.when_column] = (rule.when_values or ("",))[0]
    check = rule.check
    if check in ("required", "not_null"):
        row[column] = None
    elif check == "type":
        row[column] = BAD_TYPED_TEXT[contract.column(column).physical_type]
    elif check == "in_set":
        row[column] = "not_a_code"
    elif check == "pattern":
        row[column] = "not a code!"
    elif check == "nhs_number":
        row[column] = "9434765918"
    elif check == "between":
        row[column] = str(int(rule.minimum or 0) - 1)
    elif check == "is_null":
        row[column] = "1"
    elif check == "not_before":
        # Both dates inside the delivery month, so only the order is wrong.
        row[str(rule.other_column)], row[column] = "2024-03-20", "2024-03-10"
        if rule.other_column == "date_of_birth":
            row["registration_date"] = "2024-03-20"
    elif check == "not_after":
        row[column], row[str(rule.other_column)] = "2001-01-01", "2000-01-01"
    elif check in ("within_delivery_month", "not_after_delivery_month_end"):
        row[column] = AFTER_THE_MONTH
    elif check == "unique":
        row[column] = baseline[column]
    elif check == "resend":
        row = dict(baseline)
    elif check == "conflict":
        row[column] = baseline[column]
    elif check == "known_in_reference":
        row[column] = "E01999999" if column == "lsoa_code" else "Z99999"
    else:
        raise AssertionError(f"the test has no way to break {check}")
    return row


def raw_rows(contract: Contract) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Line 1 is good; then one bad line per row rule. Returns rows and rule -> line."""
    numbers = valid_nhs_numbers()
    baseline = good_row(contract, 1, next(numbers))
    rows = [baseline]
    lines = {}
    for rule in contract.row_rules:
        line = len(rows) + 1
        row = break_rule(contract, rule, good_row(contract, line, next(numbers)), baseline)
        rows.append(row)
        lines[rule.name] = line
    month = None if contract.scope == "reference" else DELIVERY_MONTH
    for line, row in enumerate(rows, start=1):
        row.update(delivery_month=month, source_file=source_file(contract), line_number=line)
    return rows, lines


def create_raw_table(
    connection: duckdb.DuckDBPyConnection, table: str, contract: Contract, rows: list[dict]
) -> None:
    names = [*METADATA_COLUMNS, *contract.column_names]
    columns = ", ".join(
        f'"{name}" {"BIGINT" if name == "line_number" else "VARCHAR"}' for name in names
    )
    connection.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
    placeholders = ", ".join("?" for _ in names)
    connection.executemany(
        f"INSERT INTO {table} VALUES ({placeholders})",
        [[row[name] for name in names] for row in rows],
    )


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    contracts = load_contracts()
    for feed in ("practices", "lsoa_imd"):
        contract = contracts[feed]
        rows = [good_row(contract, 1, "")]
        rows[0].update(delivery_month=None, source_file="reference", line_number=1)
        create_raw_table(connection, f"known_{feed}", contract, rows)
    yield connection
    connection.close()


def flagged(
    connection: duckdb.DuckDBPyConnection, contract: Contract
) -> tuple[dict[str, set[int]], set[str], set[str]]:
    """Rule -> flagged lines, from both SQL queries; and the rule names in each query."""
    references = {
        placeholder: "known_" + placeholder.removeprefix("reference_")
        for placeholder in reference_placeholders(contract)
    }
    found: dict[str, set[int]] = {}
    names_in_sql = []
    for sql, parameters in (
        (row_violations_sql(contract), row_violations_parameters(contract)),
        (row_warnings_sql(contract), row_warnings_parameters(contract)),
    ):
        names_in_sql.append(set(re.findall(r"'rule': '([a-z0-9_]+)'", sql)))
        query = render(sql, raw_table="raw", **references)
        for _, _, line, rule, _, _ in connection.execute(query, parameters).fetchall():
            found.setdefault(rule, set()).add(line)
    return found, names_in_sql[0], names_in_sql[1]


@pytest.mark.parametrize("feed", FEEDS)
def test_sql_flags_exactly_the_bad_row_for_each_rule(
    connection: duckdb.DuckDBPyConnection, feed: str
) -> None:
    contract = load_contracts()[feed]
    rows, lines = raw_rows(contract)
    create_raw_table(connection, "raw", contract, rows)
    found, in_violations, in_warnings = flagged(connection, contract)
    for rule in contract.row_rules:
        expected = {lines[rule.name]}
        expected |= {lines[other] for other in IMPLIED.get((feed, rule.name), set())}
        if rule.check == "known_in_reference":
            # A malformed code is unknown too: both are reported.
            expected |= {
                lines[other.name]
                for other in contract.row_rules
                if other.check == "pattern" and other.column == rule.column
            }
        assert found.get(rule.name) == expected, rule.name
    assert set(found) == {rule.name for rule in contract.row_rules}
    assert in_violations == {r.name for r in contract.row_rules if r.severity != "warning"}
    assert in_warnings == {r.name for r in contract.row_rules if r.severity == "warning"}


@pytest.mark.parametrize("feed", FEEDS)
def test_staged_select_types_the_good_row(connection: duckdb.DuckDBPyConnection, feed: str) -> None:
    contract = load_contracts()[feed]
    rows, _ = raw_rows(contract)
    create_raw_table(connection, "raw", contract, rows[:1])
    cursor = connection.execute(render(staged_select_sql(contract), raw_table="raw"))
    names = [description[0] for description in cursor.description]
    staged = dict(zip(names, cursor.fetchone() or (), strict=True))
    assert tuple(names) == (*METADATA_COLUMNS, *contract.column_names)
    for column in contract.columns:
        text = rows[0][column.name]
        value = staged[column.name]
        assert (value is None) == (text is None), column.name
        if text is not None and column.physical_type == "BOOLEAN":
            assert value is (text == "Y")
        elif text is not None and column.physical_type != "VARCHAR":
            assert str(value) == text, column.name


def test_staged_select_turns_bad_text_into_null(connection: duckdb.DuckDBPyConnection) -> None:
    contract = load_contracts()["observations"]
    row = good_row(contract, 1, "9434765919")
    row.update(delivery_month=DELIVERY_MONTH, source_file="gp/F86001/x.csv", line_number=1)
    row.update(observation_date="2024-3-15", value=" 25")
    create_raw_table(connection, "raw", contract, [row])
    cursor = connection.execute(render(staged_select_sql(contract), raw_table="raw"))
    names = [description[0] for description in cursor.description]
    staged = dict(zip(names, cursor.fetchone() or (), strict=True))
    assert staged["observation_date"] is None
    assert staged["value"] is None
    assert staged["snomed_code"] == GOOD_SNOMED["observations"]


@pytest.mark.parametrize("feed", FEEDS)
def test_suite_and_sql_carry_the_same_rules(feed: str) -> None:
    contract = load_contracts()[feed]
    suite = expectation_suite(contract)
    in_suite = [expectation.meta["rule"] for expectation in suite.expectations]
    assert len(in_suite) == len(set(in_suite))
    expected = {r.name for r in contract.rules if r.check not in RULES_WITHOUT_EXPECTATION}
    assert set(in_suite) == expected
    in_sql = set(re.findall(r"'rule': '([a-z0-9_]+)'", row_violations_sql(contract)))
    in_sql |= set(re.findall(r"'rule': '([a-z0-9_]+)'", row_warnings_sql(contract)))
    assert in_sql == {rule.name for rule in contract.row_rules}
    assert in_sql <= set(in_suite)
    for expectation in suite.expectations:
        rule = contract.rule(expectation.meta["rule"])
        assert expectation.meta["severity"] == rule.severity
        assert expectation.meta["kind"] == rule.kind


@pytest.mark.parametrize("feed", FEEDS)
def test_severity_suites_split_the_rules_so_a_critical_suite_holds_only_blocking_rules(
    feed: str,
) -> None:
    contract = load_contracts()[feed]
    suites = severity_suites(contract)
    severities = {
        group: {e.meta["severity"] for e in suite.expectations} for group, suite in suites.items()
    }
    assert severities["critical"] == {"error"}
    assert severities.get("warnings", set()) <= {"warning", "ignore"}
    assert {s.name for s in suites.values()} <= {f"{feed}.critical", f"{feed}.warnings"}
    rules = sorted(e.meta["rule"] for suite in suites.values() for e in suite.expectations)
    assert rules == sorted(e.meta["rule"] for e in expectation_suite(contract).expectations)
    has_warning_rules = any(
        r.severity != "error" for r in contract.rules if r.check not in RULES_WITHOUT_EXPECTATION
    )
    assert ("warnings" in suites) == has_warning_rules


@pytest.fixture(scope="module")
def batch_definition() -> Any:
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("staged")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")


@pytest.mark.parametrize("feed", FEEDS)
def test_suite_fails_on_the_bad_rows_and_passes_the_good(
    connection: duckdb.DuckDBPyConnection, batch_definition: Any, feed: str
) -> None:
    contract = load_contracts()[feed]
    rows, lines = raw_rows(contract)
    suite = expectation_suite(contract)
    parameters = suite_parameters(
        None if contract.scope == "reference" else DELIVERY_MONTH,
        {"practices.practice_code": ["F86001"], "lsoa_imd.lsoa_code": ["E01000001"]},
    )
    staged_sql = render(staged_select_sql(contract), raw_table="raw")

    create_raw_table(connection, "raw", contract, rows[:1])
    good = batch_definition.get_batch(
        batch_parameters={"dataframe": connection.execute(staged_sql).df()}
    ).validate(suite, expectation_parameters=parameters)
    failed = [r.expectation_config.meta["rule"] for r in good.results if not r.success]
    assert failed == []

    create_raw_table(connection, "raw", contract, rows)
    frame = connection.execute(staged_sql).df()
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, expectation_parameters=parameters, result_format="COMPLETE"
    )
    by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
    for rule in contract.row_rules:
        if rule.check == "type":
            # Staged text that failed to parse is NULL; the SQL reports it (see expectations.py).
            continue
        outcome = by_rule[rule.name]
        assert not outcome.success, rule.name
        bad_index = lines[rule.name] - 1
        assert bad_index in outcome.result["unexpected_index_list"], rule.name
