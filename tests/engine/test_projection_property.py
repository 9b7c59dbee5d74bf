"""Property: after every step of any random path, the projection tables say exactly what a
full load of every instance says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import (
    ConflictError,
    Definitions,
    Engine,
    HumanTask,
    InstanceStatus,
    MessageWait,
    NoMessageWaiting,
    ProcessInstance,
    ScriptRegistry,
    Timer,
    fire_due_timers,
)
from engine.models import PENDING_TASK_STATUSES
from tests.conftest import ENGINE_DATA, empty_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
FILES = ["lanes_loop.bpmn", "parallel.bpmn", "timers.bpmn", "call_activity.bpmn", "called.bpmn", "decision.bpmn",
         "risk.dmn", "messages.bpmn", "escalation.bpmn", "four_tasks.bpmn", "script_error.bpmn"]
PROCESSES = ["review_loop", "parallel_review", "timer_escalation", "parent_process", "decide", "message_wait",
             "escalating", "four_tasks", "fragile"]
task_data = st.fixed_dictionaries(
    {"approved": st.booleans(), "ok": st.booleans(), "amount": st.integers(0, 2000), "note": st.text(max_size=5)}
)


def expected_projections(engine, session):
    """What the projection tables must hold, computed from a full load of every instance."""
    ready, timers, messages = set(), {}, set()
    for instance in session.scalars(select(ProcessInstance)):
        if instance.status is InstanceStatus.TERMINATED:
            continue
        workflow = engine.load_workflow(session, instance)
        ready |= {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        for task in workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            if isinstance(definition, TimerEventDefinition):
                due = TimerEventDefinition.get_datetime(definition.details(task).value)
                timers[str(task.id)] = due
            elif isinstance(definition, MessageEventDefinition):
                messages.add((str(task.id), definition.name))
    return ready, timers, messages


def actual_projections(session):
    ready = set(session.scalars(select(HumanTask.id).where(HumanTask.status.in_(PENDING_TASK_STATUSES))))
    timers = {t.task_id: t.due_at for t in session.scalars(select(Timer))}
    messages = {(m.task_id, m.message_name) for m in session.scalars(select(MessageWait))}
    return ready, timers, messages


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_projections_match_a_full_load_after_every_step(shared_database, data):
    db = shared_database
    empty_database(db)
    engine = Engine(Definitions(), ScriptRegistry(), script_time_limit=0.5)
    with db.write() as session:
        engine.definitions.deploy(session, [(f, (ENGINE_DATA / f).read_bytes()) for f in FILES])
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(data.draw(st.integers(3, 20), label="steps")):
            action = data.draw(st.sampled_from(["start", "complete", "complete", "time", "message"]), label="action")
            with db.write() as session:
                pending = list(session.scalars(  # ordered by what replays identically (not by random task ids)
                    select(HumanTask.id).where(HumanTask.status.in_(PENDING_TASK_STATUSES))
                    .order_by(HumanTask.instance_id, HumanTask.task_spec)
                ))
                waits = list(session.scalars(select(MessageWait.instance_id).order_by(MessageWait.id)))
            try:
                if action == "start" or not pending and action == "complete":
                    key = data.draw(st.sampled_from(PROCESSES), label="process")
                    start_data = {"department": "D1", "divisor": data.draw(st.sampled_from([0, 4]), label="divisor")}
                    with db.write() as session:
                        engine.start(session, key, start_data, "alice")
                elif action == "complete":
                    task_id = pending[data.draw(st.integers(0, 100), label="task") % len(pending)]
                    with db.write() as session:
                        engine.complete_task(session, task_id, data.draw(task_data, label="data"), "bob")
                elif action == "time":
                    clock.shift(timedelta(minutes=data.draw(st.sampled_from([20, 45, 70, 60 * 25, 60 * 50]), label="minutes")))
                    fire_due_timers(db, engine, datetime.now(timezone.utc))
                elif waits:
                    instance_id = waits[data.draw(st.integers(0, 100), label="instance") % len(waits)]
                    with db.write() as session:
                        engine.correlate_message(session, "answer", {"instance_id": instance_id}, {"text": "hi"}, "c")
            except (ConflictError, NoMessageWaiting):
                pass  # e.g. completing a task of an instance in error
            with db.read() as session:
                assert actual_projections(session) == expected_projections(engine, session)
