"""The task inbox and task actions over HTTP: who sees which task, the form's JSON Schema,
claiming, assigning, completing (validation, lanes, races, stale revisions)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from sqlalchemy import text

from engine.db import utcnow
from tests.api.drive import Citizen, Desk, is_problem
from workflows.staff import Role, create_staff

# A designer's process: one dispatcher-lane task whose due time comes from the start data.
PROBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_probe" targetNamespace="http://minyi.test">
  <bpmn:collaboration id="collaboration_probe"><bpmn:participant id="participant_probe" processRef="inbox_probe" /></bpmn:collaboration>
  <bpmn:process id="inbox_probe" isExecutable="true">
    <bpmn:laneSet id="probe_lanes">
      <bpmn:lane id="lane_dispatcher" name="dispatcher">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>probe</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="probe" name="Probe">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="due" value="due" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="probe" />
    <bpmn:sequenceFlow id="f2" sourceRef="probe" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def desk(client, as_staff) -> Desk:
    return Desk(client, as_staff)


@pytest.fixture
def at_triage(desk) -> Citizen:
    return desk.submit()


@pytest.fixture
def dispatched(desk) -> Citizen:
    """A petition dispatched to D01, waiting to be signed for."""
    citizen = desk.submit()
    desk.dispatch(citizen, "D01", sign=False)
    return citizen


def specs(desk: Desk, who: str, **params) -> list[str]:
    return sorted(t["task_spec"] for t in desk.inbox(who, **params)["items"])


def another(db, role: str, department: str | None = None, name: str | None = None) -> dict[str, str]:
    """Headers of a second account with the same role."""
    with db.write() as session:
        made = create_staff(session, name or f"second-{role}", Role(role), department, utcnow())
    return {"Authorization": f"Bearer {made.token}"}


# -- the inbox --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,params,triage,signing",
    [
        ("dispatcher", {}, ["triage_petition"], []),
        ("handler:D01", {}, [], ["sign_for"]),
        ("handler:D02", {}, [], []),
        ("handler:D02", {"lane": "handler", "department": "D01"}, [], []),
        ("supervisor", {}, [], []),
        ("supervisor", {"lane": "dispatcher"}, ["triage_petition"], []),
        ("supervisor", {"lane": "handler"}, [], ["sign_for"]),
        ("admin", {}, ["triage_petition"], ["sign_for"]),
        ("admin", {"department": "D01"}, [], ["sign_for"]),
        ("dispatcher", {"lane": "handler"}, [], []),
    ],
)
def test_each_role_sees_its_lanes(desk, at_triage, dispatched, who, params, triage, signing):
    items = desk.inbox(who, **params)["items"]
    seen = {(t["task_spec"], t["petition"]["tracking_no"]) for t in items}
    assert seen == {(s, at_triage.tracking_no) for s in triage} | {(s, dispatched.tracking_no) for s in signing}


@pytest.mark.parametrize("who", ["evaluator", "designer"])
def test_readers_and_designers_have_no_inbox(client, desk, dispatched, who):
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    for method, path in [("GET", "/api/v1/tasks"), ("GET", f"/api/v1/tasks/{task_id}"),
                         ("POST", f"/api/v1/tasks/{task_id}/claim"), ("POST", f"/api/v1/tasks/{task_id}/complete")]:
        response = client.open(path, method=method, json={} if method == "POST" else None, headers=desk.headers(who))
        assert is_problem(response, 403), path


def test_an_inbox_item_carries_its_petition(desk, dispatched):
    (item,) = desk.inbox("handler:D01")["items"]
    assert {k: item[k] for k in ("task_spec", "lane", "department", "status", "form", "process_key", "assignee")} == {
        "task_spec": "sign_for", "lane": "handler", "department": "D01", "status": "open", "form": "sign_form",
        "process_key": "petition", "assignee": None}
    assert item["petition"]["tracking_no"] == dispatched.tracking_no and item["petition"]["status"] == "signing"
    assert item["title"] and item["created_at"] and isinstance(item["instance_id"], int)


def test_citizens_tasks_are_never_in_staff_inboxes(client, desk, as_staff, dispatched):
    desk.do("handler:D01", dispatched.tracking_no, "sign_for", {"sign_decision": "sign"})
    desk.reply(dispatched)
    petition_id = desk.petition(dispatched.tracking_no)["id"]
    created = [e for e in desk.events(petition_id, page_size=100).get_json()["items"] if e["kind"] == "task_created"]
    rate_id = next(e["task_id"] for e in created if e["task_spec"] == "rate_reply")
    for who in ("admin", "supervisor"):
        assert desk.inbox(who, lane="citizen")["items"] == [] and desk.inbox(who)["total"] == 0
        assert is_problem(client.get(f"/api/v1/tasks/{rate_id}", headers=desk.headers(who)), 404)
        assert is_problem(desk.complete(who, rate_id, {"rating": 5, "solved": True}), 404)


@pytest.fixture
def probes(app, db, reference_data):
    """Three probe tasks: due an hour ago, due tomorrow, and without a due time."""
    engine = app.extensions["minyi"].engine
    now = utcnow()
    with db.write() as session:
        engine.definitions.deploy(session, [("inbox_probe.bpmn", PROBE)], actor="test")
    dues = {"late": (now - timedelta(hours=1)).isoformat(), "later": (now + timedelta(days=1)).isoformat(), "never": ""}
    ids = {}
    for name in ("never", "later", "late"):  # created in the opposite order of their due times
        with db.write() as session:
            ids[name] = engine.start(session, "inbox_probe", {"due": dues[name]}, "test").id
    return ids


def probe_order(desk: Desk, **params) -> list[int]:
    return [t["instance_id"] for t in desk.inbox("dispatcher", process="inbox_probe", **params)["items"]]


def test_overdue_tasks_come_first_then_by_due_time(desk, probes):
    assert probe_order(desk) == [probes["late"], probes["later"], probes["never"]]
    assert probe_order(desk, overdue="true") == [probes["late"]]
    assert probe_order(desk, overdue="false") == [probes["later"], probes["never"]]
    first = desk.inbox("dispatcher", process="inbox_probe", page_size=1, page=2)
    assert (first["total"], [t["instance_id"] for t in first["items"]]) == (3, [probes["later"]])
    (late,) = desk.inbox("dispatcher", process="inbox_probe", overdue="true")["items"]
    assert late["petition"] is None and datetime.fromisoformat(late["due_at"]) < datetime.now(timezone.utc)


def test_mine_and_status_narrow_the_inbox(client, desk, db, probes):
    headers = desk.headers("dispatcher")
    task_id = desk.inbox("dispatcher", process="inbox_probe")["items"][1]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers).status_code == 200
    assert [t["id"] for t in desk.inbox("dispatcher", mine="true")["items"]] == [task_id]
    assert [t["id"] for t in desk.inbox("dispatcher", status="claimed")["items"]] == [task_id]
    assert len(desk.inbox("dispatcher", status="open")["items"]) == 2
    other = client.get("/api/v1/tasks", query_string={"mine": "true"}, headers=another(db, "dispatcher"))
    assert other.get_json()["items"] == []
    assert is_problem(client.get("/api/v1/tasks", query_string={"status": "completed"}, headers=headers), 422)
    assert is_problem(client.get("/api/v1/tasks", query_string={"page_size": 500}, headers=headers), 422)


# -- one task -------------------------------------------------------------------------------


def test_a_task_comes_with_its_forms_json_schema(client, desk, at_triage):
    task = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=desk.headers("dispatcher")).get_json()
    schema = detail["form_schema"]
    assert schema["required"] == ["decision"] and schema["additionalProperties"] is False
    assert schema["properties"]["decision"] == {"type": "string", "enum": ["dispatch", "reject", "overrule"]}
    assert schema["properties"]["department"] == {"type": "string", "minLength": 1, "maxLength": 32}
    assert set(schema["properties"]["reject_reason"]["enum"]) >= {"duplicate", "in_litigation"}
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"decision": "dispatch", "department": "D01"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"decision": "perhaps"}, schema)
    assert detail["petition"]["tracking_no"] == at_triage.tracking_no and isinstance(detail["revision"], int)


def test_the_handling_forms_schema_has_lists_numbers_and_booleans(client, desk, dispatched):
    desk.do("handler:D01", dispatched.tracking_no, "sign_for", {"sign_decision": "sign"})
    task = desk.task("handler:D01", dispatched.tracking_no, "handle")
    properties = client.get(f"/api/v1/tasks/{task['id']}", headers=desk.headers("handler:D01")).get_json()["form_schema"]["properties"]
    assert properties["assisting"] == {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 32},
                                       "minItems": 1, "maxItems": 10}
    assert properties["extension_days"] == {"type": "integer", "minimum": 1, "maximum": 60}
    desk.do("handler:D01", dispatched.tracking_no, "handle", {"action": "extend", "extension_days": 2, "extension_reason": "勘查"})
    review = desk.task("supervisor", dispatched.tracking_no, "approve_extension")
    properties = client.get(f"/api/v1/tasks/{review['id']}", headers=desk.headers("supervisor")).get_json()["form_schema"]["properties"]
    assert properties["extension_approved"] == {"type": "boolean"}
    assert properties["granted_days"] == {"type": "integer", "minimum": 0, "maximum": 60, "default": 0}


@pytest.mark.parametrize("who,status", [("handler:D02", 404), ("dispatcher", 404), ("supervisor", 403), ("admin", 200)])
def test_only_the_lane_works_on_a_task(client, desk, dispatched, who, status):
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    seen = client.get(f"/api/v1/tasks/{task_id}", headers=desk.headers(who))
    assert seen.status_code == (404 if status == 404 else 200)
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=desk.headers(who))
    completed = desk.complete(who, task_id, {"sign_decision": "sign"})
    if status == 200:
        assert (claimed.status_code, completed.status_code) == (200, 200)
    else:
        assert is_problem(claimed, status) and is_problem(completed, status)
        assert desk.task("handler:D01", dispatched.tracking_no, "sign_for")["status"] == "open"


def test_unknown_tasks_are_404(client, as_staff, reference_data):
    for path in ("", "/claim", "/unclaim", "/complete"):
        method = "GET" if not path else "POST"
        response = client.open(f"/api/v1/tasks/no-such-task{path}", method=method, json={} if path else None,
                               headers=as_staff("admin"))
        assert is_problem(response, 404) and response.get_json()["title"] == "Task not found", path


# -- claiming and assigning -----------------------------------------------------------------


def test_claim_and_unclaim(client, desk, db, at_triage):
    task_id = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["id"]
    me, colleague = desk.headers("dispatcher"), another(db, "dispatcher")
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=me)
    assert claimed.status_code == 200 and (claimed.get_json()["status"], claimed.get_json()["claimed_by"]) == (
        "claimed", "dispatcher-all")
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=me).status_code == 200, "claiming twice is harmless"
    for action in ("claim", "unclaim"):
        refused = client.post(f"/api/v1/tasks/{task_id}/{action}", headers=colleague)
        assert is_problem(refused, 409) and "dispatcher-all" in refused.get_json()["detail"], action
    refused = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "reject", "reject_reason": "duplicate"},
                          headers=colleague)
    assert is_problem(refused, 409)
    released = client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=me)
    assert released.status_code == 200 and (released.get_json()["status"], released.get_json()["claimed_by"]) == ("open", None)
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=colleague).status_code == 200


def test_a_claim_already_lost_is_answered_while_another_transaction_writes(app, client, desk, db, at_triage):
    """A claim of a task someone else holds is refused from what it reads: it does not wait for
    another transaction that writes (on SQLite, which has one writer, any; on PostgreSQL one
    that keeps everyone else from writing tasks, though not from reading them)."""
    task_id = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=desk.headers("dispatcher")).status_code == 200
    colleague, answers = another(db, "dispatcher"), []
    with db.write() as session:
        if not db.is_sqlite:
            session.execute(text("LOCK TABLE human_task IN EXCLUSIVE MODE"))
        lost = threading.Thread(target=lambda: answers.append(
            app.test_client().post(f"/api/v1/tasks/{task_id}/claim", headers=colleague)))
        lost.start()
        lost.join(timeout=10)
        assert answers, "the lost claim waited for the writer"
    assert is_problem(answers[0], 409) and "dispatcher-all" in answers[0].get_json()["detail"]


def test_a_claim_answers_the_detail_as_reading_the_task_after_it(client, desk, at_triage):
    """Claim reads what the detail shows before its write transaction: the answer is still the
    task as the claim left it, with the triage task's near-duplicates."""
    second = desk.submit()
    task_id = desk.task("dispatcher", second.tracking_no, "triage_petition")["id"]
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=desk.headers("dispatcher"))
    assert claimed.status_code == 200 and claimed.get_json()["duplicates"], "the first petition is a near-duplicate"
    assert claimed.get_json() == client.get(f"/api/v1/tasks/{task_id}", headers=desk.headers("dispatcher")).get_json()


