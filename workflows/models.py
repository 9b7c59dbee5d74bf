"""The petition domain's tables: departments, routing, the business calendar, petitions, escalations.

Everything listed or filtered by staff is a column here with an index, never read out of the
workflow state.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, string_enum
from engine.models import BigId

from .statuses import PetitionStatus, PublicStatus


class Department(Base):
    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoutingRule(Base):
    """Which department handles a category of petition (the dispatcher may choose otherwise)."""

    __tablename__ = "routing_rule"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))


class CalendarDay(Base):
    """A day that differs from the weekday rule: a public holiday, or a make-up working day (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))  # "library" or "admin"


class CalendarYear(Base):
    """A year the calendar has data for; `official` when the published holiday schedule is in."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))
    official: Mapped[bool] = mapped_column(Boolean)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Petition(Base):
    __tablename__ = "petition"
    __table_args__ = (
        Index("ix_petition_status_department_due", "status", "department_code", "due_at"),
        Index("ix_petition_department_created", "department_code", "created_at"),
        Index("ix_petition_created", "created_at", "id"),  # the list's order, ties included
        Index("ix_petition_type_urgency", "type", "urgency"),
        Index("ix_petition_instance", "instance_id"),
        Index("ix_petition_merged_into", "merged_into_id"),
        UniqueConstraint("import_source", "source_id", name="uq_petition_import_source_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(24), unique=True)
    access_token_hash: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    status: Mapped[PetitionStatus] = mapped_column(string_enum(PetitionStatus, 24))
    public_status: Mapped[PublicStatus] = mapped_column(string_enum(PublicStatus, 24))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(64))
    reply: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # channel-specific fields
    petitioner_ref: Mapped[str | None] = mapped_column(String(64))  # pseudonymous: counts distinct petitioners
    likes: Mapped[int | None] = mapped_column(Integer)  # public support, where the channel shows it
    dislikes: Mapped[int | None] = mapped_column(Integer)
    import_source: Mapped[str | None] = mapped_column(String(64))  # set on historical rows loaded from a file
    source_id: Mapped[str | None] = mapped_column(String(64))  # the row's id in that source
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id"))  # a duplicate: the original it follows
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    """One rung of the supervision ladder reached for one deadline of a petition."""

    __tablename__ = "escalation"
    __table_args__ = (
        UniqueConstraint("petition_id", "level", "deadline", name="uq_escalation_petition_level_deadline"),
        Index("ix_escalation_state", "acknowledged_at", "level", "department_code"),
        Index("ix_escalation_level_created", "level", "created_at"),  # the circular's notices of a quarter
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))  # warning | urge | order | notice
    department_code: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
