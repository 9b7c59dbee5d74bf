"""The OpenAPI document: valid OpenAPI 3, and complete: every /api/v1 route with its methods."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

NOT_DOCUMENTED = {"/api/v1/openapi.json", "/api/v1/docs"}  # the document itself and its viewer
PLACEHOLDER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi(client):
    doc = document(client)
    assert doc["openapi"].startswith("3.")
    validate(doc)


def test_every_route_is_documented_with_its_methods(app, client):
    paths = document(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule in NOT_DOCUMENTED:
            continue
        path = PLACEHOLDER.sub(r"{\1}", rule.rule)
        documented = {m.upper() for m in paths.get(path, {}) if m != "parameters"}
        missing += [f"{method} {path}" for method in sorted(rule.methods - {"HEAD", "OPTIONS"} - documented)]
    assert missing == []


def test_staff_operations_declare_their_token_and_refusals(app, client):
    """A view behind `@roles` says so in the document: bearer security, 401 and 403."""
    paths = document(client)["paths"]
    undeclared = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            if getattr(handler, "_minyi_roles", None) is None:
                continue
            operation = paths[PLACEHOLDER.sub(r"{\1}", rule.rule)][method.lower()]
            if operation.get("security") != [{"bearerAuth": []}] or not {"401", "403"} <= set(operation["responses"]):
                undeclared.append(f"{method} {rule.rule}")
    assert undeclared == []


def test_errors_are_documented_as_problem_json(client):
    operation = document(client)["paths"]["/api/v1/escalations/{escalation_id}/acknowledge"]["post"]
    for status in ("401", "403", "404", "409"):
        assert "application/problem+json" in operation["responses"][status]["content"]
