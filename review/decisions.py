"""Review decisions: what a practice decided for a person on a month's list.

Append-only: a decision is never changed or deleted (the store's triggers refuse it); a
later decision for the same person and month supersedes the earlier one, and both stay.
Each carries who made it and when (UTC). Last month's decision is shown beside the
person on the next month's list: "reviewed 2026-11: care plan in place".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from review.store import now_text

DECISIONS = {
    "reviewed": "reviewed",
    "contacted": "contacted",
    "care_plan": "care plan in place or updated",
    "declined": "declined",
    "not_appropriate": "not appropriate",
    "under_team": "already under a team",
}
NEEDS_REASON = frozenset({"not_appropriate"})
MAXIMUM_TEXT = 500


class DecisionError(ValueError):
    """A decision the app must refuse, with the reason in words a clinician reads."""


@dataclass(frozen=True)
class Decision:
    list_month: str
    decision: str
    reason: str
    note: str
    decided_by: str
    decided_at: str

    @property
    def label(self) -> str:
        text = DECISIONS.get(self.decision, self.decision)
        return f"{text} ({self.reason})" if self.reason else text

    def summary(self) -> str:
        """As shown on a later month's list: 'reviewed 2026-11: care plan in place or updated'."""
        return f"reviewed {self.list_month}: {self.label}"


def record_decision(
    connection: sqlite3.Connection,
    *,
    practice_code: str,
    list_month: str,
    row_id: str,
    decision: str,
    reason: str,
    note: str,
    username: str,
) -> Decision:
    if decision not in DECISIONS:
        raise DecisionError(f"{decision!r} is not one of the decisions the app records.")
    reason, note = reason.strip(), note.strip()
    if decision in NEEDS_REASON and not reason:
        raise DecisionError("'Not appropriate' needs a reason.")
    if len(reason) > MAXIMUM_TEXT or len(note) > MAXIMUM_TEXT:
        raise DecisionError(f"A reason or note is longer than {MAXIMUM_TEXT} characters.")
    made = Decision(list_month, decision, reason, note, username, now_text())
    connection.execute(
        "INSERT INTO decisions (practice_code, list_month, row_id, decision, reason, note, "
        "decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (practice_code, list_month, row_id, decision, reason, note, username, made.decided_at),
    )
    return made


def latest_decisions(
    connection: sqlite3.Connection, practice_code: str, list_month: str
) -> dict[str, Decision]:
    """Row id -> the decision in force for `list_month` (the last one recorded)."""
    rows = connection.execute(
        "SELECT * FROM decisions WHERE practice_code = ? AND list_month = ? ORDER BY id",
        (practice_code, list_month),
    ).fetchall()
    return {row["row_id"]: _decision(row) for row in rows}


def earlier_decisions(
    connection: sqlite3.Connection, practice_code: str, list_month: str
) -> dict[str, Decision]:
    """Row id -> the decision in force for the latest earlier month that has one."""
    rows = connection.execute(
        "SELECT * FROM decisions WHERE practice_code = ? AND list_month < ? "
        "ORDER BY list_month, id",
        (practice_code, list_month),
    ).fetchall()
    return {row["row_id"]: _decision(row) for row in rows}


def person_history(
    connection: sqlite3.Connection, practice_code: str, row_id: str
) -> list[Decision]:
    """Every decision recorded for the person at the practice, newest first."""
    rows = connection.execute(
        "SELECT * FROM decisions WHERE practice_code = ? AND row_id = ? ORDER BY id DESC",
        (practice_code, row_id),
    ).fetchall()
    return [_decision(row) for row in rows]


def decision_counts(connection: sqlite3.Connection, list_month: str) -> dict[str, dict[str, int]]:
    """Practice code -> decision -> people whose decision in force for the month is that."""
    rows = connection.execute(
        "SELECT practice_code, decision, count(*) FROM ("
        "  SELECT practice_code, row_id, decision, "
        "         row_number() OVER (PARTITION BY practice_code, row_id ORDER BY id DESC) AS n"
        "  FROM decisions WHERE list_month = ?"
        ") WHERE n = 1 GROUP BY practice_code, decision",
        (list_month,),
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for practice_code, decision, count in rows:
        counts.setdefault(practice_code, {})[decision] = int(count)
    return counts


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(
        row["list_month"],
        row["decision"],
        row["reason"],
        row["note"],
        row["decided_by"],
        row["decided_at"],
    )
