"""Every fixture process deployed, started and driven to its end through the real engine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from engine import InstanceEvent, InstanceStatus, Timer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def last_task_data(db, engine, instance_id):
    """Data of the most recently completed task (the workflow's end state)."""
    with db.read() as session:
        workflow = engine.load_workflow(session, engine.get_instance(session, instance_id))
        return workflow.last_task.data


def test_lanes_and_loop(deploy, step, engine, pending, db, clock):
    deploy("lanes_loop.bpmn")
    instance = step(engine.start, "review_loop", {"department": "D01"}, "alice")
    tasks = pending(instance.id)
    assert list(tasks) == ["submit"] and tasks["submit"].lane == "requester"
    for round_no in (1, 2):
        step(engine.complete_task, pending(instance.id)["submit"].id, {}, "alice")
        review = pending(instance.id)["review"]
        assert (review.lane, review.department, review.form) == ("reviewer", "D01", "review_form")
        step(engine.complete_task, review.id, {"approved": round_no == 2}, "bob")
    final = step(engine.get_instance, instance.id)
    assert final.status is InstanceStatus.COMPLETED and pending(instance.id) == {}
    assert last_task_data(db, engine, instance.id)["rounds"] == 1


def test_parallel_split_and_join(deploy, step, engine, pending, db, clock):
    deploy("parallel.bpmn")
    instance = step(engine.start, "parallel_review", {}, "alice")
    tasks = pending(instance.id)
    assert set(tasks) == {"legal_check", "finance_check"}
    step(engine.complete_task, tasks["legal_check"].id, {"legal": "ok"}, "a")
    assert set(pending(instance.id)) == {"finance_check"}
    assert step(engine.get_instance, instance.id).status is InstanceStatus.RUNNING
    step(engine.complete_task, tasks["finance_check"].id, {"finance": "ok"}, "b")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    assert last_task_data(db, engine, instance.id)["both_done"] is True


def timers_of(db, instance_id):
    with db.read() as session:
        return {t.task_spec: t for t in session.scalars(select(Timer).where(Timer.instance_id == instance_id))}


def test_non_interrupting_boundary_timer_then_intermediate_timer(deploy, step, engine, pending, db, clock):
    deploy("timers.bpmn")
    instance = step(engine.start, "timer_escalation", {"department": "D02"}, "alice")
    timers = timers_of(db, instance.id)
    assert set(timers) == {"reminder", "deadline"}
    assert timers["reminder"].due_at == T0 + timedelta(hours=1)
    assert timers["deadline"].due_at == T0 + timedelta(days=1)

    clock.shift(timedelta(minutes=59))
    assert step(engine.fire_timer, timers["reminder"].id) is None, "not due yet: nothing runs"
    assert set(timers_of(db, instance.id)) == {"reminder", "deadline"}, "fired before it was due"

    clock.shift(timedelta(minutes=2))
    step(engine.fire_timer, timers["reminder"].id)
    assert set(timers_of(db, instance.id)) == {"deadline"}
    assert set(pending(instance.id)) == {"work"}, "a non-interrupting timer leaves the task open"

    step(engine.complete_task, pending(instance.id)["work"].id, {}, "alice")
    timers = timers_of(db, instance.id)
    assert set(timers) == {"cool_off"}, "completing the task cancels its boundary timer"
    assert timers["cool_off"].due_at == T0 + timedelta(minutes=61 + 30)
    clock.shift(timedelta(minutes=31))
    step(engine.fire_timer, timers["cool_off"].id)
    step(engine.complete_task, pending(instance.id)["confirm"].id, {}, "alice")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    data = last_task_data(db, engine, instance.id)
    assert data.get("reminded") is True


def test_interrupting_boundary_timer_cancels_the_task(deploy, step, engine, pending, db, clock, audit_log):
    deploy("timers.bpmn")
    instance = step(engine.start, "timer_escalation", {"department": "D02"}, "alice")
    work = pending(instance.id)["work"]
    clock.shift(timedelta(minutes=61))
    step(engine.fire_timer, timers_of(db, instance.id)["reminder"].id)
    clock.shift(timedelta(days=1))
    step(engine.fire_timer, timers_of(db, instance.id)["deadline"].id)
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    assert pending(instance.id) == {}
    kinds = [e.kind for e in audit_log(instance.id)]
    assert kinds.count("timer_fired") == 2 and "task_cancelled" in kinds and kinds[-1] == "completed"
    assert timers_of(db, instance.id) == {}
    with db.read() as session:
        from engine import HumanTask

        assert session.get(HumanTask, work.id).status.value == "cancelled"


def test_call_activity_runs_the_called_process(deploy, step, engine, pending, db, clock):
    deploy("call_activity.bpmn", "called.bpmn")
    instance = step(engine.start, "parent_process", {}, "alice")
    assert set(pending(instance.id)) == {"child_task"}
    step(engine.complete_task, pending(instance.id)["child_task"].id, {"note": "done"}, "alice")
    after = pending(instance.id)["after_child"]
    step(engine.complete_task, after.id, {}, "alice")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    assert last_task_data(db, engine, instance.id)["value"] == 11


@pytest.mark.parametrize("amount,level,approval", [(250, "low", False), (5000, "high", True)])
def test_business_rule_task_uses_the_dmn_decision(deploy, step, engine, pending, db, clock, amount, level, approval):
    deploy("decision.bpmn", "risk.dmn")
    instance = step(engine.start, "decide", {}, "alice")
    step(engine.complete_task, pending(instance.id)["enter_amount"].id, {"amount": amount}, "alice")
    assert ("approve_high" in pending(instance.id)) is approval
    if approval:
        step(engine.complete_task, pending(instance.id)["approve_high"].id, {}, "boss")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    assert last_task_data(db, engine, instance.id)["level"] == level


def test_message_catch_and_throw(deploy, step, engine, pending, db, clock):
    deploy("messages.bpmn")
    first = step(engine.start, "message_wait", {}, "alice", business_key="case-1")
    other = step(engine.start, "message_wait", {}, "alice", business_key="case-2")
    for inst in (first, other):
        step(engine.complete_task, pending(inst.id)["request"].id, {}, "alice")
    assert step(engine.get_instance, first.id).status is InstanceStatus.WAITING

    delivered = step(engine.correlate_message, "answer", {"business_key": "case-1"}, {"text": "yes"}, "citizen")
    assert [i.id for i in delivered] == [first.id]
    assert step(engine.get_instance, other.id).status is InstanceStatus.WAITING
    step(engine.complete_task, pending(first.id)["process_answer"].id, {}, "alice")
    assert step(engine.get_instance, first.id).status is InstanceStatus.COMPLETED
    with db.read() as session:
        sent = session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == first.id, InstanceEvent.kind == "message_sent")
        ).one()
    assert sent.data["name"] == "answered" and sent.data["payload"] == {"done": True}
    assert last_task_data(db, engine, first.id)["answer"] == {"text": "yes"}


def test_message_without_waiting_instance_is_refused(deploy, step, engine, pending, clock):
    from engine import NoMessageWaiting

    deploy("messages.bpmn")
    step(engine.start, "message_wait", {}, "alice", business_key="case-1")  # still at `request`
    with pytest.raises(NoMessageWaiting):
        step(engine.correlate_message, "answer", {"business_key": "case-1"}, {}, "citizen")


@pytest.mark.parametrize("ok,end_spec", [(True, None), (False, "supervise")])
def test_escalation_event_from_subprocess(deploy, step, engine, pending, clock, ok, end_spec):
    deploy("escalation.bpmn")
    instance = step(engine.start, "escalating", {}, "alice")
    step(engine.complete_task, pending(instance.id)["attempt"].id, {"ok": ok}, "alice")
    if end_spec:
        assert set(pending(instance.id)) == {end_spec}
        step(engine.complete_task, pending(instance.id)[end_spec].id, {}, "boss")
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED


def test_state_is_stored_without_spec(deploy, step, engine, db, clock):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    with db.read() as session:
        state = json.loads(engine.get_instance(session, instance.id).state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert state["format"] == 1
