"""The feed contracts, read from their ODCS YAML files into plain Python objects.

The YAML files in ``data_contracts/contracts/`` are the single source of every column and
every rule a landing-zone file must meet (the suppliers' specification is docs/landing-zone.md).
Everything that checks data (the staging SQL, the Great Expectations suites) is generated
from the objects built here; nothing may restate a rule by hand.

How a rule is written in a contract (Open Data Contract Standard v3):

* Each rule is an ODCS ``quality`` entry. Its ``name`` is the stable rule name reported
  with every violation, ``severity`` is ``error`` (quarantine the row, or reject the file
  for a file rule), ``warning`` (report only) or ``ignore`` (drop the row, giving the rule
  as the reason: out-of-scope codes and resends), and the custom property ``ruleKind`` is
  ``row`` or ``file``.
* Code lists and patterns use the ODCS library metric ``invalidValues`` with
  ``arguments.validValues`` or ``arguments.pattern``; uniqueness within a file uses
  ``duplicateValues``. Anything the library cannot say is ``type: custom`` with
  ``engine: riskstrat`` and an ``implementation`` mapping whose ``check`` is one of
  ``CUSTOM_CHECKS``.
* Two kinds of rule come from the standard's own property fields instead, so they are
  never written twice: ``required: true`` gives ``<column>_required`` and a physical type
  other than VARCHAR gives ``<column>_type`` (the text does not parse as that type). Every
  contract also gets the file rules ``required_columns_present`` and
  ``unexpected_columns`` from its column list.
* Feed facts live in contract-level custom properties (``feedScope``, ``fileName``,
  ``snapshot``, ``eventDateColumn``); the resend/conflict key is the property marked
  ``primaryKey: true``.

This module must never import dagster: it is the plain core that assets call.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import jsonschema
import yaml
from open_data_contract_standard.model import (
    CustomProperty,
    DataQuality,
    OpenDataContractStandard,
    SchemaProperty,
)

SCOPES = ("reference", "gp", "sus", "social_care")
KINDS = ("row", "file")
SEVERITIES = ("error", "warning", "ignore")
PHYSICAL_TYPES = ("VARCHAR", "DATE", "BOOLEAN", "INTEGER", "DOUBLE")
LOGICAL_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "DOUBLE": "number",
}

# What a rule's `check` means; sql.py and expectations.py each implement every one.
CUSTOM_CHECKS = (
    "nhs_number",  # 10 digits with a valid modulus-11 check digit
    "between",  # minimum <= value <= maximum (optionally only `when` another column matches)
    "not_null",  # value present (optionally only `when` ...)
    "is_null",  # value absent (optionally only `when` ...)
    "not_before",  # value >= other_column, when both are present
    "not_after",  # value <= other_column, when both are present
    "within_delivery_month",  # value within the delivery month, when present
    "not_after_delivery_month_end",  # value <= the delivery month's last day, when present
    "known_in_reference",  # value present in reference feed.column, when present
    "resend",  # key repeats an earlier row with identical content
    "conflict",  # key repeats an earlier row with different content
    "practice_folder_known",  # file rule: gp/<practice_code>/ names a known practice
)
LIBRARY_CHECKS = ("in_set", "pattern", "unique")
DERIVED_CHECKS = ("required", "type", "required_columns_present", "unexpected_columns")
CHECKS = CUSTOM_CHECKS + LIBRARY_CHECKS + DERIVED_CHECKS

_CONTRACT_PACKAGE = "data_contracts"
_CONTRACT_FOLDER = "contracts"


class ContractError(ValueError):
    """A contract file breaks the standard or this project's conventions for it."""


@dataclass(frozen=True)
class Column:
    """One column of a feed file as the contract describes it."""

    name: str
    physical_type: str
    required: bool
    description: str
    allowed_values: tuple[str, ...] | None
    pattern: str | None
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class Rule:
    """One named rule; `check` and its parameters say how to test it."""

    name: str
    column: str | None
    kind: str
    severity: str
    description: str
    check: str
    allowed_values: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    other_column: str | None = None
    reference_feed: str | None = None
    reference_column: str | None = None
    when_column: str | None = None
    when_values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Contract:
    """Everything the pipeline needs to know about one feed file."""

    feed: str
    scope: str
    file_name: str
    columns: tuple[Column, ...]
    key: str | None
    rules: tuple[Rule, ...]
    snapshot: bool
    event_date_column: str | None
    version: str  # the contract's own version (ODCS `version`), shown in the auditors' reports

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.feed} has no column {name!r}")

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"{self.feed} has no rule {name!r}")

    @property
    def row_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.kind == "row")


