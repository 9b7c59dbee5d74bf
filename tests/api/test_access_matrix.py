"""Who may call what: every /api/v1 endpoint of the app × every role, from one table.

An endpoint the app has and the table lacks fails the test, so a new endpoint cannot ship
without deciding who may call it. For each endpoint: no token → 401, a role not in its set
→ 403, a role in it → neither (and never a 500, although the requests carry dummy ids and
empty bodies).
"""

from __future__ import annotations

import re

import pytest

from engine.db import utcnow
from workflows.models import Department
from workflows.staff import Role, create_staff

R = Role
ANY_STAFF = frozenset(Role)
PUBLIC = None  # citizens' endpoints: no staff token needed
DESIGNERS = frozenset({R.DESIGNER, R.ADMIN})
ADMIN = frozenset({R.ADMIN})

READERS = frozenset({R.DISPATCHER, R.HANDLER, R.SUPERVISOR, R.ADMIN, R.EVALUATOR})
WORKERS = frozenset({R.DISPATCHER, R.HANDLER, R.SUPERVISOR, R.ADMIN})
EVALUATION = frozenset({R.EVALUATOR, R.SUPERVISOR, R.ADMIN})

ALLOWED: dict[tuple[str, str], frozenset[Role] | None] = {
    ("POST", "/api/v1/petitions"): PUBLIC,
    ("GET", "/api/v1/petitions/<tracking_no>"): PUBLIC,
    ("POST", "/api/v1/petitions/<tracking_no>/feedback"): PUBLIC,
    ("POST", "/api/v1/petitions/<tracking_no>/information"): PUBLIC,
    ("GET", "/api/v1/petitions"): READERS,
    ("GET", "/api/v1/petitions/<int:petition_id>"): READERS,
    ("GET", "/api/v1/petitions/<int:petition_id>/events"): READERS,
    ("GET", "/api/v1/petitions/<int:petition_id>/duplicates"): READERS,
    ("POST", "/api/v1/petitions/<int:petition_id>/merge"): frozenset({R.DISPATCHER, R.SUPERVISOR, R.ADMIN}),
    ("GET", "/api/v1/tasks"): WORKERS,
    ("GET", "/api/v1/tasks/<task_id>"): WORKERS,
    ("POST", "/api/v1/tasks/<task_id>/claim"): WORKERS,
    ("POST", "/api/v1/tasks/<task_id>/unclaim"): WORKERS,
    ("POST", "/api/v1/tasks/<task_id>/complete"): WORKERS,
    ("POST", "/api/v1/tasks/<task_id>/assign"): frozenset({R.SUPERVISOR, R.ADMIN}),
    ("GET", "/api/v1/escalations"): frozenset({R.SUPERVISOR, R.ADMIN, R.HANDLER}),
    ("POST", "/api/v1/escalations/<int:escalation_id>/acknowledge"): frozenset({R.SUPERVISOR, R.ADMIN}),
    ("POST", "/api/v1/processes"): DESIGNERS,
    ("GET", "/api/v1/processes"): DESIGNERS,
    ("GET", "/api/v1/processes/<key>/versions"): DESIGNERS,
    ("GET", "/api/v1/processes/<key>/versions/<int:version>/files/<name>"): DESIGNERS,
    ("POST", "/api/v1/processes/<key>/instances"): DESIGNERS,
    ("GET", "/api/v1/instances/<int:instance_id>"): frozenset({R.DESIGNER, R.ADMIN, R.SUPERVISOR}),
    ("POST", "/api/v1/instances/<int:instance_id>/retry"): DESIGNERS,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/<int:user_id>"): ADMIN,
    ("GET", "/api/v1/departments"): ANY_STAFF,
    ("POST", "/api/v1/departments"): ADMIN,
    ("PATCH", "/api/v1/departments/<code>"): ADMIN,
    ("GET", "/api/v1/routing-rules"): ADMIN,
    ("PUT", "/api/v1/routing-rules/<category>"): ADMIN,
    ("DELETE", "/api/v1/routing-rules/<category>"): ADMIN,
    ("GET", "/api/v1/calendar"): ADMIN,
    ("PUT", "/api/v1/calendar/<day>"): ADMIN,
    ("DELETE", "/api/v1/calendar/<day>"): ADMIN,
    ("POST", "/api/v1/calendar/import"): ADMIN,
    ("GET", "/api/v1/deadlines"): ADMIN,
    ("GET", "/api/v1/reports/hotspots"): frozenset({R.EVALUATOR, R.SUPERVISOR, R.ADMIN, R.DISPATCHER}),
    ("GET", "/api/v1/reports/departments"): READERS,  # a handler: its own department and the city
    ("GET", "/api/v1/reports/departments/<code>"): READERS,  # a handler: its own department only
    ("GET", "/api/v1/reports/panel/<period>/sample"): EVALUATION,
    ("PUT", "/api/v1/reports/panel/<period>/scores/<department>"): frozenset({R.EVALUATOR}),
    ("GET", "/api/v1/reports/panel/<period>/scores"): EVALUATION,
    ("GET", "/api/v1/reports/quarterly"): EVALUATION,
    ("GET", "/api/v1/reports/quarterly/<quarter>.pdf"): EVALUATION,
    ("GET", "/api/v1/reports/quarterly/<quarter>.html"): EVALUATION,
}
NOT_CHECKED = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/health"}  # public by nature
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
CONVERTER_ARGUMENTS = re.compile(r"<(\w+)\([^)]*\):")  # <int(max=...):id> is written <int:id> above


