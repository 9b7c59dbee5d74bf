"""Administration over HTTP: departments, routing rules, the holiday calendar and the deadline
rules, each checked by its effect on the domain (suggestions, deadlines, deployed tables)."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.db import utcnow
from tests.api.conftest import BPMN_DIR
from workflows.staff import Role, create_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def admin(as_staff):
    return as_staff("admin")


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI).astimezone(timezone.utc)


def one_working_day_after(app, day: date) -> datetime:
    """What the processes' `deadline(...)` computes now, through the app's calendar cache."""
    start = datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)
    return app.extensions["minyi"].domain.calendar.get().deadline(start, 1, "working_days")


# -- departments --------------------------------------------------------------------------

def test_departments_listed_to_any_staff_and_changed_by_admins(client, as_staff, admin):
    listed = client.get("/api/v1/departments", headers=as_staff("evaluator")).get_json()
    assert [d["code"] for d in listed["items"]] == ["D01", "D02", "D03"] and listed["total"] == 3

    created = client.post("/api/v1/departments", json={"code": "D04", "name": "市水务局", "parent_code": "D01"}, headers=admin)
    assert created.status_code == 201
    assert created.get_json() == {"code": "D04", "name": "市水务局", "parent_code": "D01", "active": True}
    assert client.post("/api/v1/departments", json={"code": "D04", "name": "again"}, headers=admin).status_code == 409

    changed = client.patch("/api/v1/departments/D04", json={"name": "市水务局（新）", "active": False, "parent_code": None},
                           headers=admin)
    assert changed.status_code == 200
    assert changed.get_json() == {"code": "D04", "name": "市水务局（新）", "parent_code": None, "active": False}
    inactive = client.get("/api/v1/departments?active=false", headers=admin).get_json()
    assert [d["code"] for d in inactive["items"]] == ["D04"]


@pytest.mark.parametrize("method,url,payload,status", [
    ("post", "/api/v1/departments", {"code": "D 9", "name": "spaces"}, 422),
    ("post", "/api/v1/departments", {"code": "D09", "name": ""}, 422),
    ("post", "/api/v1/departments", {"code": "D09", "name": "orphan", "parent_code": "NOPE"}, 422),
    ("patch", "/api/v1/departments/NOPE", {"name": "x"}, 404),
    ("patch", "/api/v1/departments/D01", {"parent_code": "D01"}, 422),
    ("patch", "/api/v1/departments/D01", {"parent_code": "NOPE"}, 422),
])
def test_department_errors(client, admin, method, url, payload, status):
    response = getattr(client, method)(url, json=payload, headers=admin)
    assert response.status_code == status and response.mimetype == "application/problem+json"


def test_department_cycles_are_refused(client, admin):
    assert client.patch("/api/v1/departments/D02", json={"parent_code": "D01"}, headers=admin).status_code == 200
    response = client.patch("/api/v1/departments/D01", json={"parent_code": "D02"}, headers=admin)
    assert response.status_code == 422 and "cycle" in response.get_json()["detail"]


# -- routing rules ------------------------------------------------------------------------

def test_routing_rules_drive_the_suggestion(app, client, admin, db):
    petitions = app.extensions["minyi"].domain.petitions

    def suggestion(category: str) -> str | None:
        with db.read() as session:
            return petitions.suggest_department(session, category)

    assert client.get("/api/v1/routing-rules", headers=admin).get_json()["items"] == [
        {"category": "住房", "department_code": "D01"}]
    put = client.put("/api/v1/routing-rules/交通", json={"department": "D03"}, headers=admin)
    assert put.status_code == 200 and put.get_json() == {"category": "交通", "department_code": "D03"}
    assert suggestion("交通") == "D03"
    assert client.put("/api/v1/routing-rules/交通", json={"department": "D02"}, headers=admin).status_code == 200
    assert suggestion("交通") == "D02"
    assert client.delete("/api/v1/routing-rules/交通", headers=admin).status_code == 204
    assert suggestion("交通") is None
    assert client.delete("/api/v1/routing-rules/交通", headers=admin).status_code == 404


@pytest.mark.parametrize("category,department", [("交通", "NOPE"), ("交通", "D04"), ("x" * 65, "D01")])
def test_routing_to_unknown_or_inactive_departments_is_refused(client, admin, category, department):
    client.post("/api/v1/departments", json={"code": "D04", "name": "撤销的局", "active": False}, headers=admin)
    response = client.put(f"/api/v1/routing-rules/{category}", json={"department": department}, headers=admin)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


# -- the holiday calendar -----------------------------------------------------------------

def test_calendar_lists_days_with_their_source(client, admin):
    year = datetime.now(SHANGHAI).year  # the calendar's default; the fixture seeds it
    body = client.get(f"/api/v1/calendar?year={year}", headers=admin).get_json()
    assert body["year"] == year and body["covered"] is True
    national_day = next(d for d in body["days"] if d["day"] == f"{year}-10-01")
    assert (national_day["is_workday"], national_day["source"]) == (False, "library")
    assert client.get("/api/v1/calendar", headers=admin).get_json()["year"] == year
    assert client.get("/api/v1/calendar?year=2090", headers=admin).get_json() == {
        "year": 2090, "covered": False, "official": False, "days": []}


def test_an_administrator_holiday_moves_deadlines_until_removed(app, client, admin):
    monday = date(2026, 9, 14)
    assert one_working_day_after(app, monday) == end_of(date(2026, 9, 15))
    put = client.put("/api/v1/calendar/2026-09-15", json={"is_workday": False, "name": "台风停工"}, headers=admin)
    assert put.status_code == 200
    assert put.get_json() == {"day": "2026-09-15", "is_workday": False, "name": "台风停工", "source": "admin"}
    assert one_working_day_after(app, monday) == end_of(date(2026, 9, 16))

    days = client.get("/api/v1/calendar?year=2026", headers=admin).get_json()["days"]
    assert {"day": "2026-09-15", "is_workday": False, "name": "台风停工", "source": "admin"} in days
    assert client.delete("/api/v1/calendar/2026-09-15", headers=admin).status_code == 204
    assert one_working_day_after(app, monday) == end_of(date(2026, 9, 15))
    assert client.delete("/api/v1/calendar/2026-09-15", headers=admin).status_code == 404


def test_a_make_up_working_day_counts(app, client, admin):
    friday = date(2026, 9, 11)
    assert one_working_day_after(app, friday) == end_of(date(2026, 9, 14))
    client.put("/api/v1/calendar/2026-09-12", json={"is_workday": True, "name": "调休上班"}, headers=admin)
    assert one_working_day_after(app, friday) == end_of(date(2026, 9, 12))


def test_import_from_the_library_changes_deadlines(app, client, admin):
    before = one_working_day_after(app, date(2030, 4, 30))  # Labour Day, Wednesday 1 May 2030, not known yet
    assert before == end_of(date(2030, 5, 1))
    response = client.post("/api/v1/calendar/import", json={"years": [2030, 2030]}, headers=admin)
    assert response.status_code == 200 and [y["year"] for y in response.get_json()] == [2030]
    assert one_working_day_after(app, date(2030, 4, 30)) > end_of(date(2030, 5, 1))
    assert client.get("/api/v1/calendar?year=2030", headers=admin).get_json()["covered"] is True


@pytest.mark.parametrize("method,url,payload", [
    ("put", "/api/v1/calendar/2026-02-30", {"is_workday": False, "name": "x"}),
    ("put", "/api/v1/calendar/tomorrow", {"is_workday": False, "name": "x"}),
    ("put", "/api/v1/calendar/2026-09-15", {"name": "no flag"}),
    ("delete", "/api/v1/calendar/15.9.2026", None),
    ("post", "/api/v1/calendar/import", {"years": []}),
    ("post", "/api/v1/calendar/import", {"years": [1900]}),
])
def test_calendar_bad_input_is_422(client, admin, method, url, payload):
    response = getattr(client, method)(url, json=payload, headers=admin)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


# -- deadline rules -----------------------------------------------------------------------

def rules_by_input(body) -> dict[tuple, dict]:
    return {(r["type"], r["urgency"]): r for r in body["rules"]}


def test_deadline_rules_come_from_the_deployed_table(client, admin):
    body = client.get("/api/v1/deadlines", headers=admin).get_json()
    assert (body["process_key"], body["version"], body["file"]) == ("petition", 1, "deadlines.dmn")
    assert body["decision_id"] == "deadline_rules" and body["hit_policy"] == "FIRST"
    rules = rules_by_input(body)
    assert rules[("letters", None)]["handle_unit"] == "calendar_days"
    assert (rules[(None, "critical")]["sign_limit"], rules[(None, "critical")]["sign_unit"]) == (0.25, "hours")
    assert rules[("complaint", None)]["handle_limit"] == 15


def test_a_redeployed_table_shows_at_once(client, admin):
    table = (BPMN_DIR / "deadlines.dmn").read_text(encoding="utf-8")
    stricter = table.replace('<outputEntry id="rule_7_handle_limit">\n          <text>15</text>',
                             '<outputEntry id="rule_7_handle_limit">\n          <text>12</text>')
    assert stricter != table
    files = {"files": [(io.BytesIO(stricter.encode()), "deadlines.dmn")]}
    deployed = client.post("/api/v1/processes", data=files, headers=admin, content_type="multipart/form-data")
    assert deployed.status_code == 201, deployed.get_json()
    body = client.get("/api/v1/deadlines", headers=admin).get_json()
    assert body["version"] == 2 and rules_by_input(body)[("complaint", None)]["handle_limit"] == 12


def test_no_deadline_rules_without_the_petition_process(client, db):
    with db.write() as session:  # no reference data: nothing is deployed
        root = create_staff(session, "root", Role.ADMIN, None, utcnow()).token
    response = client.get("/api/v1/deadlines", headers={"Authorization": f"Bearer {root}"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