def contract_texts() -> dict[str, str]:
    """The raw YAML of every contract, keyed by file stem (which is the feed name)."""
    folder = importlib.resources.files(_CONTRACT_PACKAGE).joinpath(_CONTRACT_FOLDER)
    return {
        entry.name.removesuffix(".yaml"): entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".yaml")
    }


@functools.cache
def _odcs_validator() -> jsonschema.protocols.Validator:
    # The JSON schema shipped inside the standard's own package, not a copy of ours.
    text = (
        importlib.resources.files("open_data_contract_standard")
        .joinpath("schema.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def validate_odcs(document: dict[str, Any]) -> OpenDataContractStandard:
    """Check a parsed YAML document against the ODCS package; return its model."""
    errors = sorted(_odcs_validator().iter_errors(document), key=lambda error: error.path)
    if errors:
        messages = "; ".join(
            f"{'/'.join(str(part) for part in error.path)}: {error.message}" for error in errors
        )
        raise ContractError(f"not a valid ODCS contract: {messages}")
    return OpenDataContractStandard(**document)


@functools.cache
def load_contracts() -> dict[str, Contract]:
    """Every feed's contract, keyed by feed name; parsed and validated once per process."""
    contracts = {}
    for stem, text in contract_texts().items():
        contract = parse_contract(text)
        if contract.feed != stem:
            raise ContractError(f"{stem}.yaml describes feed {contract.feed!r}")
        contracts[contract.feed] = contract
    return contracts


def parse_contract(text: str) -> Contract:
    """Build a Contract from one ODCS YAML document, validating it first."""
    document = yaml.safe_load(text)
    model = validate_odcs(document)
    feed = _required_text(model.name, "contract name")
    try:
        return _contract_from_model(feed, model)
    except ContractError as error:
        raise ContractError(f"{feed}: {error}") from error


def _contract_from_model(feed: str, model: OpenDataContractStandard) -> Contract:
    settings = _custom_properties(model.customProperties)
    scope = settings.get("feedScope")
    if scope not in SCOPES:
        raise ContractError(f"feedScope must be one of {SCOPES}, not {scope!r}")
    if not model.schema_ or len(model.schema_) != 1:
        raise ContractError("a feed contract has exactly one schema object")
    schema_object = model.schema_[0]
    properties = schema_object.properties or []

    columns: list[Column] = []
    rules: list[Rule] = []
    key: str | None = None
    for schema_property in properties:
        column_rules = _column_rules(schema_property)
        columns.append(_column(schema_property, column_rules))
        rules.extend(column_rules)
        if schema_property.primaryKey:
            if key is not None:
                raise ContractError("only one property may be the primary key")
            key = columns[-1].name
    rules.extend(_quality_rule(entry, None) for entry in schema_object.quality or [])
    rules.extend(_file_rules(feed))

    contract = Contract(
        feed=feed,
        scope=str(scope),
        file_name=_required_text(settings.get("fileName"), "fileName"),
        columns=tuple(columns),
        key=key,
        rules=tuple(rules),
        snapshot=bool(settings.get("snapshot", False)),
        event_date_column=settings.get("eventDateColumn"),
        version=_required_text(model.version, "version"),
    )
    unique_columns = tuple(str(item.name) for item in properties if item.unique)
    _check_consistency(contract, unique_columns)
    return contract


def _column(schema_property: SchemaProperty, column_rules: list[Rule]) -> Column:
    name = _required_text(schema_property.name, "property name")
    physical_type = schema_property.physicalType
    if physical_type not in PHYSICAL_TYPES:
        raise ContractError(f"{name}: physicalType must be one of {PHYSICAL_TYPES}")
    if schema_property.logicalType != LOGICAL_TYPES[physical_type]:
        raise ContractError(
            f"{name}: logicalType of {physical_type} is {LOGICAL_TYPES[physical_type]}"
        )
    # Only unconditional rules describe the column as a whole.
    plain = [rule for rule in column_rules if rule.when_column is None]
    allowed_values = next((rule.allowed_values for rule in plain if rule.check == "in_set"), None)
    pattern = next((rule.pattern for rule in plain if rule.check == "pattern"), None)
    between = next((rule for rule in plain if rule.check == "between"), None)
    return Column(
        name=name,
        physical_type=physical_type,
        required=bool(schema_property.required),
        description=_required_text(schema_property.description, f"{name} description"),
        allowed_values=allowed_values,
        pattern=pattern,
        minimum=between.minimum if between else None,
        maximum=between.maximum if between else None,
    )


def _column_rules(schema_property: SchemaProperty) -> list[Rule]:
    name = _required_text(schema_property.name, "property name")
    rules = []
    if schema_property.required:
        rules.append(
            Rule(
                name=f"{name}_required",
                column=name,
                kind="row",
                severity="error",
                description=f"{name} is required (the field is not empty).",
                check="required",
            )
        )
    if schema_property.physicalType not in (None, "VARCHAR"):
        rules.append(
            Rule(
                name=f"{name}_type",
                column=name,
                kind="row",
                severity="error",
                description=f"{name}, when present, parses as {schema_property.physicalType}"
                + (" (Y or N)." if schema_property.physicalType == "BOOLEAN" else "."),
                check="type",
            )
        )
    rules.extend(_quality_rule(entry, name) for entry in schema_property.quality or [])
    return rules


def _file_rules(feed: str) -> list[Rule]:
    return [
        Rule(
            name="required_columns_present",
            column=None,
            kind="file",
            severity="error",
            description=f"The {feed} header names every required column; otherwise the file is rejected.",
            check="required_columns_present",
        ),
        Rule(
            name="unexpected_columns",
            column=None,
            kind="file",
            severity="warning",
            description="Columns the contract does not list are ignored and reported.",
            check="unexpected_columns",
        ),
    ]


def _quality_rule(entry: DataQuality, column: str | None) -> Rule:
    name = _required_text(entry.name, "quality rule name")
    settings = _custom_properties(entry.customProperties)
    kind = settings.get("ruleKind")
    if kind not in KINDS:
        raise ContractError(f"{name}: customProperty ruleKind must be one of {KINDS}")
    if entry.severity not in SEVERITIES:
        raise ContractError(f"{name}: severity must be one of {SEVERITIES}")
    common: dict[str, Any] = {
        "name": name,
        "column": column,
        "kind": kind,
        "severity": entry.severity,
        "description": _required_text(entry.description, f"{name} description"),
    }
    if entry.type == "library":
        return _library_rule(entry, common)
    if entry.type == "custom" and entry.engine == "riskstrat":
        return _custom_rule(entry, common)
    raise ContractError(f"{name}: use a library metric or a custom riskstrat check")


def _library_rule(entry: DataQuality, common: dict[str, Any]) -> Rule:
    name = common["name"]
    if entry.mustBe != 0:
        raise ContractError(f"{name}: a library rule counts offending rows, so mustBe is 0")
    arguments = entry.arguments or {}
    if entry.metric == "invalidValues" and "validValues" in arguments:
        values = tuple(str(value) for value in arguments["validValues"])
        return Rule(**common, check="in_set", allowed_values=values)
    if entry.metric == "invalidValues" and "pattern" in arguments:
        pattern = str(arguments["pattern"])
        # Anchored, so a search (Great Expectations) and a full match (DuckDB) agree.
        if not (pattern.startswith("^") and pattern.endswith("$")):
            raise ContractError(f"{name}: a pattern is anchored with ^ and $")
        return Rule(**common, check="pattern", pattern=pattern)
    if entry.metric == "duplicateValues":
        return Rule(**common, check="unique")
    raise ContractError(f"{name}: unsupported library metric {entry.metric!r}")


def _custom_rule(entry: DataQuality, common: dict[str, Any]) -> Rule:
    name = common["name"]
    implementation = entry.implementation
    if not isinstance(implementation, dict):
        raise ContractError(f"{name}: implementation must be a mapping with a check")
    check = implementation.get("check")
    if check not in CUSTOM_CHECKS:
        raise ContractError(f"{name}: check must be one of {CUSTOM_CHECKS}")
    parameters: dict[str, Any] = {}
    if "minimum" in implementation:
        parameters["minimum"] = float(implementation["minimum"])
    if "maximum" in implementation:
        parameters["maximum"] = float(implementation["maximum"])
    if "other_column" in implementation:
        parameters["other_column"] = str(implementation["other_column"])
    if "reference" in implementation:
        reference_feed, _, reference_column = str(implementation["reference"]).partition(".")
        parameters["reference_feed"] = reference_feed
        parameters["reference_column"] = reference_column
    when = implementation.get("when")
    if when is not None:
        parameters["when_column"] = str(when["column"])
        parameters["when_values"] = tuple(str(value) for value in when["values"])
    rule = Rule(**common, check=check, **parameters)
    _check_parameters(rule)
    return rule


def _check_parameters(rule: Rule) -> None:
    needs: dict[str, tuple[str, ...]] = {
        "between": ("minimum", "maximum"),
        "not_before": ("other_column",),
        "not_after": ("other_column",),
        "known_in_reference": ("reference_feed", "reference_column"),
        "practice_folder_known": ("reference_feed", "reference_column"),
    }
    for field in needs.get(rule.check, ()):
        if not getattr(rule, field):
            raise ContractError(f"{rule.name}: check {rule.check} needs {field}")
    if rule.check in ("not_null", "is_null") and rule.when_column is None:
        raise ContractError(f"{rule.name}: use required: true for an unconditional {rule.check}")


def _check_consistency(contract: Contract, unique_columns: tuple[str, ...]) -> None:
    """Conventions the standard cannot enforce but generation relies on."""
    names = [rule.name for rule in contract.rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ContractError(f"rule names repeat: {duplicates}")
    column_names = set(contract.column_names)
    for rule in contract.rules:
        for referenced in (rule.column, rule.other_column, rule.when_column):
            if referenced is not None and referenced not in column_names:
                raise ContractError(f"{rule.name} refers to unknown column {referenced!r}")
        if rule.kind == "row" and rule.column is None:
            raise ContractError(f"{rule.name}: a row rule belongs to a column")
        if rule.check in ("within_delivery_month", "not_after_delivery_month_end") and (
            contract.scope == "reference"
        ):
            raise ContractError(f"{rule.name}: reference feeds have no delivery month")
    if contract.event_date_column is not None and contract.event_date_column not in column_names:
        raise ContractError(f"eventDateColumn {contract.event_date_column!r} is not a column")
    for column_name in unique_columns:
        checks = {rule.check for rule in contract.rules if rule.column == column_name}
        if not checks & {"unique", "conflict"}:
            raise ContractError(f"{column_name} is unique: true but has no uniqueness rule")
    if contract.key is not None:
        key_checks = {rule.check for rule in contract.rules if rule.column == contract.key}
        if not {"resend", "conflict"} <= key_checks:
            raise ContractError(f"key {contract.key} needs a resend and a conflict rule")


def _custom_properties(properties: list[CustomProperty] | None) -> dict[str, Any]:
    return {item.property: item.value for item in properties or [] if item.property}


def _required_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ContractError(f"{what} is missing")
    return value


def contract_for_path(relative_path: str) -> Contract | None:
    """The contract of a landing-zone file, from its path.

    GP, SUS and social care paths are relative to the extract month folder
    ("gp/F86001/registrations.csv", "sus/admissions.csv"); reference paths are relative
    to the landing root ("reference/practices.csv"). Any other path gives None.
    """
    parts = PurePosixPath(relative_path).parts
    if len(parts) == 3 and parts[0] == "gp":
        scope, file_name = "gp", parts[2]
    elif len(parts) == 2 and parts[0] in ("reference", "sus", "social_care"):
        scope, file_name = parts
    else:
        return None
    for contract in load_contracts().values():
        if contract.scope == scope and contract.file_name == file_name:
            return contract
    return None


def practice_code_from_path(relative_path: str) -> str | None:
    """The practice folder of a GP file path ("gp/F86001/x.csv" gives "F86001")."""
    parts = PurePosixPath(relative_path).parts
    if len(parts) == 3 and parts[0] == "gp" and parts[1]:
        return parts[1]
    return None


def is_valid_nhs_number(value: str) -> bool:
    """True for ten ASCII digits whose last is the modulus-11 check digit of the first nine.

    Weights 10 down to 2; the check digit is 11 minus the remainder, with 11 read as 0;
    a result of 10 means the number was never issued, so it is invalid.
    """
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True)
    )
    check_digit = 11 - total % 11
    if check_digit == 11:
        check_digit = 0
    return check_digit != 10 and check_digit == int(value[9])
