"""Staff lists: petitions filtered on their indexed columns, the task inbox, an instance's audit log.

Every query here reads petition columns and engine projections only, never workflow state,
so a page costs about the same at a million petitions as at ten. Listings mask contact
details: people who only browse do not need a citizen's phone number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from operator import attrgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, inspect, or_, select
from sqlalchemy.orm import Session

from engine import HumanTask, InstanceEvent, UnknownTask
from engine.models import PENDING_TASK_STATUSES

from .access import Caller, caller_params, may_see, visible_tasks
from .masking import mask_email, mask_name, mask_phone
from .models import Petition
from .staff import Role, Staff
from .statuses import PUBLIC_STATUS, PetitionStatus, PublicStatus

T = TypeVar("T")
# Staff lists (petitions, the task inbox) count their matches up to this many: past it, "more
# than 1,000" is all a reader paging twenty at a time needs, and an exact count would read every
# matching row (a department's queue, a million petitions) on every page.
COUNT_LIMIT = 1_000
# Statuses in which a petition still waits for its department: only these can be overdue.
UNANSWERED = tuple(s for s, public in PUBLIC_STATUS.items() if public in (PublicStatus.RECEIVED, PublicStatus.IN_PROGRESS))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `total` is a lower bound when `total_exact` is false."""

    items: list[T]
    total: int
    page: int
    page_size: int
    total_exact: bool = True


def page_of(session: Session, query: Select, page: int, page_size: int, build: Callable[[Any], T],
            widen: Callable[[Select], Select] = lambda query: query, count_limit: int | None = None) -> Page[T]:
    """One page of `query`'s rows, each made into an item by `build`, and the count of all rows
    (`page_total`: not asked of the database when the page shows the end).

    `widen` adds what the items need but the count does not (a join for display), so
    counting stays on the filtered table alone. With `count_limit`, counting stops there:
    past it the total is "more than `count_limit`", which costs a bounded scan instead of one
    over every matching row.
    """
    def count() -> int:
        counted = query.order_by(None) if count_limit is None else query.order_by(None).limit(count_limit + 1)
        return session.scalar(select(func.count()).select_from(counted.subquery())) or 0

    rows = session.execute(widen(query).limit(page_size).offset((page - 1) * page_size))
    items = [build(row) for row in rows]
    total, exact = page_total(len(items), page, page_size, count_limit, count)
    return Page(items, total, page, page_size, exact)


def page_total(shown: int, page: int, page_size: int, count_limit: int | None, count: Callable[[], int]) -> tuple[int, bool]:
    """The total of a list of which page `page` shows `shown` items, and whether it is exact.

    A page that is not full (and not past the end) is the list's last, so the total is known
    without `count` asking the database: most inboxes fit on their first page. Otherwise
    `count()` counts, up to `count_limit` + 1. A total past `count_limit` is given as
    `count_limit`, not exact, however it is known."""
    if (shown or page == 1) and shown < page_size:
        total = (page - 1) * page_size + shown
    else:
        total = count()
    exact = count_limit is None or total <= count_limit
    return (total if exact else count_limit), exact  # type: ignore[return-value]


# -- petitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionFilter:
    """Every field given narrows the list; `text` looks in titles and bodies (or is a tracking number)."""

    status: PetitionStatus | None = None
    public_status: PublicStatus | None = None
    type: str | None = None
    urgency: str | None = None
    department: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None


def overdue_petitions(now: datetime) -> ColumnElement[bool]:
    """Past the handling deadline and not answered yet."""
    return and_(Petition.status.in_(UNANSWERED), Petition.due_at < now)


