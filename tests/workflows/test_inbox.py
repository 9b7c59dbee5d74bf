"""The inbox query against the access rules it is built from: for every role, lane filter and
page size, walking the pages gives exactly the tasks `may_see` allows (own lane and assigned
by default), in inbox order, each once, with the right total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import HumanTask
from engine.db import utcnow
from engine.models import PENDING_TASK_STATUSES
from workflows.access import CITIZEN_LANE, LANE_OF_ROLE, may_see
from workflows.models import Department
from workflows.inbox import InboxFilter, inbox_page
from workflows.staff import Role, Staff, create_staff

LANES = ("dispatcher", "handler", "supervisor", CITIZEN_LANE)
# One user task per lane; its department, assignee and due time come from the start data.
PROBE = ("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_lanes" targetNamespace="http://minyi.test">
  <bpmn:collaboration id="collaboration_lanes"><bpmn:participant id="participant_lanes" processRef="lane_probe" /></bpmn:collaboration>
  <bpmn:process id="lane_probe" isExecutable="true">
    <bpmn:laneSet id="lanes">""" + "".join(f"""
      <bpmn:lane id="lane_{lane}" name="{lane}"><bpmn:flowNodeRef>task_{lane}</bpmn:flowNodeRef></bpmn:lane>""" for lane in LANES) + """
      <bpmn:lane id="lane_none"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>split</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>to_split</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_split" sourceRef="start" targetRef="split" />
    <bpmn:exclusiveGateway id="split">
      <bpmn:incoming>to_split</bpmn:incoming>""" + "".join(f"""<bpmn:outgoing>to_{lane}</bpmn:outgoing>""" for lane in LANES) + """
    </bpmn:exclusiveGateway>""" + "".join(f"""
    <bpmn:sequenceFlow id="to_{lane}" sourceRef="split" targetRef="task_{lane}">
      <bpmn:conditionExpression>lane == "{lane}"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:userTask id="task_{lane}" name="Probe {lane}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="department" value="department" />
        <spiffworkflow:property name="assignee" value="assignee" />
        <spiffworkflow:property name="due" value="due" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>to_{lane}</bpmn:incoming>
    </bpmn:userTask>""" for lane in LANES) + """
  </bpmn:process>
</bpmn:definitions>
""").encode()

STAFF = [("dispatcher", Role.DISPATCHER, None), ("handler", Role.HANDLER, "D01"), ("supervisor", Role.SUPERVISOR, None),
         ("admin", Role.ADMIN, None), ("designer", Role.DESIGNER, None)]


@pytest.fixture
def staff_and_tasks(db, engine) -> dict[str, Staff]:
    """Tasks in every lane and two departments, some assigned across lanes, due in the past,
    the future or never (several sharing one due time, so ties are broken by creation)."""
    now = utcnow()
    with db.write() as session:
        session.add_all([Department(code="D01", name="一局", active=True), Department(code="D02", name="二局", active=True)])
        session.flush()
        for name, role, department in STAFF:
            create_staff(session, name, role, department, now)
        engine.definitions.deploy(session, [("lane_probe.bpmn", PROBE)], actor="test")
    assignees = [None, None, "dispatcher", "handler", "supervisor", "designer", None]
    for n in range(42):
        due = "" if n % 5 == 0 else (now + timedelta(hours=(n % 7) - 3)).isoformat()
        data = {"lane": LANES[n % 4], "department": ("D01", "D02", None)[n % 3], "assignee": assignees[n % 7], "due": due}
        with db.write() as session:
            engine.start(session, "lane_probe", data, "test")
    with db.read() as session:
        return {name: session.scalars(select(Staff).where(Staff.name == name)).one() for name, _, _ in STAFF}


def expected(session, staff: Staff, lane: str | None) -> list[str]:
    """The inbox by its definition, evaluated in Python on every pending task."""
    tasks = session.scalars(select(HumanTask).where(HumanTask.status.in_(PENDING_TASK_STATUSES))).all()
    own_lane = LANE_OF_ROLE.get(staff.role)

    def wanted(task: HumanTask) -> bool:
        if lane is not None:
            return task.lane == lane
        return own_lane is None or task.lane == own_lane or task.assignee == staff.name

    chosen = [t for t in tasks if may_see(staff, t) and wanted(t)]
    chosen.sort(key=lambda t: (t.due_at is None, t.due_at or t.created_at, t.created_at, t.id))
    return [t.id for t in chosen]


@pytest.mark.parametrize("lane", [None, "supervisor", "handler"])
@pytest.mark.parametrize("page_size", [1, 4, 50])
@pytest.mark.parametrize("who", [name for name, _, _ in STAFF])
def test_paging_the_inbox_gives_exactly_the_visible_tasks_in_order(db, staff_and_tasks, who, lane, page_size):
    staff = staff_and_tasks[who]
    with db.read() as session:
        want = expected(session, staff, lane)
        got: list[str] = []
        page = 1
        while True:
            result = inbox_page(session, staff, InboxFilter(lane=lane), utcnow(), page, page_size)
            assert result.total == len(want)
            got += [entry.task.id for entry in result.items]
            if len(result.items) < page_size:
                break
            page += 1
    assert got == want
    assert want, "every case has tasks to show"  # the fixture is rich enough to tell orders apart


@pytest.mark.parametrize("who", ["handler", "dispatcher", "admin"])
def test_the_total_is_counted_up_to_the_limit(db, staff_and_tasks, who):
    """Exact up to the limit (across the parts: own lane and assigned), "more than" past it."""
    staff = staff_and_tasks[who]
    with db.read() as session:
        visible = len(expected(session, staff, None))
        pages = [inbox_page(session, staff, InboxFilter(), utcnow(), 1, 2, count_limit=limit)
                 for limit in (visible, visible - 1)]
    assert [(page.total, page.total_exact) for page in pages] == [(visible, True), (visible - 1, False)]
    assert pages[0].items == pages[1].items
