"""What resources share: their Blueprint, decorators that put an endpoint's access rules and
error responses into both its behaviour and its OpenAPI entry (so the two cannot drift apart),
and the path converter for ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from flask_smorest.utils import resolve_schema_instance
from marshmallow import Schema

from workflows.staff import Role

from .auth import SECURITY, roles
from .errors import PROBLEM
from .schemas.problem import ProblemSchema

F = TypeVar("F", bound=Callable[..., Any])

# A path converter for row ids and version numbers: a number beyond a signed 64-bit column
# matches no route (404) instead of overflowing the database driver (500).
MAX_ID = 2**63 - 1
ID = f"int(max={MAX_ID})"

DESCRIPTIONS = {
    400: "malformed request",
    401: "no valid staff token",
    403: "the account's role may not do this",
    404: "not found (or in another department)",
    409: "conflicts with the current state",
    413: "the request body is too large",
    422: "invalid input; `errors` names each field",
}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing every request with one instance of each arguments
    schema: given a class, webargs instantiates it per request, which copies every declared
    field (~40 µs for the inbox's arguments, more than validating them). Loading keeps no
    state on the instance, so threads share it as they share the response schemas."""

    def arguments(self, schema: type[Schema] | Schema, **kwargs: Any) -> Callable[[F], F]:
        return super().arguments(resolve_schema_instance(schema), **kwargs)


def problems(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Document problem+json answers with these statuses."""

    def decorate(view: F) -> F:
        for status in statuses:
            view = blp.alt_response(status, schema=ProblemSchema, content_type=PROBLEM,
                                    description=DESCRIPTIONS.get(status))(view)
        return view

    return decorate


def staff_only(blp: Blueprint, *allowed: Role) -> Callable[[F], F]:
    """`roles(*allowed)` with its bearer-token security and 401/403 answers documented.

    Put it above the flask-smorest decorators: authentication then runs before the request
    body is parsed, so a caller without a token learns nothing about the body's schema.
    """

    def decorate(view: F) -> F:
        documented = problems(blp, 401, 403)(blp.doc(security=SECURITY)(view))
        return roles(*allowed)(documented)

    return decorate
