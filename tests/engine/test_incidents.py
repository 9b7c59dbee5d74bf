"""A failing step leaves the state untouched, marks the instance `error` with an incident,
and `retry` runs it again once the cause is fixed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from engine import (
    Definitions,
    Engine,
    Incident,
    InstanceEvent,
    InstanceNotRunnable,
    InstanceStatus,
    RetryPolicy,
    ScriptRegistry,
    Timer,
    fire_due_timers,
)

from tests.conftest import ENGINE_DATA


def incidents(db, instance_id):
    with db.read() as session:
        return list(session.scalars(select(Incident).where(Incident.instance_id == instance_id).order_by(Incident.id)))


def test_failing_script_at_start_then_retry_with_fixed_data(deploy, step, engine, pending, db):
    deploy("script_error.bpmn")
    instance = step(engine.start, "fragile", {"divisor": 0}, "alice")
    assert instance.status is InstanceStatus.ERROR
    [incident] = incidents(db, instance.id)
    assert incident.action == "start" and incident.task_spec == "divide"
    assert "division by zero" in incident.message and incident.resolved_at is None
    assert pending(instance.id) == {}
    again = step(engine.retry, instance.id, "admin")  # the cause is not fixed: it fails again
    assert again.status is InstanceStatus.ERROR
    first, second = incidents(db, instance.id)
    assert first.resolved_by == "admin" and second.resolved_at is None


def test_retry_after_fix(deploy, step, engine, pending, db):
    deploy("script_error.bpmn")
    instance = step(engine.start, "fragile", {"divisor": 0}, "alice")
    retried = step(engine.retry, instance.id, "admin", {"divisor": 4})
    assert retried.status is InstanceStatus.RUNNING
    assert set(pending(instance.id)) == {"show_result"}
    [incident] = incidents(db, instance.id)
    assert incident.resolved_by == "admin"
    with db.read() as session:
        workflow = engine.load_workflow(session, engine.get_instance(session, instance.id))
        assert workflow.get_next_task(spec_name="show_result").data["result"] == 25
    with pytest.raises(InstanceNotRunnable):
        step(engine.retry, instance.id, "admin")


def test_failure_while_completing_a_task_rolls_the_step_back(deploy, step, engine, pending, audit_log):
    deploy("lanes_loop.bpmn")
    instance = step(engine.start, "review_loop", {}, "alice")  # no `department`: the review task's expression fails
    submit = pending(instance.id)["submit"]
    before = step(engine.get_instance, instance.id)
    failed = step(engine.complete_task, submit.id, {"title": "x"}, "alice")
    assert failed.status is InstanceStatus.ERROR
    assert set(pending(instance.id)) == {"submit"}, "the completion was rolled back"
    assert step(engine.get_instance, instance.id).state == before.state
    with pytest.raises(InstanceNotRunnable):
        step(engine.complete_task, submit.id, {}, "alice")
    step(engine.retry, instance.id, "admin", {"department": "D09"})
    assert pending(instance.id)["review"].department == "D09"
    kinds = [e.kind for e in audit_log(instance.id)]
    assert kinds[kinds.index("failed"):] == ["failed", "retried", "task_completed", "task_created"]


def test_terminate_cancels_everything(deploy, step, engine, pending, db):
    deploy("timers.bpmn")
    instance = step(engine.start, "timer_escalation", {"department": "D1"}, "alice")
    step(engine.terminate, instance.id, "admin", "duplicate")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.TERMINATED
    assert pending(instance.id) == {}
    with db.read() as session:
        assert session.scalars(select(Timer).where(Timer.instance_id == instance.id)).first() is None
    with pytest.raises(InstanceNotRunnable):
        step(engine.terminate, instance.id, "admin", "again")


def events_of(db, instance_id, kind):
    with db.read() as session:
        return session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == instance_id, InstanceEvent.kind == kind)
        ).all()


def test_failing_timer_is_retried_with_backoff_then_becomes_an_incident(deploy, step, db, pending):
    failing = (ENGINE_DATA / "timers.bpmn").read_bytes().replace(b"reminded = True", b"reminded = 1 / flag")
    engine = Engine(Definitions(), ScriptRegistry(), timer_retry=RetryPolicy(3, timedelta(seconds=30), 2))
    with db.write() as session:
        engine.definitions.deploy(session, [("timers.bpmn", failing)])
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def sweep_at(moment):
        clock.move_to(moment)
        fire_due_timers(db, engine, moment)

    def reminder():
        with db.read() as session:
            return session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.task_spec == "reminder")).one()

    with time_machine.travel(t0, tick=False) as clock:
        instance = step(engine.start, "timer_escalation", {"department": "D1", "flag": 0}, "alice")
        due = t0 + timedelta(hours=1, seconds=1)
        sweep_at(due)
        assert (reminder().attempts, reminder().run_at) == (1, due + timedelta(seconds=30))
        assert "division by zero" in reminder().last_error
        assert step(engine.get_instance, instance.id).status is InstanceStatus.RUNNING, "not an incident yet"
        sweep_at(due + timedelta(seconds=29))
        assert reminder().attempts == 1, "tried again before its backoff ran out"
        sweep_at(due + timedelta(seconds=30))
        assert (reminder().attempts, reminder().run_at) == (2, due + timedelta(seconds=90))
        sweep_at(due + timedelta(seconds=90))
        assert step(engine.get_instance, instance.id).status is InstanceStatus.ERROR
        assert incidents(db, instance.id)[0].action == "timer"
        sweep_at(due + timedelta(hours=2))
        assert len(events_of(db, instance.id, "timer_failed")) == 2 and len(incidents(db, instance.id)) == 1
        step(engine.retry, instance.id, "admin", {"flag": 2})
        assert step(engine.get_instance, instance.id).status is InstanceStatus.RUNNING
        assert set(pending(instance.id)) == {"work"}
    assert len(events_of(db, instance.id, "timer_fired")) == 1
