"""The suites' NHS number check gives the registry's answer for every value."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts import is_valid_nhs_number
from data_contracts.expectations import valid_nhs_numbers


def with_check_digit(first_nine: int) -> str:
    """Nine digits and their modulus 11 check digit; where that is 10 (a number never
    issued), a 0 in its place, which must be refused."""
    digits = f"{first_nine:09d}"
    check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
    return digits + str(check % 11 % 10)


values = st.one_of(
    st.integers(0, 999_999_999).map(with_check_digit),  # valid, or check digit 10
    st.integers(0, 9_999_999_999).map(lambda number: f"{number:010d}"),
    st.text(alphabet="0123456789", min_size=9, max_size=11),
    st.text(alphabet="0123456789 ٣²a-", min_size=10, max_size=10),  # non-ASCII digits
    st.none(),
    st.integers(1_000_000_000, 9_999_999_999),  # a number, not text
)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.lists(values, max_size=40))
def test_the_column_check_agrees_with_is_valid_nhs_number(column: list) -> None:
    expected = [isinstance(value, str) and is_valid_nhs_number(value) for value in column]
    assert valid_nhs_numbers(pd.Series(column, dtype=object)).tolist() == expected


def test_valid_and_invalid_numbers_side_by_side() -> None:
    column = pd.Series(
        ["9434765919", "9434765918", "1000000010", None, "943476591", "９434765919"]
    )  # valid; wrong check digit; check digit 10 (never issued); null; nine digits; not ASCII
    assert valid_nhs_numbers(column).tolist() == [True, False, False, False, False, False]
