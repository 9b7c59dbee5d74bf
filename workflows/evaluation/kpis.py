"""Department KPIs of a period, aggregated in SQL from `kpi_assignment` (one pass, GROUP BY
department with FILTERed counts), plus the petitions open and overdue now.

A petition belongs to the period of its receipt day (受理日, local time): its figures settle as
it is handled, and never move to another period. Every rate is a numerator over a denominator;
below the minimum sample in the denominator the rate is insufficient data (`value` None), never
100 %. Definitions: docs/evaluation.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.db import utcnow

from ..departments import DepartmentNotFound
from ..models import Department, Petition
from ..statuses import PetitionStatus
from .models import KpiAssignment as A

DEFAULT_MIN_SAMPLE = 10
CITY_NAME = "全市"
# Statuses in which a department owes the petition work against its handling deadline (the
# clock stands still while the citizen is asked for information).
OWING_STATUSES = (PetitionStatus.SIGNING, PetitionStatus.HANDLING, PetitionStatus.EXTENSION_REQUESTED,
                  PetitionStatus.REVIEWING)


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    value: float | None  # None = insufficient data (denominator below the minimum sample)

    @property
    def sufficient(self) -> bool:
        return self.value is not None

    @classmethod
    def of(cls, numerator: int, denominator: int, min_sample: int) -> Rate:
        enough = denominator >= max(min_sample, 1)
        return cls(numerator, denominator, numerator / denominator if enough else None)


@dataclass(frozen=True)
class DepartmentKpis:
    department_code: str | None  # None = the city-wide row
    department_name: str
    petitions: int
    on_time_sign: Rate
    on_time_completion: Rate
    response: Rate
    resolution: Rate
    satisfaction: Rate
    reopen: Rate
    return_: Rate
    extension: Rate
    avg_reply_days: float | None  # working days
    p90_reply_days: float | None
    urges: int
    supervision_orders: int
    public_notices: int
    open_overdue: int


@dataclass(frozen=True)
class KpiTable:
    start: date
    end: date  # included
    min_sample: int
    departments: list[DepartmentKpis]
    city: DepartmentKpis


RATE_NAMES = ("on_time_sign", "on_time_completion", "response", "resolution", "satisfaction", "reopen", "return_",
              "extension")


def rate_conditions(now: datetime) -> dict[str, tuple[ColumnElement[bool], ColumnElement[bool]]]:
    """(numerator, denominator) condition on `kpi_assignment` per rate; `now` decides which open
    assignments are already late. The same conditions select the petitions behind a figure."""
    judged_sign = A.sign_outcome.in_(("signed", "returned", "deemed"))
    replied = A.outcome.is_not_distinct_from("replied")  # never NULL: the adverse side is NOT numerator
    still_open = A.outcome.is_(None)
    kept = or_(still_open, replied)  # neither returned, transferred away, nor closed for want of information
    return {
        "on_time_sign": (and_(judged_sign, A.sign_on_time.is_(True)), judged_sign),
        "on_time_completion": (and_(replied, A.reply_on_time.is_(True)), or_(replied, and_(still_open, A.due_at < now))),
        "response": (replied, kept),
        "resolution": (A.solved.is_(True), A.solved.is_not(None)),
        "satisfaction": (A.rating >= 4, A.rating.is_not(None)),
        "reopen": (and_(replied, A.reopens > 0), replied),
        "return_": (A.sign_outcome == "returned", judged_sign),
        "extension": (and_(kept, A.extended.is_(True)), kept),
    }


def dispatched() -> ColumnElement[bool]:
    """An assignment that is a dispatch of its own (a forced one continues an earlier dispatch)."""
    return or_(A.sign_outcome.is_(None), A.sign_outcome != "forced")


def in_period(start: date, end: date) -> ColumnElement[bool]:
    return A.received_on.between(start, end)


def _counts_query(start: date, end: date, now: datetime) -> Select:
    columns = [A.department_code, func.count().filter(dispatched()).label("petitions")]
    for name, (numerator, denominator) in rate_conditions(now).items():
        columns += [func.count().filter(numerator).label(f"{name}_n"), func.count().filter(denominator).label(f"{name}_d")]
    columns += [func.coalesce(func.sum(A.urges), 0).label("urges"), func.coalesce(func.sum(A.orders), 0).label("orders"),
                func.coalesce(func.sum(A.notices), 0).label("notices")]
    return select(*columns).where(in_period(start, end)).group_by(A.department_code)


def _reply_days_query(start: date, end: date) -> Select:
    """How many replies took each number of working days, per department: the average and the
    90th percentile come from this small histogram, the same way on every database."""
    return (select(A.department_code, A.reply_workdays, func.count())
            .where(in_period(start, end), A.reply_workdays.is_not(None))
            .group_by(A.department_code, A.reply_workdays))


def _open_overdue_query(now: datetime) -> Select:
    return (select(Petition.department_code, func.count())
            .where(Petition.status.in_(OWING_STATUSES), Petition.due_at < now)
            .group_by(Petition.department_code))


def _resolve_min_sample(min_sample: int | None) -> int:
    return DEFAULT_MIN_SAMPLE if min_sample is None else min_sample


def _by_department(session: Session, start: date, end: date, now: datetime, code: str | None):
    """Counts, reply-day histograms and open overdue petitions per department (one department's when `code`)."""
    counts_q, days_q, overdue_q = _counts_query(start, end, now), _reply_days_query(start, end), _open_overdue_query(now)
    if code is not None:
        counts_q, days_q = counts_q.where(A.department_code == code), days_q.where(A.department_code == code)
        overdue_q = overdue_q.where(Petition.department_code == code)
    counts = {row.department_code: dict(row._mapping) for row in session.execute(counts_q)}
    histograms: dict[str, Counter[int]] = {}
    for department, days, count in session.execute(days_q):
        histograms.setdefault(department, Counter())[days] = count
    overdue = dict(session.execute(overdue_q).all())
    return counts, histograms, overdue


def department_table(session: Session, start: date, end: date, *, min_sample: int | None = None,
                     now: datetime | None = None) -> KpiTable:
    """Every department's KPIs for petitions received from `start` to `end` (local days, both
    included), departments in code order, and the city-wide row (all departments together)."""
    min_sample, now = _resolve_min_sample(min_sample), now or utcnow()
    counts, histograms, overdue = _by_department(session, start, end, now, None)
    names = dict(session.execute(select(Department.code, Department.name).where(
        or_(Department.active.is_(True), Department.code.in_(set(counts) | set(overdue))))).all())
    rows = [_kpis(code, name, counts.get(code, {}), histograms.get(code, Counter()), overdue.get(code, 0), min_sample)
            for code, name in sorted(names.items())]
    city = _kpis(None, CITY_NAME, _sum(counts.values()), sum(histograms.values(), Counter()),
                 sum(n for code, n in overdue.items() if code is not None), min_sample)
    return KpiTable(start, end, min_sample, rows, city)


def department_kpis(session: Session, code: str, start: date, end: date, *, min_sample: int | None = None,
                    now: datetime | None = None) -> DepartmentKpis:
    """One department's KPIs, as in `department_table`. Raises DepartmentNotFound."""
    department = session.get(Department, code)
    if department is None:
        raise DepartmentNotFound(code)
    counts, histograms, overdue = _by_department(session, start, end, now or utcnow(), code)
    return _kpis(code, department.name, counts.get(code, {}), histograms.get(code, Counter()), overdue.get(code, 0),
                 _resolve_min_sample(min_sample))


def _sum(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for row in rows:
        total.update({key: value for key, value in row.items() if key != "department_code"})
    return dict(total)


def _kpis(code: str | None, name: str, counts: Mapping[str, int], reply_days: Counter[int], open_overdue: int,
          min_sample: int) -> DepartmentKpis:
    rates = {name_: Rate.of(counts.get(f"{name_}_n", 0), counts.get(f"{name_}_d", 0), min_sample)
             for name_ in RATE_NAMES}
    replies = sum(reply_days.values())
    return DepartmentKpis(
        department_code=code, department_name=name, petitions=counts.get("petitions", 0), **rates,
        avg_reply_days=sum(d * n for d, n in reply_days.items()) / replies if replies else None,
        p90_reply_days=percentile(reply_days, 0.9),
        urges=counts.get("urges", 0), supervision_orders=counts.get("orders", 0),
        public_notices=counts.get("notices", 0), open_overdue=open_overdue)


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """Nearest-rank percentile of a histogram {value: count}: the smallest value with at least
    `fraction` of the observations at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(fraction * total), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return None
