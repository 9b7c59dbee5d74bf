"""Staff accounts over HTTP and from the command line: tokens shown once, roles, departments,
and deactivation revoking access at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflows.staff import Staff
from workflows.tokens import hash_token


@pytest.fixture
def admin(as_staff):
    return as_staff("admin")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client, admin, **fields):
    return client.post("/api/v1/users", json=fields, headers=admin)


def test_a_new_account_gets_its_token_once(client, admin, db):
    response = create(client, admin, name="王芳", role="handler", department="D02")
    assert response.status_code == 201
    body = response.get_json()
    token = body["token"]
    assert body["user"]["name"] == "王芳" and body["user"]["role"] == "handler" and body["user"]["department_code"] == "D02"
    assert client.get("/api/v1/departments", headers=bearer(token)).status_code == 200, "the token works"
    with db.read() as session:
        stored = session.scalars(select(Staff).where(Staff.name == "王芳")).one()
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash, "only the hash is stored"

    listed = client.get("/api/v1/users?page_size=100", headers=admin)
    assert token not in listed.get_data(as_text=True)
    assert all("token" not in user for user in listed.get_json()["items"])
    assert {"王芳", "admin-all"} <= {u["name"] for u in listed.get_json()["items"]}


@pytest.mark.parametrize("fields,status", [
    ({"name": "张伟", "role": "handler"}, 422),  # a handler needs a department
    ({"name": "张伟", "role": "handler", "department": "NOPE"}, 422),
    ({"name": "张伟", "role": "mayor"}, 422),
    ({"name": "", "role": "dispatcher"}, 422),
    ({"name": "admin-all", "role": "dispatcher"}, 409),  # the fixture's administrator
])
def test_invalid_accounts_are_refused(client, admin, fields, status):
    response = create(client, admin, **fields)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert "token" not in response.get_data(as_text=True)


def test_deactivation_revokes_the_token_at_once(client, admin):
    created = create(client, admin, name="李娜", role="dispatcher").get_json()
    url, token = f"/api/v1/users/{created['user']['id']}", created["token"]
    off = client.patch(url, json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.get_json()["active"] is False
    refused = client.get("/api/v1/departments", headers=bearer(token))
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    client.patch(url, json={"active": True}, headers=admin)
    assert client.get("/api/v1/departments", headers=bearer(token)).status_code == 200


def test_role_and_department_changes(client, admin):
    user = create(client, admin, name="赵强", role="dispatcher").get_json()["user"]
    url = f"/api/v1/users/{user['id']}"
    assert client.patch(url, json={"role": "handler"}, headers=admin).status_code == 422, "handlers need a department"
    moved = client.patch(url, json={"role": "handler", "department": "D03"}, headers=admin).get_json()
    assert (moved["role"], moved["department_code"]) == ("handler", "D03")
    assert client.patch(url, json={"department": None}, headers=admin).status_code == 422
    assert client.patch(url, json={"department": "NOPE"}, headers=admin).status_code == 422
    promoted = client.patch(url, json={"role": "supervisor", "department": None}, headers=admin).get_json()
    assert (promoted["role"], promoted["department_code"]) == ("supervisor", None)
    assert client.patch("/api/v1/users/999999", json={"active": False}, headers=admin).status_code == 404


def test_the_last_administrator_cannot_lock_everyone_out(client, admin):
    me = next(u for u in client.get("/api/v1/users", headers=admin).get_json()["items"] if u["name"] == "admin-all")
    response = client.patch(f"/api/v1/users/{me['id']}", json={"active": False}, headers=admin)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert client.patch(f"/api/v1/users/{me['id']}", json={"role": "supervisor"}, headers=admin).status_code == 409
    create(client, admin, name="second-admin", role="admin")
    assert client.patch(f"/api/v1/users/{me['id']}", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/users", headers=admin).status_code == 401


def test_listing_filters_and_pages(client, admin):
    for index in range(3):
        create(client, admin, name=f"handler-{index}", role="handler", department="D01")
    handlers = client.get("/api/v1/users?role=handler&department=D01&page_size=2", headers=admin).get_json()
    assert (handlers["total"], len(handlers["items"])) == (3, 2)
    assert [u["name"] for u in handlers["items"]] == ["handler-0", "handler-1"]


# -- the command line ---------------------------------------------------------------------

def test_cli_creates_the_first_administrator(runner, client, db):
    result = runner.invoke(args=["user", "add", "root", "--role", "admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("mny_") and "\n" not in token, "stdout carries the token alone"
    assert client.get("/api/v1/users", headers=bearer(token)).get_json()["items"][0]["name"] == "root"


@pytest.mark.parametrize("args,message", [
    (["user", "add", "h", "--role", "handler"], "must belong to a department"),
    (["user", "add", "h", "--role", "handler", "--department", "NOPE"], "no department"),
])
def test_cli_refuses_bad_accounts(runner, db, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and message in result.output
    with db.read() as session:
        assert session.scalars(select(Staff)).first() is None
