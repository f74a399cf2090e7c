"""Delivery faults for a generated landing zone, and faults.json saying where they are.

Real feeds arrive with bad rows, broken files and late practices; the pipeline must
quarantine, reject or report each one and still load everything else. inject() damages
a clean landing zone in a few deterministic places and lists every fault with the
behaviour the pipeline should show (`expected`):

- quarantine_row: bad_nhs_number, impossible_date, unknown_code, missing_required_value,
  duplicate_conflict (the later row);
- ignore_row: duplicate_resend (an id row delivered again identically);
- reject_file: missing_column, bad_encoding, truncated_file, manifest_mismatch;
- reject_month: missing_manifest (the last month, still being delivered);
- missing_practice: a practice's gp folder absent from a month and from its manifest;
- load: legal variations the spec allows (column order, an extra column, CRLF line ends).

Row faults change content, not delivery: the manifest is recomputed to agree with the
damaged file. Only manifest and truncation faults leave the manifest disagreeing.
Month files hold no quoted fields, so rows are edited as plain comma-separated text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from synthetic import landing
from synthetic.reference import Area

EMERGENCY_FILE = "sus/admissions.csv"


@dataclass(frozen=True)
class Fault:
    """One entry of faults.json."""

    kind: str
    month: str
    path: str
    line: int | None
    column: str | None
    expected: str


@dataclass
class CsvFile:
    """A month file as header and rows of fields."""

    header: list[str]
    rows: list[list[str]]

    @classmethod
    def read(cls, path: Path) -> CsvFile:
        lines = path.read_bytes().decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines[0].split(","), [line.split(",") for line in lines[1:]])

    def write(self, path: Path, line_end: str = "\n") -> None:
        lines = [",".join(self.header), *(",".join(row) for row in self.rows)]
        path.write_bytes((line_end.join(lines) + line_end).encode("utf-8"))

    def column(self, name: str) -> int:
        return self.header.index(name)


class NoSite(LookupError):
    """No unused file is left for a fault: tiny runs get fewer faults rather than none."""


class Injector:
    """Chooses fault sites without overlap and keeps each month's manifest in step."""

    def __init__(
        self, landing_folder: Path, labels: list[str], area: Area, rng: np.random.Generator
    ) -> None:
        self.extracts = landing_folder / "extracts"
        self.labels = labels
        self.practices = area.practice_codes.tolist()
        self.rng = rng
        self.faults: list[Fault] = []
        self.used: set[tuple[str, str]] = set()
        self.reserved_practice: tuple[str, str] | None = None
        self.manifests: dict[str, dict[str, tuple[int, str]]] = {}
        for label in labels:
            manifest = CsvFile.read(self.extracts / label / "manifest.csv")
            self.manifests[label] = {row[0]: (int(row[1]), row[2]) for row in manifest.rows}
        # Every month but the last, which loses its manifest and so is never loaded.
        self.loadable = labels[:-1] if len(labels) > 1 else labels

    def folder(self, month: str) -> Path:
        return self.extracts / month

    def pick_site(
        self, paths: list[str], minimum_rows: int = 2, months: list[str] | None = None
    ) -> tuple[str, str]:
        """A (month, path) not used by another fault, whose file has enough rows."""
        candidates = [
            (month, path)
            for month in (months or self.loadable)
            for path in paths
            if (month, path) not in self.used
            and path in self.manifests[month]
            and self.manifests[month][path][0] >= minimum_rows
            and not self._in_reserved_practice(month, path)
        ]
        if not candidates:
            raise NoSite(f"no site for a fault in {paths}")
        month, path = candidates[int(self.rng.integers(len(candidates)))]
        self.used.add((month, path))
        return month, path

    def _in_reserved_practice(self, month: str, path: str) -> bool:
        if self.reserved_practice is None:
            return False
        reserved_month, practice = self.reserved_practice
        return month == reserved_month and path.startswith(f"gp/{practice}/")

    def gp_paths(self, name: str) -> list[str]:
        return [f"gp/{practice}/{name}.csv" for practice in self.practices]

    def refresh(self, month: str, path: str) -> None:
        """Recompute a file's manifest entry: the delivery is consistent, the content is not."""
        _, rows, digest = landing.manifest_entry(self.folder(month), path)
        self.manifests[month][path] = (rows, digest)

    def record(
        self, kind: str, month: str, path: str, line: int | None, column: str | None, expected: str
    ) -> None:
        self.faults.append(Fault(kind, month, path, line, column, expected))

    def edit_row(
        self,
        kind: str,
        paths: list[str],
        column: str,
        change: Callable[[str, list[str], CsvFile, str], str],
        expected: str = "quarantine_row",
        condition: Callable[[list[str], CsvFile], bool] | None = None,
    ) -> None:
        """Change one field of one row; `change(value, row, file, month)` returns the new value."""
        month, path = self.pick_site(paths)
        target = self.folder(month) / path
        csv = CsvFile.read(target)
        position = csv.column(column)
        eligible = [
            index for index, row in enumerate(csv.rows) if condition is None or condition(row, csv)
        ]
        if not eligible:
            eligible = list(range(len(csv.rows)))
        index = eligible[int(self.rng.integers(len(eligible)))]
        csv.rows[index][position] = change(csv.rows[index][position], csv.rows[index], csv, month)
        csv.write(target)
        self.refresh(month, path)
        self.record(kind, month, path, index + 1, column, expected)

    def write_manifests(self) -> None:
        for month, entries in self.manifests.items():
            landing.write_manifest(
                self.folder(month),
                [(path, rows, digest) for path, (rows, digest) in entries.items()],
            )


