"""What a citizen sees of their petition and the two things they may do with it.

The public timeline is read from the audit log's `status_changed` events and says what
happened in the citizen's terms (received, dispatched to which department, replied, ...):
internal steps such as a return to the dispatcher or the reply's review are left out, and so
are staff names. Rating the reply and answering a request for information complete the
citizen's open task in the petition's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import ConflictError, HumanTask, InstanceEvent, ProcessInstance
from engine.models import PENDING_TASK_STATUSES

from .access import CITIZEN_LANE
from .errors import PetitionError
from .models import Department, Petition
from .petitions import Petitions
from .statuses import PublicStatus

RATE_TASK = "rate_reply"
INFO_TASK = "provide_info"


class NothingToAnswer(PetitionError, ConflictError):
    """The citizen answered something the process does not wait for (now): a conflict."""

    def __init__(self, tracking_no: str, task_spec: str):
        self.tracking_no, self.task_spec = tracking_no, task_spec
        what = "a rating of the reply" if task_spec == RATE_TASK else "more information"
        super().__init__(f"petition {tracking_no} is not waiting for {what}")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: str
    department: str | None = None  # the department's name, where the event concerns one
    note: str | None = None


@dataclass(frozen=True)
class InformationRequest:
    request: str | None
    requested_at: datetime | None


@dataclass(frozen=True)
class PublicView:
    tracking_no: str
    title: str
    status: PublicStatus
    created_at: datetime
    due_at: datetime | None
    reply: str | None
    replied_at: datetime | None
    timeline: list[TimelineEntry]
    can_rate: bool
    information_requested: InformationRequest | None
    merged: bool  # handled together with another petition on the same matter (which is not named)


# (from, to) → the public event; `None` as `from` matches any earlier status.
PUBLIC_EVENTS: dict[tuple[str | None, str], str] = {
    (None, "signing"): "dispatched",
    ("handling", "signing"): "transferred",
    ("signing", "handling"): "accepted",
    ("triage", "handling"): "accepted",  # a return overruled: the department must handle it
    ("awaiting_info", "handling"): "information_received",
    ("replied", "handling"): "reopened",
    (None, "awaiting_info"): "information_requested",
    (None, "replied"): "replied",
    (None, "escalated"): "escalated",
    (None, "closed"): "closed",
    (None, "rejected"): "rejected",
    (None, "diverted"): "diverted",
    (None, "merged"): "merged",  # merged into another petition on the same matter, which it follows
}
WITH_DEPARTMENT = frozenset({"dispatched", "transferred", "accepted"})


def public_event(previous: str | None, status: str) -> str | None:
    return PUBLIC_EVENTS.get((previous, status)) or PUBLIC_EVENTS.get((None, status))


def _status_events(session: Session, petition: Petition) -> list[InstanceEvent]:
    if petition.instance_id is None:
        return []
    return list(session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == petition.instance_id, InstanceEvent.kind == "status_changed"
    ).order_by(InstanceEvent.id)))


def timeline(session: Session, petition: Petition, events: list[InstanceEvent] | None = None) -> list[TimelineEntry]:
    """The petition's public history, oldest first, starting with its receipt."""
    events = _status_events(session, petition) if events is None else events
    codes = {(e.data or {}).get("department") for e in events} - {None}
    names = {code: name for code, name in session.execute(select(Department.code, Department.name).where(Department.code.in_(codes)))} if codes else {}
    entries = [TimelineEntry(petition.created_at, "received")]
    for e in events:
        data = e.data or {}
        kind = public_event(data.get("from"), data.get("to", ""))
        if kind is None:
            continue
        department = names.get(data.get("department")) if kind in WITH_DEPARTMENT else None
        note = petition.reject_reason if kind == "rejected" else None
        entries.append(TimelineEntry(e.at, kind, department, note))
    return entries


def citizen_task(session: Session, petition: Petition, task_spec: str) -> HumanTask | None:
    """The citizen's pending task of this kind in the petition's process, if any."""
    if petition.instance_id is None:
        return None
    return session.scalars(select(HumanTask).where(
        HumanTask.instance_id == petition.instance_id, HumanTask.task_spec == task_spec,
        HumanTask.lane == CITIZEN_LANE, HumanTask.status.in_(PENDING_TASK_STATUSES),
    ).order_by(HumanTask.created_at.desc())).first()


def public_view(session: Session, petition: Petition) -> PublicView:
    """Everything the tracking page shows."""
    events = _status_events(session, petition)
    asked = None
    if citizen_task(session, petition, INFO_TASK) is not None:
        last = next((e for e in reversed(events) if (e.data or {}).get("to") == "awaiting_info"), None)
        asked = InformationRequest((last.data or {}).get("info_request") if last else None, last.at if last else None)
    return PublicView(
        petition.tracking_no, petition.title, petition.public_status, petition.created_at, petition.due_at,
        published_reply(petition), petition.replied_at if published_reply(petition) else None,
        timeline(session, petition, events), citizen_task(session, petition, RATE_TASK) is not None, asked,
        petition.merged_into_id is not None,
    )


def published_reply(petition: Petition) -> str | None:
    """The reply once it has gone out: the department's draft stays internal until it is
    approved, and a reopened petition's next draft until that one is."""
    if petition.replied_at is None or petition.public_status not in (PublicStatus.REPLIED, PublicStatus.CLOSED):
        return None
    return petition.reply


def answer(session: Session, petitions: Petitions, petition: Petition, task_spec: str,
           data: dict[str, Any]) -> ProcessInstance:
    """Complete the citizen's open `task_spec` task with `data` (validated by its form).

    Raises NothingToAnswer when the process does not wait for it, InvalidForm, and the
    engine's conflicts when two answers race.
    """
    task = citizen_task(session, petition, task_spec)
    if task is None:
        raise NothingToAnswer(petition.tracking_no, task_spec)
    return petitions.complete_task(session, task.id, data, "citizen")
