"""Great Expectations suites generated from a feed contract.

A suite checks a *staged* frame: the result of ``sql.staged_select_sql`` (delivery_month,
source_file, line_number, then the typed contract columns) brought into pandas. Each
expectation carries the rule it stands for in ``meta`` (rule, severity, kind, column,
check, feed), so a failed expectation reads as the same rule the quarantine SQL reports.
Everything comes from ``Contract.rules``; this module must never state a rule of its own,
and must never import dagster.

Values that depend on the delivery or on other feeds are suite parameters, supplied when
validating (``suite_parameters``): ``delivery_month_start`` / ``delivery_month_end`` and
``reference_<feed>_<column>`` (the known values of a reference column).

What a staged frame can and cannot show: a ``<column>_type`` rule becomes a check that the
staged column has its declared type, because the text that failed to parse is gone once
staged (the SQL reports those rows); ``practice_folder_known`` is judged from the file's
path by the loader, so it has no expectation.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.row_conditions import Column as ConditionColumn

from data_contracts.reader import Contract, Rule
from data_contracts.sql import METADATA_COLUMNS

SEVERITY_TO_GX = {
    "error": FailureSeverity.CRITICAL,
    "warning": FailureSeverity.WARNING,
    "ignore": FailureSeverity.INFO,
}

# pandas dtypes a staged column of each physical type may arrive as (DuckDB's .df()).
STAGED_DTYPES = {
    "DATE": ["datetime64[us]", "datetime64[ns]", "datetime64[ms]", "datetime64[s]"],
    "BOOLEAN": ["boolean", "bool"],
    "INTEGER": ["Int32", "Int64", "int32", "int64"],
    "DOUBLE": ["float64", "Float64"],
}
# The suites Data Docs show, by the contract severities they hold: a critical suite fails
# only on a blocking rule, so a warning never reads as a failure (``severity_suites``).
SUITE_GROUPS = {"critical": ("error",), "warnings": ("warning", "ignore")}
# Rules checked outside the staged frame; see the module docstring.
RULES_WITHOUT_EXPECTATION = ("practice_folder_known",)


class ColumnValuesValidNhsNumber(ColumnMapMetricProvider):
    """Per-value metric: ten digits with a valid modulus-11 check digit."""

    condition_metric_name = "column_values.valid_nhs_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return valid_nhs_numbers(column)


# Modulus 11 weights of an NHS number's first nine digits (``is_valid_nhs_number``).
NHS_NUMBER_WEIGHTS = np.arange(10, 1, -1)


def valid_nhs_numbers(column: pd.Series) -> pd.Series:
    """``is_valid_nhs_number`` of every value (False for a null or a value that is not
    text), the check digits computed for the whole column at once: a suite checks up to
    50,000 sampled rows a feed, and one Python call a value cost more than the rest of the
    rule. tests/data_contracts/test_expectations.py holds the two to the same answers.
    """
    values = column.to_numpy(dtype=object)
    ten_digits = np.fromiter(
        (
            isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit()
            for value in values
        ),
        dtype=bool,
        count=len(values),
    )
    text = np.frombuffer("".join(values[ten_digits]).encode("ascii"), dtype=np.uint8)
    digits = text.reshape(-1, 10).astype(np.int64) - ord("0")
    check_digit = 11 - digits[:, :9] @ NHS_NUMBER_WEIGHTS % 11
    check_digit[check_digit == 11] = 0
    valid = np.zeros(len(values), dtype=bool)
    valid[ten_digits] = (check_digit != 10) & (check_digit == digits[:, 9])
    return pd.Series(valid, index=column.index)


class ExpectColumnValuesToBeValidNhsNumbers(ColumnMapExpectation):
    """Expect every non-null value to be a valid NHS number (modulus 11)."""

    map_metric = "column_values.valid_nhs_number"
    success_keys = ("mostly",)


def expectation_suite(contract: Contract) -> gx.ExpectationSuite:
    """One expectation per contract rule (file and row), named by the rule in its meta.

    This is the suite a validation runs (one run reads every rule); its results are stored
    and shown split by severity, as ``severity_suites`` names them.
    """
    # Built whole rather than with add_expectation, which needs a data context.
    return gx.ExpectationSuite(
        name=f"{contract.feed}_contract", expectations=_expectations(contract)
    )


def severity_suites(contract: Contract) -> dict[str, gx.ExpectationSuite]:
    """The contract's rules as the suites Data Docs show, keyed by group (see SUITE_GROUPS).

    ``<feed>.critical`` fails only when a blocking (error) rule fails: the staged layer
    then breaks its contract. ``<feed>.warnings`` holds the rules whose failure blocks
    nothing (warning and ignore severity): rows breaking them were staged all the same, as
    the data-quality report's "warned (staged)" says. A feed without such rules has no
    warnings suite.
    """
    suites = {}
    for group, severities in SUITE_GROUPS.items():
        expectations = [
            e for e in _expectations(contract) if (e.meta or {}).get("severity") in severities
        ]
        if expectations:
            suites[group] = gx.ExpectationSuite(
                name=severity_suite_name(contract.feed, group), expectations=expectations
            )
    return suites


def severity_suite_name(feed: str, group: str) -> str:
    return f"{feed}.{group}"


def severity_group(severity: str) -> str:
    """The suite group a rule of this contract severity belongs to."""
    return next(group for group, severities in SUITE_GROUPS.items() if severity in severities)


def _expectations(contract: Contract) -> list[gx.expectations.Expectation]:
    expectations = []
    for rule in contract.rules:
        if rule.check in RULES_WITHOUT_EXPECTATION:
            continue
        expectation = _expectation(contract, rule)
        expectation.meta = {
            "rule": rule.name,
            "severity": rule.severity,
            "kind": rule.kind,
            "column": rule.column,
            "check": rule.check,
            "feed": contract.feed,
        }
        expectation.severity = SEVERITY_TO_GX[rule.severity]
        expectations.append(expectation)
    return expectations


def suite_parameters(
    delivery_month: str | None = None,
    reference_values: Mapping[str, Iterable[str]] | None = None,
    *,
    through_month: str | None = None,
) -> dict[str, Any]:
    """Parameters for validating a suite: delivery-month bounds and reference value sets.

    ``reference_values`` is keyed "feed.column", e.g. {"practices.practice_code": [...]}.
    With ``through_month`` the bounds run from ``delivery_month``'s first day to
    ``through_month``'s last (a suite run over a range of months).
    """
    parameters: dict[str, Any] = {}
    if delivery_month is not None:
        year, month = (int(part) for part in delivery_month.split("-"))
        end_year, end_month = (int(part) for part in (through_month or delivery_month).split("-"))
        last_day = calendar.monthrange(end_year, end_month)[1]
        # datetime, not date: staged DATE columns arrive in pandas as datetime64.
        parameters["delivery_month_start"] = datetime.datetime(year, month, 1)
        parameters["delivery_month_end"] = datetime.datetime(end_year, end_month, last_day)
    for reference, values in (reference_values or {}).items():
        feed, _, column = reference.partition(".")
        parameters[_reference_parameter(feed, column)] = sorted(set(values))
    return parameters


def _expectation(contract: Contract, rule: Rule) -> gx.expectations.Expectation:
    column = rule.column or ""
    condition: dict[str, Any] = {}
    if rule.when_column is not None:
        values = list(rule.when_values or ())
        condition["row_condition"] = ConditionColumn(rule.when_column).is_in(values)
    check = rule.check
    if check in ("required", "not_null"):
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=column, **condition)
    if check == "is_null":
        return gx.expectations.ExpectColumnValuesToBeNull(column=column, **condition)
    if check == "type":
        physical_type = contract.column(column).physical_type
        return gx.expectations.ExpectColumnValuesToBeInTypeList(
            column=column, type_list=STAGED_DTYPES[physical_type]
        )
    if check == "in_set":
        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set=list(rule.allowed_values or ())
        )
    if check == "pattern":
        return gx.expectations.ExpectColumnValuesToMatchRegex(
            column=column, regex=str(rule.pattern)
        )
    if check == "nhs_number":
        return ExpectColumnValuesToBeValidNhsNumbers(column=column)
    if check == "between":
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=column, min_value=rule.minimum, max_value=rule.maximum, **condition
        )
    if check in ("not_before", "not_after"):
        other = str(rule.other_column)
        later, earlier = (column, other) if check == "not_before" else (other, column)
        return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=later,
            column_B=earlier,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        )
    if check == "within_delivery_month":
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=column,
            min_value={"$PARAMETER": "delivery_month_start"},
            max_value={"$PARAMETER": "delivery_month_end"},
        )
    if check == "not_after_delivery_month_end":
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=column, max_value={"$PARAMETER": "delivery_month_end"}
        )
    if check == "unique":
        # Unique within one delivered file: a file is its month and path (a suite may read
        # several months at once).
        return gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["delivery_month", "source_file", column]
        )
    if check == "resend":
        # Once resends are dropped, no row repeats another's whole content.
        return gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=list(contract.column_names)
        )
    if check == "conflict":
        return gx.expectations.ExpectColumnValuesToBeUnique(column=column)
    if check == "known_in_reference":
        parameter = _reference_parameter(str(rule.reference_feed), str(rule.reference_column))
        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set={"$PARAMETER": parameter}
        )
    if check == "required_columns_present":
        required = [column.name for column in contract.columns if column.required]
        return gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=[*METADATA_COLUMNS, *required], exact_match=False
        )
    if check == "unexpected_columns":
        return gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=[*METADATA_COLUMNS, *contract.column_names], exact_match=True
        )
    raise ValueError(f"{contract.feed}: no expectation for check {check!r} ({rule.name})")


def _reference_parameter(feed: str, column: str) -> str:
    return f"reference_{feed}_{column}"
