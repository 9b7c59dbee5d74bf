"""A petition domain on the test database: departments, routing, the 2026 calendar, bpmn/ deployed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from engine import HumanTask, InstanceEvent, Timer, fire_due_timers
from engine.models import PENDING_TASK_STATUSES
from workflows.calendar import seed_from_library
from workflows.domain import Domain, create_domain
from workflows.models import Department, Petition, RoutingRule
from workflows.petitions import Submission

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DEPARTMENTS = {"D01": "市住房和城乡建设局", "D02": "市生态环境局", "D03": "市交通运输局", "D04": "市市场监督管理局"}
# Monday 14 September 2026, 10:00 in Shanghai.
START = datetime(2026, 9, 14, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def domain(db, clock) -> Domain:
    built = create_domain(db, script_time_limit=0.5)
    with db.write() as session:
        for code, name in DEPARTMENTS.items():
            session.add(Department(code=code, name=name, active=True))
        session.flush()
        session.add(RoutingRule(category="住房", department_code="D01"))
        seed_from_library(session, [2026, 2027], START)
        files = [(p.name, p.read_bytes()) for p in sorted(BPMN_DIR.iterdir()) if p.suffix in (".bpmn", ".dmn")]
        built.engine.definitions.deploy(session, files, actor="test")
    return built


@dataclass
class Case:
    """One petition driven through the real processes, as staff and citizen would."""

    domain: Domain
    clock: Any
    petition_id: int
    access_token: str

    def petition(self) -> Petition:
        with self.domain.db.read() as session:
            return session.get(Petition, self.petition_id)

    def tasks(self) -> dict[str, HumanTask]:
        instance_id = self.petition().instance_id
        with self.domain.db.read() as session:
            rows = session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status.in_(PENDING_TASK_STATUSES)))
            return {row.task_spec: row for row in rows}

    def tasks_named(self, spec: str) -> list[HumanTask]:
        instance_id = self.petition().instance_id
        with self.domain.db.read() as session:
            return list(session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.task_spec == spec,
                HumanTask.status.in_(PENDING_TASK_STATUSES))))

    def complete(self, spec: str, data: dict[str, Any], actor: str = "staff") -> None:
        task = self.tasks()[spec]
        with self.domain.db.write() as session:
            self.domain.petitions.complete_task(session, task.id, data, actor)

    def advance(self, delta: timedelta) -> int:
        """Move the clock and run the timer sweep, as the scheduler would."""
        self.clock.shift(delta)
        return fire_due_timers(self.domain.db, self.domain.engine, datetime.now(timezone.utc))

    def statuses(self) -> list[str]:
        """The petition's status changes, in order, from the audit log."""
        with self.domain.db.read() as session:
            events = session.scalars(select(InstanceEvent).where(
                InstanceEvent.instance_id == self.petition().instance_id, InstanceEvent.kind == "status_changed"
            ).order_by(InstanceEvent.id))
            return [e.data["to"] for e in events]

    def timers(self) -> dict[str, Timer]:
        with self.domain.db.read() as session:
            return {t.task_spec: t for t in session.scalars(select(Timer).where(Timer.instance_id == self.petition().instance_id))}


@pytest.fixture
def submit(domain, clock):
    def _submit(**fields: Any) -> Case:
        values = {"type": "complaint", "title": "小区门口道路破损", "body": "某某路12号小区门口路面塌陷，雨天积水严重。",
                  "contact_phone": "13800000000", **fields}
        submitted = domain.submit(Submission(**values))
        return Case(domain, clock, submitted.petition.id, submitted.access_token)

    return _submit
