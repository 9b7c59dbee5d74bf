"""Staff accounts: who may do what, in which department, authenticated by an API token.

Tokens are 256 random bits shown once at creation; only their SHA-256 is stored (a slow
password hash buys nothing for a random secret and would cost every request).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Connection, ForeignKey, Index, Select, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, UTCDateTime, string_enum
from engine.models import BigId

from .errors import PetitionError, UnknownDepartment
from .models import Department
from .tokens import hash_token


class Role(str, enum.Enum):
    DISPATCHER = "dispatcher"
    HANDLER = "handler"  # belongs to a department and sees only its work
    SUPERVISOR = "supervisor"
    DESIGNER = "designer"
    ADMIN = "admin"
    EVALUATOR = "evaluator"  # reads reports only


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (Index("ix_staff_token_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(string_enum(Role))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    token_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffError(PetitionError):
    pass


class DuplicateStaff(StaffError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"a staff account named {name!r} exists already")


class DepartmentRequired(StaffError):
    def __init__(self, role: Role):
        self.role = role
        super().__init__(f"a {role.value} must belong to a department")


class UnknownStaff(StaffError):
    def __init__(self, staff_id: int):
        self.staff_id = staff_id
        super().__init__(f"no staff account {staff_id}")


class LastAdministrator(StaffError):
    def __init__(self, staff_id: int):
        self.staff_id = staff_id
        super().__init__(f"account {staff_id} is the last active administrator; appoint another one first")


class _Unset:
    """Marks an optional change that was not asked for (None means "clear it")."""


UNSET = _Unset()


@dataclass(frozen=True)
class NewStaff:
    staff: Staff
    token: str  # shown once


def create_staff(session: Session, name: str, role: Role, department_code: str | None, now: datetime) -> NewStaff:
    """Create an account and its API token. Raises DuplicateStaff, DepartmentRequired, UnknownDepartment."""
    if role is Role.HANDLER and not department_code:
        raise DepartmentRequired(role)
    if department_code and session.get(Department, department_code) is None:
        raise UnknownDepartment(department_code)
    if session.scalars(select(Staff.id).where(Staff.name == name)).first() is not None:
        raise DuplicateStaff(name)
    token = "mny_" + secrets.token_urlsafe(32)
    staff = Staff(name=name, role=role, department_code=department_code, token_hash=hash_token(token), active=True,
                  created_at=now)
    session.add(staff)
    session.flush()
    return NewStaff(staff, token)


# Built once: every staff request asks it.
ACCOUNT_BY_TOKEN = select(Staff.__table__).where(Staff.token_hash == bindparam("token_hash"), Staff.active.is_(True))


def authenticate(connection: Connection, token: str) -> Staff | None:
    """The active account a token belongs to, or None, as a copy of its row outside any session.

    Every staff request asks, so it runs on a bare connection: an ORM session and an entity
    loaded through the identity map cost about three times the query itself. Callers read the
    copy's name, role and department; nothing writes through it."""
    row = connection.execute(ACCOUNT_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    return None if row is None else Staff(**row._mapping)


def staff_query(role: Role | None = None, department_code: str | None = None, active: bool | None = None) -> Select:
    """Accounts matching every filter given, by name."""
    query = select(Staff).order_by(Staff.name)
    if role is not None:
        query = query.where(Staff.role == role)
    if department_code is not None:
        query = query.where(Staff.department_code == department_code)
    if active is not None:
        query = query.where(Staff.active.is_(active))
    return query


def update_staff(session: Session, staff_id: int, *, role: Role | None = None,
                 department_code: str | None | _Unset = UNSET, active: bool | None = None) -> Staff:
    """Change an account's role, department or whether it may sign in (a deactivated token is
    refused from the next request on). Raises UnknownStaff, DepartmentRequired,
    UnknownDepartment, LastAdministrator (the system would have no administrator left)."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise UnknownStaff(staff_id)
    new_role = role or staff.role
    new_department = staff.department_code if isinstance(department_code, _Unset) else department_code
    new_active = staff.active if active is None else active
    if new_role is Role.HANDLER and not new_department:
        raise DepartmentRequired(new_role)
    if new_department and new_department != staff.department_code and session.get(Department, new_department) is None:
        raise UnknownDepartment(new_department)
    if staff.role is Role.ADMIN and staff.active and (new_role is not Role.ADMIN or not new_active):
        # Lock every active administrator in one order, so two admins demoting each other
        # queue instead of both succeeding (or deadlocking) on PostgreSQL.
        admins = session.scalars(select(Staff.id).where(Staff.role == Role.ADMIN, Staff.active.is_(True))
                                 .order_by(Staff.id).with_for_update()).all()
        if not set(admins) - {staff_id}:
            raise LastAdministrator(staff_id)
    staff.role, staff.department_code, staff.active = new_role, new_department, new_active
    session.flush()
    return staff
