"""Write the lists' files into the outbox: one delivery folder per practice and per federation.

Each file is written atomically (temporary name, then rename) with mode 0600 into a folder
made owner-only (0700), and ``manifest.csv`` is written last, naming the model and the
deliveries the files were made from (``manifest``); the manifests of earlier publications
of the folder stay in its ``manifests/``. Folder paths come from ``paths``, which checks
every code. The same document gives the same bytes.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

from lists.documents import (
    CSV_COLUMNS,
    FederationSummary,
    PracticeList,
    PublishedList,
    PublishedSummary,
    tier_column,
)
from lists.manifest import DeliveredFile, MadeFrom, write_manifest
from lists.paths import make_private_folder
from lists.rendering import render_federation_html, render_practice_html, render_practice_workbook
from warehouse.csv_safety import csv_text
from warehouse.files import write_bytes_atomic

CSV_FILE, XLSX_FILE, HTML_FILE = "risk_list.csv", "risk_list.xlsx", "risk_list.html"
SUMMARY_CSV, SUMMARY_HTML = "practice_summary.csv", "practice_summary.html"
PSEUDONYMS_CSV = "risk_tiers_pseudonymised.csv"


def write_practice_delivery(
    outbox: Path, folder: Path, item: PracticeList, made_from: MadeFrom
) -> PublishedList:
    """risk_list.csv, .xlsx, .html, then manifest.csv, each atomically with mode 0600."""
    make_private_folder(folder, outbox)
    contents = {
        CSV_FILE: practice_csv(item).encode("utf-8"),
        XLSX_FILE: render_practice_workbook(item, CSV_COLUMNS),
        HTML_FILE: render_practice_html(item).encode("utf-8"),
    }
    for name, content in contents.items():
        write_bytes_atomic(folder / name, content)
    write_manifest(folder, [DeliveredFile(name, len(item.rows)) for name in contents], made_from)
    return PublishedList(
        practice_code=item.practice.code,
        federation_code=item.practice.federation_code,
        folder=str(folder.relative_to(outbox)),
        population=item.population,
        listed=len(item.rows),
        listed_per_tier=item.listed_per_tier,
        new_to_list=item.new_to_list,
        changed_tier=item.changed_tier,
        data_quality=item.data_quality,
        files={name: hashlib.sha256(content).hexdigest() for name, content in contents.items()},
    )


def write_federation_delivery(
    outbox: Path, folder: Path, summary: FederationSummary, made_from: MadeFrom
) -> PublishedSummary:
    """practice_summary.csv, .html, risk_tiers_pseudonymised.csv, then manifest.csv."""
    make_private_folder(folder, outbox)
    contents = {
        SUMMARY_CSV: (summary_csv(summary), len(summary.practices)),
        SUMMARY_HTML: (render_federation_html(summary).encode("utf-8"), len(summary.practices)),
        PSEUDONYMS_CSV: (pseudonyms_csv(summary), summary.pseudonymised.height),
    }
    for name, (content, _rows) in contents.items():
        write_bytes_atomic(folder / name, content)
    write_manifest(
        folder,
        [DeliveredFile(name, rows) for name, (_content, rows) in contents.items()],
        made_from,
    )
    return PublishedSummary(
        federation_code=summary.federation_code,
        folder=str(folder.relative_to(outbox)),
        practices=len(summary.practices),
        people_scored=int(summary.totals["people_scored"]),
        people_per_tier={t: int(summary.totals[tier_column(t)]) for t in summary.tier_names},
        expected_people_admitted_next_12m=float(
            summary.totals["expected_people_admitted_next_12m"]
        ),
        observed_people_admitted_last_12m=int(summary.totals["observed_people_admitted_last_12m"]),
        files={name: rows for name, (_content, rows) in contents.items()},
    )


def practice_csv(item: PracticeList) -> str:
    # Every cell through csv_text: names, reasons and codes could start a formula.
    return csv_text(
        CSV_COLUMNS, ([_csv_value(row[column]) for column in CSV_COLUMNS] for row in item.rows)
    )


def summary_csv(summary: FederationSummary) -> bytes:
    rows = (
        [
            "" if row[c] is None else (f"{row[c]:.1f}" if isinstance(row[c], float) else row[c])
            for c in summary.columns
        ]
        for row in summary.practices
    )
    return csv_text(summary.columns, rows).encode("utf-8")


def pseudonyms_csv(summary: FederationSummary) -> bytes:
    rows = (
        [pseudonym, practice_code, tier, f"{risk:.4f}", "Y" if on_list else "N"]
        for pseudonym, practice_code, tier, risk, on_list in summary.pseudonymised.iter_rows()
    )
    header = ["pseudonym", "practice_code", "tier", "risk_score", "on_practice_list"]
    return csv_text(header, rows).encode("utf-8")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
