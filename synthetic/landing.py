"""Writing the landing zone: CSV bytes exactly as docs/landing-zone.md specifies, and manifests.

Files are UTF-8, `\\n` line ends, RFC 4180 quoting (only where needed), ISO dates, empty
fields for nulls. Every file's row count and sha256 are taken from the bytes written, and
manifest.csv is written last in each month folder, so a reader never sees a manifest that
describes files still being written.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as spec-conformant CSV bytes."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=True, line_terminator="\n", quote_style="necessary")
    return buffer.getvalue()


@dataclass
class MonthWriter:
    """Writes one month folder's files and remembers them for the manifest."""

    folder: Path
    entries: list[tuple[str, int, str]] = field(default_factory=list)
    rows_by_kind: dict[str, int] = field(default_factory=dict)

    def write(self, relative_path: str, frame: pl.DataFrame) -> None:
        data = csv_bytes(frame)
        target = self.folder / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.entries.append((relative_path, frame.height, hashlib.sha256(data).hexdigest()))
        kind = relative_path.rsplit("/", 1)[-1].removesuffix(".csv")
        self.rows_by_kind[kind] = self.rows_by_kind.get(kind, 0) + frame.height

    def write_per_practice(self, name: str, frame: pl.DataFrame, practice_codes: list[str]) -> None:
        """Write `gp/<practice>/<name>.csv` for every practice from one frame sorted by
        its `practice` column (an index into `practice_codes`).

        The frame is rendered to CSV once and cut at row boundaries: far cheaper than one
        writer call per practice, and byte-identical to it because no field holds a line break.
        """
        practice = frame["practice"].to_numpy()
        data = csv_bytes(frame.drop("practice"))
        header_end = data.index(b"\n") + 1
        header = data[:header_end]
        row_ends = (
            header_end
            + 1
            + np.flatnonzero(np.frombuffer(data, dtype=np.uint8, offset=header_end) == 10)
        )
        if row_ends.size != frame.height:
            raise ValueError(f"{name}: a field contains a line break")
        counts = np.bincount(practice, minlength=len(practice_codes))
        ends = np.concatenate([[header_end], row_ends])[np.cumsum(counts)]
        starts = np.concatenate([[header_end], ends[:-1]])
        for position, code in enumerate(practice_codes):
            relative_path = f"gp/{code}/{name}.csv"
            payload = header + data[int(starts[position]) : int(ends[position])]
            target = self.folder / relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(payload)
            rows = int(counts[position])
            self.entries.append((relative_path, rows, hashlib.sha256(payload).hexdigest()))
            self.rows_by_kind[name] = self.rows_by_kind.get(name, 0) + rows

    def write_manifest(self) -> None:
        write_manifest(self.folder, self.entries)


def write_manifest(folder: Path, entries: list[tuple[str, int, str]]) -> None:
    """Write manifest.csv listing `entries` (path, rows, sha256), sorted by path."""
    ordered = sorted(entries)
    frame = pl.DataFrame(
        {
            "path": [entry[0] for entry in ordered],
            "rows": [entry[1] for entry in ordered],
            "sha256": [entry[2] for entry in ordered],
        },
        schema={"path": pl.String, "rows": pl.Int64, "sha256": pl.String},
    )
    (folder / "manifest.csv").write_bytes(csv_bytes(frame))


def manifest_entry(folder: Path, relative_path: str) -> tuple[str, int, str]:
    """(path, rows, sha256) recomputed from a file on disk, counting data rows."""
    data = (folder / relative_path).read_bytes()
    rows = count_rows(data)
    return relative_path, rows, hashlib.sha256(data).hexdigest()


def count_rows(data: bytes) -> int:
    """Data rows in CSV bytes (header excluded); our files never quote a line break."""
    lines = data.count(b"\n")
    if data and not data.endswith(b"\n"):
        lines += 1
    return max(lines - 1, 0)