def _wrong_check_digit(value: str, *_: object) -> str:
    return value[:9] + str((int(value[9]) + 1) % 10)


def _impossible_day(_value: str, _row: list[str], _csv: CsvFile, month: str) -> str:
    """The day after the month's last day, e.g. 2023-02-29 or 2023-04-31."""
    first = np.datetime64(month + "-01")
    days = int(((np.datetime64(month, "M") + 1).astype("datetime64[D]") - first).astype(int))
    return f"{month}-{days + 1:02d}"


def _before_month(value: str, _row: list[str], _csv: CsvFile, month: str) -> str:
    return str(np.datetime64(month + "-01") - 3)


def inject(out: Path, labels: list[str], area: Area, rng: np.random.Generator) -> Path:
    """Damage `out/landing` in a few places and write `out/faults.json`; returns its path."""
    injector = Injector(out / "landing", labels, area, rng)
    loadable = injector.loadable

    # A practice missing from one month: reserve it first so no other fault lands there.
    if len(injector.practices) > 1 and len(labels) > 1:
        month = loadable[int(rng.integers(len(loadable)))]
        practice = injector.practices[int(rng.integers(len(injector.practices)))]
        injector.reserved_practice = (month, practice)

    # Row faults (content only; manifests agree).
    attempt(
        injector.edit_row,
        "bad_nhs_number",
        injector.gp_paths("consultations"),
        "nhs_number",
        _wrong_check_digit,
    )
    attempt(
        injector.edit_row,
        "bad_nhs_number",
        ["sus/outpatients.csv"],
        "nhs_number",
        lambda value, *_: value[:9],
    )
    attempt(
        injector.edit_row,
        "impossible_date",
        injector.gp_paths("medications"),
        "issue_date",
        _impossible_day,
    )
    attempt(
        injector.edit_row,
        "impossible_date",
        [EMERGENCY_FILE],
        "discharge_date",
        lambda _value, row, csv, _month: str(np.datetime64(row[csv.column("admission_date")]) - 2),
        condition=lambda row, csv: row[csv.column("discharge_date")] != "",
    )
    attempt(
        injector.edit_row,
        "impossible_date",
        injector.gp_paths("registrations"),
        "date_of_birth",
        lambda _value, row, csv, _month: str(
            np.datetime64(row[csv.column("registration_date")]) + 5
        ),
    )
    attempt(
        injector.edit_row,
        "impossible_date",
        injector.gp_paths("observations"),
        "observation_date",
        _before_month,
    )
    attempt(
        injector.edit_row,
        "unknown_code",
        injector.gp_paths("consultations"),
        "mode",
        lambda *_: "carrier_pigeon",
    )
    attempt(
        injector.edit_row,
        "unknown_code",
        ["sus/ae_attendances.csv"],
        "arrived_by_ambulance",
        lambda *_: "maybe",
    )
    attempt(
        injector.edit_row, "unknown_code", injector.gp_paths("registrations"), "sex", lambda *_: "7"
    )
    attempt(
        injector.edit_row,
        "missing_required_value",
        ["sus/outpatients.csv"],
        "provider_code",
        lambda *_: "",
    )
    attempt(
        injector.edit_row,
        "missing_required_value",
        injector.gp_paths("conditions"),
        "snomed_code",
        lambda *_: "",
    )

    # An unknown admission method in a file of its own month (admissions files are few).
    for step in (_unknown_method, *_DUPLICATES, *_FILE_FAULTS, *_LEGAL_VARIATIONS):
        attempt(step, injector)

    if injector.reserved_practice is not None:
        month, practice = injector.reserved_practice
        prefix = f"gp/{practice}/"
        for path in [path for path in injector.manifests[month] if path.startswith(prefix)]:
            (injector.folder(month) / path).unlink()
            del injector.manifests[month][path]
        (injector.folder(month) / "gp" / practice).rmdir()
        injector.record("missing_practice", month, f"gp/{practice}", None, None, "missing_practice")

    injector.write_manifests()
    _damage_manifests(injector)
    if len(labels) > 1:
        (injector.folder(labels[-1]) / "manifest.csv").unlink()
        injector.record("missing_manifest", labels[-1], "manifest.csv", None, None, "reject_month")

    faults = sorted(
        injector.faults, key=lambda fault: (fault.month, fault.path, fault.line or 0, fault.kind)
    )
    target = out / "faults.json"
    target.write_text(
        json.dumps([asdict(fault) for fault in faults], indent=2) + "\n", encoding="utf-8"
    )
    return target


