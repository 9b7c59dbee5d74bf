"""Working-day deadlines on the business calendar, across the 2026 National Day holiday."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from workflows.calendar import UnknownUnit, load_calendar, remove_day, seed_from_library, set_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 1, tzinfo=timezone.utc)


def local(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI).astimezone(timezone.utc)


@pytest.fixture
def calendar(db):
    with db.write() as session:
        seeded = seed_from_library(session, [2026, 2027], NOW)
    assert seeded == {2026: True, 2027: False}, "2026's official schedule is in the library, 2027's is not yet"
    with db.read() as session:
        return load_calendar(session, SHANGHAI)


@pytest.mark.parametrize(
    "received,amount,due",
    [
        (local(2026, 9, 30), 1, end_of(2026, 10, 8)),  # Oct 1-7 off: 1-3, 5 holidays, 6-7 swapped rest days
        (local(2026, 9, 18), 2, end_of(2026, 9, 21)),  # Sunday Sep 20 is a make-up working day
        (local(2026, 10, 8), 2, end_of(2026, 10, 10)),  # so is Saturday Oct 10
        (local(2026, 10, 1), 1, end_of(2026, 10, 8)),  # received on a holiday: still day 0
        (local(2026, 9, 24), 15, end_of(2026, 10, 22)),  # Mid-Autumn Sep 25 and the whole Golden Week
        (local(2026, 9, 30, 23, 30), 0, end_of(2026, 9, 30)),  # day 0 is the receipt day, local time
    ],
)
def test_working_day_deadlines_across_national_day(calendar, received, amount, due):
    assert calendar.deadline(received.astimezone(timezone.utc), amount, "working_days") == due


def test_receipt_day_is_counted_in_local_time(calendar):
    # 15:30 UTC on Oct 8 is 23:30 on Thursday Oct 8 in Shanghai; 16:30 UTC is already Friday Oct 9.
    assert calendar.deadline(datetime(2026, 10, 8, 15, 30, tzinfo=timezone.utc), 1, "working_days") == end_of(2026, 10, 9)
    assert calendar.deadline(datetime(2026, 10, 8, 16, 30, tzinfo=timezone.utc), 1, "working_days") == end_of(2026, 10, 10)


def test_calendar_days_hours_and_unknown_units(calendar):
    start = local(2026, 9, 30).astimezone(timezone.utc)
    assert calendar.deadline(start, 15, "calendar_days") == end_of(2026, 10, 15)
    assert calendar.deadline(start, 0.25, "hours") == local(2026, 9, 30, 10, 15).astimezone(timezone.utc)
    with pytest.raises(UnknownUnit):
        calendar.deadline(start, 1, "fortnights")


def test_pause_pushes_the_deadline_by_the_working_days_it_lasted(calendar):
    due = end_of(2026, 10, 12)
    paused, resumed = local(2026, 9, 29), local(2026, 10, 9)  # Sep 30, Oct 8, Oct 9 are working days
    assert calendar.resume_deadline(due, "working_days", paused.astimezone(timezone.utc), resumed.astimezone(timezone.utc)) == end_of(2026, 10, 15)
    same_day = calendar.resume_deadline(due, "working_days", local(2026, 10, 9, 9).astimezone(timezone.utc), resumed.astimezone(timezone.utc))
    assert same_day == due


def test_a_year_without_data_falls_back_to_weekends_and_says_so(calendar, caplog):
    with caplog.at_level(logging.WARNING, logger="workflows.calendar"):
        due = calendar.deadline(local(2031, 10, 1).astimezone(timezone.utc), 2, "working_days")
    assert due == end_of(2031, 10, 3)  # Wednesday + 2 = Friday: National Day unknown for 2031
    assert calendar.missing_years == {2031}
    assert any("2031" in r.getMessage() and "weekends only" in r.getMessage() for r in caplog.records)


def test_administrator_overrides_win_and_survive_reseeding(db):
    with db.write() as session:
        seed_from_library(session, [2026], NOW)
        set_day(session, date(2026, 10, 8), False, "台风停工", NOW)
        set_day(session, date(2026, 10, 6), True, "临时上班", NOW)
    with db.write() as session:
        seed_from_library(session, [2026], NOW)  # the library must not undo the administrator
    with db.read() as session:
        calendar = load_calendar(session, SHANGHAI)
    assert calendar.deadline(local(2026, 9, 30).astimezone(timezone.utc), 1, "working_days") == end_of(2026, 10, 6)
    with db.write() as session:
        assert remove_day(session, date(2026, 10, 6)) is True
    with db.read() as session:
        calendar = load_calendar(session, SHANGHAI)
    assert calendar.deadline(local(2026, 9, 30).astimezone(timezone.utc), 1, "working_days") == end_of(2026, 10, 9)


def test_coverage_reports_missing_and_provisional_years(calendar):
    from workflows.calendar import coverage

    assert coverage(calendar, date(2026, 11, 25)) == {"missing": [], "provisional": [2027]}
    assert coverage(calendar, date(2027, 11, 25)) == {"missing": [2028], "provisional": [2027]}
    assert coverage(calendar, date(2026, 3, 1)) == {"missing": [], "provisional": []}
