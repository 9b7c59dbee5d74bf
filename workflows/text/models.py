"""The text tools' own table: which hotspot trend alerts were sent, so each goes out once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
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
