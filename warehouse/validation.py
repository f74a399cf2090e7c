"""Great Expectations on the staged tables: the contract suites, their results and Data Docs.

The row rules are enforced in DuckDB SQL (``warehouse.staged``), which is what decides
where each row goes. The suites generated from the same contracts
(``data_contracts.expectations``) then validate what was staged, one month of one feed
at a time, as a pandas batch: a second, independent reading of the contract. On a
correct staged table every error (critical) expectation passes; a critical failure means
the staged layer breaks its contract and nothing may be built on it. Warning
expectations (malformed hospital-recorded practice codes, for instance) fail without
blocking.

The GX project is file-backed under ``<home>/gx``; every validation result is stored
there, and ``build_data_docs`` (called after every run) renders them all into
``<home>/reports/data_docs/index.html``.
Results are stored with counts but without example values (``partial_unexpected_count`` 0), so no NHS
number reaches the Data Docs. A month of more than ``SUITE_ROW_LIMIT`` rows is
validated on a deterministic systematic sample (every k-th row in file and line order);
see docs/validation.md for the measured cost and why. Never imports dagster.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from data_contracts import Contract, load_contracts
from data_contracts.sql import METADATA_COLUMNS

DATA_DOCS_SITE = "riskstrat"
DATA_SOURCE = "staged"
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
# Rows of one staged month a suite reads at most: every k-th row in (file, line) order.
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
    connection: duckdb.DuckDBPyConnection, home: Path, feed: str, month: str | None
) -> SuiteOutcome:
    """Run `feed`'s contract suite on its staged rows of `month` (None: a reference feed)."""
    contract = load_contracts()[feed]
    frame, staged_rows = staged_frame(connection, contract, month)
    parameters = expectation_parameters(connection, month)
    started = time.monotonic()
    checkpoint = _checkpoint(home, contract)
    run_name = f"{month or 'reference'}-{feed}"
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.UTC))
    result = checkpoint.run(
        batch_parameters={"dataframe": frame}, expectation_parameters=parameters, run_id=run_id
    )
    [suite_result] = result.run_results.values()
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
        month=month,
        rows=len(frame),
        expectations=len(suite_result.results),
        failed=sorted(failed, key=lambda f: (f.severity != "error", f.rule)),
        seconds=time.monotonic() - started,
        data_docs=data_docs_index(home),
        staged_rows=staged_rows,
    )


def staged_frame(
    connection: duckdb.DuckDBPyConnection, contract: Contract, month: str | None,
    row_limit: int = SUITE_ROW_LIMIT,
) -> tuple[Any, int]:
    """The staged rows of one month as pandas, with exactly the columns the suite expects,
    and the number of staged rows. Over `row_limit` rows, every k-th row (file, line order).

    ``practice_code`` taken from a GP folder is left out: the suite checks the contract's
    columns, and the folder was already checked by the file rule practice_folder_known.
    """
    columns = ", ".join(f'"{name}"' for name in (*METADATA_COLUMNS, *contract.column_names))
    where = "delivery_month = $month" if month is not None else "delivery_month IS NULL"
    parameters: dict[str, Any] = {"month": month} if month is not None else {}
    row = connection.execute(f"SELECT count(*) FROM staged.{contract.feed} WHERE {where}", parameters).fetchone()
    total = int(row[0]) if row else 0
    step = max(1, -(-total // row_limit))
    frame = connection.execute(
        f"SELECT {columns} FROM (SELECT *, row_number() OVER (ORDER BY source_file, line_number) AS position "
        f"FROM staged.{contract.feed} WHERE {where}) WHERE (position - 1) % $step = 0 "
        "ORDER BY source_file, line_number",
        {**parameters, "step": step},
    ).df()
    return frame, total


def expectation_parameters(connection: duckdb.DuckDBPyConnection, month: str | None) -> dict[str, Any]:
    """Delivery-month bounds and the known practice and LSOA codes, from the staged reference."""
    from data_contracts.expectations import suite_parameters

    references = {}
    for feed, column in (("practices", "practice_code"), ("lsoa_imd", "lsoa_code")):
        rows = connection.execute(f"SELECT DISTINCT {column} FROM staged.{feed} WHERE {column} IS NOT NULL").fetchall()
        references[f"{feed}.{column}"] = [value for (value,) in rows]
    return suite_parameters(month, references)


def build_data_docs(home: Path) -> Path:
    """Render every stored suite and validation result into reports/data_docs/."""
    context = _context(home)
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
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
    sites = context.variables.data_docs_sites or {}
    if DATA_DOCS_SITE not in sites:
        for name in list(sites):
            context.delete_data_docs_site(name)
        context.add_data_docs_site(
            site_name=DATA_DOCS_SITE,
            site_config={  # type: ignore[typeddict-unknown-key]
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                # Relative to <home>/gx, so a home can be moved as a whole.
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": "../reports/data_docs/",
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    context.variables.save()
    _CONTEXTS[home] = context
    return context


_CHECKPOINTS: dict[tuple[Path, str], Any] = {}


def _checkpoint(home: Path, contract: Contract) -> Any:
    """The feed's suite, batch definition and checkpoint, refreshed from the contract once per process."""
    key = (home.resolve(), contract.feed)
    if key in _CHECKPOINTS:
        return _CHECKPOINTS[key]
    import great_expectations as gx

    from data_contracts.expectations import expectation_suite

    context = _context(home)
    suite = context.suites.add_or_update(expectation_suite(contract))
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
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"staged_{contract.feed}_contract", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"staged_{contract.feed}_contract",
            validation_definitions=[validation],
            # Data Docs are built once after a run (build_data_docs), not after each suite:
            # GX re-renders its site index on every update, seconds each time.
            actions=[],
            result_format=RESULT_FORMAT,
        )
    )
    _CHECKPOINTS[key] = checkpoint
    return checkpoint