def test_a_supervisor_may_release_anyones_claim(client, desk, at_triage):
    task_id = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["id"]
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=desk.headers("dispatcher"))
    released = client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=desk.headers("supervisor"))
    assert released.status_code == 200 and released.get_json()["status"] == "open"


@pytest.mark.parametrize(
    "who,assignee,status",
    [
        ("supervisor", "second-handler", 200),
        ("admin", "second-handler", 200),
        ("supervisor", "other-handler", 422),  # a handler of D02 for a D01 task
        ("supervisor", "dispatcher-all", 422),
        ("supervisor", "nobody", 422),
        ("dispatcher", "second-handler", 403),
        ("handler:D01", "second-handler", 403),
    ],
)
def test_assigning(client, desk, db, dispatched, who, assignee, status):
    another(db, "handler", "D01", "second-handler")
    another(db, "handler", "D02", "other-handler")
    desk.headers("dispatcher")  # makes the account dispatcher-all
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    response = client.post(f"/api/v1/tasks/{task_id}/assign", json={"assignee": assignee}, headers=desk.headers(who))
    if status == 200:
        assert response.status_code == 200
        assert (response.get_json()["assignee"], response.get_json()["status"]) == ("second-handler", "claimed")
    else:
        assert is_problem(response, status)
        if status == 422:
            assert "assignee" in response.get_json()["errors"]


