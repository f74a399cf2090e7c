"""A re-delivered month leaves an audit trail: any list traces back to its deliveries and model.

`riskstrat run` on a generated zone that trains and lists, then one earlier month is
delivered again with a changed file, and the run repeated, then repeated once more on the
same inputs. The earlier delivery's manifest digest stays in `raw.delivery_history`
(superseded by the new one), its delivery and data-quality reports stay in the reports'
`history/` folders byte for byte, and the manifest of the list sent before stays beside the
current one, unchanged; the current list manifest names the new delivery and the model.
A rerun on the same inputs changes nothing. Measured at 300 people (two runs): 52-57 s of CPU (user), 3 min
17 s - 4 min 7 s wall on 2 cores shared with other runs (load average 11-14). Since the
model's early stopping holds out training people, 300 people trained a model with one risk
for all, which the blocking model check stops; at 1,500 people this module and
tests/pipelines/test_cli_evaluate.py took 79 s of CPU, 90 s wall, on a quiet machine
(`/usr/bin/time pytest tests/test_redelivery_audit.py tests/pipelines/test_cli_evaluate.py`).
Marked slow.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import synthetic
from benchmarks.compare_homes import home_digests
from lists.audit import NHS_NUMBER_PATTERN
from pipelines.cli import main
from tests import supplier
from tests.pipelines.test_recovery import COMPARED

pytestmark = pytest.mark.slow

PEOPLE, MONTHS, SEED, START = (
    1500,
    25,
    7,
    "2023-01",
)  # fewer people train a model with one risk for all
REDELIVERED, LISTED = "2024-12", "2025-01"
HISTORIES = ("reports/deliveries/history", "reports/data_quality/history")
MANIFEST_COLUMNS = ["path", "rows", "sha256", "kind"]


@dataclass(frozen=True)
class Trail:
    home: Path
    old_digest: str
    new_digest: str
    first: dict[str, bytes]  # the reports' history folders and the outbox, after the first run
    second: dict[str, bytes]  # the same, after the run on the re-delivery
    second_home: dict[
        str, str
    ]  # benchmarks.compare_homes.home_digests of what the recovery test compares
    rerun_home: dict[str, str]  # the same after a rerun on the same inputs


def run(landing: Path, home: Path) -> None:
    assert main(["run", "--landing", str(landing), "--home", str(home)]) == 0


def kept_files(home: Path) -> dict[str, bytes]:
    """Every file under the reports' history folders and the outbox, by path in the home."""
    files = {}
    for folder in (*HISTORIES, "outbox"):
        for path in sorted((home / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(home).as_posix()] = path.read_bytes()
    return files


def manifest_digest(landing: Path, month: str) -> str:
    return hashlib.sha256((landing / "extracts" / month / "manifest.csv").read_bytes()).hexdigest()


def redeliver_with_one_line_fewer(landing: Path, month: str) -> None:
    """Deliver `month` again: its largest consultations file loses its last row, and the
    manifest is written anew for the changed file (tests/supplier.py, as a supplier would)."""
    folder = landing / "extracts" / month
    files = {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*.csv"))
        if path.name != "manifest.csv"
    }
    changed = max(
        (path for path in files if path.endswith("consultations.csv")),
        key=lambda path: len(files[path]),
    )
    lines = files[changed].splitlines(keepends=True)
    assert len(lines) > 2, "the changed file needs a row to lose"
    files[changed] = b"".join(lines[:-1])
    supplier.write_month(landing, month, files)


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Trail:
    folder = tmp_path_factory.mktemp("redelivery")
    zone, home = folder / "zone", folder / "home"
    synthetic.generate(zone, people=PEOPLE, months=MONTHS, seed=SEED, start=START)
    landing = zone / "landing"
    run(landing, home)
    old_digest, first = manifest_digest(landing, REDELIVERED), kept_files(home)
    redeliver_with_one_line_fewer(landing, REDELIVERED)
    run(landing, home)
    second, second_home = kept_files(home), home_digests(home, COMPARED)
    run(landing, home)
    return Trail(
        home,
        old_digest,
        manifest_digest(landing, REDELIVERED),
        first,
        second,
        second_home,
        home_digests(home, COMPARED),
    )


def manifest_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def test_every_delivery_of_a_month_is_recorded_with_what_superseded_it(trail: Trail) -> None:
    with duckdb.connect(str(trail.home / "warehouse.duckdb"), read_only=True) as connection:
        history = connection.execute(
            "SELECT delivery_month, manifest_sha256, delivery_number, status, files, rows, "
            "superseded_by FROM raw.delivery_history ORDER BY delivery_month, delivery_number"
        ).fetchall()
    deliveries = [row for row in history if row[0] == REDELIVERED]
    assert [row[1:3] for row in deliveries] == [(trail.old_digest, 1), (trail.new_digest, 2)]
    assert [row[6] for row in deliveries] == [trail.new_digest, None]
    assert all(row[3] == "loaded" and row[4] > 0 and row[5] > 0 for row in deliveries)
    assert deliveries[0][5] == deliveries[1][5] + 1, "the corrected delivery has one row fewer"
    others = [row for row in history if row[0] != REDELIVERED]
    assert len(others) == MONTHS - 1 and all(row[6] is None for row in others)


def test_earlier_reports_are_kept_unchanged_and_the_current_ones_name_the_new_delivery(
    trail: Trail,
) -> None:
    earlier = {path: content for path, content in trail.first.items() if path.startswith(HISTORIES)}
    assert {path: trail.second.get(path) for path in earlier} == earlier
    old_reports = {
        folder: [
            json.loads(content)
            for path, content in earlier.items()
            if path.startswith(f"{folder}/{REDELIVERED}/") and path.endswith(".json")
        ]
        for folder in HISTORIES
    }
    for folder, reports in old_reports.items():
        assert [r["manifest_sha256"] for r in reports] == [trail.old_digest], folder
    for kind in ("deliveries", "data_quality"):
        current = json.loads((trail.home / "reports" / kind / f"{REDELIVERED}.json").read_text())
        assert current["manifest_sha256"] == trail.new_digest
        versions = sorted((trail.home / "reports" / kind / "history" / REDELIVERED).glob("*.json"))
        assert current in [json.loads(path.read_text()) for path in versions]


def test_the_list_sent_before_keeps_its_manifest_and_the_new_one_names_what_made_it(
    trail: Trail,
) -> None:
    practice_manifests = sorted(
        path
        for path in trail.first
        if path.endswith(f"/{LISTED}/manifest.csv") and "/summary/" not in path
    )
    assert practice_manifests, "the first run published lists"
    current = json.loads((trail.home / "models" / "current.json").read_text())["version"]
    for path in practice_manifests:
        folder = path.removesuffix("manifest.csv")
        kept = {p: c for p, c in trail.second.items() if p.startswith(folder + "manifests/")}
        assert trail.first[path] in kept.values(), f"{path}: the earlier manifest was not kept"
        new = manifest_rows(trail.second[path])
        assert new != manifest_rows(trail.first[path])
        deliveries = {r["path"]: r["sha256"] for r in new if r["kind"] == "delivery"}
        assert deliveries[f"extracts/{REDELIVERED}/manifest.csv"] == trail.new_digest
        assert len(deliveries) == MONTHS, "every month up to the listed one fed the list"
        assert [r["path"] for r in new if r["kind"] == "model"] == [f"models/{current}"]
        old = {r["path"]: r["sha256"] for r in manifest_rows(trail.first[path])}
        assert old[f"extracts/{REDELIVERED}/manifest.csv"] == trail.old_digest


def test_only_manifests_of_earlier_lists_are_kept_never_their_people(trail: Trail) -> None:
    kept = {path: content for path, content in trail.second.items() if "/manifests/" in path}
    assert kept
    for path, content in kept.items():
        assert path.endswith(".csv") and list(manifest_rows(content)[0]) == MANIFEST_COLUMNS
        assert not NHS_NUMBER_PATTERN.search(content.decode("utf-8")), path


def test_a_rerun_on_the_same_inputs_changes_nothing(trail: Trail) -> None:
    changed = sorted(
        name
        for name in set(trail.second_home) | set(trail.rerun_home)
        if trail.second_home.get(name) != trail.rerun_home.get(name)
    )
    assert changed == []
