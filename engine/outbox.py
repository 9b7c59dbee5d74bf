"""The notification outbox: messages written in the transaction that causes them, sent after commit.

`enqueue` adds a row in the caller's transaction, so a notification exists exactly when the
change it announces does. `deliver_pending` runs later (a scheduler job): it leases a batch
of unsent rows by moving their next attempt past the lease (skipping rows other workers hold
on PostgreSQL), sends each outside any transaction, then marks it sent or schedules a retry
with backoff. Delivery is at least once: a worker that dies between sending and marking
leaves the message to be sent again when its lease runs out, so senders should treat the
message id as an idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .db import Database
from .errors import EngineError
from .models import OutboxMessage

log = logging.getLogger(__name__)

ANY_CHANNEL = "*"  # the sender for channels that have none of their own


@dataclass(frozen=True)
class Message:
    """What a sender gets: a detached copy of one outbox row."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any] | None
    attempt: int  # 1 on the first try


class Sender(Protocol):
    """Delivers messages of one channel (e-mail, SMS, ...).

    `send` returns once the message is handed over; raising any exception makes the outbox
    try again later. It may be called again for a message it already sent (see module doc).
    """

    def send(self, message: Message) -> None: ...


class LogSender:
    """The default sender: writes each message to the log, for installations without a gateway."""

    def __init__(self, logger: logging.Logger = log):
        self.logger = logger

    def send(self, message: Message) -> None:
        self.logger.info("outbox %s to %s via %s: %s\n%s", message.id, message.recipient, message.channel,
                         message.subject, message.body)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a batch is leased and how failed sends back off (never given up: failures stay visible)."""

    batch_size: int = 100
    lease: timedelta = timedelta(minutes=5)
    base_delay: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        """Wait after `attempts` failed sends: base, base·factor, … capped at max_delay."""
        return min(self.base_delay * (self.factor ** (attempts - 1)), self.max_delay)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0


class NoSender(EngineError):
    """No sender is configured for a message's channel (the message waits and is retried)."""

    def __init__(self, channel: str):
        self.channel = channel
        super().__init__(f"no sender for channel {channel!r}")


_INSERT = insert(OutboxMessage.__table__)


def enqueue(
    session: Session,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    payload: dict[str, Any] | None = None,
    *,
    now: datetime,
) -> None:
    """Add a message to the outbox in the caller's transaction; it is sent after that commits.

    The row is inserted at once with a statement built once: steps enqueue notifications
    often, and a unit-of-work flush of the row would cost several times more.
    """
    session.connection().execute(_INSERT, {
        "channel": channel, "recipient": recipient, "subject": subject, "body": body, "payload": payload,
        "created_at": now, "next_attempt_at": now, "attempts": 0,
    })


def deliver_pending(
    db: Database, senders: Mapping[str, Sender], now: datetime, policy: DeliveryPolicy = DeliveryPolicy()
) -> DeliveryReport:
    """Send one batch of due messages through the sender of their channel (or `ANY_CHANNEL`'s)."""
    with db.write() as session:
        batch = _lease(session, now, policy)
    sent = failed = 0
    for message in batch:
        try:
            sender = senders.get(message.channel) or senders.get(ANY_CHANNEL)
            if sender is None:
                raise NoSender(message.channel)
            sender.send(message)
        except Exception as exc:  # a sender may fail in any way; the message is retried
            failed += 1
            _record_failure(db, message, exc, now, policy)
        else:
            sent += 1
            _record(db, message, sent_at=now, attempts=message.attempt, last_error=None)
    return DeliveryReport(sent, failed)


def _lease(session: Session, now: datetime, policy: DeliveryPolicy) -> list[Message]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(policy.batch_size)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.next_attempt_at = now + policy.lease
    return [Message(r.id, r.channel, r.recipient, r.subject, r.body, r.payload, r.attempts + 1) for r in rows]


def _record_failure(db: Database, message: Message, exc: Exception, now: datetime, policy: DeliveryPolicy) -> None:
    error = f"{type(exc).__name__}: {exc}"[:4000]
    retry_at = now + policy.delay(message.attempt)
    log.warning("outbox message %s (attempt %s) not sent: %s; next try at %s", message.id, message.attempt, error,
                retry_at.isoformat())
    _record(db, message, attempts=message.attempt, last_error=error, next_attempt_at=retry_at)


def _record(db: Database, message: Message, **outcome: Any) -> None:
    """Write a message's outcome, once more on a fresh connection if the server dropped the
    pooled one while the message was out (a restart): the UPDATE can run twice, and a sent
    message whose outcome was lost would be sent again when its lease runs out."""
    statement = update(OutboxMessage).where(OutboxMessage.id == message.id).values(**outcome)
    for last_try in (False, True):
        try:
            with db.write() as session:
                session.execute(statement)
            return
        except DBAPIError as error:
            if last_try or not error.connection_invalidated:
                raise