def test_an_assigned_task_is_in_the_assignees_inbox_as_mine(client, desk, db, dispatched):
    helper = another(db, "handler", "D01", "second-handler")
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    client.post(f"/api/v1/tasks/{task_id}/assign", json={"assignee": "second-handler"}, headers=desk.headers("supervisor"))
    mine = client.get("/api/v1/tasks", query_string={"mine": "true"}, headers=helper).get_json()["items"]
    assert [t["id"] for t in mine] == [task_id]
    assert is_problem(desk.complete("handler:D01", task_id, {"sign_decision": "sign"}), 409), "claimed for the assignee"
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"sign_decision": "sign"}, headers=helper)
    assert done.status_code == 200 and done.get_json()["petition_status"] == "handling"


# -- completing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,field",
    [
        ({"decision": "dispatch"}, "department"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "dispatch", "department": "D99"}, "department"),
        ({"decision": "reject"}, "reject_reason"),
        ({"decision": "reject", "reject_reason": "duplicate", "colour": "red"}, "colour"),
        ({}, "decision"),
    ],
)
def test_form_data_is_validated(desk, at_triage, data, field):
    task_id = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["id"]
    response = desk.complete("dispatcher", task_id, data)
    assert is_problem(response, 422) and field in response.get_json()["errors"]
    assert desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["status"] == "open"