def endpoints(app) -> dict[tuple[str, str], str]:
    """(method, rule) → Flask endpoint, for every /api/v1 rule except those NOT_CHECKED."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.rule not in NOT_CHECKED:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found[(method, CONVERTER_ARGUMENTS.sub(r"<\1:", rule.rule))] = rule.endpoint
    return found


def sample_url(rule: str) -> str:
    """The rule with a dummy value in each placeholder: ids that exist nowhere."""
    return PLACEHOLDER.sub(lambda m: "999999" if m.group(1) == "int" else "nope", rule)


def declared_roles(app, endpoint: str, method: str) -> frozenset[Role] | None:
    """What `@roles` on the view says (None when the view has no staff check)."""
    view = app.view_functions[endpoint]
    handler = getattr(getattr(view, "view_class", None), method.lower(), view)
    return getattr(handler, "_minyi_roles", None)


def test_the_table_covers_every_endpoint_and_nothing_else(app):
    routes = set(endpoints(app))
    assert sorted(routes - set(ALLOWED)) == [], "endpoints without an entry in ALLOWED"
    assert sorted(set(ALLOWED) - routes) == [], "entries in ALLOWED for endpoints the app does not have"


def test_the_views_declare_what_the_table_says(app):
    mismatched = {
        key: (sorted(r.value for r in declared or ()), sorted(r.value for r in ALLOWED[key] or ()))
        for key, endpoint in endpoints(app).items()
        if key in ALLOWED and (declared := declared_roles(app, endpoint, key[0])) != ALLOWED[key]
    }
    assert mismatched == {}, "(declared, table) per endpoint"


@pytest.fixture
def tokens(db) -> dict[Role, str]:
    """One active account per role (the handler in D01)."""
    with db.write() as session:
        session.add(Department(code="D01", name="市住房和城乡建设局", active=True))
        session.flush()
        return {role: create_staff(session, role.value, role, "D01" if role is R.HANDLER else None, utcnow()).token
                for role in Role}


def call(client, method: str, rule: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.open(sample_url(rule), method=method, json=body, headers=headers)


def test_without_a_token_every_staff_endpoint_is_401(app, client, db):
    wrong = []
    for method, rule in endpoints(app):
        if ALLOWED.get((method, rule), frozenset()) is PUBLIC:
            continue
        for token in (None, "not-a-token"):
            response = call(client, method, rule, token)
            if response.status_code != 401 or response.mimetype != "application/problem+json":
                wrong.append((method, rule, token, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_is_let_in_exactly_where_the_table_says(app, client, tokens, role):
    wrong = []
    for method, rule in endpoints(app):
        allowed = ALLOWED.get((method, rule), frozenset())
        status = call(client, method, rule, tokens[role]).status_code
        if allowed is not PUBLIC and role not in allowed:
            if status != 403:
                wrong.append((method, rule, f"expected 403, got {status}"))
        elif status in (401, 403) or status >= 500:
            wrong.append((method, rule, f"expected access, got {status}"))
    assert wrong == []
