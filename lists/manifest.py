"""manifest.csv for one delivery folder: its files, and what made them.

One row per file written (``kind`` ``file``: path, rows, sha256, as in the landing-zone
spec), then what the files were made from: the model that scored them (``model``, path
``models/<version>``) and the delivery in force of every month whose data the scores read
(``delivery``, path ``extracts/<YYYY-MM>/manifest.csv``, its rows and sha256: the digest
recorded in ``raw.delivery_history``). The receiver checks each file's digest and row count
against it; an auditor traces the files to the deliveries and model that made them.

It is written last, so a folder whose manifest lists a file is complete up to that file.
Every manifest a folder has had is kept in its ``manifests/`` folder, named by the digest of
its own bytes and never rewritten: when a month's lists are published again (a corrected
delivery), the list files are replaced, but the manifest of the list sent before stays and
still names the digests of those files. Only manifests are kept, never earlier list files,
which could name a person who has since opted out; a manifest holds no NHS number.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warehouse.csv_safety import csv_text
from warehouse.deliveries import DeliveryInForce
from warehouse.files import sha256_of_file, write_bytes_atomic

MANIFEST = "manifest.csv"
VERSIONS = "manifests"
COLUMNS = ("path", "rows", "sha256", "kind")
FILE, MODEL, DELIVERY = "file", "model", "delivery"
VERSION_DIGITS = 16


@dataclass(frozen=True)
class DeliveredFile:
    """A file written into a delivery folder and its number of data rows (people, for lists)."""

    name: str
    rows: int


@dataclass(frozen=True)
class MadeFrom:
    """What a delivery folder's files were made from: the model and the monthly deliveries."""

    model_version: str
    deliveries: tuple[DeliveryInForce, ...]

    def manifest_rows(self) -> list[list[object]]:
        return [
            [f"models/{self.model_version}", "", "", MODEL],
            *(
                [f"extracts/{d.month}/{MANIFEST}", d.files, d.manifest_sha256, DELIVERY]
                for d in self.deliveries
            ),
        ]


def write_manifest(
    folder: Path, files: Sequence[DeliveredFile], made_from: MadeFrom | None = None
) -> Path:
    """Write `folder`/manifest.csv, and keep it in `folder`/manifests/ unless already there."""
    rows: list[list[object]] = [
        [file.name, file.rows, sha256_of_file(folder / file.name), FILE]
        for file in sorted(files, key=lambda f: f.name)
    ]
    if made_from is not None:
        rows += made_from.manifest_rows()
    content = csv_text(COLUMNS, rows).encode("utf-8")
    version = folder / VERSIONS / f"{hashlib.sha256(content).hexdigest()[:VERSION_DIGITS]}.csv"
    if not version.exists():
        write_bytes_atomic(version, content)
    path = folder / MANIFEST
    write_bytes_atomic(path, content)
    return path


def read_manifest(folder: Path) -> dict[str, tuple[int, str]]:
    """{path: (rows, sha256)} of the files a delivery folder's manifest.csv lists."""
    with (folder / MANIFEST).open(newline="", encoding="utf-8") as handle:
        return {
            row["path"]: (int(row["rows"]), row["sha256"])
            for row in csv.DictReader(handle)
            if row.get("kind", FILE) == FILE
        }


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
