"""No feature reads anything dated after its index date, on a generated landing zone.

Features are computed at T; then every event dated after T, every snapshot of a later
month and every discharge or service end after T is removed or moved further away, and
the features are computed again: they must not change. The only later fact allowed in is
a Type 1 opt-out, which removes people; with the later snapshots gone, people who opted
out after T come back, and they are the only difference.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl
import pytest

from models.dataset import feature_frame
from tests.warehouse.features_fixtures import copy_warehouse, generated_warehouse_with_features
from warehouse.features import replace_features

# Event feeds and the column dating each row.
EVENT_DATES = {
    "consultations": "consultation_date",
    "medications": "issue_date",
    "observations": "observation_date",
    "ae_attendances": "arrival_date",
    "outpatients": "appointment_date",
    "admissions": "admission_date",
    "services": "start_date",
}
SNAPSHOTS = ("registrations", "conditions")


@pytest.mark.parametrize("index_date", [datetime.date(2023, 6, 30), datetime.date(2024, 3, 31)])
def test_features_do_not_change_when_everything_after_the_index_date_goes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, index_date
):
    connection = copy_warehouse(generated_warehouse_with_features(tmp_path_factory), tmp_path)
    month = index_date.strftime("%Y-%m")
    before = feature_frame(connection, [index_date], with_labels=False)
    opted_out = _opted_out(connection)
    assert before.height > 1_000

    removed = 0
    for feed, column in EVENT_DATES.items():
        removed += _changed(
            connection, f"DELETE FROM staged.{feed} WHERE {column} > $t", index_date
        )
    for feed in SNAPSHOTS:
        removed += _changed(
            connection, f"DELETE FROM staged.{feed} WHERE delivery_month > $m", month=month
        )
    # A discharge or service end after T: once unknown (null), once much later.
    straddling = _changed(
        connection,
        "UPDATE staged.admissions SET discharge_date = CASE WHEN line_number % 2 = 0 THEN NULL "
        "ELSE discharge_date + INTERVAL 400 DAY END WHERE discharge_date > $t",
        index_date,
    )
    _changed(
        connection,
        "UPDATE staged.services SET end_date = CASE WHEN line_number % 2 = 0 THEN NULL "
        "ELSE end_date + INTERVAL 400 DAY END WHERE end_date > $t",
        index_date,
    )
    assert removed > 1_000 and straddling > 0
    replace_features(connection, [index_date])
    after = feature_frame(connection, [index_date], with_labels=False)

    returned = set(after["nhs_number"]) - set(before["nhs_number"])
    assert returned <= opted_out - _opted_out(connection)
    assert set(before["nhs_number"]) <= set(after["nhs_number"])
    kept = after.filter(pl.col("nhs_number").is_in(before["nhs_number"].implode()))
    assert kept.equals(before)


def _opted_out(connection) -> set[str]:
    return {
        n
        for (n,) in connection.execute("SELECT nhs_number FROM features.type1_opt_outs").fetchall()
    }


def _changed(
    connection, sql: str, index_date: datetime.date | None = None, month: str | None = None
) -> int:
    parameters: dict[str, object] = {}
    if index_date is not None:
        parameters["t"] = index_date
    if month is not None:
        parameters["m"] = month
    row = connection.execute(sql, parameters).fetchone()
    return int(row[0]) if row else 0