def petitions_query(f: PetitionFilter, now: datetime) -> Select:
    """Petitions matching `f`, newest first."""
    query = select(Petition).order_by(Petition.created_at.desc(), Petition.id.desc())
    equal = {Petition.status: f.status, Petition.public_status: f.public_status, Petition.type: f.type,
             Petition.urgency: f.urgency, Petition.department_code: f.department}
    query = query.where(*(column == value for column, value in equal.items() if value is not None))
    if f.overdue is True:
        query = query.where(overdue_petitions(now))
    elif f.overdue is False:
        query = query.where(~overdue_petitions(now) | Petition.due_at.is_(None))
    if f.created_from is not None:
        query = query.where(Petition.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(Petition.created_at < f.created_to)
    if f.text:  # a tracking number as the text finds that petition (callers quote theirs)
        query = query.where(or_(Petition.tracking_no == f.text.strip(), Petition.title.icontains(f.text, autoescape=True),
                                Petition.body.icontains(f.text, autoescape=True)))
    return query


def _reads_through(cls: type) -> type:
    """Give `cls` a read-only property for every petition column it does not define itself.

    Properties rather than `__getattr__`: a listing is dumped field by field, and a fallback
    lookup on every field (and on marshmallow's `__getitem__` probe) cost more than the query.
    """
    for key in inspect(Petition).columns.keys():
        if not hasattr(cls, key):
            setattr(cls, key, property(attrgetter(f"_petition.{key}")))
    return cls


@_reads_through
class MaskedPetition:
    """A petition as it is listed: every column as stored, except masked contact details."""

    __slots__ = ("_petition",)

    def __init__(self, petition: Petition):
        self._petition = petition

    @property
    def contact_name(self) -> str | None:
        return mask_name(self._petition.contact_name)

    @property
    def contact_phone(self) -> str | None:
        return mask_phone(self._petition.contact_phone)

    @property
    def contact_email(self) -> str | None:
        return mask_email(self._petition.contact_email)


def petitions_page(session: Session, f: PetitionFilter, now: datetime, page: int, page_size: int) -> Page[MaskedPetition]:
    """One page of the petition list, contacts masked; counted up to `COUNT_LIMIT`."""
    return page_of(session, petitions_query(f, now), page, page_size, lambda row: MaskedPetition(row[0]),
                   count_limit=COUNT_LIMIT)


def events_query(instance_id: int | None) -> Select:
    """The audit log of an instance, oldest first (nothing for a petition without one)."""
    return select(InstanceEvent).where(InstanceEvent.instance_id == instance_id).order_by(InstanceEvent.id)


# -- the task inbox -------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionBrief:
    """What a task says about the petition it belongs to."""

    id: int
    tracking_no: str
    title: str
    type: str
    urgency: str
    status: PetitionStatus
    department_code: str | None
    due_at: datetime | None


BRIEF_COLUMNS = (Petition.id, Petition.tracking_no, Petition.title, Petition.type, Petition.urgency, Petition.status,
                 Petition.department_code, Petition.due_at)


@dataclass(frozen=True)
class TaskEntry:
    """A task with its petition, when it belongs to one."""

    task: HumanTask
    petition: PetitionBrief | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> TaskEntry:
        task, *brief = row
        return cls(task, PetitionBrief(*brief) if brief[0] is not None else None)


def with_petition(query: Select) -> Select:
    return query.add_columns(*BRIEF_COLUMNS).outerjoin(Petition, Petition.instance_id == HumanTask.instance_id)


def visible_task(session: Session, staff: Staff, task_id: str) -> TaskEntry:
    """One task (pending or done) with its petition, if `staff` may see it. Raises UnknownTask
    for another department's or lane's task as for a missing one, so existence does not leak."""
    row = session.execute(_task_with_petition(), {"task_id": task_id}).first()
    if row is None or not may_see(staff, row[0]):
        raise UnknownTask(task_id)
    return TaskEntry.from_row(row)


@cache
def _task_with_petition() -> Select:
    """Built once: every request about one task asks it."""
    return with_petition(select(HumanTask).where(HumanTask.id == bindparam("task_id")))


def pending_entries(session: Session, staff: Staff, instance_id: int) -> list[TaskEntry]:
    """The pending tasks of an instance that `staff` may see, with its petition, oldest first."""
    rows = session.execute(_pending_of_instance(staff.role), {"instance_id": instance_id, **caller_params(staff)})
    return [TaskEntry.from_row(row) for row in rows]


@lru_cache(maxsize=16)
def _pending_of_instance(role: Role) -> Select:
    """Built once per role: every completed task's response asks it."""
    query = select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"),
                                    HumanTask.status.in_(PENDING_TASK_STATUSES),
                                    visible_tasks(Caller(role))).order_by(HumanTask.created_at, HumanTask.id)  # type: ignore[arg-type]
    return with_petition(query)
