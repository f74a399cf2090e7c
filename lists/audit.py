"""Re-read what the outbox holds and check it against the rules (used by the Dagster checks).

Results name practices, files and counts, never a person.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from lists.manifest import MANIFEST, verify_manifest
from lists.paths import SUMMARY_FOLDER, check_month
from lists.tables import PRACTICE_LISTS, ensure_scores_schema
from warehouse.sql_files import read_sql

# A 10-digit number standing alone (not inside a longer run of letters or digits, such as a
# SHA-256 digest), with or without the NHS style's spaces.
NHS_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{10}|\d{3} \d{3} \d{4})(?![0-9A-Za-z])")


def list_members_not_listable(connection: duckdb.DuckDBPyConnection, month: str) -> dict[str, int]:
    """Per practice, people on its list for `month` who are not in its listable population."""
    ensure_scores_schema(connection)
    rows = connection.execute(
        f"WITH listable AS ({read_sql('list_population.sql', 'lists')}) "
        f"SELECT m.practice_code, count(*) FROM {PRACTICE_LISTS} AS m "
        "ANTI JOIN listable AS l USING (practice_code, nhs_number) "
        "WHERE m.delivery_month = $month GROUP BY 1 ORDER BY 1",
        {"month": month},
    ).fetchall()
    return {str(code): int(count) for code, count in rows}


def delivery_folders(outbox: Path, month: str) -> list[Path]:
    check_month(month)
    if not outbox.is_dir():
        return []
    return sorted(p for p in outbox.glob(f"*/*/{month}") if p.is_dir())


def delivery_problems(outbox: Path, month: str) -> list[str]:
    """Manifest mismatches and files or folders readable by anyone but their owner."""
    problems = []
    for folder in delivery_folders(outbox, month):
        where = folder.relative_to(outbox)
        if not (folder / MANIFEST).is_file():
            problems.append(f"{where}: no manifest.csv")
            continue
        problems += [f"{where}/{problem}" for problem in verify_manifest(folder)]
        for path in [folder, *folder.iterdir()]:
            if path.stat().st_mode & 0o077:
                problems.append(f"{path.relative_to(outbox)}: readable by others")
    return problems


def nhs_numbers_in_text(text: str, known: set[str]) -> int:
    """How many NHS-number-like tokens, or known NHS numbers anywhere, `text` holds."""
    found = len(NHS_NUMBER_PATTERN.findall(text))
    digits = re.findall(r"\d{10}", text)
    return found + sum(1 for token in digits if token in known)


def nhs_numbers_in_federation_files(
    connection: duckdb.DuckDBPyConnection, outbox: Path, month: str
) -> dict[str, int]:
    """Federation files of `month` holding anything like an NHS number: {file: occurrences}."""
    known = {
        str(n)
        for (n,) in connection.execute(
            "SELECT DISTINCT nhs_number FROM staged.registrations WHERE nhs_number IS NOT NULL"
        ).fetchall()
    }
    found = {}
    for folder in sorted(outbox.glob(f"*/{SUMMARY_FOLDER}/{check_month(month)}")):
        for path in sorted(folder.iterdir()):
            count = nhs_numbers_in_text(path.read_text(encoding="utf-8", errors="replace"), known)
            if count:
                found[str(path.relative_to(outbox))] = count
    return found
