"""Small-number suppression for every count a federation sees (the app and reports/impact/).

A count of 7 or fewer could point at a person in a small practice, so it is hidden; any
other count is rounded to the nearest 5, so that hidden counts cannot be recovered by
subtracting one published total from another.
"""

from __future__ import annotations

SUPPRESS_AT_OR_BELOW = 7
ROUND_TO = 5
HIDDEN = "≤7"


def suppressed(count: int) -> int | None:
    """None when `count` must be hidden (0-7), else `count` rounded to the nearest 5."""
    if count <= SUPPRESS_AT_OR_BELOW:
        return None
    return int(ROUND_TO * ((count + ROUND_TO / 2) // ROUND_TO))


def shown(count: int) -> str:
    value = suppressed(count)
    return HIDDEN if value is None else f"{value:,}"
