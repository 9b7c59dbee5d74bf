"""The append-only audit log of instances: one row per step and per task change.

Rows are built as plain dicts and written with one multi-row INSERT per step: the log is
written on every step, so it avoids the ORM unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import InstanceEvent, InstanceStatus, ProcessInstance
from .steps import Outcome, Step


class AtRevision(Protocol):
    """What an event is written against: an instance (`ProcessInstance`, or a `Revision` read
    without loading it) at its revision."""

    @property
    def id(self) -> int: ...

    @property
    def revision(self) -> int: ...


class Revision(NamedTuple):
    id: int
    revision: int


STEP_EVENT = {"start": "steps_run", "complete": "task_completed", "message": "message_received"}


def event(
    instance: AtRevision,
    kind: str,
    at: datetime,
    actor: str | None,
    *,
    task_id: str | None = None,
    task_spec: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "instance_id": instance.id,
        "revision": instance.revision,
        "kind": kind,
        "at": at,
        "actor": actor,
        "task_id": task_id,
        "task_spec": task_spec,
        "data": data,
    }


_INSERT = insert(InstanceEvent.__table__)  # built once: steps write events all the time


def write(session: Session, events: list[dict[str, Any]]) -> None:
    if events:
        session.connection().execute(_INSERT, events)


def record(session: Session, instance: AtRevision, kind: str, at: datetime, actor: str | None, **fields: Any) -> None:
    """Write a single event (see `event` for the fields)."""
    write(session, [event(instance, kind, at, actor, **fields)])


def step_events(
    instance: ProcessInstance,
    step: Step,
    step_data: dict[str, Any] | None,
    outcome: Outcome,
    created_tasks: list[dict[str, Any]],
    actor: str | None,
    at: datetime,
) -> list[dict[str, Any]]:
    """The events of one saved step: what was done, timers fired, tasks cancelled and created,
    messages sent, and completion. (A timer step is logged through the timers it fired.)"""
    events = []

    def add(kind: str, **fields: Any) -> None:
        events.append(event(instance, kind, at, actor, **fields))

    if step.action in STEP_EVENT:
        add(STEP_EVENT[step.action], task_id=step.task_id, data=step_data)
    for task_id, task_spec in outcome.plan.fired_timers:
        add("timer_fired", task_id=task_id, task_spec=task_spec)
    for task_id in outcome.plan.cancelled_task_ids:
        add("task_cancelled", task_id=task_id)
    for row in created_tasks:
        add("task_created", task_id=row["id"], task_spec=row["task_spec"],
            data={"lane": row["lane"], "department": row["department"], "assignee": row["assignee"]})
    for thrown in outcome.thrown:
        add("message_sent", data=thrown)
    if outcome.status is InstanceStatus.COMPLETED:
        add("completed")
    return events
