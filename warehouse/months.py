"""Extract months and index dates: the one place the pipeline does calendar arithmetic.

An extract month is written 'YYYY-MM'; its index date is its last day (snapshots are as at
month end). The label of an index date T looks 12 whole months ahead (T+1 .. T+12).
Plain code: never imports dagster. (`synthetic/` keeps its own calendar on purpose: the
supplier stand-in shares no code with the pipeline that reads it.)
"""

from __future__ import annotations

import calendar
import datetime
import re

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
"""An extract month as its folder is named: YYYY-MM."""

FOLLOW_UP_MONTHS = 12
"""Months after an index date that its label counts emergency admissions in."""


def month_end(year: int, month: int) -> datetime.date:
    """The last day of `month` in `year`."""
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def index_date(extract_month: str) -> datetime.date:
    """The index date of an extract month 'YYYY-MM': its last day."""
    year, number = (int(part) for part in extract_month.split("-"))
    return month_end(year, number)


def extract_month(day: datetime.date) -> str:
    """The extract month 'YYYY-MM' that `day` falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def is_month_end(day: datetime.date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The last day of the month `months` after `day`'s month (index dates are month ends)."""
    serial = day.year * 12 + day.month - 1 + months
    return month_end(serial // 12, serial % 12 + 1)


def months_between(earlier: datetime.date, later: datetime.date) -> int:
    """Whole calendar months from `earlier`'s month to `later`'s month (negative if before)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def latest_labelled_index_date(extract_month: str) -> datetime.date:
    """The latest index date whose whole follow-up is delivered once `extract_month` is."""
    return add_months(index_date(extract_month), -FOLLOW_UP_MONTHS)


def month_range(first: str, last: str) -> list[str]:
    """Every extract month from `first` to `last`, both included ('YYYY-MM' each)."""
    start = index_date(first)
    return [
        extract_month(add_months(start, offset))
        for offset in range(months_between(start, index_date(last)) + 1)
    ]
