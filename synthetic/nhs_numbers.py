"""Synthetic NHS numbers: the 999 test range, valid modulus-11 check digits.

Real NHS numbers must never appear in synthetic data, so every number comes from the
test range starting 999. That range holds about 909,000 valid numbers (a tenth of the
nine-digit stems give check digit 10 and are not issued). A run that needs more distinct
people than that continues into 998, 997, ... and says so in its summary: the numbers
stay valid modulus-11, but only the first 909,000 are in the published test range.
"""

from __future__ import annotations

import numpy as np

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
TEST_RANGE_CAPACITY = 909_091


def check_digits(stems: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for each nine-digit stem; 10 means the stem is not valid."""
    digits = (stems[:, None] // 10 ** np.arange(8, -1, -1, dtype=np.int64)) % 10
    remainder = (digits * _WEIGHTS).sum(axis=1) % 11
    check = 11 - remainder
    return np.where(check == 11, 0, check)


def is_valid(number: str) -> bool:
    """True when `number` is ten digits with a correct modulus-11 check digit."""
    if len(number) != 10 or not number.isdigit():
        return False
    check = check_digits(np.array([int(number[:9])], dtype=np.int64))[0]
    return int(check) == int(number[9])


def allocate(count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct valid NHS numbers (int64), test range first, in shuffled order."""
    numbers: list[np.ndarray] = []
    available = 0
    prefix = 999
    while available < count:
        stems = prefix * 1_000_000 + np.arange(1_000_000, dtype=np.int64)
        check = check_digits(stems)
        valid = check < 10
        block = stems[valid] * 10 + check[valid]
        numbers.append(rng.permutation(block))
        available += block.size
        prefix -= 1
    return np.concatenate(numbers)[:count]
