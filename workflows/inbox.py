"""The task inbox: the pending tasks a staff member may see, overdue first, one page at a time.

The inbox is a union of disjoint parts (`access.inbox_parts`: the lane's queue, the tasks
assigned to the caller), each read in inbox order from its own index range, so a page costs
the same whether a lane holds twenty tasks or twenty thousand.

Building that statement costs more CPU than running it, so each shape of inbox (role, which
filters are set) is built once with bound parameters for the caller and the filter values,
and reused.

The total is counted up to `COUNT_LIMIT`: an exact count would read a department's whole queue
(tens of thousands of index entries) on every page, the largest cost of a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine import HumanTask, TaskStatus
from engine.models import IS_PENDING_TASK, PENDING_TASK_STATUSES

from .access import Caller, caller_params, inbox_parts
from .queries import COUNT_LIMIT, Page, TaskEntry, page_total, with_petition
from .staff import Role


@dataclass(frozen=True)
class InboxFilter:
    """`mine`: assigned to or claimed by the caller; `lane` None: the caller's usual lanes."""

    mine: bool = False
    lane: str | None = None
    department: str | None = None
    status: TaskStatus | None = None
    overdue: bool | None = None
    process: str | None = None


def _order(task: Any) -> tuple[ColumnElement[Any], ...]:
    """Oldest due first (so overdue tasks lead), tasks without a due time last."""
    return task.due_at.asc().nulls_last(), task.created_at, task.id


def _conditions(caller: Caller, status: TaskStatus | None, mine: bool, department: bool, process: bool,
                overdue: bool | None) -> list[ColumnElement[bool]]:
    """What every part shares: pending (written as the queue index's predicate, so the planner
    can use it), and the filters that are set."""
    conditions: list[ColumnElement[bool]] = [IS_PENDING_TASK]  # type: ignore[list-item]
    if status in PENDING_TASK_STATUSES:
        conditions.append(HumanTask.status == status)
    if mine:
        conditions.append(or_(HumanTask.assignee == caller.name, HumanTask.claimed_by == caller.name))
    if department:
        conditions.append(HumanTask.department == bindparam("department"))
    if process:
        conditions.append(HumanTask.process_key == bindparam("process"))
    if overdue is True:
        conditions.append(HumanTask.due_at < bindparam("now"))
    elif overdue is False:
        conditions.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= bindparam("now")))
    return conditions


@lru_cache(maxsize=512)
def _statements(role: Role, lane: bool, status: TaskStatus | None, mine: bool, department: bool, process: bool,
                overdue: bool | None) -> tuple[Select, Select]:
    """The page query and the bounded count, for one shape of inbox.

    Each part contributes its first `depth` (= page × page size) tasks; the page is cut from
    their merge, built from plain columns and joined back to the tasks and their petitions.
    The count adds up each part's first `count_bound` tasks (the parts are disjoint).
    """
    caller = Caller(role)
    shared = _conditions(caller, status, mine, department, process, overdue)
    parts = [and_(*shared, part) for part in inbox_parts(caller, bindparam("lane") if lane else None)]  # type: ignore[arg-type]
    heads = [select(HumanTask.id, HumanTask.due_at, HumanTask.created_at).where(part).order_by(*_order(HumanTask))
             .limit(bindparam("depth")).subquery() for part in parts]
    merged = union_all(*(select(head) for head in heads)).subquery() if len(heads) > 1 else heads[0]
    page_ids = (select(merged).order_by(*_order(merged.c)).limit(bindparam("page_size")).offset(bindparam("skip"))
                .subquery())
    page = with_petition(select(HumanTask).join(page_ids, page_ids.c.id == HumanTask.id)).order_by(*_order(page_ids.c))
    counted = [select(HumanTask.id).where(part).limit(bindparam("count_bound")).subquery() for part in parts]
    everything = union_all(*(select(part) for part in counted)).subquery() if len(counted) > 1 else counted[0]
    return page, select(func.count()).select_from(everything)


def inbox_page(session: Session, staff: Any, f: InboxFilter, now: datetime, page: int, page_size: int,
               count_limit: int = COUNT_LIMIT) -> Page[TaskEntry]:
    """One page of the pending tasks `staff` may see that match `f`, each with its petition,
    and their total: exact up to `count_limit`, past it `count_limit` with `total_exact` false."""
    query, count = _statements(staff.role, f.lane is not None, f.status, f.mine, f.department is not None,
                               f.process is not None, f.overdue)
    params = {**caller_params(staff), "lane": f.lane,
              "department": f.department, "process": f.process, "now": now, "count_bound": count_limit + 1,
              "depth": page * page_size, "page_size": page_size, "skip": (page - 1) * page_size}
    entries = [TaskEntry.from_row(row) for row in session.execute(query, params)]
    total, exact = page_total(len(entries), page, page_size, count_limit, lambda: session.scalar(count, params) or 0)
    return Page(entries, total, page, page_size, total_exact=exact)
