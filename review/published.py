"""What the app shows: each practice's current list, read from the outbox, less opt-outs.

The current list is the latest month with a list report (``reports/lists/<month>.json``,
written after every practice's delivery). A practice's rows come from its published
``risk_list.csv``, checked against the SHA-256 the report recorded, so the app shows
exactly what was delivered (the same people, tiers and reasons as ``risk_list.html``) and
never reads the warehouse for it: a pipeline run may hold the warehouse for minutes.

Type 1 opt-outs: the current set is read from the warehouse read-only whenever the
warehouse file has changed since the last read; when a run holds it (DuckDB then refuses
a reader), the set last read is used, kept in the review store as row ids. With no set
ever read, nothing is shown (`OptOutsUnavailable`): the app fails closed.

People are named in URLs, the store and the logs by their row id, a keyed pseudonym of
the NHS number (``row_id``), never by the NHS number.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lists.outbox import CSV_FILE, SUMMARY_CSV
from lists.paths import MONTH, check_practice_code
from lists.pseudonyms import pseudonymise
from lists.tables import table_exists
from warehouse.connection import WarehouseBusyError
from warehouse.csv_safety import starts_like_formula
from warehouse.home import Home
from warehouse.opt_outs import opt_out_query

ROW_ID_CONTEXT = b"riskstrat review row id"


class ListUnavailable(RuntimeError):
    """The list cannot be shown: not published, or not as its report recorded."""


class OptOutsUnavailable(RuntimeError):
    """No opt-out set has ever been read, and the warehouse is busy: show no one."""


def row_key(pseudonym_key: bytes) -> bytes:
    """The key of row ids: derived from the home's pseudonym key, so row ids differ from
    the federation's pseudonyms and one cannot be matched with the other."""
    return hmac.new(pseudonym_key, ROW_ID_CONTEXT, hashlib.sha256).digest()


def row_id(nhs_number: str, key: bytes) -> str:
    return pseudonymise(nhs_number, key).lower()


@dataclass(frozen=True)
class ListedPerson:
    row_id: str
    nhs_number: str
    rank: int
    risk_score: float
    tier: str
    change: str
    tier_last_month: str
    age: str
    sex: str
    reasons: tuple[str, ...]
    long_term_conditions: str
    last_emergency_admission: str
    ae_attendances_12m: str
    care_home: bool


@dataclass(frozen=True)
class PracticeEntry:
    """A practice's line in the month's list report: counts and where its files are."""

    practice_code: str
    federation_code: str
    folder: str
    population: int
    listed: int
    listed_per_tier: dict[str, int]
    new_to_list: int
    csv_sha256: str


def list_months(home: Home) -> list[str]:
    """Months with a list report, oldest first."""
    folder = home.list_reports
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if MONTH.match(p.stem))


def current_month(home: Home) -> str | None:
    months = list_months(home)
    return months[-1] if months else None


def practice_entries(home: Home, month: str) -> dict[str, PracticeEntry]:
    report = json.loads((home.list_reports / f"{month}.json").read_text(encoding="utf-8"))
    return {
        p["practice_code"]: PracticeEntry(
            practice_code=p["practice_code"],
            federation_code=p["federation_code"],
            folder=p["folder"],
            population=int(p["population"]),
            listed=int(p["listed"]),
            listed_per_tier={k: int(v) for k, v in p["listed_per_tier"].items()},
            new_to_list=int(p["new_to_list"]),
            csv_sha256=p["files"].get(CSV_FILE, ""),
        )
        for p in report["practices"]
    }


def practice_names(home: Home, federation_code: str, month: str) -> dict[str, str]:
    """Practice code -> name, from the federation's summary of the month (if published)."""
    path = home.outbox / federation_code / "summary" / month / SUMMARY_CSV
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["practice_code"]: _cell(row["practice_name"]) for row in csv.DictReader(handle)}


