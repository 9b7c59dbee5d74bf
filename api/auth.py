"""Bearer-token authentication and role checks for staff endpoints.

`@roles(...)` authenticates the request (401 without a valid token) and checks the account's
role (403). A handler belongs to a department and sees only its own work: `department_scope`
gives the department to filter by (None for roles that see everything), and lookups of a
single record answer 404 for another department's, so existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request

from workflows.staff import Role, Staff, authenticate

from .extensions import services

F = TypeVar("F", bound=Callable[..., Any])
STAFF = tuple(Role)
SECURITY = [{"bearerAuth": []}]


def _authenticated() -> Staff:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="send a staff API token as 'Authorization: Bearer <token>'")
    with services().db.connect_for_reads() as connection:
        staff = authenticate(connection, token.strip())
    if staff is None:
        abort(401, description="the API token is not valid")
    return staff


def roles(*allowed: Role) -> Callable[[F], F]:
    """Require a staff token whose role is one of `allowed` (all staff roles when none given)."""
    permitted = frozenset(allowed or STAFF)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = _authenticated()
            if staff.role not in permitted:
                abort(403, description=f"a {staff.role.value} may not do this")
            g.staff = staff
            return view(*args, **kwargs)

        wrapper._minyi_roles = permitted  # type: ignore[attr-defined]  (read by the access-matrix test)
        return wrapper  # type: ignore[return-value]

    return decorate


def current_staff() -> Staff:
    return g.staff


def department_scope(staff: Staff | None = None) -> str | None:
    """The department a staff member is confined to, or None when they see every department."""
    staff = staff or current_staff()
    return staff.department_code if staff.role is Role.HANDLER else None


def ensure_in_scope(department_code: str | None, not_found: Callable[[], Exception]) -> None:
    """Raise `not_found()` when a handler reaches for another department's record."""
    scope = department_scope()
    if scope is not None and department_code != scope:
        raise not_found()
