"""The engine's tables: deployed definitions, instances, and the projections that are queried.

Instance rows hold the serialized workflow *state only*; the parsed spec is rebuilt from the
stored definition files and cached per version. Everything that is listed or filtered
(`human_task`, `timer`, `message_wait`, `instance_event`, `incident`) is a projection table
written in the same transaction as the state, with the indexes its queries need.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, string_enum, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class InstanceStatus(str, enum.Enum):
    RUNNING = "running"  # has tasks ready for people
    WAITING = "waiting"  # only waits for timers or messages
    COMPLETED = "completed"
    ERROR = "error"  # a step failed; see its open incident
    TERMINATED = "terminated"


ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING)


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


PENDING_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)
IS_PENDING_TASK = text("status IN (" + ", ".join(f"'{status.value}'" for status in PENDING_TASK_STATUSES) + ")")


class DefinitionFile(Base):
    """One BPMN or DMN file as deployed, stored once per distinct content."""

    __tablename__ = "definition_file"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DefinitionSymbol(Base):
    """What a stored file defines (process ids, decision ids), to resolve references to it."""

    __tablename__ = "definition_symbol"
    __table_args__ = (Index("ix_definition_symbol_symbol", "symbol", "file_id"),)

    file_id: Mapped[int] = mapped_column(ForeignKey("definition_file.id", ondelete="CASCADE"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "process" or "decision"


class ProcessVersionFile(Base):
    __tablename__ = "process_version_file"

    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id", ondelete="CASCADE"), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("definition_file.id"), primary_key=True)


class ProcessVersion(Base):
    """A deployed version of one process key: the files that define it and their hash."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_key", "version", name="uq_process_version_key_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(255))

    files: Mapped[list[DefinitionFile]] = relationship(secondary="process_version_file", order_by=DefinitionFile.name)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_status_key", "status", "process_key"),
        Index("ix_process_instance_business_key", "business_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    process_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[InstanceStatus] = mapped_column(string_enum(InstanceStatus))
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)  # JSON of the workflow state, without the spec
    started_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[ProcessVersion] = relationship()  # loaded on demand: steps use the spec cache

    # Compare-and-set: every flush does UPDATE ... WHERE revision = <loaded revision>.
    __mapper_args__ = {"version_id_col": revision}


class HumanTask(Base):
    """Projection of every READY manual task, kept for inbox queries."""

    __tablename__ = "human_task"
    __table_args__ = (
        # The inbox reads one lane (and department) in due order, pending tasks only: a partial
        # index in exactly that order serves a page without sorting the whole queue.
        Index("ix_human_task_queue", "lane", "department", "due_at", "created_at", "id",
              postgresql_where=IS_PENDING_TASK, sqlite_where=IS_PENDING_TASK),
        Index("ix_human_task_assignee", "assignee", "status"),
        Index("ix_human_task_instance", "instance_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(255))
    task_spec: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    form: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[TaskStatus] = mapped_column(string_enum(TaskStatus))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(255))


class Timer(Base):
    """Projection of every waiting timer event; the scheduler sweeps it by `run_at`."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", name="uq_timer_instance_task"),
        Index("ix_timer_run_at", "run_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the BPMN timer falls due
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)  # next attempt: due_at, later on retries
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageWait(Base):
    """Projection of every message catch event waiting, for correlation without loading state."""

    __tablename__ = "message_wait"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", name="uq_message_wait_instance_task"),
        Index("ix_message_wait_name_key", "message_name", "business_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))


class InstanceEvent(Base):
    """Append-only audit log: every step and task change, with its actor and data."""

    __tablename__ = "instance_event"
    __table_args__ = (
        Index("ix_instance_event_instance", "instance_id", "id"),
        Index("ix_instance_event_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_spec: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Incident(Base):
    """A failed step that needs a person: the instance stays in `error` until retried."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_open", "resolved_at", "instance_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))  # the step that failed: start, complete, timer...
    task_spec: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(255))


class Worker(Base):
    """A scheduler process and its heartbeat, for health reports."""

    __tablename__ = "worker"
    __table_args__ = (Index("ix_worker_heartbeat", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # also the timer lock owner
    kind: Mapped[str] = mapped_column(String(16))  # embedded | worker
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """One run of a once-per-period job; the unique key lets exactly one worker claim a period."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_id", "period", name="uq_job_run_job_period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    worker_id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A notification written in the transaction that caused it and sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
