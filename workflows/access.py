"""Who may see and work on which task and petition: lanes, departments and contacts.

A task's lane names the role that works on it (the BPMN lanes are `dispatcher`, `handler`,
`supervisor` and `citizen`); a handler works only on its own department's tasks. Citizens'
tasks are answered through the citizen's own endpoints, never by staff. Both the inbox
query (as SQL) and the checks on a single task (in Python) come from the rules here, so the
list and the detail cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from engine import HumanTask

from .errors import InvalidForm
from .staff import Role, Staff

CITIZEN_LANE = "citizen"
LANE_OF_ROLE: dict[Role, str] = {Role.DISPATCHER: "dispatcher", Role.HANDLER: "handler", Role.SUPERVISOR: "supervisor"}
# Roles that oversee every staff lane: they may look at any staff task (and reassign it).
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Roles that read petitions' contact details in full; a handler does for its own department's.
SEES_CONTACTS = frozenset({Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Caller:
    """Stands in for the staff member while a statement is built once for every caller of a
    role: its name and department are parameters, bound (`caller_params`) when it runs."""

    role: Role
    name: Any = bindparam("staff_name")
    department_code: Any = bindparam("staff_department")


def caller_params(staff: Staff) -> dict[str, Any]:
    return {"staff_name": staff.name, "staff_department": staff.department_code}


def may_act(staff: Staff, task: HumanTask) -> bool:
    """Whether `staff` may claim or complete `task`: the lane's role (a handler only in its
    own department), or an administrator on any staff task."""
    if task.lane == CITIZEN_LANE:
        return False
    if staff.role is Role.ADMIN:
        return True
    if task.lane is None or LANE_OF_ROLE.get(staff.role) != task.lane:
        return False
    return staff.role is not Role.HANDLER or task.department == staff.department_code


def may_see(staff: Staff, task: HumanTask) -> bool:
    """Whether `task` exists for `staff` at all (otherwise it is answered as unknown)."""
    if task.lane == CITIZEN_LANE:
        return False
    return staff.role in OVERSEERS or may_act(staff, task) or task.assignee == staff.name


def may_release(staff: Staff, task: HumanTask) -> bool:
    """Whether `staff` may put someone else's claim on `task` back in the pool."""
    return staff.role in OVERSEERS and may_see(staff, task)


def _staff_lane() -> ColumnElement[bool]:
    return or_(HumanTask.lane.is_(None), HumanTask.lane != CITIZEN_LANE)


def _own_lane(staff: Staff) -> ColumnElement[bool] | None:
    """The tasks of the lane `staff` works on (its department's, for a handler), if any."""
    lane = LANE_OF_ROLE.get(staff.role)
    if lane is None:
        return None
    own = HumanTask.lane == lane
    return and_(own, HumanTask.department == staff.department_code) if staff.role is Role.HANDLER else own


def visible_tasks(staff: Staff) -> ColumnElement[bool]:
    """`may_see` as an SQL condition on `human_task`."""
    if staff.role in OVERSEERS:
        return _staff_lane()
    own = _own_lane(staff)
    assigned = HumanTask.assignee == staff.name
    return and_(_staff_lane(), or_(own, assigned) if own is not None else assigned)


def inbox_parts(staff: Staff, lane: str | None) -> list[ColumnElement[bool]]:
    """The inbox of `staff` (the tasks it may see in `lane`, or by default in its own lane and
    assigned to it; every staff lane for an administrator) as disjoint conditions on
    `human_task`.

    Why parts: "my lane OR assigned to me" as one condition makes the database gather and
    sort the whole lane for every page; each part alone is one index range already in due
    order (the lane's queue, the assignee's few tasks), so a page merges two short lists.
    """
    in_lane = (lambda condition: and_(condition, HumanTask.lane == lane)) if lane is not None else (lambda c: c)
    own = _own_lane(staff)
    if staff.role is Role.ADMIN or (staff.role in OVERSEERS and lane is not None):
        return [in_lane(_staff_lane())]
    assigned = and_(_staff_lane(), HumanTask.assignee == staff.name)
    if own is None:
        return [in_lane(assigned)]
    return [in_lane(own), in_lane(and_(assigned, own.is_not(True)))]


def sees_contacts(staff: Staff) -> bool:
    """Whether `staff` reads contact details unmasked (on a petition it may open at all)."""
    return staff.role in SEES_CONTACTS


def check_assignee(session: Session, task: HumanTask, name: str) -> Staff:
    """The active account called `name`, if it may work on `task`. Raises InvalidForm (on the
    `assignee` field): a task given to someone who may not complete it would be stuck."""
    assignee = session.scalars(select(Staff).where(Staff.name == name, Staff.active.is_(True))).first()
    if assignee is None:
        raise InvalidForm("assignment", {"assignee": [f"no active staff account named {name!r}"]})
    if not may_act(assignee, task):
        raise InvalidForm("assignment", {"assignee": [f"{name} ({assignee.role.value}) does not work on {task.lane or 'unlaned'} tasks"
                                                      + (f" of {task.department}" if task.department else "")]})
    return assignee
