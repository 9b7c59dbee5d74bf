"""Staff accounts: who may do what, in which department, authenticated by an API token.

Tokens are 256 random bits shown once at creation; only their SHA-256 is stored (a slow
password hash buys nothing for a random secret and would cost every request).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, UTCDateTime, string_enum
from engine.models import BigId

from .errors import PetitionError, UnknownDepartment
from .models import Department


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


@dataclass(frozen=True)
class NewStaff:
    staff: Staff
    token: str  # shown once


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def authenticate(session: Session, token: str) -> Staff | None:
    """The active account a token belongs to, or None."""
    return session.scalars(select(Staff).where(Staff.token_hash == hash_token(token), Staff.active.is_(True))).first()
