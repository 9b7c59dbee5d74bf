"""Petitions over HTTP: citizens submit, track, rate and answer; staff list (filtered, paged,
masked, scoped to their department) and open records and audit logs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from tests.api.drive import PETITION, Desk, is_problem
from workflows.models import Petition


@pytest.fixture
def desk(client, as_staff) -> Desk:
    return Desk(client, as_staff)


# -- citizens ---------------------------------------------------------------------------------


def test_submission_answers_with_the_tracking_number_and_a_token_once(client, desk):
    response = client.post("/api/v1/petitions", json=PETITION)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"tracking_no", "access_token", "status", "due_at", "emergency"}
    assert body["tracking_no"].startswith("MY") and len(body["access_token"]) >= 32
    assert (body["status"], body["due_at"], body["emergency"]) == ("received", None, False)
    record = desk.petition(body["tracking_no"])
    assert body["access_token"] not in str(record) and record["channel"] == "web"


def test_the_due_time_is_known_once_dispatched(desk):
    citizen = desk.submit(type="consultation")
    desk.dispatch(citizen, sign=False)
    view = citizen.view().get_json()
    assert view["due_at"] is not None and datetime.fromisoformat(view["due_at"]) > datetime.now(timezone.utc)
    assert [e["event"] for e in view["timeline"]] == ["received", "dispatched"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"contact_phone": None, "contact_email": None}, "contact_phone"),
        ({"type": "rumour"}, "type"),
        ({"title": ""}, "title"),
        ({"urgency": "whenever"}, "urgency"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"emergency_hint": "999"}, "emergency_hint"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_submissions_are_validated(client, reference_data, change, field):
    body = {k: v for k, v in {**PETITION, **change}.items() if v is not None}
    response = client.post("/api/v1/petitions", json=body)
    assert is_problem(response, 422) and field in response.get_json()["errors"]


def test_a_contact_email_alone_is_enough(client, reference_data):
    body = {k: v for k, v in PETITION.items() if k not in ("contact_phone", "contact_name")}
    assert client.post("/api/v1/petitions", json=body).status_code == 201


def test_a_petitioner_is_known_by_a_keyed_pseudonym_of_the_contact(client, db, reference_data):
    contacts = [{"contact_phone": "138-0000 1234"}, {"contact_phone": "+86 13800001234"},
                {"contact_phone": "13900001234"}, {"contact_phone": None, "contact_email": "Li@Example.CN"}]
    numbers = []
    for contact in contacts:
        body = {k: v for k, v in {**PETITION, "contact_email": "li@example.cn", **contact}.items() if v is not None}
        numbers.append(client.post("/api/v1/petitions", json=body).get_json()["tracking_no"])
    with db.read() as session:
        refs = dict(session.execute(select(Petition.tracking_no, Petition.petitioner_ref)).all())
    same, also_same, other, by_mail = (refs[n] for n in numbers)
    assert same == also_same and len({same, other, by_mail}) == 3
    assert "13800001234" not in same and len(same) == 64


def test_an_emergency_is_handed_on_at_once(desk):
    citizen = desk.submit(urgency="critical", emergency_hint="119", title="楼道起火")
    view = citizen.view().get_json()
    assert view["status"] == "closed"
    assert [e["event"] for e in view["timeline"]] == ["received", "diverted"]


@pytest.mark.parametrize("wrong", ["token", "number", "other_petitions_token"])
def test_tracking_needs_the_number_and_its_token(client, desk, wrong):
    mine, other = desk.submit(), desk.submit(title="另一个诉求")
    number, token = {
        "token": (mine.tracking_no, "x" * 32),
        "number": ("MY20000101000000", mine.token),
        "other_petitions_token": (mine.tracking_no, other.token),
    }[wrong]
    for method, path, body in [("GET", "", None), ("POST", "/feedback", {"rating": 5, "solved": True}),
                               ("POST", "/information", {"information": "照片"})]:
        response = client.open(f"/api/v1/petitions/{number}{path}", method=method, json=body,
                               headers={"X-Access-Token": token})
        assert is_problem(response, 404), (method, path)
        assert response.get_json()["title"] == "Petition not found"


def test_tracking_without_a_token_is_refused(client, desk):
    citizen = desk.submit()
    response = client.get(f"/api/v1/petitions/{citizen.tracking_no}")
    assert is_problem(response, 422) and "X-Access-Token" in response.get_json()["errors"]


def test_feedback_only_when_a_reply_waits_for_it(desk):
    citizen = desk.submit()
    early = citizen.feedback(rating=5, solved=True)
    assert is_problem(early, 409) and citizen.tracking_no in early.get_json()["detail"]
    desk.dispatch(citizen)
    desk.reply(citizen)
    assert citizen.view().get_json()["can_rate"] is True
    assert is_problem(citizen.feedback(rating=6, solved=True), 422)
    assert "solved" in citizen.feedback(rating=3).get_json()["errors"]
    rated = citizen.feedback(rating=2, solved=False, comment="没有解决")
    assert rated.status_code == 200 and rated.get_json()["status"] == "in_progress", "dissatisfied: reopened"
    assert is_problem(citizen.feedback(rating=5, solved=True), 409), "nothing to rate until the next reply"
    record = desk.petition(citizen.tracking_no)
    assert (record["status"], record["reopen_count"], record["rating"]) == ("handling", 1, 2)


def test_information_only_when_asked_for(desk):
    citizen = desk.submit()
    assert is_problem(citizen.inform("照片"), 409)
    desk.dispatch(citizen)
    desk.do("handler:D01", citizen.tracking_no, "handle", {"action": "request_info", "info_request": "请提供现场照片"})
    view = citizen.view().get_json()
    assert view["information_requested"]["request"] == "请提供现场照片"
    assert view["information_requested"]["requested_at"] is not None
    assert is_problem(citizen.inform(""), 422)
    answered = citizen.inform("照片已上传")
    assert answered.status_code == 200
    assert (answered.get_json()["information_requested"], answered.get_json()["status"]) == (None, "in_progress")
    assert [e["event"] for e in answered.get_json()["timeline"]][-2:] == ["information_requested", "information_received"]
    assert is_problem(citizen.inform("再补充一张"), 409)


def test_submissions_are_rate_limited_per_address(app, client, reference_data):
    app.config["SUBMISSION_RATE_LIMIT"] = "2 per minute"
    statuses = [client.post("/api/v1/petitions", json=PETITION).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post("/api/v1/petitions", json=PETITION)
    assert is_problem(refused, 429)
    other = client.post("/api/v1/petitions", json=PETITION, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 201, "another address has its own allowance"


def test_a_default_rate_limit_configured_applies_to_every_endpoint(database_url, db):
    """Minyi drops Flask-Limiter's app-wide check when nothing needs it; a configured default
    limit still needs it, and gets it."""
    from api import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
                      "RATELIMIT_DEFAULT": "2 per minute"})
    try:
        statuses = [app.test_client().get("/api/v1/tasks").status_code for _ in range(3)]
    finally:
        app.extensions["minyi"].db.dispose()
    assert statuses == [401, 401, 429]


# -- staff ----------------------------------------------------------------------------------


def test_listings_mask_contacts(client, desk, as_staff):
    citizen = desk.submit()
    listed = client.get("/api/v1/petitions", headers=as_staff("dispatcher")).get_json()
    (item,) = listed["items"]
    assert (item["contact_name"], item["contact_phone"], item["contact_email"]) == ("张*", "138****1234", "z***@example.com")
    assert item["tracking_no"] == citizen.tracking_no and "body" not in item


@pytest.mark.parametrize("who,unmasked", [("dispatcher", True), ("supervisor", True), ("admin", True),
                                          ("handler:D01", True), ("evaluator", False)])
def test_the_record_shows_contacts_to_those_who_work_on_it(client, desk, who, unmasked):
    citizen = desk.submit()
    desk.dispatch(citizen, sign=False)
    petition_id = desk.petition(citizen.tracking_no)["id"]
    record = client.get(f"/api/v1/petitions/{petition_id}", headers=desk.headers(who)).get_json()
    assert record["body"] == PETITION["body"] and record["department_code"] == "D01"
    expected = ("13800001234", "张三") if unmasked else ("138****1234", "张*")
    assert (record["contact_phone"], record["contact_name"]) == expected


def test_a_masked_record_differs_from_the_full_one_only_in_contacts(client, desk):
    citizen = desk.submit()
    desk.dispatch(citizen, sign=False)
    petition_id = desk.petition(citizen.tracking_no)["id"]
    full, masked = (client.get(f"/api/v1/petitions/{petition_id}", headers=desk.headers(who)).get_json()
                    for who in ("dispatcher", "evaluator"))
    assert full.keys() == masked.keys()
    assert {key for key in full if full[key] != masked[key]} == {"contact_name", "contact_phone", "contact_email"}


@pytest.fixture
def four(desk):
    """Four petitions: A dispatched to D01, B (urgent consultation) to D02, C rejected, D in triage."""
    a, b, c = desk.submit(), desk.submit(type="consultation", urgency="urgent"), desk.submit()
    d = desk.submit(title="路灯不亮", body="整条街的路灯都不亮了。", contact_phone=None)
    desk.dispatch(a, "D01", sign=False)
    desk.dispatch(b, "D02", sign=False)
    desk.do("dispatcher", c.tracking_no, "triage_petition", {"decision": "reject", "reject_reason": "no_content"})
    return {"A": a.tracking_no, "B": b.tracking_no, "C": c.tracking_no, "D": d.tracking_no}


def listed(client, headers, **params) -> list[str]:
    response = client.get("/api/v1/petitions", query_string={"page_size": 100, **params}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["tracking_no"] for item in response.get_json()["items"]]


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, "DCBA"),
        ({"status": "signing"}, "BA"),
        ({"public_status": "closed"}, "C"),
        ({"type": "consultation"}, "B"),
        ({"urgency": "urgent"}, "B"),
        ({"department": "D01"}, "A"),
        ({"q": "路灯"}, "D"),
        ({"q": "TRACKING:A"}, "A"),
        ({"overdue": "false"}, "DCBA"),
        ({"created_from": "2999-01-01T00:00:00"}, ""),
        ({"created_to": "2999-01-01T00:00:00+08:00"}, "DCBA"),
    ],
)
def test_the_list_filters(client, as_staff, four, params, expected):
    params = {k: four[v.split(":")[1]] if v.startswith("TRACKING:") else v for k, v in params.items()}
    assert listed(client, as_staff("supervisor"), **params) == [four[name] for name in expected]


@pytest.mark.parametrize("params,field", [({"status": "pending"}, "status"), ({"type": "rumour"}, "type"),
                                          ({"overdue": "perhaps"}, "overdue"), ({"created_from": "yesterday"}, "created_from")])
def test_bad_filters_are_422(client, as_staff, reference_data, params, field):
    response = client.get("/api/v1/petitions", query_string=params, headers=as_staff("supervisor"))
    assert is_problem(response, 422) and field in response.get_json()["errors"]


def test_overdue_means_past_the_deadline_and_unanswered(client, desk, as_staff):
    late = desk.submit(urgency="critical")  # a critical complaint has 2 hours
    desk.dispatch(late)
    desk.submit(urgency="critical")  # not dispatched: no deadline yet
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(hours=3), tick=False):
        headers = as_staff("supervisor")
        assert listed(client, headers, overdue="true") == [late.tracking_no]
        assert late.tracking_no not in listed(client, headers, overdue="false")


def test_paging_counts_everything_and_slices_newest_first(client, desk, as_staff):
    numbers = [desk.submit(title=f"诉求 {n}").tracking_no for n in range(5)]
    headers = as_staff("admin")

    def page(n: int, size: int = 2) -> dict:
        return client.get("/api/v1/petitions", query_string={"page": n, "page_size": size}, headers=headers).get_json()

    pages = [page(n) for n in (1, 2, 3, 4)]
    assert [(p["total"], p["total_exact"]) for p in pages] == [(5, True)] * 4
    assert [[i["tracking_no"] for i in p["items"]] for p in pages] == [numbers[4:2:-1], numbers[2:0:-1], numbers[:1], []]
    assert (pages[0]["page"], pages[0]["page_size"]) == (1, 2)


@pytest.mark.parametrize("params,field", [({"page_size": 101}, "page_size"), ({"page_size": 0}, "page_size"),
                                          ({"page": 0}, "page"), ({"page": "two"}, "page")])
def test_paging_limits_are_422(client, as_staff, reference_data, params, field):
    for path in ("/api/v1/petitions", "/api/v1/petitions/1/events"):
        response = client.get(path, query_string=params, headers=as_staff("admin"))
        assert is_problem(response, 422) and field in response.get_json()["errors"], path


def test_a_handler_sees_only_its_department(client, desk, as_staff):
    citizen = desk.submit()
    desk.dispatch(citizen, "D01", sign=False)
    petition_id = desk.petition(citizen.tracking_no)["id"]
    own, other = as_staff("handler", "D01"), as_staff("handler", "D02")
    assert listed(client, own) == [citizen.tracking_no]
    assert listed(client, other) == [] and listed(client, other, department="D01") == []
    assert client.get(f"/api/v1/petitions/{petition_id}", headers=own).status_code == 200
    for path in (f"/api/v1/petitions/{petition_id}", f"/api/v1/petitions/{petition_id}/events"):
        response = client.get(path, headers=other)
        assert is_problem(response, 404), path
        assert response.get_json() == client.get("/api/v1/petitions/999999", headers=other).get_json() | {
            "detail": response.get_json()["detail"]}, "same answer as for a petition that does not exist"


@pytest.mark.parametrize("who,status", [(None, 401), ("designer", 403)])
def test_staff_views_refuse_outsiders(client, desk, who, status):
    citizen = desk.submit()
    petition_id = desk.petition(citizen.tracking_no)["id"]
    headers = desk.headers(who) if who else {}
    for path in ("/api/v1/petitions", f"/api/v1/petitions/{petition_id}", f"/api/v1/petitions/{petition_id}/events"):
        assert is_problem(client.get(path, headers=headers), status), path


def test_the_audit_log_is_paged_oldest_first(client, desk, as_staff):
    citizen = desk.submit()
    desk.dispatch(citizen)
    petition_id = desk.petition(citizen.tracking_no)["id"]
    first = desk.events(petition_id, page_size=3).get_json()
    everything = desk.events(petition_id, page_size=100).get_json()
    assert first["total"] == everything["total"] == len(everything["items"]) > 3
    assert first["items"] == everything["items"][:3] and everything["items"][0]["kind"] == "started"
    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids)
    changes = [e for e in everything["items"] if e["kind"] == "status_changed"]
    assert [e["data"]["to"] for e in changes] == ["triage", "signing", "handling"]
    assert changes[1]["data"]["department"] == "D01" and changes[1]["actor"] == "dispatcher-all"


def test_an_id_too_large_for_the_database_is_not_found(client, as_staff):
    response = client.get(f"/api/v1/petitions/{2**70}", headers=as_staff("dispatcher"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
