"""Identifiable data at rest in a home, proved on a real run of a small generated zone.

- No valid NHS number in any file of the home outside the warehouse and the practices'
  outbox folders: Dagster's run and event storage, reports, models, gx, everything, read
  as bytes and, for parquet and SQLite files, as the text of every column or table.
- The home is 0700 and nothing under it is open to the group or other users.
- A Type 1 opt-out delivered in a month that retrains nothing still leaves every stored
  copy (features, training frame, validation predictions, scores, earlier lists).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from data_contracts import is_valid_nhs_number
from pipelines.resources import RunSettings
from pipelines.runner import run_pipeline
from synthetic import generate
from warehouse.connection import connect
from warehouse.files import write_text_atomic
from warehouse.home import Home, owner_only_files

# 400 people train a near-constant model whose few distinct risks hit a numpy 2 shape bug in
# models.calibration.smoothed_observed (np.unique(..., return_inverse=True) on a column).
PEOPLE, MONTHS, SEED = 1000, 26, 23
FIRST_RUN_MONTHS = 25  # enough to train; the last month arrives in the second run
PRACTICE_FOLDER = re.compile(r"^[A-Z][0-9]{5}$")
CANDIDATE = re.compile(rb"(?<![0-9A-Za-z.])(\d{3}) ?(\d{3}) ?(\d{4})(?![0-9A-Za-z.])")
SQLITE_HEADER = b"SQLite format 3\x00"


# -- the scanner ---------------------------------------------------------------------------


def allowed_place(relative: Path) -> bool:
    """The warehouse (and its WAL), and outbox/<federation>/<practice>/...: nothing else."""
    parts = relative.parts
    if parts[0] in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        return True
    return len(parts) > 3 and parts[0] == "outbox" and bool(PRACTICE_FOLDER.match(parts[2]))


def readings(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file's raw bytes, then its decoded content where raw bytes could hide it."""
    data = path.read_bytes()
    yield "bytes", data
    if data[:4] == b"PAR1":  # compressed column chunks: read every value
        table = pq.read_table(path)
        for name in table.column_names:
            yield f"column {name}", "\n".join(map(str, table.column(name).to_pylist())).encode()
    elif data[:16] == SQLITE_HEADER:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for (table,) in tables.fetchall():
                for row in connection.execute(f'SELECT * FROM "{table}"'):
                    yield f"table {table}", "\n".join(map(str, row)).encode()
        finally:
            connection.close()
    elif data[:2] == b"\x1f\x8b":
        yield "gunzipped", gzip.decompress(data)


def is_binary(path: Path) -> bool:
    """SQLite, parquet, or any file that is not UTF-8 text (a vendored web font, an image)."""
    data = path.read_bytes()
    if data[:16] == SQLITE_HEADER or data.startswith(b"PAR1"):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def nhs_numbers_in(data: bytes) -> set[str]:
    """Valid NHS numbers (mod-11 check digit), written 10 digits or spaced 3-3-4."""
    found = set()
    for match in CANDIDATE.finditer(data):
        number = b"".join(match.groups()).decode("ascii")
        if is_valid_nhs_number(number):
            found.add(number)
    return found


def nhs_numbers_at_rest(
    home: Path, *, everywhere: bool = False, population: set[str] | None = None
) -> dict[str, set[str]]:
    """Where each valid NHS number lies under `home` outside the allowed places ("file: how read").

    The raw bytes of a binary file (SQLite, parquet, a font: anything not UTF-8 text) hold
    digit runs that are not text, and about one in eleven passes the check digit by chance
    (a Dagster index page once gave 0458454230, the vendored Font Awesome font 7671671673):
    there, with `population`, only the population's numbers count. Their
    decoded tables and columns are scanned for every valid number.
    """
    findings: dict[str, set[str]] = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home)
        if not path.is_file() or (allowed_place(relative) and not everywhere):
            continue
        binary = is_binary(path)
        for how, data in readings(path):
            numbers = nhs_numbers_in(data)
            if population is not None and binary and how == "bytes":
                numbers &= population
            if numbers:
                findings.setdefault(f"{relative}: {how}", set()).update(numbers)
    return findings


