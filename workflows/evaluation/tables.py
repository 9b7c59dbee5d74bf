"""The evaluation's own tables: the panel's sampling seeds and score sets, and the stored circulars."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from engine.models import BigId


class PanelPeriod(Base):
    """A half-year the panel evaluates, with the seed its reply samples are drawn with."""

    __tablename__ = "panel_period"

    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # "2026H2"
    seed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PanelScore(Base):
    """One evaluator's scores of one department for one half-year; re-submitting updates it."""

    __tablename__ = "panel_score"
    __table_args__ = (
        UniqueConstraint("period", "department_code", "evaluator_id", name="uq_panel_score_period_department_evaluator"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(8))
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    topic_quality: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[int] = mapped_column(Integer)
    reply_quality: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first submission
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # latest submission
    revisions: Mapped[int] = mapped_column(Integer, default=1)  # how many times it was submitted


class QuarterlyReport(Base):
    """One generated circular; generating a quarter again adds the next version, older ones stay."""

    __tablename__ = "quarterly_report"
    __table_args__ = (
        UniqueConstraint("quarter", "version", name="uq_quarterly_report_quarter_version"),
        Index("ix_quarterly_report_generated", "generated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(8))  # "2026Q3"
    version: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_by: Mapped[str] = mapped_column(String(255))  # "scheduler", "cli" or a staff name
    generator: Mapped[str] = mapped_column(String(64))  # software and template version
    html: Mapped[str] = mapped_column(Text, deferred=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf_pages: Mapped[int] = mapped_column(Integer)
    pdf_bytes: Mapped[int] = mapped_column(Integer)
