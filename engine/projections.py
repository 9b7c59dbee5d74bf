"""Keeping the queried tables (`human_task`, `timer`, `message_wait`) in step with workflow state.

A step loads a workflow whose projection rows are, by construction, exactly those of its
snapshot. So a step diffs the snapshot taken after loading with the one taken after running
(`plan_changes`, pure: it may raise on a bad task expression before anything is written) and
writes only the difference (`write_changes`): no reads, nothing written when nothing changed.

User tasks describe themselves through `spiffworkflow:properties`: `form` (a form name),
and `department`, `assignee` and `due` (Python expressions over the task's data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .models import PENDING_TASK_STATUSES, HumanTask, MessageWait, ProcessInstance, TaskStatus, Timer

TASK_EXPRESSION_PROPERTIES = ("department", "assignee", "due")


@dataclass
class Snapshot:
    """What a workflow exposes to queries at one moment."""

    ready: dict[str, Task] = field(default_factory=dict)  # READY manual tasks by id
    timers: dict[str, tuple[Task, datetime]] = field(default_factory=dict)  # waiting timer -> due (UTC)
    messages: dict[str, tuple[Task, str]] = field(default_factory=dict)  # waiting catch -> message name


def take_snapshot(workflow: BpmnWorkflow) -> Snapshot:
    """Scans the flat task maps rather than walking the task tree: far cheaper on big processes."""
    snap = Snapshot()
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            if task.state == TaskState.READY and task.task_spec.manual:
                snap.ready[str(task.id)] = task
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            due = timer_due(task)
            if due is not None:
                snap.timers[str(task.id)] = (task, due)
        elif isinstance(definition, MessageEventDefinition):
            snap.messages[str(task.id)] = (task, definition.name)
    return snap


def timer_due(task: Task) -> datetime | None:
    """The UTC time a waiting timer task falls due, or None when it has no fixed time."""
    value = task.task_spec.event_definition.details(task).value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, str):
        return TimerEventDefinition.get_datetime(value)
    return None


def _as_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"due must be a datetime or ISO 8601 string, not {type(value).__name__}")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _task_properties(workflow: BpmnWorkflow, task: Task) -> dict[str, Any]:
    """Evaluate a user task's property expressions in its data (errors fail the step)."""
    properties = task.task_spec.extensions.get("properties", {}) if hasattr(task.task_spec, "extensions") else {}
    values: dict[str, Any] = {"form": properties.get("form")}
    for name in TASK_EXPRESSION_PROPERTIES:
        expression = properties.get(name)
        values[name] = workflow.script_engine.evaluate(task, expression) if expression else None
    values["due"] = _as_utc(values["due"])
    for name in ("department", "assignee"):
        values[name] = None if values[name] is None else str(values[name])
    return values


@dataclass
class Plan:
    """The projection rows a step adds and removes; built before anything is written."""

    new_tasks: list[tuple[Task, dict[str, Any]]] = field(default_factory=list)
    completed_task_id: str | None = None
    cancelled_task_ids: list[str] = field(default_factory=list)
    removed_timer_ids: list[str] = field(default_factory=list)  # fired, cancelled or rescheduled
    fired_timers: list[tuple[str, str]] = field(default_factory=list)  # (task id, task spec) of timers that fired
    new_timers: list[tuple[Task, datetime]] = field(default_factory=list)
    removed_message_ids: list[str] = field(default_factory=list)
    new_messages: list[tuple[str, str]] = field(default_factory=list)


def plan_changes(workflow: BpmnWorkflow, before: Snapshot, after: Snapshot, completed_task_id: str | None) -> Plan:
    """Diff two snapshots of one instance. Evaluates task property expressions, so it may raise."""
    plan = Plan()
    for tid in before.ready:
        if tid in after.ready:
            continue
        if tid == completed_task_id:
            plan.completed_task_id = tid
        else:
            plan.cancelled_task_ids.append(tid)
    plan.new_tasks = [(t, _task_properties(workflow, t)) for tid, t in after.ready.items() if tid not in before.ready]

    gone = [tid for tid in before.timers if tid not in after.timers]
    plan.fired_timers = [  # a timer that stopped waiting fired if its task completed, else it was cancelled
        (tid, task.task_spec.bpmn_id or task.task_spec.name)
        for tid in gone
        for task in [before.timers[tid][0]]
        if task.has_state(TaskState.COMPLETED)
    ]
    rescheduled = [tid for tid, (_, due) in after.timers.items() if tid in before.timers and before.timers[tid][1] != due]
    plan.removed_timer_ids = gone + rescheduled
    plan.new_timers = [(t, due) for tid, (t, due) in after.timers.items() if tid not in before.timers or tid in rescheduled]

    plan.removed_message_ids = [tid for tid in before.messages if tid not in after.messages]
    plan.new_messages = [(tid, name) for tid, (_, name) in after.messages.items() if tid not in before.messages]
    return plan


