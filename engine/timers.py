"""Finding and firing due timers from the `timer` projection.

Claiming marks rows with a lock owner and expiry, so several workers can sweep one database:
PostgreSQL skips rows other workers hold (`FOR UPDATE SKIP LOCKED`); on SQLite the write
transaction holds the database lock while it claims, and the UPDATE is conditional anyway. A
worker that dies leaves its claims to expire, after which another worker picks them up.

Claims only spread the work: a timer fires exactly once because each firing is a step that
locks its instance and re-reads the timer row, which the first firing deleted.

The sweep reads the `run_at` index from its oldest entry and stops after one batch, so its
cost depends on how many timers are due, never on how many wait in the future.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ScalarSelect, Select, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .db import Database
from .errors import EngineError
from .models import ACTIVE_STATUSES, ProcessInstance, Timer
from .runtime import Engine

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_LOCK_FOR = timedelta(minutes=5)
RELEASE_CHUNK = 500  # ids per UPDATE when releasing claims


def due_timers_query(now: datetime, limit: int) -> Select:
    """Ids of up to `limit` unclaimed timers of active instances due by `now`, oldest first.

    Ordered by `run_at` alone, so that the index delivers the rows in order and the scan
    stops after `limit` of them. The instance's status is a scalar subquery, not EXISTS or a
    join: PostgreSQL may turn those into a hash join that reads every active instance,
    while a scalar subquery stays one primary-key lookup per due timer.
    """
    return (
        select(Timer.id)
        .where(Timer.run_at <= now, _unclaimed(now), instance_status().in_(ACTIVE_STATUSES))
        .order_by(Timer.run_at)
        .limit(limit)
    )


def instance_status() -> ScalarSelect:
    """The status of a timer's instance, looked up per timer row."""
    return select(ProcessInstance.status).where(ProcessInstance.id == Timer.instance_id).scalar_subquery()


def _unclaimed(now: datetime):
    return or_(Timer.lock_expires_at.is_(None), Timer.lock_expires_at < now)


def claim_due_timers(
    session: Session, now: datetime, owner: str, limit: int = DEFAULT_BATCH_SIZE, lock_for: timedelta = DEFAULT_LOCK_FOR
) -> list[int]:
    """Lock up to `limit` due timers for `owner` until `now + lock_for`; returns their ids, oldest first."""
    query = due_timers_query(now, limit)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(of=Timer, skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    claimed = set(
        session.scalars(
            update(Timer)
            .where(Timer.id.in_(ids), _unclaimed(now))
            .values(lock_owner=owner, lock_expires_at=now + lock_for)
            .returning(Timer.id)
            .execution_options(synchronize_session=False)
        )
    )
    return [timer_id for timer_id in ids if timer_id in claimed]


def release_timers(session: Session, timer_ids: Iterable[int], owner: str) -> int:
    """Drop `owner`'s claims on these timers (claims taken over by others stay); returns how many."""
    released, ids = 0, list(timer_ids)
    for start in range(0, len(ids), RELEASE_CHUNK):
        result = session.execute(
            update(Timer)
            .where(Timer.id.in_(ids[start : start + RELEASE_CHUNK]), Timer.lock_owner == owner)
            .values(lock_owner=None, lock_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        released += result.rowcount
    return released


def clear_expired_locks(session: Session, now: datetime) -> int:
    """Forget claims that expired (their worker died); returns how many.

    A claim is only ever taken on a due timer, so the `run_at` bound keeps this on the index.
    """
    result = session.execute(
        update(Timer)
        .where(Timer.run_at <= now, Timer.lock_expires_at < now)
        .values(lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


class Sweeper:
    """Fires due timers for one worker: claim a batch, fire each in its own transaction, repeat.

    `sweep()` runs until nothing is due, so the first sweep after downtime catches up on
    everything, oldest first. `stop()` (from any thread or a signal handler) makes the sweep
    end after the timer in hand and release the claims it still holds.
    """

    def __init__(
        self,
        db: Database,
        engine: Engine,
        owner: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock_for: timedelta = DEFAULT_LOCK_FOR,
        clock: Callable[[], datetime] | None = None,
        on_fired: Callable[[int], None] | None = None,
    ):
        self.db = db
        self.engine = engine
        self.owner = owner
        self.batch_size = batch_size
        self.lock_for = lock_for
        self.clock = clock or engine.clock
        self.on_fired = on_fired  # called with the timer id after its firing step committed
        self._stopped = threading.Event()
        self._lock = threading.Lock()  # one sweep at a time per sweeper

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()

    def sweep(self) -> int:
        """Fire every timer due now; returns how many firing steps committed.

        Claims are released only when the sweep ends: a timer that is still there after its
        step (it did not fire, its instance stopped, it became an incident) stays claimed
        until then, so this sweep does not claim it again.

        Raises the database error that interrupted it, after releasing what it could.
        """
        with self._lock:
            committed = 0
            pending: deque[int] = deque()
            tried: list[int] = []
            try:
                while not self.stopped:
                    with self.db.write() as session:
                        claimed = claim_due_timers(session, self.clock(), self.owner, self.batch_size, self.lock_for)
                    if not claimed:
                        break
                    log.debug("%s claimed %s due timers", self.owner, len(claimed))
                    pending.extend(claimed)
                    while pending and not self.stopped:
                        timer_id = pending.popleft()
                        outcome = self._fire(timer_id)
                        if outcome is not None:  # an unexpected failure keeps its claim until it expires
                            tried.append(timer_id)
                        committed += bool(outcome)
            finally:
                self._release([*pending, *tried])
            return committed

    def _fire(self, timer_id: int) -> bool | None:
        """Fire one claimed timer in its own transaction; returns whether the step committed.

        None when it failed unexpectedly: its claim is then left to expire, which spaces out
        the retries. False when another step held the instance: it is tried next sweep.
        """
        try:
            with self.db.write() as session:
                self.engine.fire_timer(session, timer_id)
        except DBAPIError:
            raise
        except EngineError as exc:
            log.info("timer %s not fired this time: %s", timer_id, exc)
            return False
        except Exception:
            log.exception("timer %s could not be fired; it is tried again when its claim expires", timer_id)
            return None
        if self.on_fired is not None:
            self.on_fired(timer_id)
        return True

    def _release(self, timer_ids: Sequence[int]) -> None:
        if not timer_ids:
            return
        try:
            with self.db.write() as session:
                release_timers(session, timer_ids, self.owner)
        except DBAPIError:
            log.warning("could not release %s timer claims of %s; they expire on their own", len(timer_ids), self.owner)


def fire_due_timers(
    db: Database, engine: Engine, now: datetime, owner: str = "local", limit: int = DEFAULT_BATCH_SIZE
) -> int:
    """Fire the timers due at `now`, in one sweep; returns how many firing steps committed."""
    return Sweeper(db, engine, owner, batch_size=limit, clock=lambda: now).sweep()
