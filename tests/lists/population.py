"""A tiny staged warehouse for the list tests, with the people the rules are about.

Two federations, three practices (A81001 is a vanguard practice), two delivered months
(2024-01, 2024-02; the score date is 2024-02-29), 90 ordinary people and these on purpose:

- DIED: registered at A81001, died 2024-02-10 (in the February snapshot);
- LEFT: deregistered from A81001 on 2024-02-05;
- MOVED: at A81002 in January; in February left A81001... no: left A81002 on 2024-02-03
  and registered at B82001 on 2024-02-04, so only B82001 may list them;
- OPTED_OUT_LATEST: no opt-out in January, a Type 1 opt-out in February (the latest
  delivery) only;
- OPTED_OUT_WITHDRAWN: opted out in January, withdrew in February: listed as anyone else.

Everyone special is old, in a care home and often admitted, so a stand-in model puts them
at the top of the area: if a rule broke, they would be on a list.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from warehouse.connection import connect
from warehouse.deliveries import ensure_raw_schema
from warehouse.opt_outs import refresh_opt_outs
from warehouse.staged import ensure_staged_schema

MONTHS = ("2024-01", "2024-02")
SCORE_MONTH = "2024-02"
PRACTICES = (
    ("A81001", "Field Family Practice", "FED01", "Bridge Locality", True),
    ("A81002", "Brook Medical Practice", "FED01", "Bridge Locality", False),
    ("B82001", "Hill Surgery", "FED02", "Hill Locality", False),
)
DIED, LEFT, MOVED = "9990000901", "9990000902", "9990000903"
OPTED_OUT_LATEST, OPTED_OUT_WITHDRAWN = "9990000904", "9990000905"
SPECIAL = (DIED, LEFT, MOVED, OPTED_OUT_LATEST, OPTED_OUT_WITHDRAWN)
EXCLUDED = (DIED, LEFT, OPTED_OUT_LATEST)
HEART_FAILURE, COPD = "84114007", "13645005"


@dataclass(frozen=True)
class Registration:
    nhs_number: str
    practice_code: str
    date_of_birth: datetime.date
    sex: str = "2"
    registration_date: datetime.date = datetime.date(2010, 1, 1)
    deregistration_date: datetime.date | None = None
    date_of_death: datetime.date | None = None
    care_home: bool = False
    type1_opt_out: bool = False


def ordinary_people() -> list[tuple[str, str, datetime.date, str]]:
    rng = np.random.default_rng(11)
    people = []
    for i in range(90):
        practice = PRACTICES[i % 3][0]
        born = datetime.date(1930 + int(rng.integers(0, 80)), 1 + int(rng.integers(0, 12)), 15)
        people.append((f"999000{i:04d}", practice, born, "1" if i % 2 else "2"))
    return people


def snapshots() -> dict[str, list[Registration]]:
    base = [Registration(n, p, born, sex) for n, p, born, sex in ordinary_people()]
    old = datetime.date(1932, 3, 1)
    january = [
        *base,
        Registration(DIED, "A81001", old, care_home=True),
        Registration(LEFT, "A81001", old, care_home=True),
        Registration(MOVED, "A81002", old, care_home=True),
        Registration(OPTED_OUT_LATEST, "A81001", old, care_home=True),
        Registration(OPTED_OUT_WITHDRAWN, "A81002", old, care_home=True, type1_opt_out=True),
    ]
    february = [
        *base,
        Registration(DIED, "A81001", old, care_home=True, date_of_death=datetime.date(2024, 2, 10)),
        Registration(
            LEFT, "A81001", old, care_home=True, deregistration_date=datetime.date(2024, 2, 5)
        ),
        Registration(
            MOVED, "A81002", old, care_home=True, deregistration_date=datetime.date(2024, 2, 3)
        ),
        Registration(
            MOVED, "B82001", old, care_home=True, registration_date=datetime.date(2024, 2, 4)
        ),
        Registration(OPTED_OUT_LATEST, "A81001", old, care_home=True, type1_opt_out=True),
        Registration(OPTED_OUT_WITHDRAWN, "A81002", old, care_home=True),
    ]
    return {"2024-01": january, "2024-02": february}


def build_warehouse(
    path: Path, practices: tuple[tuple[str, str, str, str, bool], ...] = PRACTICES
) -> None:
    """Write the staged tables (and raw delivery records) of the population to `path`."""
    with connect(path) as connection:
        ensure_raw_schema(connection)
        ensure_staged_schema(connection)
        for line, (code, name, federation, federation_name, vanguard) in enumerate(
            practices, start=1
        ):
            connection.execute(
                "INSERT INTO staged.practices (delivery_month, source_file, line_number, practice_code, "
                "practice_name, federation_code, federation_name, vanguard) VALUES (NULL, 'reference/practices.csv', ?, ?, ?, ?, ?, ?)",
                [line, code, name, federation, federation_name, vanguard],
            )
        for month, people in snapshots().items():
            _insert_registrations(connection, month, people)
            connection.execute(
                "INSERT INTO raw.delivery_months VALUES (?, 'loaded', NULL, 'digest', [])", [month]
            )
        # Conditions and emergency admissions for the people a rule is about, and a few others.
        line = 0
        for month in MONTHS:
            for nhs_number in (*SPECIAL, "9990000000", "9990000001", "9990000002"):
                practice = "A81001"
                for code in (HEART_FAILURE, COPD):
                    line += 1
                    connection.execute(
                        "INSERT INTO staged.conditions VALUES (?, 'gp/x/conditions.csv', ?, ?, ?, ?, ?)",
                        [month, line, practice, nhs_number, code, datetime.date(2015, 6, 1)],
                    )
        for index, nhs_number in enumerate((*SPECIAL, "9990000000")):
            connection.execute(
                "INSERT INTO staged.admissions VALUES ('2024-01', 'sus/admissions.csv', ?, ?, ?, NULL, 'RF4', ?, ?, '21', 'J44.1')",
                [
                    index + 1,
                    f"S{index}",
                    nhs_number,
                    datetime.date(2024, 1, 10 + index),
                    datetime.date(2024, 1, 20),
                ],
            )


def _insert_registrations(
    connection: duckdb.DuckDBPyConnection, month: str, people: list[Registration]
) -> None:
    rows = [
        [
            month,
            f"gp/{r.practice_code}/registrations.csv",
            line,
            r.practice_code,
            r.nhs_number,
            r.date_of_birth,
            r.sex,
            "A",
            None,
            r.registration_date,
            r.deregistration_date,
            r.date_of_death,
            r.care_home,
            r.type1_opt_out,
        ]
        for line, r in enumerate(people, start=1)
    ]
    connection.executemany(
        "INSERT INTO staged.registrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    refresh_opt_outs(connection)  # as staging does


class StandInModel:
    """A transparent stand-in for the trained model: older, more admitted, more conditions = higher risk.

    Two ordinary people get exactly the same risk, so ties are exercised.
    """

    version = "mstandin0001"

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        age = frame.get_column("age").fill_null(50).to_numpy()
        admissions = frame.get_column("emergency_admissions_12m").fill_null(0).to_numpy()
        conditions = frame.get_column("ltc_count").fill_null(0).to_numpy()
        care_home = frame.get_column("care_home").fill_null(0).to_numpy()
        x = -5.0 + 0.04 * age + 0.9 * admissions + 0.5 * conditions + 1.0 * care_home
        return 1.0 / (1.0 + np.exp(-x))


def stand_in_explain(model: Any, frame: pl.DataFrame) -> pl.DataFrame:
    """reason_1..reason_3 from the catalogue's phrases, as models.explanations.explain returns them."""
    from models.feature_catalogue import feature

    def phrase(name: str, value: Any) -> str | None:
        if value is None or value == 0:
            return None
        entry = feature(name)
        return entry.phrase.format(value=value)

    rows = []
    for person in frame.iter_rows(named=True):
        candidates = [
            phrase("emergency_admissions_12m", person["emergency_admissions_12m"]),
            phrase("care_home", person["care_home"]),
            phrase("ltc_count", person["ltc_count"]),
            phrase("age", person["age"]),
        ]
        reasons = [c for c in candidates if c][:3]
        rows.append(
            {"nhs_number": person["nhs_number"]}
            | {f"reason_{i}": (reasons[i - 1] if i <= len(reasons) else None) for i in (1, 2, 3)}
        )
    return pl.DataFrame(
        rows,
        schema={
            "nhs_number": pl.Utf8,
            "reason_1": pl.Utf8,
            "reason_2": pl.Utf8,
            "reason_3": pl.Utf8,
        },
    )


def all_nhs_numbers() -> set[str]:
    return {r.nhs_number for people in snapshots().values() for r in people}
