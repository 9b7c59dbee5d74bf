"""API test helpers: staff accounts with real tokens, reference data, the shipped processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.db import utcnow
from workflows.calendar import seed_from_library
from workflows.models import Department, RoutingRule
from workflows.staff import Role, create_staff

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DEPARTMENTS = {"D01": "市住房和城乡建设局", "D02": "市生态环境局", "D03": "市交通运输局"}


@pytest.fixture
def reference_data(app, db) -> None:
    """Departments, a routing rule, this and next year's calendar, and bpmn/ deployed."""
    now = utcnow()
    domain = app.extensions["minyi"].domain
    with db.write() as session:
        for code, name in DEPARTMENTS.items():
            session.add(Department(code=code, name=name, active=True))
        session.flush()
        session.add(RoutingRule(category="住房", department_code="D01"))
        seed_from_library(session, [now.year, now.year + 1], now)
        files = [(p.name, p.read_bytes()) for p in sorted(BPMN_DIR.iterdir()) if p.suffix in (".bpmn", ".dmn")]
        domain.engine.definitions.deploy(session, files, actor="test")
    domain.calendar.invalidate()


@pytest.fixture
def token(db, reference_data):
    """token(role, department=None) -> a real API token for a new staff account."""
    made: dict[tuple[str, str | None], str] = {}

    def _token(role: str, department: str | None = None) -> str:
        key = (role, department)
        if key not in made:
            with db.write() as session:
                made[key] = create_staff(session, f"{role}-{department or 'all'}", Role(role), department, utcnow()).token
        return made[key]

    return _token


@pytest.fixture
def as_staff(client, token):
    """as_staff(role, department=None) -> headers authenticating as such a staff member."""

    def _headers(role: str, department: str | None = None, **extra: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, department)}", **extra}

    return _headers
