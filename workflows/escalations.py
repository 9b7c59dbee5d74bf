"""Escalations as supervisors see them: the rungs of the supervision ladder (warning, urge,
supervision order, public notice) reached by petitions, and their acknowledgement.

The process records escalations (`record_escalation` in supervision.bpmn); people only read
and acknowledge them. Acknowledging says "seen", it does not stop the ladder: the process
goes on until the petition is handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from engine import ProcessInstance, audit

from .errors import PetitionError
from .models import Escalation, Petition

STATES = ("open", "acknowledged")


class UnknownEscalation(PetitionError):
    def __init__(self, escalation_id: int):
        self.escalation_id = escalation_id
        super().__init__(f"no escalation {escalation_id}")


class AlreadyAcknowledged(PetitionError):
    def __init__(self, escalation_id: int, by: str | None):
        self.escalation_id, self.by = escalation_id, by
        super().__init__(f"escalation {escalation_id} was acknowledged already by {by}")


@dataclass(frozen=True)
class EscalationEntry:
    """An escalation with the petition it is about."""

    id: int
    petition_id: int
    tracking_no: str
    title: str
    level: str
    department_code: str | None
    deadline: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @classmethod
    def of(cls, escalation: Escalation, petition: Petition) -> EscalationEntry:
        e = escalation
        return cls(e.id, e.petition_id, petition.tracking_no, petition.title, e.level, e.department_code, e.deadline,
                   e.created_at, e.acknowledged_at, e.acknowledged_by)


def escalations_query(*, level: str | None = None, department: str | None = None, state: str | None = None,
                      petition_id: int | None = None) -> Select:
    """Escalations matching every filter given, newest first."""
    query = select(Escalation).order_by(Escalation.created_at.desc(), Escalation.id.desc())
    if level is not None:
        query = query.where(Escalation.level == level)
    if department is not None:
        query = query.where(Escalation.department_code == department)
    if state == "open":
        query = query.where(Escalation.acknowledged_at.is_(None))
    elif state == "acknowledged":
        query = query.where(Escalation.acknowledged_at.is_not(None))
    if petition_id is not None:
        query = query.where(Escalation.petition_id == petition_id)
    return query


def with_petitions(session: Session, escalations: Sequence[Escalation]) -> list[EscalationEntry]:
    """Entries for a page of escalations, their petitions read in one query."""
    ids = {e.petition_id for e in escalations}
    petitions = {p.id: p for p in session.scalars(select(Petition).where(Petition.id.in_(ids)))} if ids else {}
    return [EscalationEntry.of(e, petitions[e.petition_id]) for e in escalations]


def acknowledge(session: Session, escalation_id: int, actor: str, now: datetime) -> EscalationEntry:
    """Mark an escalation as seen, once, and log it with the petition's events. A conditional
    UPDATE, so of two supervisors racing exactly one succeeds. Raises UnknownEscalation,
    AlreadyAcknowledged."""
    changed = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor)
        .execution_options(synchronize_session=False)
    ).rowcount
    escalation = session.scalars(
        select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
    ).first()
    if escalation is None:
        raise UnknownEscalation(escalation_id)
    if not changed:
        raise AlreadyAcknowledged(escalation_id, escalation.acknowledged_by)
    petition = session.get(Petition, escalation.petition_id)
    if petition.instance_id is not None:  # into the petition's audit log, beside the escalation itself
        audit.record(session, session.get(ProcessInstance, petition.instance_id), "escalation_acknowledged", now, actor,
                     data={"escalation_id": escalation.id, "level": escalation.level})
    return EscalationEntry.of(escalation, petition)

