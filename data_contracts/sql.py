"""DuckDB SQL generated from a feed contract: typing the raw text, and finding rule violations.

The raw table a feed is loaded into holds text only: ``delivery_month`` ('YYYY-MM', NULL
for reference feeds), ``source_file``, ``line_number`` (1-based data row), then every
contract column as VARCHAR, NULL where the field was empty. The SQL here never names that
table: it says ``{raw_table}``, an identifier placeholder filled by ``render``, which
quotes it. Values from the contract (code lists, patterns, ranges) are never written into
the SQL either; they travel as named parameters (``$rule_name_values``), from
``row_violations_parameters``. Delivery-month bounds are computed in SQL from each row's
own ``delivery_month``.

Every rule is generated from ``Contract.rules``; this module must never state a rule of
its own, and must never import dagster.

Resend and conflict rules compare each keyed row with the first row carrying the same key
in the whole raw table (ordered by delivery month, then file, then line), so the raw table
should hold the current delivery of every month of the feed: a corrected month replaces
the old one before these rules run.
"""

from __future__ import annotations

import re
from typing import Any

from data_contracts.reader import Contract, Rule

RAW_TABLE = "{raw_table}"
METADATA_COLUMNS = ("delivery_month", "source_file", "line_number")
VIOLATION_COLUMNS = (
    "delivery_month",
    "source_file",
    "line_number",
    "rule",
    "column_name",
    "offending_value",
)

# How text becomes each physical type. The shapes are fixed by the spec (ISO dates, Y/N),
# not by a contract, so they are part of this module; a value that does not have the shape
# stages as NULL and breaks its `<column>_type` rule. TRY_CAST alone is too lenient
# (' 1' and '1.0' cast to INTEGER, 'nan' to DOUBLE).
TEXT_SHAPES = {
    "DATE": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "INTEGER": "-?[0-9]+",
    "DOUBLE": "-?[0-9]+(\\.[0-9]+)?",
}
NHS_NUMBER_SHAPE = "[0-9]{10}"

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{(raw_table|reference_[a-z][a-z0-9_]*)\}")
_SEVERITIES_THAT_DROP_ROWS = ("error", "ignore")


def render(sql: str, **tables: str) -> str:
    """Fill the ``{raw_table}`` and ``{reference_<feed>}`` placeholders with quoted names.

    Not str.format: the SQL holds regular expressions with braces of their own.
    """

    def table_for(match: re.Match[str]) -> str:
        placeholder = match.group(1)
        if placeholder not in tables:
            raise KeyError(f"no table given for {{{placeholder}}}")
        return _quote_table(tables[placeholder])

    return _PLACEHOLDER.sub(table_for, sql)


def staged_select_sql(contract: Contract) -> str:
    """SELECT that types a raw table into the staged columns; bad values become NULL."""
    lines = [*(_quote(name) for name in METADATA_COLUMNS)]
    for column in contract.columns:
        expression = _typed_expression(_quote(column.name), column.physical_type)
        lines.append(f"{expression} AS {_quote(column.name)}")
    select_list = ",\n    ".join(lines)
    return f"SELECT\n    {select_list}\nFROM {RAW_TABLE}"


def row_violations_sql(contract: Contract) -> str:
    """SELECT of every breach of a row rule that quarantines (error) or drops (ignore) a row.

    Columns: delivery_month, source_file, line_number, rule, column_name, offending_value
    (the raw text). Run it with ``row_violations_parameters(contract)``.
    """
    return _violations_sql(contract, _row_rules(contract, _SEVERITIES_THAT_DROP_ROWS))


def row_violations_parameters(contract: Contract) -> dict[str, Any]:
    """The named parameters of ``row_violations_sql(contract)``."""
    return _parameters(_row_rules(contract, _SEVERITIES_THAT_DROP_ROWS))


