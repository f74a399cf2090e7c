"""Data-quality reports for auditors: what each month delivered, accepted, set aside and why.

For every extract month this writes ``reports/data_quality/<YYYY-MM>.json`` (for machines:
``{"month", "manifest_sha256", "status", "files", "missing_practices", "warnings"}``,
byte-identical for the same warehouse) and ``<YYYY-MM>.html`` (for people: completeness and
timeliness by practice, validity by feed and rule, volume anomalies against earlier months,
the reconciliation table, and a list of problems each naming practice, file, line and rule).
Every version of a delivery's pair is kept under ``reports/data_quality/history/<YYYY-MM>/``
(``warehouse.report_history``), so a corrected month never overwrites what was reported of
the delivery before it.

Reports are read back from the warehouse tables (raw, staged, quarantine), never from
what the staging code meant to do. They never contain an NHS number: quarantine values
are masked when stored (``warehouse.staged``) and no staged value is ever shown. This
module never imports dagster.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from data_contracts import load_contracts, practice_code_from_path
from data_contracts.reader import contract_texts
from warehouse.files import json_bytes, write_text_atomic
from warehouse.report_history import write_month_report
from warehouse.sql_files import read_sql
from warehouse.staged import FOLDER_RULE, FileReconciliation, ensure_staged_schema, reconcile_month

GP_EVENT_FEEDS = ("consultations", "medications", "observations")
VOLUME_DROP_RATIO = 0.5  # "fell by half or more"
VOLUME_MINIMUM_AVERAGE = 20  # rows; smaller practices' files vary too much to judge
VOLUME_HISTORY_MONTHS = 6
GP_FILES_PER_PRACTICE = sum(1 for c in load_contracts().values() if c.scope == "gp")
HTML_PROBLEM_LIMIT = 1000  # the JSON always lists every quarantined line


@dataclass(frozen=True)
class VolumeAnomaly:
    practice_code: str
    feed: str
    path: str
    rows: int
    previous_average: float
    previous_months: int

    def message(self) -> str:
        return (
            f"{self.path}: {self.rows:,} rows against an average of {self.previous_average:,.1f} "
            f"over the previous {self.previous_months} month(s)"
        )


def volume_anomalies(
    connection: duckdb.DuckDBPyConnection, month: str, feeds: tuple[str, ...] = GP_EVENT_FEEDS
) -> list[VolumeAnomaly]:
    """GP event files whose row count fell by half or more against the practice's recent months."""
    rows = connection.execute(
        read_sql("quarantine/volume_anomalies.sql"),
        {
            "month": month,
            "feeds": list(feeds),
            "drop_ratio": VOLUME_DROP_RATIO,
            "minimum_average": VOLUME_MINIMUM_AVERAGE,
            "history_months": VOLUME_HISTORY_MONTHS,
        },
    ).fetchall()
    return [
        VolumeAnomaly(code, feed, path, int(n), float(avg), int(k))
        for code, feed, path, n, avg, k in rows
    ]


