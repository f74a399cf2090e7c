"""The pseudonym key: the configured one, else the home's secret file; never the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lists.pseudonyms import (
    PseudonymKeyError,
    key_file,
    pseudonym_key,
    pseudonymise,
    pseudonymise_many,
)
from warehouse.home import Home

CONFIGURED = "a-configured-pseudonym-key-of-40-characters"


def test_a_configured_key_is_used_and_no_file_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKSTRAT_PSEUDONYM_KEY", "ignored: lists/ never reads the environment")
    home = Home.at(tmp_path)
    assert pseudonym_key(home, CONFIGURED) == CONFIGURED.encode()
    assert not key_file(home).exists()


def test_without_a_configured_key_the_home_secret_is_made_once_owner_only(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    first = pseudonym_key(home, None)
    assert key_file(home) == tmp_path.resolve() / "secrets" / "pseudonym.key"
    assert key_file(home).stat().st_mode & 0o777 == 0o600
    assert pseudonym_key(home, None) == first
    assert pseudonymise("9990000001", first) != pseudonymise("9990000001", CONFIGURED.encode())


def test_a_short_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="shorter than 32"):
        pseudonym_key(Home.at(tmp_path), "too short")


@settings(max_examples=200, deadline=None)
@given(
    numbers=st.lists(st.text(alphabet="0123456789", min_size=1, max_size=12), max_size=20),
    key=st.binary(min_size=32, max_size=80),
)
def test_many_at_once_are_each_one_alone(numbers: list[str], key: bytes) -> None:
    assert pseudonymise_many(numbers, key) == [pseudonymise(n, key) for n in numbers]
