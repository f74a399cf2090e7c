"""Pieces of a new month's lists, each as written before session 9 against now, side by side.

    python benchmarks/list_pieces.py HOME [--month 2026-01] [--rounds 3]

On HOME's warehouse (read-only) and the month's scored people, in turns, `--rounds` times:
- the list details' conditions: a list column dropped of its nulls and joined, against one
  concat_str (`lists.scores.person_details`), on the month's feature frame;
- the listable population (`lists/sql/list_population.sql`): the score date from the
  scores CTE (read twice, so kept whole), against from the table;
- reading the month's scores for the summary: every column against `SUMMARY_COLUMNS`;
- the federation pseudonyms: `pseudonymise` per number through polars, against
  `pseudonymise_many`, for the people above the lowest tier;
- the summary's totals (`warehouse.totals`), now counted while the Data Docs are built.
Each pair is checked to give the same result. Prints the median of each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import in_turns  # noqa: E402
from lists.pseudonyms import pseudonymise, pseudonymise_many  # noqa: E402
from lists.scores import SUMMARY_COLUMNS, person_details  # noqa: E402
from models.feature_catalogue import CONDITIONS  # noqa: E402
from warehouse.months import index_date  # noqa: E402
from warehouse.sql_files import read_sql  # noqa: E402
from warehouse.totals import warehouse_totals  # noqa: E402

KEY = b"a benchmark key of more than thirty-two bytes"


def conditions_as_a_list(frame: pl.DataFrame) -> pl.Series:
    """The conditions as person_details built them before session 9."""
    present = [(name, wording) for name, wording in CONDITIONS if name in frame.columns]
    return frame.select(
        pl.concat_list(
            [
                pl.when(pl.col(name) == 1)
                .then(pl.lit(wording))
                .otherwise(pl.lit(None, dtype=pl.Utf8))
                for name, wording in present
            ]
        )
        .list.drop_nulls()
        .list.join("; ")
        .alias("long_term_conditions")
    ).to_series()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    connection = duckdb.connect(str(arguments.home / "warehouse.duckdb"), read_only=True)
    month, rounds = arguments.month, arguments.rounds
    frame = connection.sql(
        "SELECT * FROM features.person_features WHERE index_date = $d",
        params={"d": index_date(month)},
    ).pl()
    print(f"the conditions of {frame.height:,} people")
    found = in_turns(
        rounds,
        {
            "list joined": lambda: conditions_as_a_list(frame),
            "concat_str": lambda: person_details(frame).get_column("long_term_conditions"),
        },
    )
    assert found["list joined"].to_list() == found["concat_str"].to_list()

    now = read_sql("list_population.sql", "lists")
    before = now.replace(
        "JOIN (SELECT DISTINCT index_date FROM scores.risk_scores WHERE delivery_month = $month)",
        "JOIN (SELECT DISTINCT index_date FROM scored)",
    )
    assert before != now
    print("the listable population, every column")
    found = in_turns(
        rounds,
        {
            name: lambda sql=sql: connection.sql(sql, params={"month": month}).pl()
            for name, sql in (("score date from the CTE", before), ("from the table", now))
        },
    )
    assert found["score date from the CTE"].equals(found["from the table"])

    print("the month's scores for the summary")
    scores_sql = (
        "SELECT {} FROM scores.risk_scores WHERE delivery_month = $month ORDER BY area_rank"
    )
    found = in_turns(
        rounds,
        {
            name: lambda columns=columns: connection.sql(
                scores_sql.format(columns), params={"month": month}
            ).pl()
            for name, columns in (
                ("every column", "*"),
                ("its columns", ", ".join(SUMMARY_COLUMNS)),
            )
        },
    )
    assert found["every column"].select(SUMMARY_COLUMNS).equals(found["its columns"])

    numbers = (
        connection.sql(
            "SELECT nhs_number FROM scores.risk_scores WHERE delivery_month = $month "
            "AND tier <> 'low' ORDER BY area_rank",
            params={"month": month},
        )
        .pl()
        .get_column("nhs_number")
    )
    print(f"the pseudonyms of {numbers.len():,} people")
    found = in_turns(
        rounds,
        {
            "one by one": lambda: numbers.map_elements(
                lambda n: pseudonymise(n, KEY), return_dtype=pl.Utf8
            ).to_list(),
            "pseudonymise_many": lambda: pseudonymise_many(numbers.to_list(), KEY),
        },
    )
    assert found["one by one"] == found["pseudonymise_many"]

    print("counted while the Data Docs are built now")
    in_turns(rounds, {"the summary's totals": lambda: warehouse_totals(connection)})


if __name__ == "__main__":
    main()