def row_warnings_sql(contract: Contract) -> str:
    """SELECT of every breach of a warning row rule: reported, the row still loads.

    Same columns as ``row_violations_sql``. Rules that look values up in a reference feed
    (``known_in_reference``) need that feed's staged table as ``{reference_<feed>}``,
    e.g. ``render(sql, raw_table=..., reference_practices="staged_practices")``.
    """
    return _violations_sql(contract, _row_rules(contract, ("warning",)))


def row_warnings_parameters(contract: Contract) -> dict[str, Any]:
    """The named parameters of ``row_warnings_sql(contract)``."""
    return _parameters(_row_rules(contract, ("warning",)))


def reference_placeholders(contract: Contract) -> tuple[str, ...]:
    """The ``{reference_<feed>}`` placeholders that ``row_warnings_sql`` uses."""
    feeds = {rule.reference_feed for rule in contract.row_rules if rule.reference_feed}
    return tuple(f"reference_{feed}" for feed in sorted(feeds))


def _row_rules(contract: Contract, severities: tuple[str, ...]) -> tuple[Rule, ...]:
    return tuple(rule for rule in contract.row_rules if rule.severity in severities)


def _violations_sql(contract: Contract, rules: tuple[Rule, ...]) -> str:
    """One row per breach, read in one pass over the raw table.

    Each row's breaches are a list (one entry per rule it breaks, NULL for the rest),
    built only for rows breaking at least one rule and then unnested. A UNION of one
    SELECT per rule would read ``checked`` once per rule, which DuckDB then materialises
    whole: every row of the feed, text and typed, written and read back about twenty
    times (registrations at 1,000,000 people: 37 M rows).
    """
    if not rules:
        # Keep the shape so callers can always run and union the result.
        empty = ", ".join(
            f"CAST(NULL AS {'BIGINT' if name == 'line_number' else 'VARCHAR'}) AS {name}"
            for name in VIOLATION_COLUMNS
        )
        return f"SELECT {empty} WHERE FALSE"
    predicates = [_predicate(contract, rule) for rule in rules]
    breaches = ",\n        ".join(
        f"CASE WHEN {predicate} THEN {{'rule': '{_identifier(rule.name)}', "
        f"'column_name': '{_identifier(_rule_column(rule))}', "
        f"'offending_value': checked.{_text(_rule_column(rule))}}} END"
        for rule, predicate in zip(rules, predicates, strict=True)
    )
    any_breach = "\n    OR ".join(f"({predicate})" for predicate in predicates)
    joins = "".join(_reference_join(rule) for rule in rules if rule.check == "known_in_reference")
    return (
        f"WITH checked AS (\n{_checked_sql(contract, rules)}\n)\n"
        "SELECT delivery_month, source_file, line_number, breach.rule AS rule, "
        "breach.column_name AS column_name, breach.offending_value AS offending_value\n"
        "FROM (\n"
        "    SELECT checked.delivery_month, checked.source_file, checked.line_number,\n"
        f"    unnest([\n        {breaches}\n    ]) AS breach\n"
        f"    FROM checked{joins}\n"
        f"    WHERE {any_breach}\n"
        ") AS breaches\n"
        "WHERE breach IS NOT NULL\n"
        "ORDER BY source_file, line_number, rule"
    )


def _reference_join(rule: Rule) -> str:
    reference = "{reference_" + str(rule.reference_feed) + "}"
    return (
        f"\n    LEFT JOIN (SELECT DISTINCT {_quote(str(rule.reference_column))} AS known "
        f"FROM {reference}) AS {_reference_alias(rule)} "
        f"ON {_reference_alias(rule)}.known = checked.{_text(_rule_column(rule))}"
    )


def _reference_alias(rule: Rule) -> str:
    return f"reference_{_identifier(rule.name)}"


