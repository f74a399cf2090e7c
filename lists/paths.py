"""Outbox paths, built only from codes that passed their patterns.

Codes come from the practices reference file, which a supplier writes: a code such as
``../../etc`` must never become a folder name. Every code is checked against its pattern
and the finished path is checked to lie inside the outbox.
"""

from __future__ import annotations

import re
from pathlib import Path

PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
# Federation codes are local (not ODS): letters, digits, '_' and '-', starting alphanumeric.
FEDERATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
SUMMARY_FOLDER = (
    "summary"  # outbox/<federation>/summary/<month>/: cannot clash with a practice code
)


class UnsafeCodeError(ValueError):
    """A code that would not be a safe folder name; nothing is written."""


def check_practice_code(code: object) -> str:
    if not isinstance(code, str) or not PRACTICE_CODE.fullmatch(code):
        raise UnsafeCodeError(
            f"Refusing practice code {code!r}: a practice code must be an ODS code, one "
            "upper-case letter then five digits (e.g. F86001), before it names a folder in "
            "the outbox. Correct reference/practices.csv and run the month again."
        )
    return code


def check_federation_code(code: object) -> str:
    if not isinstance(code, str) or not FEDERATION_CODE.fullmatch(code):
        raise UnsafeCodeError(
            f"Refusing federation code {code!r}: a federation code must be 1-40 letters, "
            "digits, '_' or '-', starting with a letter or digit, before it names a folder in "
            "the outbox. Correct reference/practices.csv and run the month again."
        )
    return code


def check_month(month: object) -> str:
    if not isinstance(month, str) or not MONTH.fullmatch(month):
        raise UnsafeCodeError(f"Refusing month {month!r}: expected YYYY-MM.")
    return month


def practice_folder(outbox: Path, federation_code: str, practice_code: str, month: str) -> Path:
    """outbox/<federation_code>/<practice_code>/<YYYY-MM>/, after checking every part."""
    return _inside(
        outbox,
        outbox
        / check_federation_code(federation_code)
        / check_practice_code(practice_code)
        / check_month(month),
    )


def federation_folder(outbox: Path, federation_code: str, month: str) -> Path:
    """outbox/<federation_code>/summary/<YYYY-MM>/, after checking every part."""
    return _inside(
        outbox,
        outbox / check_federation_code(federation_code) / SUMMARY_FOLDER / check_month(month),
    )


def make_private_folder(folder: Path, outbox: Path) -> None:
    """Create `folder` and any missing parents below `outbox`, each owner-only (0700)."""
    outbox.mkdir(parents=True, exist_ok=True)
    outbox.chmod(0o700)
    for part in reversed([folder, *folder.parents]):
        if part == outbox or outbox not in part.parents:
            continue
        part.mkdir(mode=0o700, exist_ok=True)
        part.chmod(0o700)


def _inside(outbox: Path, path: Path) -> Path:
    root = outbox.resolve()
    resolved = path.resolve()
    if root != resolved and root not in resolved.parents:
        raise UnsafeCodeError(f"Refusing to write outside the outbox {root}: {resolved}")
    return path