def read_practice_list(home: Home, entry: PracticeEntry, key: bytes) -> list[ListedPerson]:
    """The practice's published rows, in rank order, after checking the file's digest."""
    check_practice_code(entry.practice_code)
    path = home.outbox / entry.folder / CSV_FILE
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ListUnavailable(f"{path} is missing: the list was not delivered.") from None
    if hashlib.sha256(content).hexdigest() != entry.csv_sha256:
        raise ListUnavailable(
            f"{path} differs from the digest its list report recorded: it is not shown."
        )
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
    return [_person(row, key) for row in reader]


def _cell(text: str) -> str:
    """A CSV cell as written before csv_safety's quote (which only guards spreadsheets)."""
    return text[1:] if text.startswith("'") and starts_like_formula(text[1:]) else text


def _person(raw: dict[str, str], key: bytes) -> ListedPerson:
    row = {name: _cell(value) for name, value in raw.items()}
    return ListedPerson(
        row_id=row_id(row["nhs_number"], key),
        nhs_number=row["nhs_number"],
        rank=int(row["rank"]),
        risk_score=float(row["risk_score"]),
        tier=row["tier"],
        change=row["change"],
        tier_last_month=row["tier_last_month"],
        age=row["age"],
        sex=row["sex"],
        reasons=tuple(row[f"reason_{i}"] for i in (1, 2, 3) if row[f"reason_{i}"]),
        long_term_conditions=row["long_term_conditions"],
        last_emergency_admission=row["last_emergency_admission"],
        ae_attendances_12m=row["ae_attendances_12m"],
        care_home=row["care_home"] == "Y",
    )


@dataclass(frozen=True)
class OptOuts:
    row_ids: frozenset[str]
    read_at: str
    stale: bool  # the warehouse was busy: this is the set last read


def current_opt_outs(home: Home, store: sqlite3.Connection, key: bytes) -> OptOuts:
    """The Type 1 opt-outs as row ids: re-read when the warehouse has changed, else kept."""
    fingerprint = _warehouse_fingerprint(home)
    source = store.execute("SELECT fingerprint, read_at FROM opt_out_source").fetchone()
    if source is None or source["fingerprint"] != fingerprint:
        try:
            nhs_numbers = _read_opt_outs(home)
        except WarehouseBusyError:
            if source is None:
                raise OptOutsUnavailable(
                    "The warehouse is in use by a pipeline run and no opt-out set has been read "
                    "yet, so no list can be shown safely. Try again when the run has finished."
                ) from None
            return OptOuts(_stored_opt_outs(store), source["read_at"], stale=True)
        read_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
        store.execute("DELETE FROM opt_outs")
        store.executemany(
            "INSERT OR IGNORE INTO opt_outs (row_id) VALUES (?)",
            [(row_id(n, key),) for n in nhs_numbers],
        )
        store.execute(
            "INSERT INTO opt_out_source (only_row, fingerprint, read_at) VALUES (1, ?, ?) "
            "ON CONFLICT (only_row) DO UPDATE SET fingerprint = excluded.fingerprint, "
            "read_at = excluded.read_at",
            (fingerprint, read_at),
        )
        return OptOuts(_stored_opt_outs(store), read_at, stale=False)
    return OptOuts(_stored_opt_outs(store), source["read_at"], stale=False)


def _stored_opt_outs(store: sqlite3.Connection) -> frozenset[str]:
    return frozenset(r[0] for r in store.execute("SELECT row_id FROM opt_outs").fetchall())


def _warehouse_fingerprint(home: Home) -> str:
    """Size and modification time of the warehouse and its WAL: changes with every write."""
    parts: list[Any] = []
    for path in (home.database, Path(f"{home.database}.wal")):
        stat = path.stat() if path.exists() else None
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}" if stat else "-")
    return "|".join(parts)


def _read_opt_outs(home: Home) -> list[str]:
    """NHS numbers whose latest delivery carries a Type 1 opt-out (warehouse.opt_outs)."""
    if not home.has_warehouse():
        return []
    with home.connect(read_only=True) as connection:
        if not table_exists(connection, "staged.registrations"):
            return []
        rows = connection.execute(opt_out_query(connection)).fetchall()
    return [str(r[0]) for r in rows]