def _checked_sql(contract: Contract, rules: tuple[Rule, ...]) -> str:
    """Raw text and typed value of each column side by side, plus per-rule window values."""
    lines = [*(_quote(name) for name in METADATA_COLUMNS)]
    lines.append(
        "TRY_CAST(CASE WHEN regexp_full_match(delivery_month, '[0-9]{4}-[0-9]{2}') "
        "THEN delivery_month || '-01' END AS DATE) AS delivery_month_start"
    )
    lines.append(
        "last_day(TRY_CAST(CASE WHEN regexp_full_match(delivery_month, '[0-9]{4}-[0-9]{2}') "
        "THEN delivery_month || '-01' END AS DATE)) AS delivery_month_end"
    )
    for column in contract.columns:
        name = _quote(column.name)
        lines.append(f"{name} AS {_text(column.name)}")
        lines.append(f"{_typed_expression(name, column.physical_type)} AS {name}")
    content = ", ".join(_text(column.name) for column in contract.columns)
    windows: dict[str, str] = {}
    joins = []
    for rule in rules:
        key = _rule_column(rule)
        if rule.check == "unique":
            # Uniqueness is within one delivered file; the first occurrence is kept. The
            # keys that repeat in a file are found by grouping and joined back: a window
            # over every row (sorting a file's rows by key) cost twice as much.
            repeats = f"{_identifier(key)}__repeats"
            joins.append(
                f"LEFT JOIN (SELECT delivery_month AS repeat_month, source_file AS repeat_file, "
                f"{_quote(key)} AS repeat_key, min(line_number) AS first_line "
                f"FROM {RAW_TABLE} WHERE {_quote(key)} IS NOT NULL GROUP BY ALL "
                f"HAVING count(*) > 1) AS {repeats} "
                f"ON {repeats}.repeat_month IS NOT DISTINCT FROM raw_row.delivery_month "
                f"AND {repeats}.repeat_file = raw_row.source_file "
                f"AND {repeats}.repeat_key = raw_row.{_quote(key)}"
            )
            windows[_window(rule)] = f"coalesce(raw_row.line_number > {repeats}.first_line, FALSE)"
        elif rule.check in ("resend", "conflict"):
            # Across the whole raw table: a key repeats one delivered in an earlier month too.
            order = "ORDER BY delivery_month NULLS FIRST, source_file, line_number"
            windows[_window(rule)] = f"row_number() OVER (PARTITION BY {_text(key)} {order})"
            windows[_differs(rule)] = (
                f"[{content}] IS DISTINCT FROM first_value([{content}]) OVER "
                f"(PARTITION BY {_text(key)} {order})"
            )
    lines.extend(f"{expression} AS {name}" for name, expression in windows.items())
    select_list = ",\n        ".join(lines)
    join_list = "".join(f"\n    {join}" for join in joins)
    return f"    SELECT\n        {select_list}\n    FROM {RAW_TABLE} AS raw_row{join_list}"


def _predicate(contract: Contract, rule: Rule) -> str:
    column = _rule_column(rule)
    text = f"checked.{_text(column)}"
    typed = f"checked.{_quote(column)}"
    present = f"{text} IS NOT NULL"
    parameter = "$" + rule.name
    when = ""
    if rule.when_column is not None:
        when = f" AND list_contains({parameter}_when_values, checked.{_text(rule.when_column)})"
    check = rule.check
    if check == "required":
        return f"{text} IS NULL"
    if check == "type":
        return f"{present} AND {typed} IS NULL"
    if check == "in_set":
        return f"{present} AND NOT list_contains({parameter}_values, {text})"
    if check == "pattern":
        return f"{present} AND NOT regexp_full_match({text}, {parameter}_pattern)"
    if check == "nhs_number":
        return f"{present} AND NOT {_nhs_number_valid(text)}"
    if check == "between":
        return (
            f"{typed} IS NOT NULL AND ({typed} < {parameter}_minimum "
            f"OR {typed} > {parameter}_maximum){when}"
        )
    if check == "not_null":
        return f"{text} IS NULL{when}"
    if check == "is_null":
        return f"{present}{when}"
    if check in ("not_before", "not_after"):
        other = f"checked.{_quote(str(rule.other_column))}"
        operator = "<" if check == "not_before" else ">"
        return f"{typed} IS NOT NULL AND {other} IS NOT NULL AND {typed} {operator} {other}"
    if check == "within_delivery_month":
        return (
            f"{typed} IS NOT NULL AND ({typed} < checked.delivery_month_start "
            f"OR {typed} > checked.delivery_month_end)"
        )
    if check == "not_after_delivery_month_end":
        return f"{typed} IS NOT NULL AND {typed} > checked.delivery_month_end"
    if check == "unique":
        return f"{present} AND checked.{_window(rule)}"
    if check == "resend":
        return f"{present} AND checked.{_window(rule)} > 1 AND NOT checked.{_differs(rule)}"
    if check == "conflict":
        return f"{present} AND checked.{_window(rule)} > 1 AND checked.{_differs(rule)}"
    if check == "known_in_reference":
        return f"{present} AND {_reference_alias(rule)}.known IS NULL"
    raise ValueError(f"{contract.feed}: no SQL for row check {check!r} ({rule.name})")