def test_completing_answers_with_the_next_tasks(desk, at_triage):
    task_id = desk.task("dispatcher", at_triage.tracking_no, "triage_petition")["id"]
    response = desk.complete("dispatcher", task_id, {"decision": "dispatch", "department": "D01"})
    body = response.get_json()
    assert response.status_code == 200 and (body["status"], body["petition_status"]) == ("running", "signing")
    assert body["next_tasks"] == [], "the sign-for task is D01's, not the dispatcher's"
    assert is_problem(desk.complete("dispatcher", task_id, {"decision": "dispatch", "department": "D01"}), 409)


def test_a_completed_task_cannot_be_completed_or_claimed_again(client, desk, dispatched):
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    first = desk.complete("handler:D01", task_id, {"sign_decision": "sign"})
    assert first.status_code == 200 and [t["task_spec"] for t in first.get_json()["next_tasks"]] == ["handle"]
    again = desk.complete("handler:D01", task_id, {"sign_decision": "sign"})
    assert is_problem(again, 409) and "completed" in again.get_json()["detail"]
    assert is_problem(client.post(f"/api/v1/tasks/{task_id}/claim", headers=desk.headers("handler:D01")), 409)
    shown = client.get(f"/api/v1/tasks/{task_id}", headers=desk.headers("handler:D01")).get_json()
    assert (shown["status"], shown["completed_by"]) == ("completed", "handler-D01")


def test_two_clients_completing_one_task_one_wins(app, desk, dispatched):
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    headers = desk.headers("handler:D01")
    start, statuses = threading.Barrier(2), []

    def complete() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"sign_decision": "sign"}, headers=headers)
        statuses.append((response.status_code, response.mimetype))

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [(200, "application/json"), (409, "application/problem+json")]
    assert desk.petition(dispatched.tracking_no)["status"] == "handling"
    assert [t["task_spec"] for t in desk.inbox("handler:D01")["items"]] == ["handle"], "exactly one step landed"


def test_if_match_guards_against_a_process_that_moved_on(client, desk, dispatched):
    headers = desk.headers("handler:D01")
    task_id = desk.task("handler:D01", dispatched.tracking_no, "sign_for")["id"]
    revision = client.get(f"/api/v1/tasks/{task_id}", headers=headers).get_json()["revision"]
    stale = desk.complete("handler:D01", task_id, {"sign_decision": "sign"}, **{"If-Match": f'"{revision - 1}"'})
    assert is_problem(stale, 409) and "changed" in stale.get_json()["detail"]
    garbled = desk.complete("handler:D01", task_id, {"sign_decision": "sign"}, **{"If-Match": "yesterday"})
    assert is_problem(garbled, 422) and "If-Match" in garbled.get_json()["errors"]
    fresh = desk.complete("handler:D01", task_id, {"sign_decision": "sign"}, **{"If-Match": f'W/"{revision}"'})
    assert fresh.status_code == 200 and fresh.get_json()["revision"] > revision
