"""The row rules' SQL of this tree against a commit's, on the same corrupted rows: same breaches?

    python benchmarks/violations_against.py W/warehouse.duckdb --against ce71c17^

For a change to how ``data_contracts.sql`` writes the rules (not what they say). Takes a
reservoir sample of each feed's raw rows from a loaded warehouse, corrupts cells with values
that break the contract's rules (bad dates, codes, NHS numbers, empty fields), adds rows
repeating a key in the same file (uniqueness) and in later months, identical or changed
(resends and conflicts), then runs both versions' ``row_violations_sql`` and
``row_warnings_sql`` over the same rows and compares the breaches found as sets (the order
of rows tying on file, line and rule is free; staging sorts them itself). Exits 1 on any
difference.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import types
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_contracts import load_contracts  # noqa: E402
from data_contracts import sql as this_tree  # noqa: E402

BREAKING_VALUES = [
    "", " ", "x", "2024-13-45", "9999-99-99", "Y", "N", "y", "1.5", "-3", "abc",
    "0000000000", "1234567890", "E01000001", "G99999", "2023-01-01", "2030-01-01", None,
    "1900-01-01", "A00", "12a",
]  # fmt: skip


def commit_module(commit: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:data_contracts/sql.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("sql_at_commit")
    exec(compile(source, f"{commit}:data_contracts/sql.py", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a loaded and staged warehouse.duckdb")
    parser.add_argument("--against", required=True)
    parser.add_argument("--rows", type=int, default=30_000, help="sampled per feed")
    parser.add_argument("--cells", type=int, default=300, help="cells corrupted per feed")
    arguments = parser.parse_args()
    other = commit_module(arguments.against)
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{arguments.warehouse}' AS source (READ_ONLY)")
    connection.execute("CREATE SCHEMA raw; CREATE SCHEMA staged")
    contracts = load_contracts()
    for feed in contracts:
        connection.execute(f"CREATE TABLE staged.{feed} AS SELECT * FROM source.staged.{feed}")
    draw = random.Random(5)
    compared, differences = 0, 0
    for feed, contract in contracts.items():
        connection.execute(
            f"CREATE TABLE raw.{feed} AS SELECT * FROM source.raw.{feed} "
            f"USING SAMPLE {arguments.rows} ROWS (reservoir, 7)"
        )
        columns = [column.name for column in contract.columns]
        for cell in range(arguments.cells):
            connection.execute(
                f'UPDATE raw.{feed} SET "{draw.choice(columns)}" = ? WHERE line_number = '
                f"(SELECT line_number FROM raw.{feed} "
                f"ORDER BY hash(line_number, source_file, {cell}) LIMIT 1)",
                [draw.choice(BREAKING_VALUES)],
            )
        connection.execute(
            f"INSERT INTO raw.{feed} SELECT * REPLACE (line_number + 1000000 AS line_number) "
            f"FROM raw.{feed} USING SAMPLE 200 ROWS (reservoir, 3)"
        )
        if contract.key:
            changed = next(name for name in columns if name != contract.key)
            connection.execute(
                f"INSERT INTO raw.{feed} SELECT * REPLACE ('2030-01' AS delivery_month) "
                f"FROM raw.{feed} USING SAMPLE 200 ROWS (reservoir, 4)"
            )
            connection.execute(
                f"INSERT INTO raw.{feed} SELECT * REPLACE ('2030-02' AS delivery_month, "
                f"'zz' AS \"{changed}\") FROM raw.{feed} USING SAMPLE 200 ROWS (reservoir, 5)"
            )
        for kind in ("row_violations", "row_warnings"):
            references = {
                placeholder: f"staged.{placeholder.removeprefix('reference_')}"
                for placeholder in this_tree.reference_placeholders(contract)
            }
            parameters = getattr(this_tree, f"{kind}_parameters")(contract)
            found = []
            for module in (other, this_tree):
                sql = module.render(
                    getattr(module, f"{kind}_sql")(contract), raw_table=f"raw.{feed}", **references
                )
                found.append(sorted(connection.execute(sql, parameters).fetchall(), key=repr))
            same = found[0] == found[1]
            differences += not same
            compared += len(found[1])
            print(
                f"{feed:16s} {kind:15s} {arguments.against}: {len(found[0]):6,}  "
                f"this tree: {len(found[1]):6,}  {'same' if same else 'DIFFERENT'}"
            )
    print(f"{compared:,} breaches compared, {differences} difference(s)")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