def _parameters(rules: tuple[Rule, ...]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for rule in rules:
        if rule.check == "in_set":
            parameters[f"{rule.name}_values"] = list(rule.allowed_values or ())
        if rule.check == "pattern":
            parameters[f"{rule.name}_pattern"] = rule.pattern
        if rule.check == "between":
            parameters[f"{rule.name}_minimum"] = rule.minimum
            parameters[f"{rule.name}_maximum"] = rule.maximum
        if rule.when_column is not None:
            parameters[f"{rule.name}_when_values"] = list(rule.when_values or ())
    return parameters


def _nhs_number_valid(text: str) -> str:
    # Modulus 11 with weights 10..2; (11 - remainder) % 11 reads 11 as 0 and leaves 10,
    # which equals no digit, so a number whose check digit would be 10 is invalid. The
    # digits come from the number as a BIGINT by integer division (twice as fast as nine
    # substrings); TRY_CAST because DuckDB does not promise to skip the arithmetic when the
    # shape test fails, and the shape test keeps what the cast alone would accept (a sign,
    # spaces) invalid.
    number = f"TRY_CAST({text} AS BIGINT)"
    terms = " + ".join(
        f"({number} // {10 ** (10 - position)} % 10) * {11 - position}" for position in range(1, 10)
    )
    return (
        f"(regexp_full_match({text}, '{NHS_NUMBER_SHAPE}') AND "
        f"(11 - ({terms}) % 11) % 11 = {number} % 10)"
    )


def _typed_expression(text: str, physical_type: str) -> str:
    if physical_type == "VARCHAR":
        return text
    if physical_type == "BOOLEAN":
        return f"CASE {text} WHEN 'Y' THEN TRUE WHEN 'N' THEN FALSE END"
    shape = TEXT_SHAPES[physical_type]
    return f"TRY_CAST(CASE WHEN regexp_full_match({text}, '{shape}') THEN {text} END AS {physical_type})"


def _rule_column(rule: Rule) -> str:
    if rule.column is None:
        raise ValueError(f"{rule.name} is a row rule without a column")
    return rule.column


def _window(rule: Rule) -> str:
    # Resend and conflict share one window per key column; uniqueness has a join.
    if rule.check == "unique":
        return f"{_identifier(_rule_column(rule))}__repeated_in_file"
    return f"{_identifier(_rule_column(rule))}__occurrence_in_feed"


def _differs(rule: Rule) -> str:
    return f"{_identifier(_rule_column(rule))}__differs_from_first"


def _text(column: str) -> str:
    return f'"{_identifier(column)}__text"'


def _quote(name: str) -> str:
    return f'"{_identifier(name)}"'


def _identifier(name: str) -> str:
    # Contract names are spliced into the SQL as identifiers and labels, so they must be
    # plain; anything else in a contract is a value and goes as a parameter.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case identifier: {name!r}")
    return name


def _quote_table(table: str) -> str:
    parts = table.split(".")
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in parts):
        raise ValueError(f"not a table name: {table!r}")
    return ".".join(f'"{part}"' for part in parts)
