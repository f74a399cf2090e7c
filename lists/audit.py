"""Re-read what the outbox holds and check it against the rules (used by the Dagster checks).

Results name practices, files and counts, never a person.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from lists.manifest import MANIFEST, verify_manifest
from lists.outbox import CSV_FILE as PRACTICE_LIST_CSV
from lists.paths import SUMMARY_FOLDER, check_month
from warehouse.months import index_date
from warehouse.sql_files import read_sql

# A 10-digit number standing alone (not inside a longer run of letters or digits, such as a
# SHA-256 digest), with or without the NHS style's spaces.
NHS_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{10}|\d{3} \d{3} \d{4})(?![0-9A-Za-z])")
TEN_DIGITS = re.compile(r"\d{10}")  # any ten digits in a row, inside longer text too
# The rules a listed person can break, as listed_people_not_registered.sql counts them.
LISTING_RULES = ("not_registered_there", "deceased", "type1_opt_out")


@dataclass(frozen=True)
class ListedPeopleAudit:
    """The practices' published lists of a month, read back and judged against registrations.

    `wrong` is {practice: {rule: people}} for the rules of listed_people_not_registered.sql;
    `problems` names files that could not be judged. Counts and paths only, never a person.
    """

    files_read: int
    people_read: int
    wrong: dict[str, dict[str, int]]
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.wrong and not self.problems


def listed_people_not_registered(
    connection: duckdb.DuckDBPyConnection, outbox: Path, month: str
) -> ListedPeopleAudit:
    """Read every practice's risk_list.csv of `month` back from the outbox and count, per
    practice, the people in it who were not registered there on the score date, are
    recorded as deceased, or have a Type 1 opt-out.

    Independent of what published the lists: the practice is the folder's, the people are
    the file's, and the rules are listed_people_not_registered.sql's own query on the staged
    registrations (never list_population.sql or the scores tables).
    """
    listed: list[tuple[str, str]] = []
    problems: list[str] = []
    files = 0
    # Every practice of the reference gets a folder, an empty list included: a missing one
    # must not pass as a list with nobody wrong in it.
    expected = {
        f"{federation}/{practice}/{month}"
        for federation, practice in connection.execute(
            "SELECT DISTINCT federation_code, practice_code FROM staged.practices "
            "WHERE practice_code IS NOT NULL"
        ).fetchall()
    }
    folders = [f for f in delivery_folders(outbox, month) if f.parent.name != SUMMARY_FOLDER]
    found = {folder.relative_to(outbox).as_posix() for folder in folders}
    problems += [f"{where}: no list published" for where in sorted(expected - found)]
    for folder in folders:
        practice = folder.parent.name
        where = folder.relative_to(outbox)
        if where.as_posix() not in expected:
            problems.append(f"{where}: not a practice of this federation in the reference")
            continue
        path = folder / PRACTICE_LIST_CSV
        if not path.is_file():
            problems.append(f"{where}/{PRACTICE_LIST_CSV}: absent")
            continue
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.DictReader(handle)
            if "nhs_number" not in (reader.fieldnames or []):
                problems.append(f"{where}/{PRACTICE_LIST_CSV}: no nhs_number column")
                continue
            listed += [(practice, row["nhs_number"].replace(" ", "")) for row in reader]
        files += 1
    wrong: dict[str, dict[str, int]] = {}
    if listed:
        listed_in_outbox = pa.table(  # noqa: F841  (read by the SQL through DuckDB's replacement scan)
            {
                "practice_code": [practice for practice, _ in listed],
                "nhs_number": [nhs_number for _, nhs_number in listed],
            }
        )
        rows = connection.execute(
            read_sql("listed_people_not_registered.sql", "lists"),
            {"month": month, "score_date": index_date(month)},
        ).fetchall()
        wrong = {
            str(practice): {
                rule: int(people)
                for rule, people in zip(LISTING_RULES, counts, strict=True)
                if people
            }
            for practice, *counts in rows
        }
    return ListedPeopleAudit(files, len(listed), wrong, problems)


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
        for path in [folder, *sorted(folder.rglob("*"))]:
            if path.stat().st_mode & 0o077:
                problems.append(f"{path.relative_to(outbox)}: readable by others")
    return problems


def nhs_numbers_in_text(text: str, known: set[str]) -> int:
    """How many NHS-number-like tokens, or known NHS numbers anywhere, `text` holds."""
    found = len(NHS_NUMBER_PATTERN.findall(text))
    digits = TEN_DIGITS.findall(text)
    return found + sum(1 for token in digits if token in known)


def nhs_numbers_in_federation_files(
    connection: duckdb.DuckDBPyConnection, outbox: Path, month: str
) -> dict[str, int]:
    """Federation files of `month` holding anything like an NHS number: {file: occurrences}.

    Any ten digits in a row are looked up among the registered NHS numbers (only those, not
    every registered number read into Python: 1.9 s at 1,000,000 people).
    """
    texts = {}
    for folder in sorted(outbox.glob(f"*/{SUMMARY_FOLDER}/{check_month(month)}")):
        # Files in subfolders too: the manifests of earlier summaries are federation files.
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            texts[path] = path.read_text(encoding="utf-8", errors="replace")
    tokens = sorted({token for text in texts.values() for token in TEN_DIGITS.findall(text)})
    known = {
        str(n)
        for (n,) in connection.execute(
            "SELECT DISTINCT nhs_number FROM staged.registrations "
            "WHERE nhs_number IN (SELECT unnest($tokens))",
            {"tokens": tokens},
        ).fetchall()
    }
    found = {}
    for path, text in texts.items():
        count = nhs_numbers_in_text(text, known)
        if count:
            found[str(path.relative_to(outbox))] = count
    return found
