"""The business calendar: which days are working days, and deadlines counted in them.

Public holidays and make-up working days (调休) are data: seeded from the maintained `holidays`
package (China, with its substituted working days) and overridable by an administrator. A year
the calendar has no data for falls back to weekends-only, and says so loudly (a warning in the
log, and `missing_years` for the health report) instead of silently miscounting.

Counting rule: the receipt day is day 0; a deadline of N working days is the end of the Nth
working day after it, in the configured time zone. Times go in and out in UTC.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time as dtime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import Database

from .errors import PetitionError
from .models import CalendarDay, CalendarYear

log = logging.getLogger(__name__)

UNITS = ("working_days", "calendar_days", "hours")
END_OF_DAY = dtime(23, 59, 59)


class UnknownUnit(PetitionError):
    def __init__(self, unit: str):
        self.unit = unit
        super().__init__(f"unknown deadline unit {unit!r}; use one of {', '.join(UNITS)}")


class BusinessCalendar:
    """Working days in one time zone. Pure: nothing here reads the clock or the database."""

    def __init__(self, tz: ZoneInfo, exceptions: Mapping[date, bool], years: Mapping[int, bool]):
        self.tz = tz
        self._exceptions = dict(exceptions)  # day -> is a working day
        self._years = dict(years)  # year with data -> whether the official schedule is in
        self.missing_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day.year not in self._years and day.year not in self.missing_years:
            self.missing_years.add(day.year)
            log.warning("business calendar has no holiday data for %s: counting weekends only", day.year)
        if day in self._exceptions:
            return self._exceptions[day]
        return day.weekday() < 5

    def local_day(self, moment: datetime) -> date:
        """The day `moment` falls on in the calendar's time zone."""
        return moment.astimezone(self.tz).date()

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`th working day after `day` (`day` itself when count is 0)."""
        current, remaining = day, count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        return sum(1 for offset in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=offset)))

    def deadline(self, start: datetime, amount: float, unit: str) -> datetime:
        """`amount` units after `start`. Raises UnknownUnit."""
        if unit == "hours":
            return start + timedelta(hours=amount)
        local_day = start.astimezone(self.tz).date()
        if unit == "working_days":
            day = self.add_working_days(local_day, int(amount))
        elif unit == "calendar_days":
            day = local_day + timedelta(days=int(amount))
        else:
            raise UnknownUnit(unit)
        return datetime.combine(day, END_OF_DAY, self.tz).astimezone(timezone.utc)

    @staticmethod
    def warning_time(start: datetime, due: datetime, ratio: float) -> datetime:
        """The moment `ratio` of the way from `start` to `due`."""
        return start + (due - start) * ratio

    def resume_deadline(self, due: datetime, unit: str, paused_at: datetime, now: datetime) -> datetime:
        """`due` pushed back by the time that passed since `paused_at` (the clock was stopped)."""
        if unit == "working_days":
            paused = self.working_days_between(paused_at.astimezone(self.tz).date(), now.astimezone(self.tz).date())
            return self.deadline(due, paused, unit)
        if unit in ("hours", "calendar_days"):
            return due + (now - paused_at)
        raise UnknownUnit(unit)

    def covered_years(self) -> dict[int, bool]:
        return dict(self._years)


def coverage(calendar: BusinessCalendar, today: date, days: int = 90) -> dict[str, list[int]]:
    """Years within the next `days` the calendar has no data for, and those with only the
    statutory holidays (no official schedule with its make-up days yet): a health report."""
    years = sorted({(today + timedelta(days=offset)).year for offset in range(days + 1)})
    known = calendar.covered_years()
    return {"missing": [y for y in years if y not in known], "provisional": [y for y in years if y in known and not known[y]]}


def load_calendar(session: Session, tz: ZoneInfo) -> BusinessCalendar:
    exceptions = {row.day: row.is_workday for row in session.scalars(select(CalendarDay))}
    years = {row.year: row.official for row in session.scalars(select(CalendarYear))}
    return BusinessCalendar(tz, exceptions, years)


def library_days(year: int) -> tuple[dict[date, str], dict[date, str], bool]:
    """Holidays and make-up working days of a year from the `holidays` package, and whether the
    official schedule (with its make-up days) is in it or only the fixed statutory holidays are."""
    china = holidays.country_holidays("CN", years=[year], language="zh_CN")
    days_off = {day: name for day, name in china.items() if day.year == year}
    workdays = {day: "调休上班" for day in sorted(china.weekend_workdays) if day.year == year}
    return days_off, workdays, bool(workdays)


def seed_from_library(session: Session, years: Iterable[int], now: datetime) -> dict[int, bool]:
    """Load the library's data for `years`; days an administrator set are kept as they are."""
    admin_days = set(session.scalars(select(CalendarDay.day).where(CalendarDay.source == "admin")))
    seeded = {}
    for year in years:
        days_off, workdays, official = library_days(year)
        session.execute(
            delete(CalendarDay).where(
                CalendarDay.source == "library", CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
            )
        )
        rows = {day: (name, False) for day, name in days_off.items()}
        rows.update({day: (name, True) for day, name in workdays.items()})
        for day, (name, is_workday) in rows.items():
            if day not in admin_days:
                session.add(CalendarDay(day=day, is_workday=is_workday, name=name, source="library"))
        session.merge(CalendarYear(year=year, source="library", official=official, loaded_at=now))
        seeded[year] = official
        if not official:
            log.warning("holiday library has no official %s schedule yet: only fixed statutory holidays", year)
    return seeded


def days_of_year(session: Session, year: int) -> tuple[list[CalendarDay], CalendarYear | None]:
    """The days of `year` that differ from the weekday rule, and what is known of the year."""
    days = session.scalars(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    )
    return list(days), session.get(CalendarYear, year)


def set_day(session: Session, day: date, is_workday: bool, name: str, now: datetime) -> CalendarDay:
    """An administrator's decision about one day; it wins over the library's."""
    row = session.merge(CalendarDay(day=day, is_workday=is_workday, name=name, source="admin"))
    if session.get(CalendarYear, day.year) is None:
        session.add(CalendarYear(year=day.year, source="admin", official=False, loaded_at=now))
    return row


def remove_day(session: Session, day: date) -> bool:
    """Undo an administrator's decision about a day: the library's entry for it, if any, applies
    again, else the weekday rule. Returns whether there was a decision to undo."""
    removed = session.execute(delete(CalendarDay).where(CalendarDay.day == day, CalendarDay.source == "admin")).rowcount
    days_off, workdays, _ = library_days(day.year)
    if removed and (day in days_off or day in workdays):
        name, is_workday = (workdays[day], True) if day in workdays else (days_off[day], False)
        session.add(CalendarDay(day=day, is_workday=is_workday, name=name, source="library"))
    return removed > 0


class CalendarCache:
    """The calendar scripts use, reloaded after `ttl` seconds or when told it changed.

    Script functions run inside a step and have no session, so they read through this cache.
    """

    def __init__(self, db: Database, tz: ZoneInfo, ttl: float = 300.0, monotonic: Callable[[], float] = time.monotonic):
        self._db, self._tz, self._ttl, self._monotonic = db, tz, ttl, monotonic
        self._calendar: BusinessCalendar | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> BusinessCalendar:
        with self._lock:
            if self._calendar is None or self._monotonic() - self._loaded_at > self._ttl:
                with self._db.read() as session:
                    self._calendar = load_calendar(session, self._tz)
                self._loaded_at = self._monotonic()
            return self._calendar

    def invalidate(self) -> None:
        with self._lock:
            self._calendar = None
