"""Claiming, releasing and assigning user tasks: changes to the task projection only.

These never touch workflow state, so they do not lock the instance: each is one conditional
UPDATE on the task row, which makes two people claiming the same task race safely. The UPDATE
returns the changed row (RETURNING), so a won claim costs no second read of the task. The
statements are built once: on this hot path, building one costs more than running it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlalchemy.orm import Session

from . import audit
from .errors import TaskClaimedByOther, TaskNotOpen, UnknownTask
from .models import PENDING_TASK_STATUSES, HumanTask, ProcessInstance, TaskStatus

# Refresh the task if the session holds it already (the caller checked access on it).
_REFRESH = {"synchronize_session": False, "populate_existing": True}


def _transition(statuses, *conditions, **values) -> Update:
    """UPDATE the task `:task_id` if its status is one of `statuses`, returning it as changed."""
    return (
        update(HumanTask)
        .where(HumanTask.id == bindparam("task_id"), HumanTask.status.in_(statuses), *conditions)
        .values(**values)
        .returning(HumanTask)
    )


_CLAIM = _transition(
    [TaskStatus.OPEN], status=TaskStatus.CLAIMED, claimed_by=bindparam("actor"), claimed_at=bindparam("now")
)
_RELEASE = _transition([TaskStatus.CLAIMED], status=TaskStatus.OPEN, claimed_by=None, claimed_at=None)
_RELEASE_OWN = _RELEASE.where(HumanTask.claimed_by == bindparam("actor"))
_ASSIGN = _transition(
    PENDING_TASK_STATUSES,
    status=TaskStatus.CLAIMED, assignee=bindparam("to"), claimed_by=bindparam("to"), claimed_at=bindparam("now"),
)


def claim(session: Session, task_id: str, actor: str, now: datetime) -> HumanTask:
    """Take an open task. Claiming one's own claimed task is a no-op.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    row = _set(session, _CLAIM, task_id=task_id, actor=actor, now=now)
    if row is not None:
        return _recorded(session, row, "task_claimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.CLAIMED and row.claimed_by == actor:
        return row
    raise _conflict(row)


def unclaim(session: Session, task_id: str, actor: str, now: datetime, *, force: bool = False) -> HumanTask:
    """Put a claimed task back in the open pool; only its claimant may, unless `force`.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    row = _set(session, _RELEASE if force else _RELEASE_OWN, task_id=task_id, actor=actor)
    if row is not None:
        return _recorded(session, row, "task_unclaimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.OPEN:
        return row
    raise _conflict(row)


def assign(session: Session, task_id: str, assignee: str, actor: str, now: datetime) -> HumanTask:
    """Give a pending task to `assignee` (claimed in their name). Raises UnknownTask, TaskNotOpen."""
    row = _set(session, _ASSIGN, task_id=task_id, to=assignee, now=now)
    if row is not None:
        return _recorded(session, row, "task_assigned", now, actor, {"assignee": assignee})
    raise _conflict(_current(session, task_id))


def _set(session: Session, statement: Update, **params: Any) -> HumanTask | None:
    """Run a transition; the task as changed, or None when its condition did not hold."""
    return session.scalars(statement, params, execution_options=_REFRESH).first()


def _current(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id, populate_existing=True)
    if row is None:
        raise UnknownTask(task_id)
    return row


def _conflict(row: HumanTask) -> Exception:
    if row.status is TaskStatus.CLAIMED:
        return TaskClaimedByOther(row.id, row.claimed_by or "")
    return TaskNotOpen(row.id, row.status.value)


def _recorded(session: Session, row: HumanTask, kind: str, now: datetime, actor: str, data=None) -> HumanTask:
    instance = session.get(ProcessInstance, row.instance_id)
    audit.record(session, instance, kind, now, actor, task_id=row.id, task_spec=row.task_spec, data=data)
    return row
