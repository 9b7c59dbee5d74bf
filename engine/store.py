"""Row-level persistence of instances: locking, compare-and-set saves, and the few rows a
step reads. Statements are built once: on the hot path, building one costs more than running it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .errors import StaleRevision, UnknownInstance, UnknownTask
from .models import HumanTask, Incident, InstanceStatus, ProcessInstance, Timer

_INSTANCES = ProcessInstance.__table__
_SAVE_INSTANCE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.revision == bindparam("expected"))
    .values({c: bindparam(c) for c in ("state", "status", "updated_at", "ended_at", "revision")})
)
_INSERT_INSTANCE = insert(_INSTANCES).returning(_INSTANCES.c.id)
_INSERTED_COLUMNS = [column.key for column in _INSTANCES.c if column.key != "id"]
_SELECT_INSTANCE = select(ProcessInstance).where(ProcessInstance.id == bindparam("iid"))
_SELECT_REVISION = select(_INSTANCES.c.revision).where(_INSTANCES.c.id == bindparam("iid"))
_LOCK_INSTANCE = _SELECT_INSTANCE.with_for_update(of=ProcessInstance)
_TASKS, _TIMERS = HumanTask.__table__, Timer.__table__
_SELECT_TASK_INSTANCE = (
    select(ProcessInstance, _TASKS.c.status, _TASKS.c.claimed_by)
    .join(_TASKS, _TASKS.c.instance_id == ProcessInstance.id)
    .where(_TASKS.c.id == bindparam("tid"))
)
_LOCK_TASK_INSTANCE = _SELECT_TASK_INSTANCE.with_for_update(of=ProcessInstance)
_SELECT_TIMER = select(_TIMERS.c.instance_id, _TIMERS.c.task_id, _TIMERS.c.due_at, _TIMERS.c.attempts).where(
    _TIMERS.c.id == bindparam("tid")
)
_RESCHEDULE_TIMER = (
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("tid"))
    .values(attempts=bindparam("attempts"), last_error=bindparam("last_error"), run_at=bindparam("run_at"),
            lock_owner=None, lock_expires_at=None)
)
_SELECT_TASK = select(_TASKS.c.instance_id, _TASKS.c.status, _TASKS.c.claimed_by).where(_TASKS.c.id == bindparam("tid"))


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def insert_instance(session: Session, instance: ProcessInstance) -> None:
    """INSERT a new instance at revision 1 and attach it to the session as if it had been loaded.

    Every start inserts one; a statement built once costs a fraction of a unit-of-work flush.
    """
    instance.revision = 1
    values = {key: getattr(instance, key) for key in _INSERTED_COLUMNS}
    instance.id = session.connection().execute(_INSERT_INSTANCE, values).scalar_one()
    make_transient_to_detached(instance)
    session.add(instance)


def lock_instance(session: Session, instance_id: int, expected_revision: int | None = None) -> ProcessInstance:
    """Load an instance for a step, locked (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already holds the database). Raises UnknownInstance, StaleRevision."""
    query = _SELECT_INSTANCE if is_sqlite(session) else _LOCK_INSTANCE
    instance = session.scalars(query, {"iid": instance_id}, execution_options={"populate_existing": True}).first()
    if instance is None:
        raise UnknownInstance(instance_id)
    _check_revision(instance, expected_revision)
    return instance


def lock_task_instance(
    session: Session, task_id: str, expected_revision: int | None = None
) -> tuple[ProcessInstance, Row]:
    """Lock the instance of a task as `lock_instance` does, in the same statement reading the
    task's status and claimant. On SQLite these are current (the database is held); PostgreSQL
    locks only the instance row, so read them again with `task_row` there.
    Raises UnknownTask, StaleRevision."""
    query = _SELECT_TASK_INSTANCE if is_sqlite(session) else _LOCK_TASK_INSTANCE
    instance, row = _task_instance(session, query, task_id)
    _check_revision(instance, expected_revision)
    return instance, row


def task_instance(session: Session, task_id: str) -> tuple[ProcessInstance, Row]:
    """The instance of a task with the task's status and claimant, read without a lock (to run
    a step ahead of its write transaction). Raises UnknownTask."""
    return _task_instance(session, _SELECT_TASK_INSTANCE, task_id)


def _task_instance(session: Session, query, task_id: str) -> tuple[ProcessInstance, Row]:
    row = session.execute(query, {"tid": task_id}, execution_options={"populate_existing": True}).first()
    if row is None:
        raise UnknownTask(task_id)
    return row[0], row


def revision_of(session: Session, instance_id: int) -> int:
    """An instance's revision, without loading the instance: its state is most of the row.
    Raises UnknownInstance."""
    revision = session.connection().execute(_SELECT_REVISION, {"iid": instance_id}).scalar()
    if revision is None:
        raise UnknownInstance(instance_id)
    return revision


def _check_revision(instance: ProcessInstance, expected_revision: int | None) -> None:
    if expected_revision is not None and instance.revision != expected_revision:
        raise StaleRevision(instance.id, expected_revision)


def save_state(session: Session, instance: ProcessInstance, state: str, status: InstanceStatus, now: datetime) -> None:
    """Compare-and-set the instance row on its revision. Raises StaleRevision."""
    values: dict[str, Any] = {
        "state": state,
        "status": status,
        "updated_at": now,
        "ended_at": now if status is InstanceStatus.COMPLETED else instance.ended_at,
        "revision": instance.revision + 1,
    }
    result = session.connection().execute(_SAVE_INSTANCE, {"iid": instance.id, "expected": instance.revision, **values})
    if result.rowcount != 1:
        raise StaleRevision(instance.id, instance.revision)
    for key, value in values.items():
        set_committed_value(instance, key, value)


def flush(session: Session, instance: ProcessInstance) -> None:
    """Flush ORM changes of an instance; its version counter makes a lost race a StaleRevision."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleRevision(instance.id) from None


def task_row(session: Session, task_id: str) -> Row:
    """A task's instance, status and claimant. Raises UnknownTask."""
    row = session.execute(_SELECT_TASK, {"tid": task_id}).first()
    if row is None:
        raise UnknownTask(task_id)
    return row


def timer_row(session: Session, timer_id: int) -> Row | None:
    """A timer's instance, task, due time and attempts, or None when it is gone."""
    return session.execute(_SELECT_TIMER, {"tid": timer_id}).first()


def reschedule_timer(session: Session, timer_id: int, attempts: int, error: str, run_at: datetime) -> None:
    """Record a failed attempt and when to try again; the claim is released."""
    session.execute(_RESCHEDULE_TIMER, {"tid": timer_id, "attempts": attempts, "last_error": error, "run_at": run_at})


def open_incident(session: Session, instance_id: int) -> Incident | None:
    return session.scalars(
        select(Incident)
        .where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
        .order_by(Incident.id.desc())
        .limit(1)
    ).first()
