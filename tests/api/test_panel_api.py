"""`/api/v1/reports/panel`: samples, score sets and their averages through the real app."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine

from tests.api.drive import is_problem
from tests.workflows.evaluation.records import add_petition
from workflows.staff import Role, create_staff

SCORES = {"topic_quality": 25, "organisation": 24, "reply_quality": 35, "comment": "答复规范"}
LATE_2026 = datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)


def test_evaluators_score_and_rescore_supervisors_see_every_set(client, db, as_staff):
    with time_machine.travel(LATE_2026, tick=False):
        first = client.put("/api/v1/reports/panel/2026H2/scores/D01", json=SCORES, headers=as_staff("evaluator"))
        again = client.put("/api/v1/reports/panel/2026-h2/scores/D01", json={**SCORES, "reply_quality": 39},
                           headers=as_staff("evaluator"))
    assert first.status_code == 200, first.json
    assert (again.json["total"], again.json["revisions"], again.json["evaluator"]) == (88, 2, "evaluator-all")
    listed = client.get("/api/v1/reports/panel/2026H2/scores", headers=as_staff("supervisor")).json
    assert [c["maximum"] for c in listed["criteria"]] == [30, 30, 40]
    assert [(s["department_code"], s["total"]) for s in listed["items"]] == [("D01", 88)]
    assert listed["averages"][0] == {"department_code": "D01", "department_name": "市住房和城乡建设局", "evaluators": 1,
                                     "topic_quality": 25.0, "organisation": 24.0, "reply_quality": 39.0, "total": 88.0}


def test_bad_periods_departments_and_scores(client, as_staff):
    evaluator = as_staff("evaluator")
    with time_machine.travel(LATE_2026, tick=False):
        cases = [
            (client.put("/api/v1/reports/panel/2026Q3/scores/D01", json=SCORES, headers=evaluator), 422, "period"),
            (client.put("/api/v1/reports/panel/2027H1/scores/D01", json=SCORES, headers=evaluator), 422, "period"),
            (client.put("/api/v1/reports/panel/2026H2/scores/D01", json={**SCORES, "organisation": 31},
                        headers=evaluator), 422, "organisation"),
            (client.put("/api/v1/reports/panel/2026H2/scores/D01", json={**SCORES, "topic_quality": "25"},
                        headers=evaluator), 422, "topic_quality"),
            (client.put("/api/v1/reports/panel/2026H2/scores/D99", json=SCORES, headers=evaluator), 404, None),
            (client.get("/api/v1/reports/panel/2026H2/sample", headers=evaluator), 422, "department"),
            (client.get("/api/v1/reports/panel/2026H2/sample?department=D99", headers=evaluator), 404, None),
        ]
    for response, status, field in cases:
        assert is_problem(response, status), response.json
        assert field is None or field in response.json["errors"], response.json


def test_the_sample_repeats_and_masks_contacts(client, db, as_staff):
    headers = as_staff("evaluator")  # creates the reference data first
    with db.write() as session:
        for i in range(15):
            add_petition(session, datetime(2026, 8, 1, 12, tzinfo=timezone.utc) + timedelta(days=i), reply="已联系13912345678核实处理")
    url = "/api/v1/reports/panel/2026H2/sample?department=D01&size=5"
    first, second = client.get(url, headers=headers), client.get(url, headers=as_staff("admin"))
    assert first.status_code == 200, first.json
    assert [i["id"] for i in first.json["items"]] == [i["id"] for i in second.json["items"]]
    item = first.json["items"][0]
    assert len(first.json["items"]) == 5 and item["contact_phone"] == "138****1234"
    assert item["reply"] == "已联系139****5678核实处理"


def test_an_evaluator_lists_only_their_own_scores(client, db, as_staff):
    with time_machine.travel(LATE_2026, tick=False):
        client.put("/api/v1/reports/panel/2026H2/scores/D01", json=SCORES, headers=as_staff("evaluator"))
    with db.write() as session:
        other = create_staff(session, "另一位评议员", Role.EVALUATOR, None, LATE_2026).token
    listed = client.get("/api/v1/reports/panel/2026H2/scores", headers={"Authorization": f"Bearer {other}"}).json
    assert listed["items"] == [] and listed["averages"] == []
