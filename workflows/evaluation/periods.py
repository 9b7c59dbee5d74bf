"""Reporting periods: quarters ("2026Q3") for the circular, half-years ("2026H2") for the panel.

A period is a span of local days; `bounds` turns it into the UTC instants petitions are
filtered by (start included, end excluded), so a petition at 23:30 on 30 September, local
time, belongs to Q3 however the database stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..errors import PetitionError

QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")
HALF_YEAR = re.compile(r"^(\d{4})-?H([12])$")
FIRST_YEAR, LAST_YEAR = 2000, 2099


class InvalidPeriod(PetitionError):
    """A period string that names no quarter or half-year; `field` is where it came from."""

    def __init__(self, text: str, expected: str, field: str = "period"):
        self.text, self.field = text, field
        self.errors = {field: [f"{text!r} is not a {expected}"]}
        super().__init__(f"{text!r} is not a {expected}")


@dataclass(frozen=True, order=True)
class Span:
    """Local days `first` to `last`, both included."""

    first: date
    last: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants [start, end) of these local days."""
        start = datetime.combine(self.first, time(0), tz)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tz)
        return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _year(text: str, match: re.Match[str] | None, expected: str, field: str) -> re.Match[str]:
    if match is None or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise InvalidPeriod(text, expected, field)
    return match


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1 to 4

    @classmethod
    def parse(cls, text: str, field: str = "quarter") -> Quarter:
        """"2026Q3" (or "2026-Q3"). Raises InvalidPeriod."""
        match = _year(text, QUARTER.match(text.strip().upper()), "quarter such as 2026Q3", field)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def span(self) -> Span:
        return Span(self.first_day, self.next().first_day - timedelta(days=1))

    @property
    def half_year(self) -> HalfYear:
        return HalfYear(self.year, 1 if self.number <= 2 else 2)

    @property
    def label(self) -> str:
        """"2026年第三季度"."""
        return f"{self.year}年第{'一二三四'[self.number - 1]}季度"

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    number: int  # 1 or 2

    @classmethod
    def parse(cls, text: str, field: str = "period") -> HalfYear:
        """"2026H2" (or "2026-H2"). Raises InvalidPeriod."""
        match = _year(text, HALF_YEAR.match(text.strip().upper()), "half-year such as 2026H2", field)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> HalfYear:
        return cls(day.year, 1 if day.month <= 6 else 2)

    def __str__(self) -> str:
        return f"{self.year}H{self.number}"

    @property
    def span(self) -> Span:
        if self.number == 1:
            return Span(date(self.year, 1, 1), date(self.year, 6, 30))
        return Span(date(self.year, 7, 1), date(self.year, 12, 31))

    @property
    def label(self) -> str:
        """"2026年下半年"."""
        return f"{self.year}年{'上下'[self.number - 1]}半年"

    def previous(self) -> HalfYear:
        return HalfYear(self.year - 1, 2) if self.number == 1 else HalfYear(self.year, 1)


def quarter_to_date(today: date) -> tuple[date, date]:
    """From the first day of `today`'s quarter to `today`."""
    return Quarter.of(today).first_day, today
