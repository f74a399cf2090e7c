"""manifest.csv for one delivery folder: path, rows, sha256, as in the landing-zone spec.

The receiver checks each file's digest and row count against it. It is written last, so a
folder whose manifest lists a file is complete up to that file.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warehouse.csv_safety import csv_text
from warehouse.files import sha256_of_file, write_text_atomic

MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class DeliveredFile:
    """A file written into a delivery folder and its number of data rows (people, for lists)."""

    name: str
    rows: int


def write_manifest(folder: Path, files: Sequence[DeliveredFile]) -> Path:
    rows = (
        [file.name, file.rows, sha256_of_file(folder / file.name)]
        for file in sorted(files, key=lambda f: f.name)
    )
    path = folder / MANIFEST
    write_text_atomic(path, csv_text(["path", "rows", "sha256"], rows))
    return path


def read_manifest(folder: Path) -> dict[str, tuple[int, str]]:
    """{path: (rows, sha256)} from a delivery folder's manifest.csv."""
    with (folder / MANIFEST).open(newline="", encoding="utf-8") as handle:
        return {row["path"]: (int(row["rows"]), row["sha256"]) for row in csv.DictReader(handle)}


def verify_manifest(folder: Path) -> list[str]:
    """Problems found checking `folder` against its manifest; empty when it verifies."""
    problems = []
    listed = read_manifest(folder)
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: present but not in the manifest")
    for name, (_rows, digest) in sorted(listed.items()):
        if name not in present:
            problems.append(f"{name}: listed but absent")
        elif sha256_of_file(folder / name) != digest:
            problems.append(f"{name}: sha256 differs from the manifest")
    return problems
