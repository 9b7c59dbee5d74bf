"""Scheduler processes seen from the database: heartbeats, once-per-period jobs, housekeeping, health.

Every function takes `now` (or a clock) from its caller and, except `run_once_per_period`,
works inside the caller's transaction.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database, utcnow
from .models import ACTIVE_STATUSES, Incident, JobRun, OutboxMessage, Timer, Worker
from .timers import clear_expired_locks, instance_status

log = logging.getLogger(__name__)

FORGET_STOPPED_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class WorkerIdentity:
    """Who a scheduler process is; `id` is also the lock owner of the timers it claims."""

    id: str
    kind: str  # embedded | worker
    hostname: str
    pid: int

    @classmethod
    def for_this_process(cls, kind: str) -> WorkerIdentity:
        """A fresh id per start, so a restarted process never inherits the claims of its predecessor."""
        hostname, pid = socket.gethostname(), os.getpid()
        return cls(f"{hostname}:{pid}:{secrets.token_hex(4)}", kind, hostname, pid)


def heartbeat(session: Session, worker: WorkerIdentity, now: datetime) -> None:
    """Record that `worker` is alive (registering it on its first beat, reviving it if marked silent)."""
    row = session.get(Worker, worker.id)
    if row is None:
        session.add(Worker(id=worker.id, kind=worker.kind, hostname=worker.hostname, pid=worker.pid,
                           started_at=now, heartbeat_at=now))
    else:
        row.heartbeat_at, row.stopped_at = now, None


def mark_stopped(session: Session, worker_id: str, now: datetime) -> None:
    session.execute(update(Worker).where(Worker.id == worker_id).values(stopped_at=now))


@dataclass(frozen=True)
class Housekeeping:
    cleared_locks: int
    silent_workers: int
    forgotten_workers: int


def housekeeping(session: Session, now: datetime, silent_after: timedelta) -> Housekeeping:
    """Clear expired timer claims, mark workers silent for `silent_after` as stopped, forget old ones."""
    cleared = clear_expired_locks(session, now)
    silent = session.execute(
        update(Worker)
        .where(Worker.stopped_at.is_(None), Worker.heartbeat_at < now - silent_after)
        .values(stopped_at=Worker.heartbeat_at)
    ).rowcount
    forgotten = session.execute(delete(Worker).where(Worker.stopped_at < now - FORGET_STOPPED_AFTER)).rowcount
    return Housekeeping(cleared, silent, forgotten)


def run_once_per_period(
    db: Database,
    job_id: str,
    period: str,
    func: Callable[[Session], Any],
    *,
    worker_id: str,
    clock: Callable[[], datetime] = utcnow,
) -> bool:
    """Run `func` in its own transaction unless some worker already claimed (`job_id`, `period`).

    The claim is a `job_run` row committed first, so of several workers exactly one runs the
    job, and a run that fails is recorded (`error`) rather than repeated. Returns whether
    this call ran it; re-raises what `func` raised, after recording it.
    """
    try:
        with db.write() as session:
            run = JobRun(job_id=job_id, period=period, worker_id=worker_id, started_at=clock())
            session.add(run)
    except IntegrityError:
        log.debug("job %s for %s already claimed by another worker", job_id, period)
        return False
    try:
        with db.write() as session:
            func(session)
            session.execute(update(JobRun).where(JobRun.id == run.id).values(finished_at=clock()))
    except Exception as exc:
        error = str(exc)[:4000] or repr(exc)
        with db.write() as session:
            session.execute(update(JobRun).where(JobRun.id == run.id).values(finished_at=clock(), error=error))
        raise
    return True


@dataclass(frozen=True)
class WorkerView:
    id: str
    kind: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class OverdueTimer:
    id: int
    instance_id: int
    task_spec: str
    due_at: datetime
    run_at: datetime
    attempts: int
    lag_seconds: float  # how long past its due time it is still waiting


@dataclass(frozen=True)
class Health:
    """What an operator asks first: is anyone sweeping, is anything late, is anything broken."""

    now: datetime
    workers: list[WorkerView]  # alive: heartbeat within the window and not stopped
    oldest_overdue_timer: OverdueTimer | None
    open_incidents: int
    failing_timers: int  # waiting timers with failed attempts, retried with backoff
    outbox_pending: int
    outbox_failing: int

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain({**asdict(self), "workers_alive": len(self.workers)})


def read_health(session: Session, now: datetime, alive_within: timedelta) -> Health:
    """The scheduler's health at `now`; `failing_timers` scans the timer table, the rest use indexes."""
    workers = session.scalars(
        select(Worker)
        .where(Worker.heartbeat_at >= now - alive_within, Worker.stopped_at.is_(None))
        .order_by(Worker.started_at)
    )
    oldest = session.scalars(
        select(Timer)
        .where(Timer.run_at <= now, instance_status().in_(ACTIVE_STATUSES))
        .order_by(Timer.run_at)
        .limit(1)
    ).first()
    unsent = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    return Health(
        now=now,
        workers=[WorkerView(w.id, w.kind, w.hostname, w.pid, w.started_at, w.heartbeat_at) for w in workers],
        oldest_overdue_timer=None if oldest is None else OverdueTimer(
            oldest.id, oldest.instance_id, oldest.task_spec, oldest.due_at, oldest.run_at, oldest.attempts,
            (now - oldest.due_at).total_seconds(),
        ),
        open_incidents=session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))),
        failing_timers=session.scalar(select(func.count()).select_from(Timer).where(Timer.attempts > 0)),
        outbox_pending=session.scalar(unsent),
        outbox_failing=session.scalar(unsent.where(OutboxMessage.attempts > 0)),
    )
