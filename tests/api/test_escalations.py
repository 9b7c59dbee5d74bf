"""Escalations over HTTP: petitions driven past their deadlines by moving the clock and
sweeping timers, then listed, filtered, scoped and acknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from engine import HumanTask, InstanceEvent, fire_due_timers
from engine.models import PENDING_TASK_STATUSES
from workflows.petitions import Submission

# Monday 14 September 2026, 10:00 in Shanghai: the calendar fixture seeds 2026 and 2027.
START = datetime(2026, 9, 14, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock():
    """Frozen before the reference data is seeded, so its calendar covers START."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def open_task(db, instance_id: int, spec: str) -> str:
    with db.read() as session:
        return session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.task_spec == spec,
            HumanTask.status.in_(PENDING_TASK_STATUSES))).one()


def handled_by(app, db, department: str) -> int:
    """A critical complaint (2 hours to handle), dispatched to `department` and signed for."""
    domain = app.extensions["minyi"].domain
    with db.write() as session:
        petition = domain.petitions.submit(session, Submission(
            type="complaint", urgency="critical", title=f"路灯不亮 {department}", body="整条街的路灯都不亮了。")).petition
    for spec, data in (("triage_petition", {"decision": "dispatch", "department": department}),
                       ("sign_for", {"sign_decision": "sign"})):
        with db.write() as session:
            domain.petitions.complete_task(session, open_task(db, petition.instance_id, spec), data, "staff")
    return petition.id


def sweep(app, db, clock, delta: timedelta) -> None:
    """Move the clock and fire every due timer, as the scheduler would."""
    clock.shift(delta)
    now = datetime.now(timezone.utc)
    while fire_due_timers(db, app.extensions["minyi"].engine, now):
        pass


@pytest.fixture
def overdue(app, db, clock, reference_data):
    """Two petitions 3 hours into a 2-hour limit: each has a warning and an urge."""
    ids = {"D01": handled_by(app, db, "D01"), "D02": handled_by(app, db, "D02")}
    sweep(app, db, clock, timedelta(hours=3))
    return ids


def listing(client, headers, **query):
    response = client.get("/api/v1/escalations", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_overdue_petitions_are_listed_with_filters(client, as_staff, overdue):
    supervisor = as_staff("supervisor")
    everything = listing(client, supervisor)
    assert everything["total"] == 4
    assert {(e["level"], e["department_code"]) for e in everything["items"]} == {
        ("warning", "D01"), ("urge", "D01"), ("warning", "D02"), ("urge", "D02")}
    first = everything["items"][0]
    assert first["tracking_no"].startswith("MY20260914") and first["title"].startswith("路灯不亮")
    assert first["deadline"] == "2026-09-14T04:00:00+00:00" and first["acknowledged_at"] is None

    assert {e["level"] for e in listing(client, supervisor, level="urge")["items"]} == {"urge"}
    assert {e["department_code"] for e in listing(client, supervisor, department="D02")["items"]} == {"D02"}
    assert {e["petition_id"] for e in listing(client, supervisor, petition=overdue["D01"])["items"]} == {overdue["D01"]}
    page = listing(client, supervisor, page=2, page_size=3)
    assert (page["total"], len(page["items"]), page["page"]) == (4, 1, 2)


def test_later_rungs_come_with_time(app, db, clock, client, as_staff, overdue):
    sweep(app, db, clock, timedelta(days=2))  # past the end of the next working day: a supervision order
    levels = [e["level"] for e in listing(client, as_staff("admin"), department="D01")["items"]]
    assert sorted(levels) == ["order", "urge", "warning"]


def test_acknowledge_once(client, as_staff, overdue, db):
    supervisor = as_staff("supervisor")
    target = listing(client, supervisor, level="urge", department="D01")["items"][0]
    url = f"/api/v1/escalations/{target['id']}/acknowledge"
    done = client.post(url, headers=supervisor)
    assert done.status_code == 200
    assert done.get_json()["acknowledged_by"] == "supervisor-all"
    assert done.get_json()["acknowledged_at"] == START.replace(hour=5).isoformat()

    with db.read() as session:
        logged = session.scalars(select(InstanceEvent).where(InstanceEvent.kind == "escalation_acknowledged")).one()
    assert (logged.actor, logged.data) == ("supervisor-all", {"escalation_id": target["id"], "level": "urge"})

    again = client.post(url, headers=as_staff("admin"))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "supervisor-all" in again.get_json()["detail"]
    assert [e["id"] for e in listing(client, supervisor, state="acknowledged")["items"]] == [target["id"]]
    assert target["id"] not in [e["id"] for e in listing(client, supervisor, state="open")["items"]]
    assert listing(client, supervisor, state="open")["total"] == 3


def test_unknown_escalation_is_404(client, as_staff, overdue):
    response = client.post("/api/v1/escalations/999999/acknowledge", headers=as_staff("supervisor"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_handler_sees_only_its_department_and_cannot_acknowledge(client, as_staff, overdue):
    handler = as_staff("handler", "D01")
    own = listing(client, handler)
    assert own["total"] == 2 and {e["department_code"] for e in own["items"]} == {"D01"}
    assert listing(client, handler, department="D02")["total"] == 2, "asking for another department changes nothing"
    response = client.post(f"/api/v1/escalations/{own['items'][0]['id']}/acknowledge", headers=handler)
    assert response.status_code == 403


@pytest.mark.parametrize("query", [{"level": "panic"}, {"state": "closed"}, {"page_size": 1000}, {"petition": "x"},
                                   {"petition": 10**20}])
def test_bad_filters_are_422(client, as_staff, reference_data, query):
    response = client.get("/api/v1/escalations", query_string=query, headers=as_staff("supervisor"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
