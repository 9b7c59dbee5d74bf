"""Keeping `kpi_assignment` in step with petitions, and rebuilding it from the audit log.

`advance` is the one rule that turns a petition's status change into assignment facts. The
petition service calls it (through `record_change`) in the transaction of every step that
changes a status, so the facts never lag; `rebuild` replays the `status_changed` events of
the audit log through the same rule, for petitions that moved before the table existed.
Imported historical petitions have no process and no events: they get no facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from engine import InstanceEvent

from ..calendar import BusinessCalendar
from ..models import Escalation, Petition
from ..scripts import parse_time
from ..statuses import PetitionStatus as S
from .models import KpiAssignment

# The BPMN elements (handling.bpmn) whose status changes mean more than the status says.
DEEMED_SIGNED = "auto_sign"  # the sign-for limit passed: signed for the department, late
EXTENDED = "extend"  # a supervisor granted an extension
ESCALATION_COLUMNS = {"urge": "urges", "order": "orders", "notice": "notices"}  # a warning is not counted
REBUILD_BATCH = 1000
EVENT_FIELDS = ("from", "to", "department", "due", "sign_due")  # of a status_changed event's data


@dataclass(slots=True)
class Change:
    """One status change of a petition, with what the facts need to know about it."""

    petition_id: int
    received_on: date
    department: str | None
    source: S
    target: S
    task_spec: str | None
    at: datetime
    sign_due: datetime | None
    due: datetime | None


@dataclass(slots=True)
class Facts:
    """An assignment's facts outside the session: what a replay builds (plain attributes are
    many times cheaper than mapped ones) and what a new `KpiAssignment` is made from."""

    petition_id: int
    department_code: str | None
    received_on: date
    assigned_at: datetime
    sign_due_at: datetime | None = None
    sign_outcome: str | None = None
    sign_on_time: bool | None = None
    outcome: str | None = None
    due_at: datetime | None = None
    replied_at: datetime | None = None
    reply_on_time: bool | None = None
    reply_workdays: int | None = None
    extended: bool = False
    reopens: int = 0
    rating: int | None = None
    solved: bool | None = None
    urges: int = 0
    orders: int = 0
    notices: int = 0

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


Assignment = Facts | KpiAssignment  # `advance` reads and changes either the same way


def advance(current: Assignment | None, change: Change, calendar: BusinessCalendar) -> Facts | None:
    """Apply `change` to the petition's latest assignment (`current`, changed in place). Returns
    a new assignment when the change hands the petition to a department, else None."""
    source, target, at = change.source, change.target, change.at
    if target is S.SIGNING or (source is S.TRIAGE and target is S.HANDLING):
        if current is not None and current.outcome is None:
            current.outcome = "transferred"
        return Facts(change.petition_id, change.department, change.received_on, at,
                     sign_due_at=change.sign_due if target is S.SIGNING else None, due_at=change.due,
                     sign_outcome=None if target is S.SIGNING else "forced")  # an overruled return: no choice
    if current is None:
        return None
    current.due_at = change.due or current.due_at
    if source is S.SIGNING:
        deemed = target is S.HANDLING and change.task_spec == DEEMED_SIGNED
        current.sign_outcome = "deemed" if deemed else "signed" if target is S.HANDLING else "returned"
        current.sign_on_time = not deemed and (current.sign_due_at is None or at <= current.sign_due_at)
        if target is S.RETURNED:
            current.outcome = "returned"
    elif change.task_spec == EXTENDED:
        current.extended = True
    elif target is S.REPLIED and current.replied_at is None:
        current.outcome, current.replied_at = "replied", at
        current.reply_on_time = current.due_at is None or at <= current.due_at
        current.reply_workdays = calendar.working_days_between(calendar.local_day(current.assigned_at),
                                                               calendar.local_day(at))
    elif source is S.REPLIED and target is S.HANDLING:
        current.reopens += 1
    elif source is S.AWAITING_INFO and target is S.CLOSED:
        current.outcome = "closed_no_info"
    return None


def latest_id(petition_id: ColumnElement[int]) -> ScalarSelect[int]:
    """The id of the latest assignment of `petition_id` (a column to correlate with), for a
    query that loads it together with its petition (see `remember_latest`)."""
    later = aliased(KpiAssignment)  # the query may load KpiAssignment itself
    return select(func.max(later.id)).where(later.petition_id == petition_id).scalar_subquery()


def remember_latest(session: Session, petition_id: int, assignment: KpiAssignment | None) -> None:
    """`assignment` is the petition's latest (as a query of this transaction found it):
    `latest` need not look again."""
    _latest_assignments(session)[petition_id] = assignment


def latest(session: Session, petition_id: int) -> KpiAssignment | None:
    """The petition's latest assignment, looked up once per transaction (the facts of this
    transaction's changes are the only ones written to it meanwhile, and kept here)."""
    known = _latest_assignments(session)
    if petition_id not in known:
        known[petition_id] = session.scalars(select(KpiAssignment).where(KpiAssignment.petition_id == petition_id)
                                             .order_by(KpiAssignment.id.desc()).limit(1)).first()
    return known[petition_id]