# Statements are built once: building one costs several times more than executing it.
_TASKS, _TIMERS, _WAITS = HumanTask.__table__, Timer.__table__, MessageWait.__table__
_INSERT_TASKS, _INSERT_TIMERS, _INSERT_WAITS = insert(_TASKS), insert(_TIMERS), insert(_WAITS)
_CLOSE_TASK = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"), or_(*(_TASKS.c.status == s for s in PENDING_TASK_STATUSES)))
    .values(status=bindparam("new_status"), completed_at=bindparam("at"), completed_by=bindparam("by"))
)
_DELETE_TIMER = delete(_TIMERS).where(_TIMERS.c.instance_id == bindparam("iid"), _TIMERS.c.task_id == bindparam("tid"))
_DELETE_WAIT = delete(_WAITS).where(_WAITS.c.instance_id == bindparam("iid"), _WAITS.c.task_id == bindparam("tid"))


def write_changes(
    session: Session, instance: ProcessInstance, plan: Plan, now: datetime, actor: str | None
) -> list[dict[str, Any]]:
    """Write a plan into the projection tables; returns the task rows it created."""
    conn = session.connection()
    closed = [{"task_id": plan.completed_task_id, "new_status": TaskStatus.COMPLETED, "at": now, "by": actor}] if plan.completed_task_id else []
    closed += [{"task_id": tid, "new_status": TaskStatus.CANCELLED, "at": now, "by": None} for tid in plan.cancelled_task_ids]
    if closed:
        conn.execute(_CLOSE_TASK, closed)
    rows = [_task_row(instance, task, props, now) for task, props in plan.new_tasks]
    if rows:
        conn.execute(_INSERT_TASKS, rows)
    if plan.removed_timer_ids:
        conn.execute(_DELETE_TIMER, [{"iid": instance.id, "tid": tid} for tid in plan.removed_timer_ids])
    if plan.new_timers:
        conn.execute(_INSERT_TIMERS, [_timer_row(instance, task, due) for task, due in plan.new_timers])
    if plan.removed_message_ids:
        conn.execute(_DELETE_WAIT, [{"iid": instance.id, "tid": tid} for tid in plan.removed_message_ids])
    if plan.new_messages:
        conn.execute(
            _INSERT_WAITS,
            [{"instance_id": instance.id, "task_id": tid, "message_name": name, "business_key": instance.business_key}
             for tid, name in plan.new_messages],
        )
    return rows


def _task_row(instance: ProcessInstance, task: Task, props: dict[str, Any], now: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "id": str(task.id),
        "instance_id": instance.id,
        "process_key": instance.process_key,
        "task_spec": spec.bpmn_id or spec.name,
        "title": spec.bpmn_name or spec.bpmn_id or spec.name,
        "lane": spec.lane,
        "form": props["form"],
        "department": props["department"],
        "assignee": props["assignee"],
        "status": TaskStatus.OPEN,
        "due_at": props["due"],
        "created_at": now,
    }


def _timer_row(instance: ProcessInstance, task: Task, due: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {
        "instance_id": instance.id,
        "task_id": str(task.id),
        "task_spec": spec.bpmn_id or spec.name,
        "name": spec.event_definition.name or spec.bpmn_name,
        "due_at": due,
        "run_at": due,
        "attempts": 0,
    }


def clear(session: Session, instance_id: int, now: datetime, actor: str | None) -> list[str]:
    """Cancel every pending task and drop every timer and message wait of an instance."""
    cancelled = list(
        session.scalars(
            update(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status.in_(PENDING_TASK_STATUSES))
            .values(status=TaskStatus.CANCELLED, completed_at=now)
            .returning(HumanTask.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(delete(Timer).where(Timer.instance_id == instance_id))
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance_id))
    return cancelled
