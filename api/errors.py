"""Every error as RFC 9457 problem+json: `{type, title, status, detail, errors}`.

Domain and engine errors are mapped here, in one table, so no layer below `api/` knows HTTP.
Unknown ids are 404, races and wrong states 409, bad input 400/422 with field errors, an
unreachable database 503, and anything unexpected a 500 without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from sqlalchemy.exc import DBAPIError, OperationalError
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
from workflows.errors import InvalidForm, PetitionError, UnknownDepartment, UnknownPetition
from workflows.staff import DepartmentRequired, DuplicateStaff
from workflows.statuses import IllegalTransition

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

# (error class, status, title), most specific first.
ERROR_STATUS: list[tuple[type[Exception], int, str]] = [
    (UnknownTask, 404, "Task not found"),
    (UnknownInstance, 404, "Process instance not found"),
    (UnknownProcess, 404, "Process not found"),
    (UnknownPetition, 404, "Petition not found"),
    (UnknownDepartment, 422, "Unknown department"),
    (DefinitionError, 422, "Invalid process definition"),
    (InvalidData, 422, "Invalid data"),
    (InvalidForm, 422, "Invalid form data"),
    (DepartmentRequired, 422, "Department required"),
    (ScriptError, 422, "Script error"),
    (NoMessageWaiting, 409, "No process waits for this message"),
    (DuplicateStaff, 409, "Already exists"),
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
    if isinstance(exc, (InvalidData, InvalidForm)):
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


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, handle_domain_error)
    app.register_error_handler(PetitionError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
