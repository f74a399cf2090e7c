"""The information-governance rules of issue 5, each proved on what was actually written."""

from __future__ import annotations

import csv
import logging
import os
import re
import zipfile
from pathlib import Path

import pytest

import warehouse.files
from lists.audit import nhs_numbers_in_federation_files
from lists.federation import publish_federation_summaries
from lists.manifest import VERSIONS, read_manifest, verify_manifest
from lists.paths import UnsafeCodeError, federation_folder, practice_folder
from lists.practice_lists import publish_practice_lists
from lists.pseudonyms import pseudonymise
from lists.scores import score_month
from tests.lists.conftest import TEST_KEY, TEST_POLICY, publish_months
from tests.lists.population import (
    DIED,
    LEFT,
    MOVED,
    OPTED_OUT_LATEST,
    OPTED_OUT_WITHDRAWN,
    SCORE_MONTH,
    StandInModel,
    all_nhs_numbers,
    snapshots,
    stand_in_explain,
)
from warehouse.connection import connect
from warehouse.home import Home
from warehouse.opt_outs import refresh_opt_outs

TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])(\d{10}|\d{3} \d{3} \d{4})(?![0-9A-Za-z])")


def readable_text(path: Path) -> str:
    """A file's text; for a workbook, the text of every part inside it."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    return path.read_text(encoding="utf-8")


def spellings(nhs_number: str) -> tuple[str, str]:
    return nhs_number, f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"


def list_rows(
    home: Home, federation: str, practice: str, month: str = SCORE_MONTH
) -> list[dict[str, str]]:
    with (home.outbox / federation / practice / month / "risk_list.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def registered_on_score_date(practice: str) -> set[str]:
    import datetime

    day = datetime.date(2024, 2, 29)
    return {
        r.nhs_number
        for r in snapshots()[SCORE_MONTH]
        if r.practice_code == practice
        and r.registration_date <= day
        and (r.deregistration_date is None or r.deregistration_date > day)
        and r.date_of_death is None
        and not r.type1_opt_out
    }


def test_a_practice_list_holds_only_people_registered_there_alive_and_not_opted_out(
    staged_home: Home,
) -> None:
    """Even when the scores wrongly hold people who left, died, moved or opted out, at top risk."""
    with connect(staged_home.database) as connection:
        score_month(connection, SCORE_MONTH, StandInModel(), explain=stand_in_explain)
        # MOVED's score is put at the practice they left; the others were never eligible.
        connection.execute(
            "UPDATE scores.risk_scores SET practice_code = 'A81002' WHERE nhs_number = ?", [MOVED]
        )
        for nhs_number, practice in (
            (DIED, "A81001"),
            (LEFT, "A81001"),
            (OPTED_OUT_LATEST, "A81001"),
        ):
            connection.execute(
                "INSERT INTO scores.risk_scores (delivery_month, index_date, nhs_number, practice_code, risk, "
                "area_rank, area_percentile, practice_rank, practice_percentile, tier, model_version) "
                "VALUES ('2024-02', DATE '2024-02-29', ?, ?, 0.99, 0, 100, 0, 100, 'very high', 'mstandin0001')",
                [nhs_number, practice],
            )
        published = publish_practice_lists(connection, staged_home.outbox, SCORE_MONTH, TEST_POLICY)

    assert (
        published.dropped_scores == 3
    )  # DIED, LEFT, MOVED; the opt-out's score was deleted outright
    for federation, practice in (("FED01", "A81001"), ("FED01", "A81002"), ("FED02", "B82001")):
        listed = {row["nhs_number"] for row in list_rows(staged_home, federation, practice)}
        assert listed, practice
        assert listed <= registered_on_score_date(practice), practice
        assert not listed & {DIED, LEFT, OPTED_OUT_LATEST, MOVED}
    assert MOVED not in {row["nhs_number"] for row in list_rows(staged_home, "FED01", "A81002")}
    # The person who withdrew their opt-out in the latest delivery is listed like anyone else.
    assert OPTED_OUT_WITHDRAWN in {
        row["nhs_number"] for row in list_rows(staged_home, "FED01", "A81002")
    }


def test_no_type1_opt_out_in_any_output_even_one_who_opted_out_in_the_latest_month_only(
    published_home: Home,
) -> None:
    pseudonym = pseudonymise(OPTED_OUT_LATEST, TEST_KEY)
    files = [
        p
        for p in published_home.root.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".html", ".xlsx", ".json")
    ]
    assert len(files) > 20
    for path in files:
        text = readable_text(path)
        for spelling in (*spellings(OPTED_OUT_LATEST), pseudonym):
            assert spelling not in text, path
    with connect(published_home.database) as connection:
        for table in ("scores.risk_scores", "scores.practice_lists"):
            rows = connection.execute(
                f"SELECT count(*) FROM {table} WHERE nhs_number = ?", [OPTED_OUT_LATEST]
            ).fetchall()
            assert rows == [(0,)], table


def test_a_later_opt_out_removes_the_person_from_every_later_output(published_home: Home) -> None:
    """Scored and listed in February; a March delivery records an opt-out: gone from the tables."""
    listed = list_rows(published_home, "FED02", "B82001")
    assert MOVED in {row["nhs_number"] for row in listed}
    with connect(published_home.database) as connection:
        connection.execute(
            "INSERT INTO staged.registrations SELECT '2024-03', source_file, line_number, practice_code, nhs_number, "
            "date_of_birth, sex, ethnic_category, lsoa_code, registration_date, deregistration_date, date_of_death, "
            "care_home, TRUE FROM staged.registrations WHERE delivery_month = '2024-02' AND nhs_number = ? "
            "AND practice_code = 'B82001'",
            [MOVED],
        )
        refresh_opt_outs(connection)  # as staging the March delivery does
        publish_practice_lists(connection, published_home.outbox, SCORE_MONTH, TEST_POLICY)
        remaining = connection.execute(
            "SELECT count(*) FROM scores.risk_scores WHERE nhs_number = ?", [MOVED]
        ).fetchall()
    assert remaining == [(0,)]
    assert MOVED not in {row["nhs_number"] for row in list_rows(published_home, "FED02", "B82001")}


def test_no_nhs_number_in_federation_outputs_reports_or_logs(
    staged_home: Home, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    publish_months(staged_home)
    known = all_nhs_numbers()
    checked = [p for p in (staged_home.outbox).glob("*/summary/*/*") if p.is_file()]
    checked += [p for p in staged_home.reports.rglob("*") if p.is_file()]
    assert {p.name for p in checked} >= {
        "practice_summary.csv",
        "practice_summary.html",
        "risk_tiers_pseudonymised.csv",
        "manifest.csv",
        "2024-02.json",
    }
    captured = capfd.readouterr()
    texts = {str(p): readable_text(p) for p in checked}
    texts["logs"] = caplog.text + captured.out + captured.err
    for where, text in texts.items():
        assert not TEN_DIGITS.search(text), where
        assert not [n for n in known if n in text], where
    # The pseudonymised file does identify people, by pseudonym only.
    rows = list(
        csv.DictReader(
            (
                checked[0].parent.parent.parent
                / "summary"
                / SCORE_MONTH
                / "risk_tiers_pseudonymised.csv"
            ).open()
        )
    )
    assert rows and all(re.fullmatch(r"[A-Z2-7]{20}", row["pseudonym"]) for row in rows)


def test_files_are_written_atomically_owner_only_and_verify_against_their_manifest(
    staged_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def recording_replace(source: str, target: str) -> None:
        renames.append((Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(warehouse.files.os, "replace", recording_replace)
    publish_months(staged_home)

    written = sorted(p for p in staged_home.outbox.rglob("*") if p.is_file())
    # 3 practices x 2 months and 2 federations, each 4 files and its manifest's kept copy.
    assert len(written) == 3 * 2 * 5 + 2 * 5
    arrived = {target for _source, target in renames}
    for path in written:
        assert path in arrived, f"{path} was not renamed into place"
        assert path.stat().st_mode & 0o777 == 0o600, path
    for source, target in renames:
        assert source.parent == target.parent and source.name.startswith(f".{target.name}.")
    for folder in {p.parent for p in written if p.parent.name != VERSIONS}:
        assert verify_manifest(folder) == [], folder
        assert (folder / VERSIONS).stat().st_mode & 0o777 == 0o700
        for parent in (folder, folder.parent):
            assert parent.stat().st_mode & 0o777 == 0o700, parent
    manifest = read_manifest(staged_home.outbox / "FED01" / "A81001" / SCORE_MONTH)
    assert manifest["risk_list.csv"][0] == len(list_rows(staged_home, "FED01", "A81001")) == 20
    assert not [p for p in staged_home.outbox.rglob(".*")], "temporary files left behind"


def test_the_federation_scan_reads_the_kept_manifests_too(published_home: Home) -> None:
    kept = published_home.outbox / "FED01" / "summary" / SCORE_MONTH / VERSIONS
    assert any(kept.iterdir()), "the summary's manifest is kept"
    (kept / "planted.csv").write_text(f"path\n{min(all_nhs_numbers())}\n")

    with connect(published_home.database) as connection:
        found = nhs_numbers_in_federation_files(connection, published_home.outbox, SCORE_MONTH)

    assert list(found) == [f"FED01/summary/{SCORE_MONTH}/{VERSIONS}/planted.csv"]


def test_a_tampered_file_fails_its_manifest(published_home: Home) -> None:
    folder = published_home.outbox / "FED01" / "A81002" / SCORE_MONTH
    with (folder / "risk_list.csv").open("a") as handle:
        handle.write("9990000999,99\n")
    assert verify_manifest(folder) == ["risk_list.csv: sha256 differs from the manifest"]


@pytest.mark.parametrize(
    ("practice", "federation", "message"),
    [
        ("../../etc", "FED01", "practice code"),
        ("a81001", "FED01", "practice code"),
        ("A81001", "../../etc", "federation code"),
        ("A81001", "FED/01", "federation code"),
    ],
)
def test_unsafe_codes_are_refused_before_any_file_is_written(
    staged_home: Home, practice: str, federation: str, message: str
) -> None:
    with connect(staged_home.database) as connection:
        connection.execute(
            "UPDATE staged.practices SET practice_code = ?, federation_code = ? WHERE practice_code = 'B82001'",
            [practice, federation],
        )
        with pytest.raises(UnsafeCodeError, match=message):
            publish_practice_lists(connection, staged_home.outbox, SCORE_MONTH, TEST_POLICY)
        with pytest.raises(UnsafeCodeError, match=message):
            publish_federation_summaries(connection, staged_home.outbox, SCORE_MONTH, TEST_KEY)
    assert not [
        p for p in staged_home.root.parent.rglob("*") if p.suffix in (".csv", ".html", ".xlsx")
    ]


def test_paths_are_checked_part_by_part(tmp_path: Path) -> None:
    assert (
        practice_folder(tmp_path, "FED01", "F86001", "2024-02")
        == tmp_path / "FED01" / "F86001" / "2024-02"
    )
    assert (
        federation_folder(tmp_path, "FED-01_x", "2024-02")
        == tmp_path / "FED-01_x" / "summary" / "2024-02"
    )
    for federation, practice, month in (
        ("..", "F86001", "2024-02"),
        ("FED01", "F8600", "2024-02"),
        ("FED01", "F86001", "2024-13"),
        ("FED01", "F86001", "../.."),
    ):
        with pytest.raises(UnsafeCodeError):
            practice_folder(tmp_path, federation, practice, month)


def test_the_same_inputs_give_byte_identical_lists(tmp_path: Path, staged_template: Path) -> None:
    import shutil

    homes = []
    for name in ("first", "second"):
        home = Home(tmp_path / name)
        home.root.mkdir()
        shutil.copy(staged_template, home.database)
        publish_months(home)
        homes.append(home)

    def contents(home: Home) -> dict[str, bytes]:
        return {
            str(p.relative_to(home.outbox)): p.read_bytes()
            for p in sorted(home.outbox.rglob("*"))
            if p.is_file()
        }

    first, second = contents(homes[0]), contents(homes[1])
    assert len(first) == 40 and first == second  # 8 folders: 4 files, a manifest's copy
    publish_months(homes[0])  # a rerun in the same home changes nothing either
    assert contents(homes[0]) == first