def attempt(step: Callable[..., None], *arguments: object, **keywords: object) -> None:
    """Run one fault step; skip it when the run is too small to have a free site for it."""
    with contextlib.suppress(NoSite):
        step(*arguments, **keywords)


def _unknown_method(injector: Injector) -> None:
    injector.edit_row("unknown_code", [EMERGENCY_FILE], "admission_method", lambda *_: "99")


def _resend_same_month(injector: Injector) -> None:
    """An A&E row delivered twice in the same file."""
    month, path = injector.pick_site(["sus/ae_attendances.csv"])
    csv = CsvFile.read(injector.folder(month) / path)
    source = csv.rows[int(injector.rng.integers(len(csv.rows)))]
    csv.rows.append(list(source))
    csv.write(injector.folder(month) / path)
    injector.refresh(month, path)
    injector.record("duplicate_resend", month, path, len(csv.rows), None, "ignore_row")


def _resend_later_month(injector: Injector) -> None:
    """An admission delivered again, identically, in the next month's file."""
    months = injector.loadable
    if len(months) >= 2:
        later_month, path = injector.pick_site([EMERGENCY_FILE], minimum_rows=1, months=months[1:])
        earlier = months[months.index(later_month) - 1]
        earlier_rows = CsvFile.read(injector.folder(earlier) / path).rows
        faulty = {
            fault.line for fault in injector.faults if (fault.month, fault.path) == (earlier, path)
        }
        clean = [index for index in range(len(earlier_rows)) if index + 1 not in faulty]
        source = earlier_rows[clean[int(injector.rng.integers(len(clean)))]]
        csv = CsvFile.read(injector.folder(later_month) / path)
        csv.rows.append(list(source))
        csv.write(injector.folder(later_month) / path)
        injector.refresh(later_month, path)
        injector.record("duplicate_resend", later_month, path, len(csv.rows), None, "ignore_row")


def _conflicting_id(injector: Injector) -> None:
    """An outpatient appointment id repeated with a different attendance status."""
    month, path = injector.pick_site(["sus/outpatients.csv"])
    csv = CsvFile.read(injector.folder(month) / path)
    conflict = list(csv.rows[int(injector.rng.integers(len(csv.rows)))])
    status = csv.column("attendance_status")
    conflict[status] = "2" if conflict[status] != "2" else "4"
    csv.rows.append(conflict)
    csv.write(injector.folder(month) / path)
    injector.refresh(month, path)
    injector.record(
        "duplicate_conflict", month, path, len(csv.rows), "attendance_status", "quarantine_row"
    )


def _missing_column(injector: Injector) -> None:
    month, path = injector.pick_site(injector.gp_paths("consultations"))
    csv = CsvFile.read(injector.folder(month) / path)
    position = csv.column("clinician")
    csv.header.pop(position)
    for row in csv.rows:
        row.pop(position)
    csv.write(injector.folder(month) / path)
    injector.refresh(month, path)
    injector.record("missing_column", month, path, None, "clinician", "reject_file")