def test_the_scanner_finds_numbers_in_compressed_parquet_sqlite_and_spaced_text(tmp_path):
    import polars as pl

    number = "9434765919"
    assert is_valid_nhs_number(number)
    pl.DataFrame({"nhs_number": [number] * 3, "risk": [0.1, 0.2, 0.3]}).write_parquet(
        tmp_path / "frame.parquet", compression="zstd"
    )
    with sqlite3.connect(tmp_path / "events.db") as connection:
        connection.execute("CREATE TABLE event_logs (body TEXT)")
        connection.execute("INSERT INTO event_logs VALUES (?)", [f'{{"person": "{number}"}}'])
    (tmp_path / "log.txt").write_text("person 943 476 5919 seen; ts 1732912345.123; 9434765918\n")
    findings = nhs_numbers_at_rest(tmp_path)
    assert set(findings) >= {"frame.parquet: column nhs_number", "events.db: table event_logs"}
    assert findings["log.txt: bytes"] == {number}  # not the timestamp, not an invalid number


# -- a small run, twice --------------------------------------------------------------------


@dataclass
class RunHomes:
    home: Path
    opted_out: str
    before: dict[str, int]  # the opted-out person's rows per table after the first run
    second_run_progress: list[str]


def stored_copies(connection: duckdb.DuckDBPyConnection, nhs_number: str) -> dict[str, int]:
    """Rows of `nhs_number` in every derived table (features, models, scores schemas)."""
    tables = connection.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.columns "
        "JOIN information_schema.tables USING (table_catalog, table_schema, table_name) "
        "WHERE column_name = 'nhs_number' AND table_type = 'BASE TABLE' "
        "AND table_schema IN ('features', 'models', 'scores') ORDER BY 1"
    ).fetchall()
    return {
        table: connection.execute(
            f"SELECT count(*) FROM {table} WHERE CAST(nhs_number AS VARCHAR) = $n",
            {"n": nhs_number},
        ).fetchall()[0][0]
        for (table,) in tables
    }


def deliver_opt_out(month_folder: Path, nhs_number: str) -> None:
    """Set the person's type1_opt_out to Y in the month's registrations and re-sign the manifest."""
    import hashlib

    [registrations] = [
        path
        for path in month_folder.glob("gp/*/registrations.csv")
        if nhs_number in path.read_text()
    ]
    lines = registrations.read_text().splitlines(keepends=True)
    changed = [
        line.rstrip("\r\n")[:-1] + "Y" + line[len(line.rstrip("\r\n")) :]
        if line.startswith(nhs_number + ",")
        else line
        for line in lines
    ]
    assert changed != lines
    registrations.write_text("".join(changed))
    digest = hashlib.sha256(registrations.read_bytes()).hexdigest()
    manifest = month_folder / "manifest.csv"
    relative = registrations.relative_to(month_folder).as_posix()
    manifest.write_text(
        "".join(
            f"{relative},{line.split(',')[1]},{digest}\n"
            if line.startswith(relative + ",")
            else line
            for line in manifest.read_text().splitlines(keepends=True)
        )
    )


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> RunHomes:
    root = tmp_path_factory.mktemp("at_rest")
    generate(root / "zone", people=PEOPLE, months=MONTHS, seed=SEED)
    landing = root / "landing"
    shutil.copytree(root / "zone" / "landing", landing)
    months = sorted(p.name for p in (landing / "extracts").iterdir())
    held_back = months[FIRST_RUN_MONTHS:]
    for month in held_back:
        shutil.rmtree(landing / "extracts" / month)
    home = root / "home"
    settings = RunSettings(landing=str(landing), drift_threshold=1000.0)  # no retraining on drift
    # No umask set here: run_pipeline makes the home owner-only itself.
    run_pipeline(landing, home, truth=root / "zone" / "truth.csv", settings=settings)
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        [(opted_out,)] = connection.execute(
            "SELECT nhs_number FROM models.validation_predictions "
            "JOIN scores.risk_scores USING (nhs_number) "
            "JOIN features.person_features USING (nhs_number) "
            "ORDER BY risk_scores.area_rank LIMIT 1"
        ).fetchall()
        before = stored_copies(connection, opted_out)
    for month in held_back:
        shutil.copytree(
            root / "zone" / "landing" / "extracts" / month, landing / "extracts" / month
        )
    deliver_opt_out(landing / "extracts" / held_back[-1], opted_out)
    progress: list[str] = []
    run_pipeline(
        landing,
        home,
        truth=root / "zone" / "truth.csv",
        settings=settings,
        progress=progress.append,
    )
    return RunHomes(home, opted_out, before, progress)