def month_status(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[str, str | None, list[str]]:
    row = connection.execute(
        "SELECT status, reason, missing_practices FROM raw.delivery_months WHERE delivery_month = ?",
        [month],
    ).fetchone()
    if row is None:
        return "not delivered", "no folder for this month has been seen", []
    return str(row[0]), row[1], list(row[2])


def month_report(connection: duckdb.DuckDBPyConnection, month: str) -> dict[str, Any]:
    """The machine-readable report of one extract month (see the module docstring)."""
    ensure_staged_schema(connection)
    status, reason, missing = month_status(connection, month)
    digest = manifest_digest_of(connection, month)
    lines = _quarantined_lines(connection, month)
    files = []
    for file in reconcile_month(connection, month):
        file_status, file_reason = _file_verdict(file, lines.get(file.source_file, []))
        files.append(
            {
                "path": file.source_file,
                "status": file_status,
                "reason": file_reason,
                "delivered_rows": file.delivered_rows,
                "staged_rows": file.staged_rows,
                "quarantined_rows": file.quarantined_rows,
                "ignored_rows": file.ignored_rows,
                "quarantined_lines": [
                    {"line": line, "rule": rule} for line, rule in lines.get(file.source_file, [])
                ],
            }
        )
    return {
        "month": month,
        "manifest_sha256": digest,
        "status": status,
        "files": files,
        "missing_practices": missing,
        "warnings": _warnings(connection, month, status, reason),
    }


def write_month_reports(
    connection: duckdb.DuckDBPyConnection, reports_path: Path, month: str
) -> tuple[Path, Path]:
    """Write reports/data_quality/<month>.json and .html, keep their version under history/
    (named by the delivery's manifest digest); return the current paths."""
    report = month_report(connection, month)
    written = write_month_report(
        reports_path / "data_quality",
        month,
        report["manifest_sha256"],
        {
            ".json": json_bytes(report),
            ".html": render_month_html(connection, report).encode("utf-8"),
        },
    )
    return written[".json"], written[".html"]


def manifest_digest_of(connection: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """The manifest digest of the month's delivery in force (None: no manifest yet)."""
    row = connection.execute(
        "SELECT manifest_sha256 FROM raw.delivery_months WHERE delivery_month = ?", [month]
    ).fetchone()
    return None if row is None else row[0]


def write_auditor_index(connection: duckdb.DuckDBPyConnection, reports_path: Path) -> Path:
    """Write reports/data_quality/index.html: every month's verdict, the trends across months,
    links to each month's report, JSON and Data Docs, and provenance.

    Built from the month reports already written (never recomputed), each with the manifest
    digest it names, so it is as deterministic as they are.
    """
    folder = reports_path / "data_quality"
    months = []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        months.append(
            {
                "month": report["month"],
                "summary": month_summary(report),
                "warnings": len(report["warnings"]),
                "manifest_sha256": report.get("manifest_sha256"),
            }
        )
    peaks = {
        key: max([m["summary"][key] for m in months], default=0) or 1
        for key in ("staged_rows", "quarantined_rows", "files_rejected")
    }
    index = folder / "index.html"
    write_text_atomic(
        index,
        _template("data_quality_index.html").render(
            months=months, peaks=peaks, provenance=code_provenance()
        ),
    )
    return index


def month_summary(report: dict[str, Any]) -> dict[str, Any]:
    """A month's verdict and counts, read from its report alone.

    "complete" only when every delivered file loaded, every practice delivered all its GP
    files and no row was set aside; "partial" when a file was rejected or a practice is
    missing or short of files; "rows quarantined" when only rows were set aside; a month
    not loaded says why.
    """
    files = report["files"]
    totals = {
        key: sum(f[key] for f in files)
        for key in ("delivered_rows", "staged_rows", "quarantined_rows", "ignored_rows")
    }
    loaded_by_practice: dict[str, int] = {}
    for file in files:
        code = practice_code_from_path(file["path"])
        if code is not None:
            loaded_by_practice.setdefault(code, 0)
            loaded_by_practice[code] += file["status"] == "loaded"
    short = {
        code: loaded
        for code, loaded in sorted(loaded_by_practice.items())
        if loaded < GP_FILES_PER_PRACTICE
    }
    rejected = sum(f["status"] == "rejected" for f in files)
    missing = list(report["missing_practices"])
    if report["status"] != "loaded":
        verdict = f"not loaded ({report['status']})"
    elif rejected or short or missing:
        verdict = "partial"
    elif totals["quarantined_rows"]:
        verdict = "loaded, rows quarantined"
    else:
        verdict = "complete"
    return {
        "verdict": verdict,
        "files_delivered": len(files),
        "files_loaded": len(files) - rejected,
        "files_rejected": rejected,
        "practices_complete": len(loaded_by_practice) - len(short),
        "practices_partial": [
            {"practice": code, "files_loaded": loaded, "files_expected": GP_FILES_PER_PRACTICE}
            for code, loaded in short.items()
        ],
        "practices_missing": missing,
        **totals,
    }


def code_provenance() -> dict[str, Any]:
    """What rendered a report: riskstrat's version and the contracts (versions and digest)."""
    texts = contract_texts()
    digest = hashlib.sha256()
    for name, text in texts.items():
        digest.update(f"{name}\n{text}\n".encode())
    versions: dict[str, list[str]] = {}
    for feed, contract in sorted(load_contracts().items()):
        versions.setdefault(contract.version, []).append(feed)
    return {
        "code_version": f"riskstrat {installed_version()}",
        "contract_versions": versions,
        "contracts_sha256": digest.hexdigest(),
    }


def installed_version() -> str:
    """riskstrat's version, or "unknown (not installed)" when run from a bare source tree."""
    try:
        return importlib.metadata.version("riskstrat")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def render_month_html(connection: duckdb.DuckDBPyConnection, report: dict[str, Any]) -> str:
    month = report["month"]
    problems = _problems(connection, report)
    return _template("data_quality_month.html").render(
        report=report,
        summary=month_summary(report),
        provenance={
            **code_provenance(),
            "manifest_sha256": report.get("manifest_sha256"),
        },
        practices=_practice_rows(connection, report),
        validity=_validity_rows(connection, month),
        anomalies=[w for w in report["warnings"] if w["kind"] == "volume_anomaly"],
        problems=problems[:HTML_PROBLEM_LIMIT],
        problem_count=len(problems),
        problem_limit=HTML_PROBLEM_LIMIT,
    )


@functools.cache
def _template(name: str) -> jinja2.Template:
    """The report template, compiled once a process: a range run writes a report a month."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("warehouse", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template(name)


def _file_verdict(file: FileReconciliation, lines: list[tuple[int, str]]) -> tuple[str, str | None]:
    if file.status == "rejected":
        return "rejected", file.reason
    if file.delivered_rows and any(rule == FOLDER_RULE for _, rule in lines):
        practice = practice_code_from_path(file.source_file)
        return "rejected", (
            f"{FOLDER_RULE}: gp/{practice}/ is not a practice in reference/practices.csv, so no row "
            f"can be attributed to a federation; all {file.delivered_rows} rows are quarantined"
        )
    return "loaded", file.reason


def _quarantined_lines(
    connection: duckdb.DuckDBPyConnection, month: str
) -> dict[str, list[tuple[int, str]]]:
    rows = connection.execute(
        "SELECT DISTINCT source_file, line_number, rule FROM quarantine.rows "
        "WHERE delivery_month = ? ORDER BY source_file, line_number, rule",
        [month],
    ).fetchall()
    lines: dict[str, list[tuple[int, str]]] = {}
    for path, line, rule in rows:
        lines.setdefault(path, []).append((int(line), str(rule)))
    return lines


def _warnings(
    connection: duckdb.DuckDBPyConnection, month: str, status: str, reason: str | None
) -> list[dict[str, Any]]:
    """Everything an auditor should see that set no row aside, in a fixed order and shape."""
    warnings: list[dict[str, Any]] = []

    def add(
        kind: str,
        message: str,
        path: str | None = None,
        rule: str | None = None,
        rows: int | None = None,
        lines: list[int] | None = None,
    ) -> None:
        practice = practice_code_from_path(path) if path else None
        warnings.append(
            {
                "kind": kind,
                "practice": practice,
                "path": path,
                "rule": rule,
                "rows": rows,
                "lines": lines or [],
                "message": message,
            }
        )

    if status != "loaded":
        add("month_" + status.replace(" ", "_"), f"{month} is {status}: {reason}")
    for path, columns in connection.execute(
        "SELECT path, extra_columns FROM raw.delivery_files WHERE delivery_month = ? "
        "AND len(extra_columns) > 0 ORDER BY path",
        [month],
    ).fetchall():
        add(
            "unexpected_columns",
            f"{path}: column(s) not in the contract ignored: {', '.join(columns)}",
            path,
            "unexpected_columns",
        )
    for path, rule, lines in connection.execute(
        "SELECT source_file, rule, list(DISTINCT line_number ORDER BY line_number) FROM quarantine.row_warnings "
        "WHERE delivery_month = ? GROUP BY source_file, rule ORDER BY source_file, rule",
        [month],
    ).fetchall():
        add(
            "row_rule",
            f"{path}: {len(lines)} row(s) break warning rule {rule}; they are staged",
            path,
            rule,
            len(lines),
            [int(line) for line in lines],
        )
    for anomaly in volume_anomalies(connection, month):
        add("volume_anomaly", anomaly.message(), anomaly.path, "volume_not_halved", anomaly.rows)
        warnings[-1]["previous_average"] = anomaly.previous_average
    return warnings


def _practice_rows(
    connection: duckdb.DuckDBPyConnection, report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Completeness and timeliness by practice: files and rows delivered, out-of-month rows."""
    known = [
        code
        for (code,) in connection.execute(
            "SELECT practice_code FROM staged.practices ORDER BY practice_code"
        ).fetchall()
    ]
    timeliness_rules = sorted(
        {
            rule.name
            for contract in load_contracts().values()
            for rule in contract.rules
            if rule.check in ("within_delivery_month", "not_after_delivery_month_end")
        }
    )
    dated_outside = dict(
        connection.execute(
            "SELECT split_part(source_file, '/', 2), count(DISTINCT (source_file, line_number)) "
            "FROM quarantine.rows WHERE delivery_month = ? AND source_file LIKE 'gp/%' "
            "AND list_contains(?, rule) GROUP BY 1",
            [report["month"], timeliness_rules],
        ).fetchall()
    )
    by_practice: dict[str, dict[str, Any]] = {}
    for file in report["files"]:
        code = practice_code_from_path(file["path"])
        if code is None:
            continue
        entry = by_practice.setdefault(
            code,
            {
                "practice": code,
                "known": code in known,
                "files_loaded": 0,
                "files_rejected": 0,
                "delivered_rows": 0,
                "staged_rows": 0,
                "quarantined_rows": 0,
                "ignored_rows": 0,
            },
        )
        entry["files_loaded" if file["status"] == "loaded" else "files_rejected"] += 1
        for key in ("delivered_rows", "staged_rows", "quarantined_rows", "ignored_rows"):
            entry[key] += file[key]
    rows = []
    for code in sorted(set(known) | set(by_practice)):
        entry = by_practice.get(code) or {
            "practice": code,
            "known": True,
            "files_loaded": 0,
            "files_rejected": 0,
            "delivered_rows": 0,
            "staged_rows": 0,
            "quarantined_rows": 0,
            "ignored_rows": 0,
        }
        entry["files_expected"] = GP_FILES_PER_PRACTICE
        entry["dated_outside_month"] = int(dated_outside.get(code, 0))
        if code in report["missing_practices"]:
            entry["timeliness"] = "missing: late or failed extract"
        elif not entry["known"]:
            entry["timeliness"] = "unknown practice folder"
        elif report["status"] != "loaded":
            entry["timeliness"] = f"month {report['status']}"
        else:
            entry["timeliness"] = "on time"
        rows.append(entry)
    return rows


def _validity_rows(connection: duckdb.DuckDBPyConnection, month: str) -> list[dict[str, Any]]:
    """Rows breaking each rule, by feed: quarantined (error), ignored, or warned and staged."""
    rows = connection.execute(
        "SELECT feed, rule, 'quarantined' AS outcome, count(DISTINCT (source_file, line_number)) "
        "FROM quarantine.rows WHERE delivery_month = $month GROUP BY ALL "
        "UNION ALL SELECT feed, rule, 'ignored', count(DISTINCT (source_file, line_number)) "
        "FROM quarantine.ignored_rows WHERE delivery_month = $month GROUP BY ALL "
        "UNION ALL SELECT feed, rule, 'warned (staged)', count(DISTINCT (source_file, line_number)) "
        "FROM quarantine.row_warnings WHERE delivery_month = $month GROUP BY ALL "
        "ORDER BY feed, rule, 3",
        {"month": month},
    ).fetchall()
    contracts = load_contracts()
    result = []
    for feed, rule, outcome, count in rows:
        description = ""
        with contextlib.suppress(KeyError):
            description = contracts[feed].rule(rule).description
        result.append(
            {
                "feed": feed,
                "rule": rule,
                "outcome": outcome,
                "rows": int(count),
                "description": description,
            }
        )
    return result


def _problems(
    connection: duckdb.DuckDBPyConnection, report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every problem with practice, file, line and rule: rejected files, missing practices,
    quarantined rows (with the masked offending value) and warning rows."""
    month = report["month"]
    problems: list[dict[str, Any]] = []
    for code in report["missing_practices"]:
        problems.append(
            {
                "practice": code,
                "path": f"gp/{code}/",
                "line": None,
                "rule": "practice delivered this month",
                "column": None,
                "value": None,
                "outcome": "missing",
            }
        )
    for file in report["files"]:
        if file["status"] == "rejected" and not file["quarantined_lines"]:
            problems.append(
                {
                    "practice": practice_code_from_path(file["path"]),
                    "path": file["path"],
                    "line": None,
                    "rule": file["reason"],
                    "column": None,
                    "value": None,
                    "outcome": "file rejected",
                }
            )
    recorded = _recorded_practices(connection, month)
    for table, outcome in (("rows", "quarantined"), ("row_warnings", "warned (staged)")):
        for path, line, rule, column, value in connection.execute(
            f"SELECT source_file, line_number, rule, column_name, offending_value FROM quarantine.{table} "
            "WHERE delivery_month = ? ORDER BY source_file, line_number, rule",
            [month],
        ).fetchall():
            practice = practice_code_from_path(path) or recorded.get(
                (path, int(line)), "not recorded"
            )
            problems.append(
                {
                    "practice": practice,
                    "path": path,
                    "line": int(line),
                    "rule": rule,
                    "column": column,
                    "value": value,
                    "outcome": outcome,
                }
            )
    for anomaly in (w for w in report["warnings"] if w["kind"] == "volume_anomaly"):
        problems.append(
            {
                "practice": anomaly["practice"],
                "path": anomaly["path"],
                "line": None,
                "rule": anomaly["rule"],
                "column": None,
                "value": anomaly["message"],
                "outcome": "volume anomaly",
            }
        )
    return problems


def _recorded_practices(
    connection: duckdb.DuckDBPyConnection, month: str
) -> dict[tuple[str, int], str]:
    """Hospital-recorded practice of each set-aside SUS row, so area-wide problems name one too."""
    recorded: dict[tuple[str, int], str] = {}
    for contract in load_contracts().values():
        if contract.scope == "reference" or "practice_code" not in contract.column_names:
            continue
        for table in ("rows", "row_warnings"):
            for path, line, code in connection.execute(
                f"SELECT DISTINCT q.source_file, q.line_number, r.practice_code FROM quarantine.{table} AS q "
                f"JOIN raw.{contract.feed} AS r ON r.delivery_month = q.delivery_month "
                "AND r.source_file = q.source_file AND r.line_number = q.line_number "
                "WHERE q.delivery_month = ? AND q.feed = ? AND r.practice_code IS NOT NULL",
                [month, contract.feed],
            ).fetchall():
                recorded[(path, int(line))] = f"{code} (hospital-recorded)"
    return recorded


def quarantined_by_rule(
    connection: duckdb.DuckDBPyConnection, month: str
) -> list[tuple[str, str, int]]:
    """(feed, rule, rows) of the month's quarantine, most rows first."""
    rows = connection.execute(
        "SELECT feed, rule, count(DISTINCT (source_file, line_number)) AS rows "
        "FROM quarantine.rows WHERE delivery_month = ? GROUP BY ALL ORDER BY rows DESC, feed, rule",
        [month],
    ).fetchall()
    return [(str(feed), str(rule), int(count)) for feed, rule, count in rows]
