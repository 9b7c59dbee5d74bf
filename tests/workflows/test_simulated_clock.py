"""A petition domain on a clock of its own, behind the wall clock (as `minyi demo` replays the
past): deadlines pass, and the escalation ladder climbs, only as that clock moves."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine import fire_due_timers
from tests.workflows.conftest import START, Case
from tests.workflows.test_paths import dispatch, escalation_levels, sign
from workflows.demo import SimulatedClock
from workflows.domain import create_domain
from workflows.models import Escalation
from workflows.petitions import Submission


def test_a_clock_behind_the_wall_clock_escalates_on_its_own_time(domain, db):
    own = SimulatedClock(START - timedelta(days=40))  # every rung of this petition is due before the wall clock
    past = create_domain(db, clock=own, script_time_limit=0.5)
    with db.write() as session:
        submitted = past.petitions.submit(session, Submission(
            type="complaint", title="小区门口道路破损", body="某某路12号小区门口路面塌陷，雨天积水严重。", contact_phone="13800000000"))
    case = Case(past, own, submitted.petition.id, submitted.access_token)
    dispatch(case)
    sign(case)
    assert case.petition().status.value == "handling"
    assert escalation_levels(past) == [], "nothing is overdue yet on the domain's clock"

    fired_at: dict[str, datetime] = {}
    while len(escalation_levels(past)) < 4 and own.now < START:
        own.now += timedelta(hours=6)
        fire_due_timers(db, past.engine, own.now)
        fired_at.update({level: own.now for level in escalation_levels(past) if level not in fired_at})
    assert escalation_levels(past) == ["warning", "urge", "order", "notice"]
    with db.read() as session:
        for escalation in session.scalars(select(Escalation)):
            assert fired_at[escalation.level] - timedelta(hours=6) < escalation.created_at <= fired_at[escalation.level]
            if escalation.level != "warning":
                assert escalation.created_at > escalation.deadline, f"{escalation.level} dated before its deadline"
