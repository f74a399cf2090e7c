"""Backfills: which layers do not care in what order months arrive, and which do.

Raw loading and the staging of GP files are per month: any order gives the same tables.
Keyed hospital and social-care files are different by design: a resend or conflict is
judged against the first delivery of an id, so a month staged before an earlier month
arrives must be staged again afterwards. `riskstrat run` stages every month oldest first,
and these tests prove that doing so converges to the in-order result.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests import supplier
from warehouse.connection import connect
from warehouse.deliveries import load_month
from warehouse.reference import known_practices, load_reference
from warehouse.staged import stage_month, stage_reference

MONTHS = ("2024-01", "2024-02", "2024-03")
GP_FEEDS = ("registrations", "conditions", "consultations", "medications", "observations")
KEYED_FEEDS = ("ae_attendances", "outpatients", "admissions", "services")


def landing_with_a_resend(tmp_path: Path) -> Path:
    """Three months; March repeats January's admission spell unchanged (a resend)."""
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=MONTHS[:2])
    march = supplier.month_files("2024-03")
    january_spell = supplier.month_files("2024-01")["sus/admissions.csv"].split(b"\r\n")[1]
    march["sus/admissions.csv"] += january_spell + b"\r\n"
    supplier.write_month(landing, "2024-03", march)
    return landing


def build(
    tmp_path: Path, landing: Path, name: str, order: tuple[str, ...]
) -> duckdb.DuckDBPyConnection:
    connection = connect(tmp_path / f"{name}.duckdb")
    load_reference(connection, landing)
    stage_reference(connection)
    for month in order:
        load_month(connection, landing, month, known_practices(connection))
        stage_month(connection, month)
    return connection


def table(connection: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return connection.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()


def test_raw_and_gp_staged_tables_do_not_depend_on_month_order(tmp_path: Path):
    landing = landing_with_a_resend(tmp_path)
    in_order = build(tmp_path, landing, "in_order", MONTHS)
    reversed_order = build(tmp_path, landing, "reversed", tuple(reversed(MONTHS)))

    for feed in (*GP_FEEDS, *KEYED_FEEDS):
        assert table(reversed_order, f"raw.{feed}") == table(in_order, f"raw.{feed}"), feed
    for feed in GP_FEEDS:
        assert table(reversed_order, f"staged.{feed}") == table(in_order, f"staged.{feed}"), feed
    assert table(reversed_order, "raw.delivery_files") == table(in_order, "raw.delivery_files")


def test_keyed_feeds_staged_out_of_order_converge_when_restaged_oldest_first(tmp_path: Path):
    landing = landing_with_a_resend(tmp_path)
    in_order = build(tmp_path, landing, "in_order", MONTHS)
    backfilled = build(tmp_path, landing, "backfilled", tuple(reversed(MONTHS)))

    # Staged before January existed, March's repeat is no resend but a spell dated outside
    # its delivery month: quarantined rather than ignored.
    assert [
        (m, line, rule) for m, _, _, line, rule, *_ in table(backfilled, "quarantine.rows")
    ] == [("2024-03", 2, "event_date_within_delivery_month")]
    assert table(backfilled, "quarantine.ignored_rows") == []
    for month in MONTHS:
        stage_month(backfilled, month)

    for feed in KEYED_FEEDS:
        assert table(backfilled, f"staged.{feed}") == table(in_order, f"staged.{feed}"), feed
    assert table(backfilled, "quarantine.rows") == table(in_order, "quarantine.rows") == []
    assert table(backfilled, "quarantine.ignored_rows") == table(
        in_order, "quarantine.ignored_rows"
    )
    assert [
        (m, line, rule) for m, _, _, line, rule, *_ in table(in_order, "quarantine.ignored_rows")
    ] == [("2024-03", 2, "spell_id_resend")]
