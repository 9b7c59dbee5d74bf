"""The evaluation fact table: one row per time a department was given a petition.

Why a row per assignment and not per petition: a return (退单) or a transfer (转办) is the act
of the department that had the petition, and a petition re-dispatched elsewhere must not take
that department's figures with it. The rows are written by `facts` in the transaction of the
step that changed the petition, and can be rebuilt from the audit log (`facts.rebuild`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime
from engine.models import BigId

# How the department answered its sign-for task; `forced` when it had no choice (a return
# overruled, a reopen): such an assignment is no new dispatch and has no sign-for to judge.
SIGN_OUTCOMES = ("signed", "returned", "deemed", "forced")
# How the assignment ended; NULL while the department still has the petition.
OUTCOMES = ("replied", "returned", "transferred", "closed_no_info")


class KpiAssignment(Base):
    __tablename__ = "kpi_assignment"
    __table_args__ = (
        # The department table reads one period of receipt days, grouped by department.
        Index("ix_kpi_assignment_received_department", "received_on", "department_code"),
        Index("ix_kpi_assignment_petition", "petition_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"))
    department_code: Mapped[str] = mapped_column(String(32))
    received_on: Mapped[date] = mapped_column(Date)  # the petition's receipt day (local): its period
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_outcome: Mapped[str | None] = mapped_column(String(16))
    sign_on_time: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the handling deadline in force
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first published reply
    reply_on_time: Mapped[bool | None] = mapped_column(Boolean)
    reply_workdays: Mapped[int | None] = mapped_column(Integer)  # working days from assignment to reply
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)  # the citizen's last rating, 1–5
    solved: Mapped[bool | None] = mapped_column(Boolean)
    urges: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    notices: Mapped[int] = mapped_column(Integer, default=0)
