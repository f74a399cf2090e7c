"""Great Expectations on the staged tables: the contract suites, their results and Data Docs.

The row rules are enforced in DuckDB SQL (``warehouse.staged``), which is what decides
where each row goes. The suites generated from the same contracts
(``data_contracts.expectations``) then validate what was staged, one month of one feed
at a time, as a pandas batch: a second, independent reading of the contract. On a
correct staged table every error (critical) expectation passes; a critical failure means
the staged layer breaks its contract and nothing may be built on it. Warning
expectations (malformed hospital-recorded practice codes, for instance) fail without
blocking. Each feed's suite runs once; its result is stored as the results of the feed's
two severity suites (``<feed>.critical``, ``<feed>.warnings``), so Data Docs never show a
warning as a failure (``warehouse.data_docs`` renders them).

The GX project is file-backed under ``<home>/gx``; every validation result is stored
there, and ``build_data_docs`` (called after every run) renders them all into
``<home>/reports/data_docs/index.html``.
Results are stored with counts but without example values (``partial_unexpected_count`` 0), so no NHS
number reaches the Data Docs. A month of more than ``SUITE_ROW_LIMIT`` rows is
validated on a deterministic sample of about that many rows (by the hash of each row's
month, file and line);
see docs/validation.md for the measured cost and why. Never imports dagster.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from data_contracts import Contract, load_contracts
from data_contracts.sql import METADATA_COLUMNS

DATA_DOCS_SITE = "riskstrat"
DATA_SOURCE = "staged"
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
# Rows of one staged month (or range) a suite reads, about: a sample by hash above it.
# The SQL rules decide every row; the suite is the second, independent reading, and GX on
# pandas costs about 7x the load time on a whole 100k-person month (docs/validation.md).
SUITE_ROW_LIMIT = 50_000


@dataclass(frozen=True)
class FailedExpectation:
    rule: str
    severity: str  # error | warning | ignore (the contract's)
    column: str | None
    unexpected_count: int | None


@dataclass(frozen=True)
class SuiteOutcome:
    """One contract suite run on one staged batch."""

    feed: str
    month: str | None
    rows: int  # rows the suite read
    expectations: int
    failed: list[FailedExpectation] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: Path | None = None
    staged_rows: int = 0  # rows of the staged month (more than `rows` when sampled)

    @property
    def success(self) -> bool:
        return not self.failed

    @property
    def critical_failures(self) -> list[FailedExpectation]:
        return [failure for failure in self.failed if failure.severity == "error"]

    def summary(self) -> str:
        """One line naming the month, feed and every failed rule (no values)."""
        where = f"{self.month}: " if self.month else ""
        if self.success:
            return (
                f"{where}staged.{self.feed} meets all {self.expectations} expectations of its contract "
                f"({self.rows:,} of {self.staged_rows:,} rows read)."
            )
        rules = ", ".join(
            f"{f.rule} ({f.severity}"
            + (f", {f.unexpected_count:,} rows" if f.unexpected_count else "")
            + ")"
            for f in self.failed
        )
        return f"{where}staged.{self.feed} fails its contract suite on {rules}."


def data_docs_index(home: Path) -> Path:
    return home / "reports" / "data_docs" / "index.html"


def validate_staged(
    connection: duckdb.DuckDBPyConnection,
    home: Path,
    feed: str,
    month: str | Sequence[str] | None,
    parameters: dict[str, Any] | None = None,
) -> SuiteOutcome:
    """Run `feed`'s contract suite on its staged rows of `month` (None: a reference feed).

    `month` may be several consecutive months (a range run): the suite then reads one
    sample of them all, with delivery-date bounds from the first month's start to the last
    month's end. `parameters` (from ``expectation_parameters``) may be passed when
    validating several feeds of one batch, so the reference codes are read once.
    """
    contract = load_contracts()[feed]
    months = _months(month)
    frame, staged_rows = staged_frame(connection, contract, months)
    if parameters is None:
        parameters = expectation_parameters(connection, months)
    started = time.monotonic()
    prepared = _prepared_suite(home, contract)
    label = _label(months)
    run_name = f"{label or 'reference'}-{feed}"
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.validator.v1_validator import Validator

    run_id = RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.UTC))
    # One GX run reads every rule of the contract (what a validation definition would do,
    # without its freshness checks); its results are then stored as the results of the
    # feed's severity suites, so Data Docs show a warning as a warning, at no extra cost.
    validator = Validator(
        batch_definition=prepared.batch_definition,
        batch_parameters={"dataframe": frame},
        result_format=RESULT_FORMAT,
    )
    suite_result: Any = validator.validate_expectation_suite(prepared.suite, parameters)
    _store_by_severity(_context(home), feed, suite_result, validator.active_batch_id, run_id)
    failed = [
        FailedExpectation(
            rule=str(outcome.expectation_config.meta["rule"]),
            severity=str(outcome.expectation_config.meta["severity"]),
            column=outcome.expectation_config.meta.get("column"),
            unexpected_count=(outcome.result or {}).get("unexpected_count"),
        )
        for outcome in suite_result.results
        if not outcome.success
    ]
    return SuiteOutcome(
        feed=feed,
        month=label,
        rows=len(frame),
        expectations=len(suite_result.results),
        failed=sorted(failed, key=lambda f: (f.severity != "error", f.rule)),
        seconds=time.monotonic() - started,
        data_docs=data_docs_index(home),
        staged_rows=staged_rows,
    )


def validate_month(
    connection: duckdb.DuckDBPyConnection,
    home: Path,
    feeds: Iterable[str],
    month: str | Sequence[str] | None,
) -> dict[str, SuiteOutcome]:
    """Every feed's suite on its staged rows of `month` (or of a run's months), sharing one
    read of the parameters: one suite a feed, whatever the number of months."""
    months = _months(month)
    parameters = expectation_parameters(connection, months)
    return {feed: validate_staged(connection, home, feed, months, parameters) for feed in feeds}


def _months(month: str | Sequence[str] | None) -> list[str] | None:
    if month is None:
        return None
    return [month] if isinstance(month, str) else sorted(month)


def _label(months: Sequence[str] | None) -> str | None:
    """'2024-01' for one month, '2024-01..2024-06' for a range, None for the reference."""
    if not months:
        return None
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def staged_frame(
    connection: duckdb.DuckDBPyConnection,
    contract: Contract,
    month: str | Sequence[str] | None,
    row_limit: int = SUITE_ROW_LIMIT,
) -> tuple[Any, int]:
    """The staged rows of a month (or of several) as pandas, with exactly the columns the
    suite expects, and the number of staged rows. Over `row_limit` rows, about `row_limit`
    of them: a deterministic sample by the hash of each row's month, file and line.

    ``practice_code`` taken from a GP folder is left out: the suite checks the contract's
    columns, and the folder was already checked by the file rule practice_folder_known.

    Read through Arrow, which is several times faster than ``.df()``, with dates as
    ``datetime64[ns]`` (GX compares those vectorised; other datetime units go value by
    value through Python) and INTEGER and BOOLEAN columns as numpy ``int64``/``bool`` when
    they hold no NULL (vectorised too), else as the nullable ``Int32``/``boolean``.
    """
    import pandas as pd
    import pyarrow as pa

    columns = ", ".join(f'"{name}"' for name in (*METADATA_COLUMNS, *contract.column_names))
    months = _months(month)
    where = "list_contains($months, delivery_month)" if months else "delivery_month IS NULL"
    parameters: dict[str, Any] = {"months": months} if months else {}
    [(total,)] = connection.execute(
        f"SELECT count(*) FROM staged.{contract.feed} WHERE {where}", parameters
    ).fetchall()
    step = max(1, -(-total // row_limit))
    # A row is read when the hash of where it was delivered falls in one of `step` buckets:
    # a filter in the scan. (Every k-th row in order needed a window over the whole range
    # with no partition, which DuckDB sorts on one thread: 90 s of CPU at 1,000,000
    # people against 41 s by hash, benchmarks/suite_sample.py.)
    sample = "" if step == 1 else "AND hash(delivery_month, source_file, line_number) % $step = 0 "
    table = connection.sql(
        f"SELECT {columns} FROM staged.{contract.feed} WHERE {where} {sample}"
        "ORDER BY delivery_month, source_file, line_number",
        params={**parameters, **({"step": step} if sample else {})},
    ).to_arrow_table()
    nullable = {pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = table.to_pandas(
        date_as_object=False, coerce_temporal_nanoseconds=True, types_mapper=nullable.get
    )
    for field_ in table.schema:
        if field_.type in nullable and table.column(field_.name).null_count == 0:
            frame[field_.name] = frame[field_.name].to_numpy(
                "int64" if field_.type == pa.int32() else "bool"
            )
    return frame, total


def expectation_parameters(
    connection: duckdb.DuckDBPyConnection, month: str | Sequence[str] | None
) -> dict[str, Any]:
    """Delivery-date bounds (the first month's start to the last month's end) and the known
    practice and LSOA codes, from the staged reference."""
    from data_contracts.expectations import suite_parameters

    months = _months(month)
    references = {}
    for feed, column in (("practices", "practice_code"), ("lsoa_imd", "lsoa_code")):
        rows = connection.execute(
            f"SELECT DISTINCT {column} FROM staged.{feed} WHERE {column} IS NOT NULL"
        ).fetchall()
        references[f"{feed}.{column}"] = [value for (value,) in rows]
    if not months:
        return suite_parameters(None, references)
    return suite_parameters(months[0], references, through_month=months[-1])


def build_data_docs(home: Path) -> Path:
    """Render every stored suite and validation result into reports/data_docs/, with a page
    of suite results for each month (``warehouse.data_docs.write_month_pages``)."""
    import data_contracts.expectations  # noqa: F401  (registers the custom expectations)
    from warehouse.data_docs import copy_vendored_assets, write_month_pages

    context = _context(home)
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    copy_vendored_assets(data_docs_index(home).parent)
    write_month_pages(home)
    return data_docs_index(home)


_CONTEXTS: dict[Path, Any] = {}


def _context(home: Path) -> Any:
    """The file-backed GX project under `<home>/gx`, set up once per process and home."""
    home = home.resolve()
    if home in _CONTEXTS:
        return _CONTEXTS[home]
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs each metric at INFO; nothing of it is for the person running the pipeline.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    home.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(home))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The site's views and renderers are riskstrat's (warehouse.data_docs); a home whose
    # site was configured otherwise (by an older riskstrat) is brought up to date.
    from warehouse.data_docs import SITE_CONFIG

    sites = context.variables.data_docs_sites or {}
    if sites.get(DATA_DOCS_SITE) != SITE_CONFIG or len(sites) > 1:
        for name in list(sites):
            context.delete_data_docs_site(name)
        context.add_data_docs_site(site_name=DATA_DOCS_SITE, site_config=SITE_CONFIG)  # type: ignore[arg-type]
    context.variables.save()
    _retire_combined_suites(context)
    _CONTEXTS[home] = context
    return context


def _retire_combined_suites(context: Any) -> None:
    """Remove the ``<feed>_contract`` suites an older riskstrat stored, one per feed with
    every rule: nothing validates against them now, and Data Docs' list of suites should
    show only the ``.critical`` and ``.warnings`` suites in use. Their stored results stay,
    as the record of the months they read (``warehouse.data_docs`` labels them)."""
    from warehouse.data_docs import is_combined_suite

    for key in context.expectations_store.list_keys():
        name = ".".join(key.to_tuple())
        if is_combined_suite(name):
            context.suites.delete(name)


@dataclass(frozen=True)
class _PreparedSuite:
    suite: Any  # every rule of the contract, run in one go (never stored)
    batch_definition: Any


_PREPARED: dict[tuple[Path, str], _PreparedSuite] = {}


def _prepared_suite(home: Path, contract: Contract) -> _PreparedSuite:
    """The feed's suite and batch definition, kept once per process.

    The severity suites Data Docs show are generated from the contract each time a process
    first needs them, but are written to the project only when they differ from the stored
    ones: GX compares and rewrites each object on ``add_or_update``, which costs about a
    third of a second per feed. A stored suite's ``meta`` carries a fingerprint of the
    generated expectations for that comparison.
    """
    key = (home.resolve(), contract.feed)
    if key in _PREPARED:
        return _PREPARED[key]
    from data_contracts.expectations import expectation_suite, severity_suites

    context = _context(home)
    for suite in severity_suites(contract).values():
        fingerprint = _suite_fingerprint(suite)
        try:
            stored = context.suites.get(suite.name).meta.get(_FINGERPRINT)
        except Exception:  # absent or unreadable: written afresh below
            stored = None
        if stored != fingerprint:
            suite.meta[_FINGERPRINT] = fingerprint
            context.suites.add_or_update(suite)
    try:
        source = context.data_sources.get(DATA_SOURCE)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(DATA_SOURCE)
    asset_name = f"staged_{contract.feed}"
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        batch_definition = asset.get_batch_definition("month")
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe("month")
    prepared = _PreparedSuite(suite=expectation_suite(contract), batch_definition=batch_definition)
    _PREPARED[key] = prepared
    return prepared


def _store_by_severity(
    context: Any, feed: str, result: Any, batch_id: str | None, run_id: Any
) -> None:
    """Store one run's result as one result per severity suite, as a validation definition
    stores its own (same meta, same identifiers): each suite succeeds or fails on its own
    rules only."""
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    from data_contracts.expectations import severity_group, severity_suite_name

    meta = {
        **result.meta,
        "run_id": run_id,
        "validation_time": run_id.run_time,
        "batch_parameters": {"dataframe": DATAFRAME_REPLACEMENT_STR},
    }
    groups: dict[str, list[Any]] = {}
    for outcome in result.results:
        group = severity_group(str(outcome.expectation_config.meta["severity"]))
        groups.setdefault(group, []).append(outcome)
    for group, outcomes in groups.items():
        name = severity_suite_name(feed, group)
        statistics = calc_validation_statistics(outcomes)
        suite_id = ExpectationSuiteIdentifier(name=name)
        context.validation_results_store.store_validation_results(
            suite_validation_result=ExpectationSuiteValidationResult(
                success=statistics.success,
                results=outcomes,
                suite_name=name,
                statistics={
                    "evaluated_expectations": statistics.evaluated_expectations,
                    "successful_expectations": statistics.successful_expectations,
                    "unsuccessful_expectations": statistics.unsuccessful_expectations,
                    "success_percent": statistics.success_percent,
                },
                meta=dict(meta),
                batch_id=result.batch_id,
            ),
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=batch_id
            ),
            expectation_suite_identifier=suite_id,
        )


_FINGERPRINT = "riskstrat_contract_fingerprint"


def _suite_fingerprint(suite: Any) -> str:
    """A digest of the generated expectations (types, arguments, meta, severity)."""
    expectations = [
        {
            name: value
            for name, value in expectation.configuration.to_json_dict().items()
            if name != "id"
        }
        for expectation in suite.expectations
    ]
    text = json.dumps([suite.name, expectations], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
