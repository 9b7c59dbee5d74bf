"""Claiming, releasing and assigning user tasks: changes to the task projection only.

These never touch workflow state, so they do not lock the instance: each is one conditional
UPDATE on the task row, which makes two people claiming the same task race safely. The
UPDATE returns the task as changed and its instance's revision, so a won claim reads neither
again, and the statements are built once: on this hot path, building one costs more than
running it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, Update, bindparam, column, select, update
from sqlalchemy.orm import Session

from . import audit, store
from .errors import TaskClaimedByOther, TaskNotOpen, UnknownTask
from .models import PENDING_TASK_STATUSES, HumanTask, ProcessInstance, TaskStatus

_TASKS, _INSTANCES = HumanTask.__table__, ProcessInstance.__table__
_REVISION = "instance_revision"
# Read by a transition's UPDATE itself: a claim's audit event and its response both need it.
# Not correlated with the updated row: SQLite's RETURNING names columns without their table,
# and an outer column would then be found by name alone.
_TASK = _TASKS.alias("task")
_INSTANCE_REVISION = (select(_INSTANCES.c.revision)
                      .where(_INSTANCES.c.id == select(_TASK.c.instance_id).where(_TASK.c.id == bindparam("task_id"))
                             .scalar_subquery())
                      .scalar_subquery().label(_REVISION))


def _transition(statuses, *conditions, changing: tuple[str, ...]) -> Update:
    """UPDATE task `:task_id` if its status is one of `statuses`, setting each column of
    `changing` to the parameter `new_<column>`."""
    return (
        update(_TASKS)
        .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.status.in_(statuses), *conditions)
        .values({name: bindparam(f"new_{name}") for name in changing})
    )


def _returning_task(statement: Update) -> Select:
    """`statement` loading the task it changed into the session (over any copy loaded before),
    with its instance's revision."""
    return (select(HumanTask, column(_REVISION, Integer))
            .from_statement(statement.returning(*_TASKS.c, _INSTANCE_REVISION))
            .execution_options(populate_existing=True))


_CLAIMING = ("status", "claimed_by", "claimed_at")
_RELEASE_ANY = _transition([TaskStatus.CLAIMED], changing=_CLAIMING)
_CLAIM = _returning_task(_transition([TaskStatus.OPEN], changing=_CLAIMING))
_RELEASE = _returning_task(_RELEASE_ANY)
_RELEASE_OWN = _returning_task(_RELEASE_ANY.where(_TASKS.c.claimed_by == bindparam("actor")))
_ASSIGN = _returning_task(_transition(PENDING_TASK_STATUSES, changing=("assignee", *_CLAIMING)))


class TaskChange(NamedTuple):
    """A task as a claim, release or assignment left it, with its instance's revision (what
    If-Match sends back)."""

    task: HumanTask
    revision: int


def claim(session: Session, task_id: str, actor: str, now: datetime) -> TaskChange:
    """Take an open task. Claiming one's own claimed task is a no-op.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    change = _set(session, _CLAIM, task_id, status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now)
    if change is not None:
        return _recorded(session, change, "task_claimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.CLAIMED and row.claimed_by == actor:
        return _unchanged(session, row)
    raise _conflict(row)


def refuse_lost_claim(task: HumanTask, actor: str) -> None:
    """Raise the conflict that claiming `task`, as last read, would meet. A caller that read the
    task anyway answers a lost claim without a write transaction (on SQLite: without waiting
    for the one writer); the claim itself still decides the race.

    Raises TaskClaimedByOther, TaskNotOpen.
    """
    if task.status is not TaskStatus.OPEN and not (task.status is TaskStatus.CLAIMED and task.claimed_by == actor):
        raise _conflict(task)


def unclaim(session: Session, task_id: str, actor: str, now: datetime, *, force: bool = False) -> TaskChange:
    """Put a claimed task back in the open pool; only its claimant may, unless `force`.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    change = _set(session, _RELEASE if force else _RELEASE_OWN, task_id, actor=actor,
                  status=TaskStatus.OPEN, claimed_by=None, claimed_at=None)
    if change is not None:
        return _recorded(session, change, "task_unclaimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.OPEN:
        return _unchanged(session, row)
    raise _conflict(row)


def assign(session: Session, task_id: str, assignee: str, actor: str, now: datetime) -> TaskChange:
    """Give a pending task to `assignee` (claimed in their name). Raises UnknownTask, TaskNotOpen."""
    change = _set(session, _ASSIGN, task_id, assignee=assignee, status=TaskStatus.CLAIMED, claimed_by=assignee,
                  claimed_at=now)
    if change is not None:
        return _recorded(session, change, "task_assigned", now, actor, {"assignee": assignee})
    raise _conflict(_current(session, task_id))


def _set(session: Session, statement: Select, task_id: str, *, actor: str | None = None, **changes: Any) -> TaskChange | None:
    """Run a transition; the task as changed with its instance's revision, or None when its
    condition did not hold."""
    params = {"task_id": task_id, "actor": actor, **{f"new_{name}": value for name, value in changes.items()}}
    row = session.execute(statement, params).first()
    return None if row is None else TaskChange(*row)


def _current(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id, populate_existing=True)
    if row is None:
        raise UnknownTask(task_id)
    return row


def _conflict(row: HumanTask) -> Exception:
    if row.status is TaskStatus.CLAIMED:
        return TaskClaimedByOther(row.id, row.claimed_by or "")
    return TaskNotOpen(row.id, row.status.value)


def _unchanged(session: Session, row: HumanTask) -> TaskChange:
    return TaskChange(row, store.revision_of(session, row.instance_id))


def _recorded(session: Session, change: TaskChange, kind: str, now: datetime, actor: str, data=None) -> TaskChange:
    task = change.task
    audit.record(session, audit.Revision(task.instance_id, change.revision), kind, now, actor, task_id=task.id,
                 task_spec=task.task_spec, data=data)
    return change
