"""A run reloads the reference files only when they or the code that stages them changed.

A new month arrives with the same practices and LSOA files, so `riskstrat run` skips the
reference job when its last run succeeded on the same files and code (`planner.reference_key`,
recorded as the run's tag) and the warehouse still holds the staged reference. The slow test
delivers months in turns to two homes, one skipping and one always reloading, and finds every
table and report identical; a changed practices file is reloaded.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from benchmarks.compare_homes import differences, file_digests, table_digests
from pipelines import planner, runner
from pipelines.planner import ReferenceFiles
from pipelines.runner import REFERENCE_TAG, open_instance, reference_unchanged, run_pipeline
from synthetic import generate
from warehouse.connection import connect
from warehouse.deliveries import ensure_raw_schema
from warehouse.home import Home


def reference_files(landing: Path) -> None:
    folder = landing / "reference"
    folder.mkdir(parents=True)
    (folder / "practices.csv").write_text(
        "practice_code,practice_name,federation_code,federation_name,vanguard\n"
        "A81001,Cliff Surgery,FED01,Bridge Locality,N\n"
    )
    (folder / "lsoa_imd.csv").write_text("lsoa_code,imd_decile\nE01024609,9\n")


def test_the_reference_key_follows_the_files_and_the_code(tmp_path: Path):
    landing = tmp_path / "landing"
    reference_files(landing)
    found = planner.reference_files(landing, "code-1")
    assert found is not None and found == planner.reference_files(landing, "code-1")
    assert set(found.files) == {"practices", "lsoa_imd"}
    assert planner.reference_files(landing, "code-2").key != found.key  # type: ignore[union-attr]

    practices = landing / "reference" / "practices.csv"
    practices.write_text(practices.read_text().replace("Cliff", "Cliffe"))
    changed = planner.reference_files(landing, "code-1")
    assert changed is not None and changed.key != found.key
    assert changed.files["practices"] != found.files["practices"]
    assert changed.files["lsoa_imd"] == found.files["lsoa_imd"]

    # A missing file, or one delivered as a link, has no key: the job runs and says why.
    (landing / "reference" / "lsoa_imd.csv").rename(tmp_path / "lsoa_imd.csv")
    assert planner.reference_files(landing, "code-1") is None
    os.symlink(tmp_path / "lsoa_imd.csv", landing / "reference" / "lsoa_imd.csv")
    assert planner.reference_files(landing, "code-1") is None


@dg.op
def stand_in(context) -> None:  # not annotated: a string annotation confuses Dagster
    if context.run.tags.get("fail"):
        raise RuntimeError("the reference run failed")


@dg.job(name="reference_job")
def stand_in_reference_job() -> None:
    stand_in()


def test_the_reference_is_unchanged_only_after_a_successful_run_on_the_same_files(
    tmp_path: Path,
):
    home = Home.at(tmp_path / "home")
    instance = dg.DagsterInstance.ephemeral()
    files = {"practices": "p1", "lsoa_imd": "l1"}
    now, other = ReferenceFiles("k1", files), ReferenceFiles("k2", files)

    def reference_run(key: str, *, fail: bool = False) -> None:
        tags = {REFERENCE_TAG: key, **({"fail": "yes"} if fail else {})}
        stand_in_reference_job.execute_in_process(
            instance=instance, tags=tags, raise_on_error=False
        )

    def record(loaded: dict[str, str]) -> None:
        with connect(home.database) as connection:
            ensure_raw_schema(connection)
            connection.execute("DELETE FROM raw.reference_files")
            for feed, digest in loaded.items():
                connection.execute(
                    "INSERT INTO raw.reference_files VALUES (?, ?, ?)", [feed, feed, digest]
                )

    with connect(home.database) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS staged")
        connection.execute("CREATE TABLE staged.practices (practice_code VARCHAR)")
    record(files)
    assert not reference_unchanged(instance, home, now)  # no reference run yet
    reference_run("k1")
    assert not reference_unchanged(instance, home, now)  # the warehouse lacks staged.lsoa_imd
    with connect(home.database) as connection:
        connection.execute("CREATE TABLE staged.lsoa_imd (lsoa_code VARCHAR)")
    assert reference_unchanged(instance, home, now)
    assert not reference_unchanged(instance, home, other)
    assert not reference_unchanged(instance, home, None)

    # A warehouse loaded from other files (a backup restored, another landing zone loaded
    # from the Dagster UI) is reloaded, whatever the run history says.
    record({"practices": "p0", "lsoa_imd": "l1"})
    assert not reference_unchanged(instance, home, now)
    record({"practices": "p1"})
    assert not reference_unchanged(instance, home, now)
    record(files)
    assert reference_unchanged(instance, home, now)

    reference_run("k1", fail=True)  # the latest run decides
    assert not reference_unchanged(instance, home, now)
    reference_run("k1")
    assert reference_unchanged(instance, home, now)


def reference_runs(home: Home) -> int:
    with open_instance(home) as instance:
        return len(instance.get_run_records(dg.RunsFilter(job_name="reference_job")))


@pytest.mark.slow
def test_skipping_an_unchanged_reference_changes_no_table_or_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    generate(tmp_path / "zone", people=600, months=4, seed=3, faults=True)
    landing = tmp_path / "zone" / "landing"
    later = tmp_path / "later"
    later.mkdir()
    (landing / "extracts" / "2023-04").rename(later / "2023-04")
    skipping, reloading = Home.at(tmp_path / "skipping"), Home.at(tmp_path / "reloading")

    def practice_names(home: Home) -> set[str]:
        with connect(home.database, read_only=True) as connection:
            rows = connection.execute("SELECT practice_name FROM staged.practices").fetchall()
        return {row[0] for row in rows}

    def run_both() -> None:
        run_pipeline(landing, skipping.root)
        with monkeypatch.context() as patched:
            patched.setattr(runner, "reference_unchanged", lambda *args: False)
            run_pipeline(landing, reloading.root)

    run_both()
    assert (reference_runs(skipping), reference_runs(reloading)) == (1, 1)
    (later / "2023-04").rename(landing / "extracts" / "2023-04")  # a new month, same reference
    run_both()
    assert (reference_runs(skipping), reference_runs(reloading)) == (1, 2)
    backup = tmp_path / "backup.duckdb"
    shutil.copyfile(skipping.database, backup)
    practices = landing / "reference" / "practices.csv"
    lines = practices.read_text().splitlines(keepends=True)
    renamed = lines[1].split(",")[1]
    practices.write_text(
        "".join([lines[0], lines[1].replace(renamed, "Renamed Surgery"), *lines[2:]])
    )
    run_both()
    assert (reference_runs(skipping), reference_runs(reloading)) == (2, 3)

    names = practice_names(skipping)
    assert "Renamed Surgery" in names and renamed not in names
    tables, reloaded = table_digests(skipping.root), table_digests(reloading.root)
    assert tables.keys() == reloaded.keys() and len(tables) > 20
    assert {name for name in tables if tables[name] != reloaded[name]} == set()
    folders = [
        folder.relative_to(skipping.root).as_posix()
        for folder in (skipping.delivery_reports, skipping.data_quality_reports)
    ]
    assert len(file_digests(skipping.root, folders)) >= 4
    assert differences(skipping.root, reloading.root, folders) == []

    # A warehouse restored from before the rename is reloaded, though the run history's
    # latest reference run loaded these very files.
    shutil.copyfile(backup, skipping.database)
    assert renamed in practice_names(skipping)
    run_pipeline(landing, skipping.root)
    assert reference_runs(skipping) == 3
    names = practice_names(skipping)
    assert "Renamed Surgery" in names and renamed not in names
