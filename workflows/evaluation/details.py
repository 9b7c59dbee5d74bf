"""The petitions behind a department's figures: for each KPI, the petitions counted against
the department (late, returned, reopened, rated low...), a capped page of them and their total.

The conditions are the KPIs' own (`kpis.rate_conditions`), so a list always adds up to the
figure it explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, not_, select
from sqlalchemy.orm import Session

from engine.db import utcnow

from ..departments import DepartmentNotFound
from ..models import Department, Petition
from .kpis import OWING_STATUSES, in_period, rate_conditions
from .models import KpiAssignment as A

# Rates whose numerator counts against the department; for the others it is the rest of the denominator.
ADVERSE_NUMERATOR = frozenset({"reopen", "return_", "extension"})
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class PetitionRef:
    id: int
    tracking_no: str
    title: str
    status: str


@dataclass(frozen=True)
class PetitionList:
    total: int
    petitions: list[PetitionRef]  # at most the limit, by id; a petition given twice may appear twice, as it counts twice


def adverse_conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    """Per figure, the assignments that count against the department."""
    conditions = {name: numerator if name in ADVERSE_NUMERATOR else and_(denominator, not_(numerator))
                  for name, (numerator, denominator) in rate_conditions(now).items()}
    conditions["escalated"] = (A.urges + A.orders + A.notices) > 0
    return conditions


def _page(query: Select, limit: int) -> Select:
    return query.add_columns(func.count().over().label("total")).order_by(Petition.id).limit(limit)


def behind_figures(session: Session, code: str, start: date, end: date, *, limit: int = DEFAULT_LIMIT,
                   now: datetime | None = None) -> dict[str, PetitionList]:
    """For each figure of department `code` in the period (and `open_overdue` now), the
    petitions counted against it. Raises DepartmentNotFound."""
    if session.get(Department, code) is None:
        raise DepartmentNotFound(code)
    now = now or utcnow()
    columns = (Petition.id, Petition.tracking_no, Petition.title, Petition.status)
    assigned = select(*columns).join(A, A.petition_id == Petition.id).where(in_period(start, end), A.department_code == code)
    queries = {name: assigned.where(condition) for name, condition in adverse_conditions(now).items()}
    queries["open_overdue"] = select(*columns).where(
        Petition.department_code == code, Petition.status.in_(OWING_STATUSES), Petition.due_at < now)
    return {name.rstrip("_"): _listed(session, _page(query, limit)) for name, query in queries.items()}


def _listed(session: Session, query: Select) -> PetitionList:
    rows = session.execute(query).all()
    refs = [PetitionRef(row.id, row.tracking_no, row.title, row.status.value) for row in rows]
    return PetitionList(rows[0].total if rows else 0, refs)
