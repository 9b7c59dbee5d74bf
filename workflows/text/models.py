"""The text tools' own tables: which hotspot trend alerts were sent (so each goes out once), and
the signatures and near-duplicates of open petitions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from engine.models import BigId


class HotspotAlert(Base):
    """A topic that grew fast in one alert period; the unique key makes the alert once-only."""

    __tablename__ = "hotspot_alert"
    __table_args__ = (UniqueConstraint("topic_key", "period", name="uq_hotspot_alert_topic_period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic_key: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255))
    recent: Mapped[int] = mapped_column(Integer)  # petitions in the latest window
    previous: Mapped[int] = mapped_column(Integer)  # petitions in the window before it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuplicateTerm(Base):
    """One term of an open petition's signature (a place, or one of its heaviest matter terms).

    Only open petitions have rows: they are written at intake and deleted when the petition
    closes or is merged, so finding candidates reads the rows of the new petition's terms and
    nothing else.
    """

    __tablename__ = "duplicate_term"
    __table_args__ = (Index("ix_duplicate_term_lookup", "term", "created_at", "petition_id"),)

    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    is_place: Mapped[bool] = mapped_column(Boolean)
    has_place: Mapped[bool] = mapped_column(Boolean)  # whether the petition names any place
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the petition's


class DuplicateCandidate(Base):
    """An open petition found near-duplicate of another at intake, kept for triage: stored in
    both directions, so each of the two petitions lists the other."""

    __tablename__ = "duplicate_candidate"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