def _bad_encoding(injector: Injector) -> None:
    month, path = injector.pick_site(injector.gp_paths("observations"))
    target = injector.folder(month) / path
    data = bytearray(target.read_bytes())
    header_end = data.index(b"\n") + 1
    data[header_end : header_end + 2] = b"\xff\xfe"
    target.write_bytes(bytes(data))
    injector.refresh(month, path)
    injector.record("bad_encoding", month, path, None, None, "reject_file")


def _truncated_file(injector: Injector) -> None:
    # Truncation happens after the manifest was made: the manifest keeps the full file's entry.
    month, path = injector.pick_site(injector.gp_paths("medications"))
    target = injector.folder(month) / path
    data = target.read_bytes()
    last_row_start = data.rstrip(b"\n").rindex(b"\n") + 1
    target.write_bytes(data[: last_row_start + (len(data) - last_row_start) // 2])
    injector.record("truncated_file", month, path, None, None, "reject_file")


def _listed_file_absent(injector: Injector) -> None:
    month, path = injector.pick_site(injector.gp_paths("registrations"), minimum_rows=1)
    (injector.folder(month) / path).unlink()
    injector.record("manifest_mismatch", month, path, None, None, "reject_file")


def _unlisted_file(injector: Injector) -> None:
    month, _ = injector.pick_site(["social_care/services.csv"], minimum_rows=0)
    extra = "sus/critical_care.csv"
    (injector.folder(month) / extra).write_bytes(b"spell_id,nhs_number,critical_care_days\n")
    injector.used.add((month, extra))
    injector.record("manifest_mismatch", month, extra, None, None, "reject_file")


def _damage_manifests(injector: Injector) -> None:
    """Manifest entries that disagree with their files (written after the clean manifests)."""
    damaged: dict[str, list[tuple[str, str]]] = {}
    for paths, what in (
        (["sus/ae_attendances.csv"], "rows"),
        (injector.gp_paths("conditions"), "sha256"),
    ):
        try:
            month, path = injector.pick_site(paths, minimum_rows=0)
        except NoSite:
            continue
        damaged.setdefault(month, []).append((path, what))
    for month, changes in damaged.items():
        entries = dict(injector.manifests[month])
        for path, what in changes:
            rows, digest = entries[path]
            if what == "rows":
                entries[path] = (rows + 1, digest)
            else:
                entries[path] = (rows, digest[::-1])
            injector.record("manifest_mismatch", month, path, None, None, "reject_file")
        landing.write_manifest(
            injector.folder(month),
            [(path, rows, digest) for path, (rows, digest) in entries.items()],
        )


def _column_order(injector: Injector) -> None:
    """Variations the spec allows; the pipeline must load these files normally."""
    month, path = injector.pick_site(injector.gp_paths("registrations"), minimum_rows=1)
    csv = CsvFile.read(injector.folder(month) / path)
    order = list(range(len(csv.header)))[::-1]
    csv.header = [csv.header[position] for position in order]
    csv.rows = [[row[position] for position in order] for row in csv.rows]
    csv.write(injector.folder(month) / path)
    injector.refresh(month, path)
    injector.record("column_order", month, path, None, None, "load")


def _extra_column(injector: Injector) -> None:
    month, path = injector.pick_site(["sus/outpatients.csv"], minimum_rows=1)
    csv = CsvFile.read(injector.folder(month) / path)
    csv.header.append("clinic_code")
    for row in csv.rows:
        row.append("CL" + row[0][-3:])
    csv.write(injector.folder(month) / path)
    injector.refresh(month, path)
    injector.record("extra_column", month, path, None, "clinic_code", "load")


def _crlf_line_endings(injector: Injector) -> None:
    month, path = injector.pick_site(injector.gp_paths("conditions"), minimum_rows=1)
    CsvFile.read(injector.folder(month) / path).write(
        injector.folder(month) / path, line_end="\r\n"
    )
    injector.refresh(month, path)
    injector.record("crlf_line_endings", month, path, None, None, "load")


_DUPLICATES = (_resend_same_month, _resend_later_month, _conflicting_id)
_FILE_FAULTS = (
    _missing_column,
    _bad_encoding,
    _truncated_file,
    _listed_file_absent,
    _unlisted_file,
)
_LEGAL_VARIATIONS = (_column_order, _extra_column, _crlf_line_endings)