def _latest_assignments(session: Session) -> dict[int, KpiAssignment | None]:
    return session.info.setdefault("latest_assignment", {})


def record_change(session: Session, petition: Petition, target: S, task_spec: str | None, at: datetime,
                  calendar: BusinessCalendar) -> None:
    """Apply a status change of `petition` (its row already carries the step's data, not yet
    the new status) to its facts, in the caller's transaction."""
    change = Change(petition.id, calendar.local_day(petition.created_at), petition.department_code, petition.status,
                    target, task_spec, at, petition.sign_due_at, petition.due_at)
    current = None if petition.status is S.RECEIVED else latest(session, petition.id)  # its first change: no facts yet
    added = advance(current, change, calendar)
    if added is not None:
        assignment = KpiAssignment(**added.values())
        session.add(assignment)
        remember_latest(session, petition.id, assignment)
    elif current is not None and change.source is S.REPLIED:  # the citizen's feedback step
        current.rating, current.solved = petition.rating, petition.solved


def record_escalation(session: Session, petition_id: int, level: str) -> None:
    """Count a new escalation rung against the department that has the petition."""
    column = ESCALATION_COLUMNS.get(level)
    current = latest(session, petition_id) if column else None
    if current is not None:
        setattr(current, column, getattr(current, column) + 1)


# -- rebuilding from the audit log -----------------------------------------------------------

def rebuild(session: Session, calendar: BusinessCalendar) -> int:
    """Replace every fact by a replay of the audit log (petitions with a process only), in
    batches of petitions read as plain rows and written with multi-row INSERTs, so memory
    stays flat however many petitions there are. Returns the number of assignments written."""
    session.execute(delete(KpiAssignment))
    _latest_assignments(session).clear()
    ids = session.scalars(select(Petition.id).where(Petition.instance_id.is_not(None)).order_by(Petition.id)).all()
    written = 0
    for first in range(0, len(ids), REBUILD_BATCH):
        rows = [facts.values() for facts in replay(session, ids[first:first + REBUILD_BATCH], calendar)]
        if rows:
            session.execute(insert(KpiAssignment.__table__), rows)
        written += len(rows)
    return written


def replay(session: Session, petition_ids: Sequence[int], calendar: BusinessCalendar) -> Iterator[Facts]:
    """The assignments of these petitions, replayed from their status changes (not added to the session)."""
    petitions = {p.instance_id: p for p in session.execute(select(
        Petition.id, Petition.instance_id, Petition.created_at, Petition.sign_due_at, Petition.due_at, Petition.rating,
        Petition.solved).where(Petition.id.in_(petition_ids)))}
    # Only the fields a change needs, taken out of the JSON by the database.
    fields = [InstanceEvent.data[key].as_string() for key in EVENT_FIELDS]
    events = session.execute(select(InstanceEvent.instance_id, InstanceEvent.at, InstanceEvent.task_spec, *fields).where(
        InstanceEvent.instance_id.in_(petitions), InstanceEvent.kind == "status_changed"
    ).order_by(InstanceEvent.instance_id, InstanceEvent.id))
    escalations: dict[int, list[Any]] = defaultdict(list)
    for escalation in session.execute(select(Escalation.petition_id, Escalation.level, Escalation.created_at)
                                      .where(Escalation.petition_id.in_(petition_ids)).order_by(Escalation.created_at)):
        escalations[escalation.petition_id].append(escalation)
    received_on = {instance_id: calendar.local_day(p.created_at) for instance_id, p in petitions.items()}
    assignments: dict[int, list[Facts]] = defaultdict(list)
    for instance_id, at, task_spec, source, target, department, due, sign_due in events:
        petition = petitions[instance_id]
        rows = assignments[petition.id]
        change = Change(petition.id, received_on[instance_id], department, S(source), S(target), task_spec, at,
                        _moment(sign_due, petition.sign_due_at), _moment(due, petition.due_at))
        added = advance(rows[-1] if rows else None, change, calendar)
        if added is not None:
            rows.append(added)
    for petition in petitions.values():
        rows = assignments[petition.id]
        _settle(rows, petition, escalations[petition.id])
        yield from rows


def _moment(value: str | None, fallback: datetime | None) -> datetime | None:
    """A deadline recorded in an event, else the petition's (events written before it was recorded)."""
    return parse_time(value) if value else fallback


def _settle(rows: list[Facts], petition: Any, escalations: list[Any]) -> None:
    """What the replay of status changes cannot know: the rating (on the last reply) and the
    escalation rungs (on the assignment the petition was with at the time)."""
    replied = [row for row in rows if row.outcome == "replied"]
    if replied:
        replied[-1].rating, replied[-1].solved = petition.rating, petition.solved
    for escalation in escalations:
        holders = [row for row in rows if row.assigned_at <= escalation.created_at]
        column = ESCALATION_COLUMNS.get(escalation.level)
        if holders and column:
            setattr(holders[-1], column, getattr(holders[-1], column) + 1)
