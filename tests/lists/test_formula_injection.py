"""No CSV the project writes holds a cell a spreadsheet would run as a formula.

Hostile text goes into every field that reaches a CSV: practice and federation names
(from reference/practices.csv), the reasons, the tier names. The check of the written
files is written here independently of ``warehouse.csv_safety``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lists.federation import publish_federation_summaries
from lists.manifest import VERSIONS
from lists.practice_lists import publish_practice_lists
from lists.scores import score_month
from lists.tiers import Tier, TierPolicy
from tests.lists.conftest import TEST_KEY, TEST_POLICY
from tests.lists.population import (
    MONTHS,
    SCORE_MONTH,
    StandInModel,
    build_warehouse,
    stand_in_explain,
)
from warehouse.connection import connect
from warehouse.csv_safety import csv_text, neutralise_cell
from warehouse.home import Home

PAYLOADS = (
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
)
HOSTILE_PRACTICES = (
    ("A81001", PAYLOADS[0], "FED01", PAYLOADS[1], True),
    ("A81002", PAYLOADS[2], "FED01", PAYLOADS[1], False),
    ("B82001", PAYLOADS[3], "FED02", PAYLOADS[4], False),
)
HOSTILE_TIERS = TierPolicy(
    tiers=(Tier("=very high", 0.005), Tier("@high", 0.05), Tier("+rising", 0.20)),
    otherwise="-low",
)


def formula_cell(cell: str) -> bool:
    """A cell a spreadsheet would evaluate: a trigger first (after spaces), not a number."""
    try:
        float(cell)
        return False
    except ValueError:
        pass
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") or cell.lstrip(" ")[:1] in (
        "=",
        "+",
        "-",
        "@",
        "\t",
        "\r",
    )


def hostile_explain(model: Any, frame: pl.DataFrame) -> pl.DataFrame:
    """The stand-in reasons, each replaced by a payload (in turn, person by person)."""
    reasons = stand_in_explain(model, frame)
    people = reasons.height
    return reasons.with_columns(
        pl.Series(f"reason_{slot}", [PAYLOADS[(i + slot) % len(PAYLOADS)] for i in range(people)])
        for slot in (1, 2, 3)
    )


def test_a_cell_starting_a_formula_gets_a_quote_and_a_plain_number_does_not() -> None:
    for payload in PAYLOADS:
        assert neutralise_cell(payload) == "'" + payload
    for number in ("-0.5", "+3", "12", "1e-3", "-.25", "0.0000", "-12.", 7, -0.5):
        assert neutralise_cell(number) == str(number)
    for text in ("Field Family Practice", "up from high", "", "'=already quoted", "a=b", None):
        assert neutralise_cell(text) == ("" if text is None else text)
    assert csv_text(["a", "=b"], [["-1", "-1-1"], [None, '"=x"'], ["a\rb", "c,d"]]) == (
        'a,\'=b\n-1,\'-1-1\n,"""=x"""\n"a\rb","c,d"\n'
    )


@pytest.fixture
def hostile_home(tmp_path: Path) -> Home:
    """Lists and summaries published from practices, reasons and tiers that are all hostile."""
    home = Home(tmp_path / "home")
    home.root.mkdir()
    build_warehouse(home.database, practices=HOSTILE_PRACTICES)
    with connect(home.database) as connection:
        for month in MONTHS:
            score_month(
                connection, month, StandInModel(), explain=hostile_explain, tiers=HOSTILE_TIERS
            )
            publish_practice_lists(connection, home.outbox, month, TEST_POLICY)
        publish_federation_summaries(connection, home.outbox, SCORE_MONTH, TEST_KEY)
    return home


def test_no_written_csv_cell_starts_a_formula(hostile_home: Home) -> None:
    written = sorted(hostile_home.outbox.rglob("*.csv"))
    names = {path.name if path.parent.name != VERSIONS else "manifests/" for path in written}
    assert names == {
        "risk_list.csv",
        "practice_summary.csv",
        "risk_tiers_pseudonymised.csv",
        "manifest.csv",
        "manifests/",  # the kept copies of every manifest written
    }
    cells: list[str] = []
    for path in written:
        where = path.relative_to(hostile_home.outbox)
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
        cells += [cell for row in rows for cell in row]
        unsafe = [cell for row in rows for cell in row if formula_cell(cell)]
        assert not unsafe, f"{where}: {unsafe[:5]}"
        # A reader that ends rows at a carriage return (a spreadsheet) sees the same rows:
        # no bare CR outside quotes.
        as_lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert len(as_lines) == len(rows) and {len(row) for row in as_lines} == {len(rows[0])}, (
            where
        )
    # The hostile text arrived (neutralised), not lost: names, reasons and tiers.
    for text in (*PAYLOADS, "=very high", "@high", "+rising", "-low"):
        assert "'" + text in cells, text


def test_the_federation_summary_keeps_numbers_as_numbers(hostile_home: Home) -> None:
    summary = next(hostile_home.outbox.rglob("practice_summary.csv"))
    rows = list(csv.DictReader(io.StringIO(summary.read_text(encoding="utf-8"), newline="")))
    assert rows and all(float(row["expected_people_admitted_next_12m"]) >= 0 for row in rows)
    assert {row["practice_name"] for row in rows} <= {"'" + p for p in PAYLOADS}
