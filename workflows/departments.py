"""Departments and the routing rules that suggest one for each category of petition.

Departments are never deleted (petitions, tasks and statistics keep referring to them); an
administrator deactivates one instead. Routing rules only suggest: the dispatcher decides.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .errors import PetitionError, UnknownDepartment
from .models import Department, RoutingRule


class DepartmentNotFound(PetitionError):
    """The department a request is about (not one it refers to) does not exist."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no department {code!r}")


class DuplicateDepartment(PetitionError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"a department with code {code!r} exists already")


class InvalidParent(PetitionError):
    def __init__(self, code: str, parent_code: str):
        self.code, self.parent_code = code, parent_code
        super().__init__(f"department {parent_code!r} cannot be the parent of {code!r}: that would make a cycle")


class InactiveDepartment(PetitionError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"department {code!r} is inactive")


class InvalidCategory(PetitionError):
    def __init__(self, category: str):
        self.category = category
        super().__init__(f"a category has 1 to {CATEGORY_LENGTH} characters; {category[:80]!r} has {len(category)}")


class UnknownRoutingRule(PetitionError):
    def __init__(self, category: str):
        self.category = category
        super().__init__(f"no routing rule for category {category!r}")


CATEGORY_LENGTH = RoutingRule.__table__.c.category.type.length


class _Unset:
    """Marks an optional change that was not asked for (None means "clear it")."""


UNSET = _Unset()


def departments_query(active: bool | None = None) -> Select:
    query = select(Department).order_by(Department.code)
    return query if active is None else query.where(Department.active.is_(active))


def create_department(session: Session, code: str, name: str, parent_code: str | None = None,
                      active: bool = True) -> Department:
    """Raises DuplicateDepartment, UnknownDepartment (the parent)."""
    if session.get(Department, code) is not None:
        raise DuplicateDepartment(code)
    if parent_code is not None and session.get(Department, parent_code) is None:
        raise UnknownDepartment(parent_code)
    department = Department(code=code, name=name, parent_code=parent_code, active=active)
    session.add(department)
    session.flush()
    return department


def update_department(session: Session, code: str, *, name: str | None = None,
                      parent_code: str | None | _Unset = UNSET, active: bool | None = None) -> Department:
    """Rename, move or (de)activate a department. Raises DepartmentNotFound, UnknownDepartment
    (the parent), InvalidParent."""
    department = session.get(Department, code)
    if department is None:
        raise DepartmentNotFound(code)
    if not isinstance(parent_code, _Unset):
        if parent_code is not None:
            _check_parent(session, code, parent_code)
        department.parent_code = parent_code
    if name is not None:
        department.name = name
    if active is not None:
        department.active = active
    session.flush()
    return department


def _check_parent(session: Session, code: str, parent_code: str) -> None:
    """The parent must exist and must not be the department itself or one below it."""
    seen = {code}
    current: str | None = parent_code
    while current is not None:
        if current in seen:
            raise InvalidParent(code, parent_code)
        seen.add(current)
        parent = session.get(Department, current)
        if parent is None:
            raise UnknownDepartment(current)
        current = parent.parent_code


def routing_rules_query() -> Select:
    return select(RoutingRule).order_by(RoutingRule.category)


def set_routing_rule(session: Session, category: str, department_code: str) -> RoutingRule:
    """Route a category to an active department, replacing any earlier rule. Raises
    InvalidCategory, UnknownDepartment, InactiveDepartment."""
    if not 0 < len(category) <= CATEGORY_LENGTH:
        raise InvalidCategory(category)
    department = session.get(Department, department_code)
    if department is None:
        raise UnknownDepartment(department_code)
    if not department.active:
        raise InactiveDepartment(department_code)
    rule = session.get(RoutingRule, category)
    if rule is None:
        rule = RoutingRule(category=category, department_code=department_code)
        session.add(rule)
    else:
        rule.department_code = department_code
    session.flush()
    return rule


def delete_routing_rule(session: Session, category: str) -> None:
    """Raises UnknownRoutingRule."""
    rule = session.get(RoutingRule, category)
    if rule is None:
        raise UnknownRoutingRule(category)
    session.delete(rule)
    session.flush()
