"""The triage classifier's tables: each trained model, and the suggestion made for each petition.

The model's pipeline is stored pickled. Unpickling runs code, so this is safe only because the
bytes come from our own database, written by `minyi router train` or the retraining job; a
model must never be loaded from anywhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from engine.models import BigId

ACTIVE = text("active")


class RouterModel(Base):
    """One trained classifier; the version is its id, and at most one is active."""

    __tablename__ = "router_model"
    __table_args__ = (
        Index("uq_router_model_active", "active", unique=True, postgresql_where=ACTIVE, sqlite_where=ACTIVE),
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(255))  # what it learned from, e.g. "labeled.csv + 120 confirmed"
    rows: Mapped[int] = mapped_column(Integer)  # labelled petitions learned from
    categories: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)  # cross-validated at training (classifier.Metrics)
    pipeline: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # pickled: see the module docstring
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class TriageSuggestion(Base):
    """The categories the active model ranked first for a petition when it reached triage,
    with their probabilities; computed once, read by the triage task."""

    __tablename__ = "triage_suggestion"

    petition_id: Mapped[int] = mapped_column(BigId, ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[int] = mapped_column(ForeignKey("router_model.version"))
    ranking: Mapped[list[list[Any]]] = mapped_column(JSON)  # [[category, probability], ...], most likely first
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
