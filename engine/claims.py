"""Claiming, releasing and assigning user tasks: changes to the task projection only.

These never touch workflow state, so they do not lock the instance: each is one conditional
UPDATE on the task row, which makes two people claiming the same task race safely.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import audit
from .errors import TaskClaimedByOther, TaskNotOpen, UnknownTask
from .models import PENDING_TASK_STATUSES, HumanTask, ProcessInstance, TaskStatus


def claim(session: Session, task_id: str, actor: str, now: datetime) -> HumanTask:
    """Take an open task. Claiming one's own claimed task is a no-op.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    if _set(session, task_id, [TaskStatus.OPEN], status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now):
        return _recorded(session, task_id, "task_claimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.CLAIMED and row.claimed_by == actor:
        return row
    raise _conflict(row)


def unclaim(session: Session, task_id: str, actor: str, now: datetime, *, force: bool = False) -> HumanTask:
    """Put a claimed task back in the open pool; only its claimant may, unless `force`.

    Raises UnknownTask, TaskClaimedByOther, TaskNotOpen.
    """
    condition = [] if force else [HumanTask.claimed_by == actor]
    if _set(session, task_id, [TaskStatus.CLAIMED], *condition, status=TaskStatus.OPEN, claimed_by=None, claimed_at=None):
        return _recorded(session, task_id, "task_unclaimed", now, actor)
    row = _current(session, task_id)
    if row.status is TaskStatus.OPEN:
        return row
    raise _conflict(row)


def assign(session: Session, task_id: str, assignee: str, actor: str, now: datetime) -> HumanTask:
    """Give a pending task to `assignee` (claimed in their name). Raises UnknownTask, TaskNotOpen."""
    if _set(
        session, task_id, PENDING_TASK_STATUSES,
        status=TaskStatus.CLAIMED, assignee=assignee, claimed_by=assignee, claimed_at=now,
    ):
        return _recorded(session, task_id, "task_assigned", now, actor, {"assignee": assignee})
    raise _conflict(_current(session, task_id))


def _set(session: Session, task_id: str, statuses, *conditions, **values) -> bool:
    result = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task_id, HumanTask.status.in_(statuses), *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _current(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id, populate_existing=True)
    if row is None:
        raise UnknownTask(task_id)
    return row


def _conflict(row: HumanTask) -> Exception:
    if row.status is TaskStatus.CLAIMED:
        return TaskClaimedByOther(row.id, row.claimed_by or "")
    return TaskNotOpen(row.id, row.status.value)


def _recorded(session: Session, task_id: str, kind: str, now: datetime, actor: str, data=None) -> HumanTask:
    row = _current(session, task_id)
    instance = session.get(ProcessInstance, row.instance_id)
    audit.record(session, instance, kind, now, actor, task_id=task_id, task_spec=row.task_spec, data=data)
    return row
