"""Starting, inspecting and retrying process instances over HTTP, on the real engine."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import HumanTask
from tests.conftest import ENGINE_DATA


@pytest.fixture
def designer(client, as_staff):
    """A designer's headers, with the engine's test processes deployed."""
    headers = as_staff("designer")
    names = ("four_tasks.bpmn", "script_error.bpmn", "messages.bpmn", "call_activity.bpmn", "called.bpmn")
    files = {"files": [(io.BytesIO((ENGINE_DATA / n).read_bytes()), n) for n in names]}
    response = client.post("/api/v1/processes", data=files, headers=headers, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return headers


def start(client, headers, key: str, data: dict | None = None, **extra):
    return client.post(f"/api/v1/processes/{key}/instances", json={"data": data or {}, **extra}, headers=headers)


def tokens(body) -> dict[str, str]:
    return {t["element_id"]: t["state"] for t in body["tokens"]}


def test_start_and_inspect(client, designer, as_staff):
    response = start(client, designer, "four_tasks", {"department": "D01"}, business_key="try-1")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["process_key"], body["version"], body["status"], body["business_key"]) == ("four_tasks", 1, "running", "try-1")
    assert body["started_by"] == "designer-all" and body["revision"] >= 1
    [task] = body["tasks"]
    assert (task["task_spec"], task["department"], task["status"]) == ("task_1", "D01", "open")
    [timer] = body["timers"]
    assert timer["task_spec"] == "reminder"
    due_in = datetime.fromisoformat(timer["due_at"]) - datetime.fromisoformat(body["created_at"])
    assert abs(due_in - timedelta(days=2)) < timedelta(seconds=5)
    assert tokens(body) == {"task_1": "READY", "reminder": "WAITING"}
    assert body["incidents"] == [] and body["messages"] == []

    seen = client.get(f"/api/v1/instances/{body['id']}", headers=as_staff("supervisor"))
    assert seen.status_code == 200 and seen.get_json() == body


def test_message_waits_and_subprocess_tokens(app, client, designer, db):
    body = start(client, designer, "message_wait").get_json()
    engine = app.extensions["minyi"].engine
    with db.read() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == body["id"])).one()
    with db.write() as session:
        engine.complete_task(session, task_id, {}, "designer-all")
    waiting = client.get(f"/api/v1/instances/{body['id']}", headers=designer).get_json()
    assert (waiting["status"], waiting["tasks"]) == ("waiting", [])
    assert [m["message_name"] for m in waiting["messages"]] == ["answer"]
    assert tokens(waiting) == {"wait_answer": "WAITING"}

    parent = start(client, designer, "parent_process").get_json()
    assert tokens(parent) == {"call_child": "STARTED", "child_task": "READY"}
    assert {t["element_id"]: t["process"] for t in parent["tokens"]} == {"call_child": "parent_process",
                                                                         "child_task": "child_process"}


def test_a_failing_instance_is_retried_with_corrected_data(client, designer):
    failed = start(client, designer, "fragile", {"divisor": 0})
    assert failed.status_code == 201
    body = failed.get_json()
    assert body["status"] == "error" and body["tasks"] == []
    [incident] = body["incidents"]
    assert incident["action"] == "start" and "division" in incident["message"]
    url = f"/api/v1/instances/{body['id']}/retry"

    again = client.post(url, headers=designer)  # no corrections: fails again, with a new incident
    assert again.status_code == 200 and again.get_json()["status"] == "error"
    assert [i["id"] for i in again.get_json()["incidents"]] != [incident["id"]]

    fixed = client.post(url, json={"data": {"divisor": 4}}, headers=designer)
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert (body["status"], body["incidents"]) == ("running", [])
    assert [t["task_spec"] for t in body["tasks"]] == ["show_result"] and tokens(body) == {"show_result": "READY"}

    conflict = client.post(url, json={"data": {"divisor": 4}}, headers=designer)
    assert conflict.status_code == 409 and conflict.mimetype == "application/problem+json"


@pytest.mark.parametrize("method,url,payload,status", [
    ("get", "/api/v1/instances/999999", None, 404),
    ("get", "/api/v1/instances/99999999999999999999", None, 404),  # beyond any id column: no match, no overflow
    ("post", "/api/v1/instances/999999/retry", {}, 404),
    ("post", "/api/v1/processes/nope/instances", {"data": {}}, 404),
    ("post", "/api/v1/processes/four_tasks/instances", {"data": {}, "version": 7}, 404),
    ("post", "/api/v1/processes/four_tasks/instances", {"data": [1, 2]}, 422),
    ("post", "/api/v1/processes/four_tasks/instances", {"data": {"department": "D01"}, "version": 0}, 422),
])
def test_unknown_or_bad_requests(client, designer, method, url, payload, status):
    response = getattr(client, method)(url, json=payload, headers=designer)
    assert response.status_code == status and response.mimetype == "application/problem+json"
