"""Reports kept across re-delivery: the current one at its usual path, every version kept.

A month's report is written to ``<folder>/<YYYY-MM>.<ext>``, where readers and links expect
it, and each distinct version to ``<folder>/history/<YYYY-MM>/<key>-<content>.<ext>``: `key`
names what the report is of (the first 16 hex digits of the delivery's manifest digest, so
an auditor finds every report of a delivery by it), and `content` the first 12 hex digits of
the digest of the report's own bytes (all of its files together). A version is written once
and never rewritten: a later report of the same delivery that differs (a month restaged
after an earlier one was corrected) gets a name of its own.

Names and contents hold no clock: the same inputs give the same files, and a rerun writes
no new version. Plain code: never imports dagster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from warehouse.files import write_bytes_atomic

HISTORY = "history"
KEY_DIGITS, CONTENT_DIGITS = 16, 12


def version_stem(key: str, contents: Mapping[str, bytes]) -> str:
    """`<key>-<content>`: the key's first digits and the digest of every file, in suffix order."""
    digest = hashlib.sha256()
    for suffix in sorted(contents):
        digest.update(suffix.encode() + b"\0" + contents[suffix] + b"\0")
    return f"{key[:KEY_DIGITS]}-{digest.hexdigest()[:CONTENT_DIGITS]}"


def write_month_report(
    folder: Path, month: str, key: str | None, contents: Mapping[str, bytes]
) -> dict[str, Path]:
    """Write `<folder>/<month><suffix>` for each suffix, keeping a version unless `key` is None.

    `contents` maps a suffix ('.json', '.html') to the file's bytes; returns the current
    paths by suffix. The version goes first, so a current report always has its version.
    """
    if key is not None:
        stem = version_stem(key, contents)
        for suffix, content in contents.items():
            version = folder / HISTORY / month / f"{stem}{suffix}"
            if not version.exists():
                write_bytes_atomic(version, content)
    current = {}
    for suffix, content in contents.items():
        current[suffix] = folder / f"{month}{suffix}"
        write_bytes_atomic(current[suffix], content)
    return current
