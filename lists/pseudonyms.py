"""Keyed pseudonyms for row-level federation files: HMAC-SHA256 of the NHS number.

The key comes from configuration, never from the repository and never from this module
reading the environment: the caller passes the configured key (at least 32 characters),
or None to use the file ``<home>/secrets/pseudonym.key``, created with 64 random hex
characters and mode 0600 on first use. The same key gives the same pseudonym every month,
so a federation can follow a person's tier over time without ever seeing who they are;
whoever holds the key (the warehouse's home) can re-identify, no one else can.

Pseudonyms are written in base32 (A-Z, 2-7), so they never look like an NHS number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from warehouse.home import Home

MINIMUM_KEY_LENGTH = 32
PSEUDONYM_LENGTH = 20  # base32 characters: 100 bits


class PseudonymKeyError(ValueError):
    """The configured key is unusable (too short, or its file is readable by others)."""


def key_file(home: Home) -> Path:
    return home.secrets / "pseudonym.key"


def pseudonym_key(home: Home, configured: str | None) -> bytes:
    """The configured key, else the key in <home>/secrets/pseudonym.key (made if absent)."""
    if configured is not None:
        if len(configured) < MINIMUM_KEY_LENGTH:
            raise PseudonymKeyError(
                f"The configured pseudonym key is shorter than {MINIMUM_KEY_LENGTH} characters: "
                "use a long random secret."
            )
        return configured.encode("utf-8")
    path = key_file(home)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        # O_EXCL: if two processes race, one creates the key and the other reads it.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise PseudonymKeyError(
            f"{path} is readable by other users: chmod 600 it (it is the pseudonym secret)."
        )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MINIMUM_KEY_LENGTH:
        raise PseudonymKeyError(f"{path} holds fewer than {MINIMUM_KEY_LENGTH} characters.")
    return key.encode("utf-8")


def pseudonymise(nhs_number: str, key: bytes) -> str:
    digest = hmac.new(key, nhs_number.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:PSEUDONYM_LENGTH]


def pseudonymise_many(nhs_numbers: Iterable[str], key: bytes) -> list[str]:
    """`pseudonymise` of each number, in order: one keyed hash copied per number instead of
    keyed afresh, and only the digest's first 15 bytes encoded (base32 encodes 5 bytes as 8
    characters, so its first 20 characters are the same). 0.66 s against 1.12 s for
    192,851 numbers (benchmarks/list_pieces.py)."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    pseudonyms = []
    for number in nhs_numbers:
        digest = keyed.copy()
        digest.update(number.encode("ascii"))
        pseudonyms.append(base64.b32encode(digest.digest()[:15]).decode("ascii")[:PSEUDONYM_LENGTH])
    return pseudonyms
