"""Every error as RFC 9457 problem+json: `{type, title, status, detail, errors}`.

Domain and engine errors are mapped here, in one table, so no layer below `api/` knows HTTP.
Unknown ids are 404, races and wrong states 409, bad input 400/422 with field errors, an
unreachable database 503, and anything unexpected a 500 without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from engine import (
    ConflictError,
    DefinitionError,
    EngineError,
    InvalidData,
    NoMessageWaiting,
    ScriptError,
    UnknownInstance,
    UnknownProcess,
    UnknownTask,
)
from engine.errors import UnknownDefinitionFile
from workflows.deadlines import NoDeadlineRules
from workflows.departments import (
    DepartmentNotFound,
    DuplicateDepartment,
    InactiveDepartment,
    InvalidCategory,
    InvalidParent,
    UnknownRoutingRule,
)
from workflows.errors import InvalidForm, PetitionError, UnknownDepartment, UnknownPetition
from workflows.evaluation.panel import PeriodNotStarted
from workflows.evaluation.periods import InvalidPeriod
from workflows.evaluation.store import QuarterNotOver, UnknownReport
from workflows.escalations import AlreadyAcknowledged, UnknownEscalation
from workflows.staff import DepartmentRequired, DuplicateStaff, LastAdministrator, UnknownStaff
from workflows.statuses import IllegalTransition

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

# (error class, status, title), most specific first.
ERROR_STATUS: list[tuple[type[Exception], int, str]] = [
    (UnknownTask, 404, "Task not found"),
    (UnknownInstance, 404, "Process instance not found"),
    (UnknownProcess, 404, "Process not found"),
    (UnknownPetition, 404, "Petition not found"),
    (UnknownDefinitionFile, 404, "Definition file not found"),
    (UnknownEscalation, 404, "Escalation not found"),
    (DepartmentNotFound, 404, "Department not found"),
    (UnknownRoutingRule, 404, "Routing rule not found"),
    (UnknownStaff, 404, "Staff account not found"),
    (UnknownReport, 404, "Report not found"),
    (NoDeadlineRules, 404, "Deadline rules not found"),
    (UnknownDepartment, 422, "Unknown department"),
    (InactiveDepartment, 422, "Inactive department"),
    (InvalidParent, 422, "Invalid parent department"),
    (InvalidCategory, 422, "Invalid category"),
    (DefinitionError, 422, "Invalid process definition"),
    (InvalidData, 422, "Invalid data"),
    (InvalidForm, 422, "Invalid form data"),
    (InvalidPeriod, 422, "Invalid period"),
    (PeriodNotStarted, 422, "Period not begun"),
    (QuarterNotOver, 422, "Quarter not begun"),
    (DepartmentRequired, 422, "Department required"),
    (ScriptError, 422, "Script error"),
    (NoMessageWaiting, 409, "No process waits for this message"),
    (DuplicateStaff, 409, "Already exists"),
    (DuplicateDepartment, 409, "Already exists"),
    (AlreadyAcknowledged, 409, "Already acknowledged"),
    (LastAdministrator, 409, "Last administrator"),
    (IllegalTransition, 409, "Status change not allowed"),
    (ConflictError, 409, "Conflict"),
]


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, Any] | None = None,
            type_: str = "about:blank") -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)


def field_errors(exc: Exception) -> dict[str, Any] | None:
    if isinstance(exc, (InvalidData, InvalidForm, InvalidPeriod, PeriodNotStarted, QuarterNotOver)):
        return exc.errors
    if isinstance(exc, DefinitionError):
        errors: dict[str, list[str]] = {}
        for p in exc.problems:
            where = ", ".join(filter(None, [f"line {p.line}" if p.line else None, f"element {p.element_id}" if p.element_id else None]))
            errors.setdefault(p.file, []).append(f"{where}: {p.message}" if where else p.message)
        return errors
    return None


def handle_domain_error(exc: Exception) -> Response:
    for cls, status, title in ERROR_STATUS:
        if isinstance(exc, cls):
            return problem(status, title, str(exc), field_errors(exc))
    log.error("unmapped domain error", exc_info=exc)
    return problem(500, "Internal Server Error")


def handle_http_error(exc: HTTPException) -> Response:
    """Werkzeug/flask-smorest errors; webargs' validation failures carry their field messages."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    errors = None
    if isinstance(messages, dict):  # {location: {field: [messages]}}: flatten the locations away
        errors = {}
        for location_errors in messages.values():
            errors.update(location_errors if isinstance(location_errors, dict) else {"_": location_errors})
    detail = data.get("message") or exc.description
    response = problem(exc.code or 500, exc.name, detail, errors)
    if exc.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="minyi"'
    return response


def handle_database_down(exc: DBAPIError) -> Response:
    log.error("database unavailable: %s", exc)
    return problem(503, "Service Unavailable", "the database cannot be reached; try again shortly")


def handle_value_refused(exc: DataError) -> Response:
    """A value the database refuses (too long, out of range) that no check above caught: bad input."""
    log.warning("database refused a value: %s", exc.orig)
    return problem(422, "Invalid value", "a value is too long or out of range")


def handle_integrity(exc: IntegrityError) -> Response:
    """A unique or foreign key violation: most often two requests creating the same thing at once."""
    log.warning("integrity error: %s", exc.orig)
    return problem(409, "Conflict", "the change conflicts with existing data, perhaps a concurrent change; reload and retry")


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, handle_domain_error)
    app.register_error_handler(PetitionError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DataError, handle_value_refused)
    app.register_error_handler(IntegrityError, handle_integrity)
    app.register_error_handler(Exception, handle_unexpected)
