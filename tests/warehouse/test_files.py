"""Atomic writes: a writer killed between write and rename leaves a file the next run removes."""

from __future__ import annotations

from pathlib import Path

from tests.killed_writer import kill_a_writer, start_a_paused_writer
from warehouse.files import PARTIAL_SUFFIX, write_bytes_atomic
from warehouse.home import Home


def test_a_killed_writer_leaves_only_a_partial_file_never_the_target(tmp_path: Path):
    target = tmp_path / "reports" / "lists" / "2025-02.json"

    kill_a_writer(target)

    assert not target.exists()
    [left] = list(target.parent.iterdir())
    assert left.name.startswith(".2025-02.json.") and left.name.endswith(PARTIAL_SUFFIX)


def test_the_home_removes_partial_files_in_the_folders_runs_write_and_nothing_else(
    tmp_path: Path,
):
    home = Home.at(tmp_path / "home")
    killed = [
        home.list_reports / "2025-02.json",
        home.outbox / "FED1" / "A12345" / "2025-02.csv",
        home.models / "current.json",
    ]
    for path in killed:
        kill_a_writer(path)
    kept = [
        home.list_reports / "2025-01.json",  # a finished write
        home.reports / ".hidden-by-someone-else",  # a dotfile that is not ours
        home.review / ".decisions.json.x1y2z3ab.partial",  # the review app writes unlocked
    ]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"kept")
    write_bytes_atomic(kept[0], b"a whole list")

    removed = home.remove_partial_files()

    assert sorted(path.parent for path in removed) == sorted(path.parent for path in killed)
    assert all(path.exists() for path in kept)
    leftovers = [p for p in home.root.rglob(f"*{PARTIAL_SUFFIX}") if home.review not in p.parents]
    assert leftovers == []
    assert home.remove_partial_files() == []


def test_a_file_another_process_is_still_writing_is_left_alone(tmp_path: Path):
    home = Home.at(tmp_path / "home")
    target = home.reports / "external" / "zone" / "evaluation.json"
    release = tmp_path / "release"
    writer = start_a_paused_writer(target, release)
    kill_a_writer(home.list_reports / "2025-02.json")

    removed = home.remove_partial_files()
    release.touch()
    writer.wait(timeout=60)

    assert [path.parent for path in removed] == [home.list_reports]
    assert writer.returncode == 0
    assert target.read_bytes() == b"a whole list"


def test_only_names_the_writer_makes_are_removed_and_what_earlier_versions_left(
    tmp_path: Path,
):
    home = Home.at(tmp_path / "home")
    lists, version = home.list_reports, home.models / "m0123456789ab"
    for folder in (lists, version):
        folder.mkdir(parents=True)
    (lists / "2025-01.json").write_bytes(b"{}")
    old_temporary = lists / ".2025-01.json.k3x_9a2b"  # the old writer's, beside its target
    old_registry = version / "model.txt.partial"  # the old registry's
    strangers = [
        lists / ".foo.partial",  # no pid: not a name the writer makes
        lists / ".a.b.partial",
        lists / ".notes.k3x_9a2b",  # no finished `notes` beside it
        home.reports / "model.txt.partial",  # the registry only wrote under models/
    ]
    for path in [old_temporary, old_registry, *strangers]:
        path.write_bytes(b"left")

    removed = home.remove_partial_files()

    assert sorted(removed) == sorted([old_temporary, old_registry])
    assert all(path.exists() for path in strangers)