def test_no_nhs_number_at_rest_outside_the_warehouse_and_the_practice_folders(homes):
    home = homes.home
    scanned = [p for p in home.rglob("*") if p.is_file() and not allowed_place(p.relative_to(home))]
    names = {p.relative_to(home).parts[0] for p in scanned}
    assert names >= {"dagster", "reports", "models", "gx"}
    assert any(p.read_bytes()[:16] == SQLITE_HEADER for p in scanned)  # Dagster's storage
    assert (home / "reports" / "model" / "evaluation.json").is_file()  # a model was trained
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        population = {
            str(number)
            for (number,) in connection.execute(
                "SELECT DISTINCT nhs_number FROM staged.registrations"
            ).fetchall()
        }
    assert len(population) > 900
    assert nhs_numbers_at_rest(home, population=population) == {}
    # The scanner does see the numbers where they belong: the practices' own lists.
    assert any("risk_list.csv" in place for place in nhs_numbers_at_rest(home, everywhere=True))


def test_the_home_and_everything_in_it_is_private_to_its_owner(homes):
    home = homes.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    open_to_others = [
        f"{path.relative_to(home)} {stat.filemode(path.lstat().st_mode)}"
        for path in home.rglob("*")
        if not path.is_symlink() and path.lstat().st_mode & 0o077
    ]
    assert open_to_others == []


def test_a_type1_opt_out_leaves_every_stored_copy_at_the_next_run_without_retraining(homes):
    assert any(line.startswith("plan: no training") for line in homes.second_run_progress)
    copies = homes.before
    for table in (
        "features.person_features",
        "features.labels",
        "models.training_frame",
        "models.validation_predictions",
        "scores.risk_scores",
    ):
        assert copies.get(table, 0) > 0, f"{table} did not hold the person before the opt-out"
    with connect(homes.home / "warehouse.duckdb", read_only=True) as connection:
        after = stored_copies(connection, homes.opted_out)
        [(training_rows,)] = connection.execute(
            "SELECT count(*) FROM models.training_frame"
        ).fetchall()
    assert after and set(after.values()) == {0}, after
    assert training_rows > 0  # the purge removed one person, not the training set


# -- riskstrat's own writers, whatever the umask -------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_riskstrat_writers_make_owner_only_files_and_folders_under_any_umask(
    tmp_path, permissive_umask
):
    home = Home.at(tmp_path / "a" / "home").ensure()
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.root.parent.stat().st_mode) == 0o700  # made by ensure()
    write_text_atomic(home.model_reports / "evaluation.json", "{}\n")
    with home.connect():
        pass
    for path in (home.reports, home.model_reports):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (home.model_reports / "evaluation.json", home.database):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    Home.at(existing).ensure()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o700


def test_owner_only_files_sets_and_restores_the_umask(permissive_umask):
    with owner_only_files():
        assert os.umask(0o077) == 0o077
    assert os.umask(0o022) == 0o022
