"""What the landing zone holds: each delivered month and the digest of its manifest.

A month folder without manifest.csv is still being delivered and is left out; a month
delivered again has a new manifest digest, which is what makes it a new delivery.
Plain code: never imports dagster, never reads a data file (only manifests).
"""

from __future__ import annotations

from pathlib import Path

from warehouse.deliveries import MANIFEST, delivered_months
from warehouse.errors import InputError
from warehouse.files import sha256_of_file


def manifest_digests(landing: Path) -> dict[str, str]:
    """{month: sha256 of its manifest.csv} for every delivered month, oldest first.

    An absent landing zone (or one without extracts/) holds no delivery yet.
    """
    try:
        months = delivered_months(landing)
    except InputError:
        return {}
    return {month: sha256_of_file(landing / "extracts" / month / MANIFEST) for month in months}


def delivery_run_key(month: str, digest: str) -> str:
    """One run key per delivery: a re-delivered month (new manifest) gets a new key."""
    return f"{month}:{digest}"
