"""Department KPIs against hand-computed figures of a scripted week (tests/api/kpi_history.py),
the minimum-sample rule, and the fact table rebuilt from the audit log."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from tests.api.drive import Desk
from tests.api.kpi_history import D01, D02, MONDAY, THURSDAY, live_week
from workflows.evaluation import Rate, department_kpis, department_table
from workflows.evaluation.facts import rebuild
from workflows.evaluation.models import KpiAssignment

WEEK = (date(2026, 9, 14), date(2026, 9, 20))


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(app, client, as_staff, clock, reference_data):
    return live_week(app, Desk(client, as_staff), clock)


def figures(kpis, expected: dict) -> dict:
    """The KPIs named in `expected`, rates as (numerator, denominator)."""
    got = {}
    for name in expected:
        value = getattr(kpis, name)
        got[name] = (value.numerator, value.denominator) if isinstance(value, Rate) else value
    return got


def test_the_week_gives_the_hand_computed_figures(db, week):
    with db.read() as session:
        table = department_table(session, *WEEK, min_sample=1, now=THURSDAY)
        one = department_kpis(session, "D01", *WEEK, min_sample=1, now=THURSDAY)
    rows = {row.department_code: row for row in table.departments}
    assert list(rows) == ["D01", "D02", "D03"]
    assert figures(rows["D01"], D01) == D01 and one == rows["D01"]
    assert figures(rows["D02"], D02) == D02
    assert rows["D03"].petitions == 0 and rows["D03"].satisfaction.value is None
    city = table.city
    assert (city.department_code, city.department_name, city.petitions) == (None, "全市", 7)
    assert (city.on_time_sign.numerator, city.on_time_sign.denominator) == (6, 7)
    assert city.return_.value == pytest.approx(1 / 7) and city.open_overdue == 2
    assert rows["D01"].satisfaction.value == pytest.approx(2 / 3)


def test_below_the_minimum_sample_a_rate_is_insufficient_never_100_percent(db, week):
    with db.read() as session:
        default = department_table(session, *WEEK, now=THURSDAY)
        three = department_table(session, *WEEK, min_sample=3, now=THURSDAY)
    assert default.min_sample == 10
    assert all(getattr(default.city, name).value is None for name in ("on_time_sign", "satisfaction", "return_"))
    d01, d02 = three.departments[:2]
    assert d01.satisfaction.sufficient and d01.satisfaction.value == pytest.approx(2 / 3)
    assert (d02.on_time_sign.numerator, d02.on_time_sign.denominator, d02.on_time_sign.value) == (1, 1, None)
    assert not d02.on_time_sign.sufficient


def test_other_periods_do_not_see_the_week(db, week):
    with db.read() as session:
        before = department_table(session, date(2026, 9, 1), date(2026, 9, 13), min_sample=1, now=THURSDAY)
    assert before.city.petitions == 0 and before.city.avg_reply_days is None
    assert before.city.open_overdue == 2  # open overdue is about now, not about the period


def test_rebuilding_from_the_audit_log_gives_the_same_facts(app, db, week):
    def facts():
        with db.read() as session:
            rows = session.scalars(select(KpiAssignment).order_by(KpiAssignment.petition_id, KpiAssignment.id))
            return [{k: v for k, v in vars(row).items() if k not in ("_sa_instance_state", "id")} for row in rows]

    live = facts()
    with db.write() as session:
        assert rebuild(session, app.extensions["minyi"].domain.calendar.get()) == len(live) == 7
    assert facts() == live
