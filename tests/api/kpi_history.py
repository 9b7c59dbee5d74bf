"""A scripted week of petitions with hand-computed KPIs, driven through the real processes
over the API with a moved clock (used by the KPI and department-report tests).

Consultations: sign-for within 1 working day, reply within 2. Received Monday 14 September
2026, 10:00 in Shanghai, so signing is due at the end of Tuesday 15, the reply at the end of
Wednesday 16. The week is read on Thursday 17, 10:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from engine import fire_due_timers
from tests.api.drive import Citizen, Desk

MONDAY = datetime(2026, 9, 14, 2, 0, tzinfo=timezone.utc)
THURSDAY = MONDAY + timedelta(days=3)


@dataclass
class History:
    on_time: Citizen  # signed, replied the same day, rated 5, solved
    late: Citizen  # replied on Thursday (late), rated 2, unsolved: reopened
    returned: Citizen  # returned by D02, then dispatched to D01 and signed, never replied: overdue
    extended: Citizen  # two more working days granted, replied on Thursday (on time), rated 4
    deemed: Citizen  # never signed: deemed signed (late) when the limit passed; overdue
    unrated: Citizen  # replied the same day, not rated (yet)


def sweep_to(app, clock, moment: datetime) -> None:
    """Move the clock and fire every due timer, as the scheduler would."""
    clock.move_to(moment)
    domain = app.extensions["minyi"].domain
    while fire_due_timers(domain.db, domain.engine, moment):
        pass


def live_week(app, desk: Desk, clock) -> History:
    """Drive the six petitions of the week (the clock must stand at MONDAY)."""
    submit = lambda: desk.submit(type="consultation")  # noqa: E731
    h = History(*(submit() for _ in range(6)))
    desk.dispatch(h.on_time)
    desk.reply(h.on_time)
    h.on_time.feedback(rating=5, solved=True)
    desk.dispatch(h.late)
    desk.do("dispatcher", h.returned.tracking_no, "triage_petition", {"decision": "dispatch", "department": "D02"})
    desk.do("handler:D02", h.returned.tracking_no, "sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"})
    desk.dispatch(h.returned)
    desk.dispatch(h.extended)
    desk.do("handler:D01", h.extended.tracking_no, "handle",
            {"action": "extend", "extension_days": 2, "extension_reason": "需现场勘查"})
    desk.do("supervisor", h.extended.tracking_no, "approve_extension", {"extension_approved": True, "granted_days": 2})
    desk.dispatch(h.deemed, sign=False)
    desk.dispatch(h.unrated)
    desk.reply(h.unrated)
    sweep_to(app, clock, THURSDAY)
    desk.reply(h.late)
    assert h.late.feedback(rating=2, solved=False).status_code == 200
    desk.reply(h.extended)
    assert h.extended.feedback(rating=4, solved=True).status_code == 200
    return h


# What the week's figures must be, counted by hand from the histories above (now = THURSDAY).
D01 = {
    "petitions": 6,
    "on_time_sign": (5, 6),  # all but the deemed one
    "on_time_completion": (3, 6),  # replied on time: on_time, extended, unrated; late: late, and returned, deemed (open, overdue)
    "response": (4, 6),
    "resolution": (2, 3),  # solved: on_time, extended; not: late
    "satisfaction": (2, 3),  # 5 and 4 among 5, 2, 4
    "reopen": (1, 4),
    "return_": (0, 6),
    "extension": (1, 6),
    "avg_reply_days": 1.5,  # 0, 3 (Mon→Thu), 3, 0
    "p90_reply_days": 3.0,
    "urges": 3,  # late, returned, deemed: past their deadline on Wednesday night
    "supervision_orders": 0,
    "public_notices": 0,
    "open_overdue": 2,  # returned, deemed (late was reopened with a fresh deadline)
}
D02 = {"petitions": 1, "on_time_sign": (1, 1), "return_": (1, 1), "on_time_completion": (0, 0), "response": (0, 0)}
