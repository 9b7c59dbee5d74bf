"""Reporting periods: quarters ("2026Q3") for the circular, half-years ("2026H2") for the panel.

A period is a span of local days; `bounds` turns it into the UTC instants petitions are
filtered by (start included, end excluded), so a petition at 23:30 on 30 September, local
time, belongs to Q3 however the database stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar, Self
from zoneinfo import ZoneInfo

from ..errors import PetitionError

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


@dataclass(frozen=True, order=True)
class YearPart:
    """One of the `PARTS` equal parts of a calendar year, written like "2026Q3" (LETTER "Q")."""

    PARTS: ClassVar[int]
    LETTER: ClassVar[str]
    EXAMPLE: ClassVar[str]
    FIELD: ClassVar[str]  # where a period of this kind comes from, for error messages

    year: int
    number: int  # 1 to PARTS

    @classmethod
    def parse(cls, text: str, field: str | None = None) -> Self:
        """E.g. "2026Q3" or "2026-q3". Raises InvalidPeriod."""
        match = re.match(rf"^(\d{{4}})-?{cls.LETTER}([1-{cls.PARTS}])$", text.strip().upper())
        if match is None or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise InvalidPeriod(text, cls.EXAMPLE, field or cls.FIELD)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Self:
        return cls(day.year, (day.month - 1) * cls.PARTS // 12 + 1)

    def __str__(self) -> str:
        return f"{self.year}{self.LETTER}{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, (self.number - 1) * 12 // self.PARTS + 1, 1)

    @property
    def span(self) -> Span:
        return Span(self.first_day, self.next().first_day - timedelta(days=1))

    def next(self) -> Self:
        return type(self)(self.year + 1, 1) if self.number == self.PARTS else type(self)(self.year, self.number + 1)

    def previous(self) -> Self:
        return type(self)(self.year - 1, self.PARTS) if self.number == 1 else type(self)(self.year, self.number - 1)


class Quarter(YearPart):
    PARTS, LETTER, EXAMPLE, FIELD = 4, "Q", "quarter such as 2026Q3", "quarter"

    @property
    def half_year(self) -> HalfYear:
        return HalfYear(self.year, 1 if self.number <= 2 else 2)

    @property
    def label(self) -> str:
        """"2026年第三季度"."""
        return f"{self.year}年第{'一二三四'[self.number - 1]}季度"


class HalfYear(YearPart):
    PARTS, LETTER, EXAMPLE, FIELD = 2, "H", "half-year such as 2026H2", "period"

    @property
    def label(self) -> str:
        """"2026年下半年"."""
        return f"{self.year}年{'上下'[self.number - 1]}半年"

def quarter_to_date(today: date) -> tuple[date, date]:
    """From the first day of `today`'s quarter to `today`."""
    return Quarter.of(today).first_day, today
