"""Evaluation periods: quarters and half-years as local days (first, last), both included."""

from __future__ import annotations

import re
from datetime import date, timedelta

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class InvalidPeriod(ValueError):
    def __init__(self, text: str):
        self.text = text
        super().__init__(f"{text!r} is not a quarter like 2026Q3")


def quarter(year: int, number: int) -> tuple[date, date]:
    first = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return first, following - timedelta(days=1)


def parse_quarter(text: str) -> tuple[date, date]:
    """`2026Q3` → (2026-07-01, 2026-09-30). Raises InvalidPeriod."""
    match = QUARTER.match(text.strip().upper())
    if match is None:
        raise InvalidPeriod(text)
    return quarter(int(match.group(1)), int(match.group(2)))


def quarter_to_date(today: date) -> tuple[date, date]:
    """From the first day of `today`'s quarter to `today`."""
    return quarter(today.year, (today.month - 1) // 3 + 1)[0], today
