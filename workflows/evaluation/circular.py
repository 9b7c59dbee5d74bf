"""What the quarterly circular (季度工作通报) says, gathered from the database in a few
aggregate queries: the KPI table, the ranking, the panel's scores, weekly series for the
charts, the overdue and publicly noticed petitions, and the period's hotspots.

Rendering it (HTML, charts, PDF) is `render`'s business; storing it, `store`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, not_, null, select
from sqlalchemy.orm import Session

from ..forms import TYPES
from ..models import Department, Escalation, Petition
from ..text.hotspots import Topic, discover
from .kpis import OWING_STATUSES, KpiTable, department_table, rate_conditions
from .models import KpiAssignment
from .panel import TOTAL as PANEL_TOTAL, PanelAverage, panel_averages
from .periods import HalfYear, Quarter
from .ranking import Ranked, Weights, rank

DEFAULT_ISSUER = "市人民政府办公室"
LISTED_PETITIONS = 10  # rows of each petition list; the total is given beside it
HOTSPOTS = 5
TYPE_LABELS = {"consultation": "咨询", "help": "求助", "suggestion": "建议", "complaint": "投诉", "report": "举报",
               "letters": "信访"}


@dataclass(frozen=True)
class Settings:
    issuer: str = DEFAULT_ISSUER
    weights: Weights = field(default_factory=Weights)
    min_sample: int | None = None  # the KPI module's default when None
    hotspots: int = HOTSPOTS


@dataclass(frozen=True)
class Week:
    first: date  # Monday, or the quarter's first day
    last: date


@dataclass(frozen=True)
class ListedPetition:
    tracking_no: str
    title: str
    department: str
    type: str
    due_at: datetime | None
    overdue_days: int | None  # calendar days past the handling deadline, as of the report
    noticed_at: datetime | None  # when it was publicly noticed (notices only)
    status: str


@dataclass(frozen=True)
class PetitionList:
    items: list[ListedPetition]
    total: int


@dataclass(frozen=True)
class Panel:
    period: HalfYear
    averages: list[PanelAverage]  # empty when the panel has not scored yet
    current: bool  # the quarter's own half-year (else the latest one before it with scores)


@dataclass(frozen=True)
class CircularData:
    quarter: Quarter
    issuer: str
    generated_at: datetime
    tz: ZoneInfo
    kpis: KpiTable
    previous_city_petitions: int
    ranking: list[Ranked]
    weights: Weights
    panel: Panel
    weeks: list[Week]
    volume_by_type: dict[str, list[int]]  # type label → petitions per week
    late_by_week: list[int]  # petitions received that week not completed on time
    overdue: PetitionList  # open and past the handling deadline now
    notices: PetitionList  # publicly noticed (通报) during the quarter
    hotspots: list[Topic]


def gather(session: Session, quarter: Quarter, now: datetime, tz: ZoneInfo, settings: Settings = Settings()) -> CircularData:
    """Everything the circular of `quarter` shows, as of `now`."""
    span = quarter.span
    start, end = span.bounds(tz)
    table = department_table(session, span.first, span.last, min_sample=settings.min_sample, now=now)
    previous = quarter.previous().span
    previous_table = department_table(session, previous.first, previous.last, min_sample=settings.min_sample, now=now)
    panel = panel_for(session, quarter)
    totals = {a.department_code: a.total for a in panel.averages}
    weeks = weeks_of(span.first, span.last)
    return CircularData(
        quarter=quarter, issuer=settings.issuer, generated_at=now, tz=tz, kpis=table,
        previous_city_petitions=previous_table.city.petitions,
        ranking=rank([d for d in table.departments if d.petitions or d.department_code in totals], totals,
                     PANEL_TOTAL, settings.weights),
        weights=settings.weights, panel=panel, weeks=weeks,
        volume_by_type=volume_by_type(session, weeks, tz), late_by_week=late_by_week(session, weeks, now),
        overdue=open_overdue(session, now), notices=noticed(session, start, end, now),
        hotspots=discover(session, start, end, settings.hotspots),
    )


def panel_for(session: Session, quarter: Quarter) -> Panel:
    """The panel's averages for the quarter's half-year, or else for the half-year before it."""
    own = quarter.half_year
    for period in (own, own.previous()):
        averages = list(panel_averages(session, period).values())
        if averages:
            return Panel(period, averages, period == own)
    return Panel(own, [], True)


def weeks_of(first: date, last: date) -> list[Week]:
    """The span in weeks from Monday to Sunday, the first and last cut at the span's ends."""
    weeks, day = [], first
    while day <= last:
        sunday = day + timedelta(days=6 - day.weekday())
        weeks.append(Week(day, min(sunday, last)))
        day = sunday + timedelta(days=1)
    return weeks


