"""Finding and firing due timers from the `timer` projection.

Claiming marks rows with a lock owner and expiry, so several workers can sweep one database:
PostgreSQL skips rows other workers hold (`FOR UPDATE SKIP LOCKED`); on SQLite the write
transaction holds the database lock while it claims. A worker that dies leaves its claims to
expire, after which another worker picks them up.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .db import Database
from .models import ACTIVE_STATUSES, ProcessInstance, Timer
from .runtime import Engine

log = logging.getLogger(__name__)


def claim_due_timers(
    session: Session, now: datetime, owner: str, limit: int = 500, lock_for: timedelta = timedelta(minutes=5)
) -> list[int]:
    """Lock up to `limit` due timers of active instances for `owner`, oldest first; returns their ids."""
    query = (
        select(Timer.id)
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(
            Timer.run_at <= now,
            or_(Timer.lock_expires_at.is_(None), Timer.lock_expires_at < now),
            ProcessInstance.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Timer.run_at, Timer.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(of=Timer, skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(ids))
            .values(lock_owner=owner, lock_expires_at=now + lock_for)
            .execution_options(synchronize_session=False)
        )
    return ids


def fire_due_timers(db: Database, engine: Engine, now: datetime, owner: str = "local", limit: int = 500) -> int:
    """Claim the timers due at `now` and fire each in its own transaction; returns how many fired."""
    with db.write() as session:
        ids = claim_due_timers(session, now, owner, limit)
    fired = 0
    for timer_id in ids:
        with db.write() as session:
            if engine.fire_timer(session, timer_id) is not None:
                fired += 1
            session.execute(
                update(Timer)
                .where(Timer.id == timer_id, Timer.lock_owner == owner)
                .values(lock_owner=None, lock_expires_at=None)
                .execution_options(synchronize_session=False)
            )
    return fired
