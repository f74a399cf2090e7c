"""Reports kept across re-delivery: one version per distinct report, never rewritten."""

from __future__ import annotations

from pathlib import Path

from warehouse.report_history import write_month_report

MONTH, DELIVERY = "2024-01", "ab" * 32


def versions(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "history" / MONTH).iterdir())}


def test_a_changed_report_of_the_same_delivery_is_kept_beside_the_earlier_one(tmp_path: Path):
    first = {".json": b'{"rows": 1}\n', ".html": b"<p>1</p>\n"}
    restaged = {".json": b'{"rows": 2}\n', ".html": b"<p>2</p>\n"}

    write_month_report(tmp_path, MONTH, DELIVERY, first)
    kept = versions(tmp_path)
    current = write_month_report(tmp_path, MONTH, DELIVERY, restaged)

    assert len(kept) == 2 and all(name.startswith(DELIVERY[:16] + "-") for name in kept)
    assert {name: versions(tmp_path)[name] for name in kept} == kept, "a version was rewritten"
    assert len(versions(tmp_path)) == 4
    assert {suffix: path.read_bytes() for suffix, path in current.items()} == restaged
    assert current == {".json": tmp_path / f"{MONTH}.json", ".html": tmp_path / f"{MONTH}.html"}


def test_the_same_report_written_again_adds_no_version(tmp_path: Path):
    report = {".json": b"{}\n"}
    write_month_report(tmp_path, MONTH, DELIVERY, report)
    write_month_report(tmp_path, MONTH, DELIVERY, report)

    assert len(versions(tmp_path)) == 1


def test_a_month_without_a_delivery_keeps_no_version(tmp_path: Path):
    write_month_report(tmp_path, MONTH, None, {".json": b"{}\n"})

    assert (tmp_path / f"{MONTH}.json").is_file() and not (tmp_path / "history").exists()