def _bucket(column, bounds: Sequence):
    """The index of the interval of `bounds` a column's value falls in (SQL CASE: one scan for all weeks)."""
    return case(*((column < bound, index) for index, bound in enumerate(bounds[1:])), else_=len(bounds) - 2)


def volume_by_type(session: Session, weeks: list[Week], tz: ZoneInfo) -> dict[str, list[int]]:
    """Petitions received per week, by type (every type, in the forms' order)."""
    instants = [w.first for w in weeks] + [weeks[-1].last + timedelta(days=1)]
    bounds = [datetime.combine(day, datetime.min.time(), tz) for day in instants]
    week = _bucket(Petition.created_at, bounds)
    rows = session.execute(select(week, Petition.type, func.count())
                           .where(Petition.created_at >= bounds[0], Petition.created_at < bounds[-1])
                           .group_by(week, Petition.type))
    series = {kind: [0] * len(weeks) for kind in TYPES}
    for index, kind, count in rows:
        series.setdefault(kind, [0] * len(weeks))[index] += count
    return {TYPE_LABELS.get(kind, kind): counts for kind, counts in series.items()}


def late_by_week(session: Session, weeks: list[Week], now: datetime) -> list[int]:
    """Per week of receipt, assignments that count against on-time completion (the KPI's own
    definition: answered late, or still open past the deadline)."""
    numerator, denominator = rate_conditions(now)["on_time_completion"]
    bounds = [w.first for w in weeks] + [weeks[-1].last + timedelta(days=1)]
    week = _bucket(KpiAssignment.received_on, bounds)
    rows = session.execute(select(week, func.count())
                           .where(KpiAssignment.received_on.between(weeks[0].first, weeks[-1].last),
                                  and_(denominator, not_(numerator)))
                           .group_by(week))
    late = [0] * len(weeks)
    for index, count in rows:
        late[index] += count
    return late


def _listed(session: Session, query, now: datetime) -> PetitionList:
    """The first LISTED_PETITIONS rows of (petition, department name, notice time) and the count of all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = [ListedPetition(p.tracking_no, p.title, name or "—", TYPE_LABELS.get(p.type, p.type), p.due_at,
                            (now - p.due_at).days if p.due_at and p.due_at < now else None, noticed_at, p.status.value)
             for p, name, noticed_at in session.execute(query.limit(LISTED_PETITIONS))]
    return PetitionList(items, total)


def open_overdue(session: Session, now: datetime) -> PetitionList:
    """Petitions a department still owes past their handling deadline, the longest overdue first."""
    query = (select(Petition, Department.name, null())
             .outerjoin(Department, Department.code == Petition.department_code)
             .where(Petition.status.in_(OWING_STATUSES), Petition.due_at < now)
             .order_by(Petition.due_at, Petition.id))
    return _listed(session, query, now)


def noticed(session: Session, start: datetime, end: datetime, now: datetime) -> PetitionList:
    """Petitions publicly noticed (通报) during the period, the earliest notice first."""
    query = (select(Petition, Department.name, Escalation.created_at)
             .join(Escalation, Escalation.petition_id == Petition.id)
             .outerjoin(Department, Department.code == Escalation.department_code)
             .where(Escalation.level == "notice", Escalation.created_at >= start, Escalation.created_at < end)
             .order_by(Escalation.created_at, Escalation.id))
    return _listed(session, query, now)
