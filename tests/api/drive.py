"""Driving petitions over HTTP as citizens and staff would: submit, find the task in the
right inbox, complete it. Used by the petition and task API tests (no mocks: the real app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PROBLEM = "application/problem+json"
PETITION: dict[str, Any] = {
    "type": "complaint",
    "title": "小区门口道路破损",
    "body": "某某路12号小区门口路面塌陷，雨天积水严重。",
    "location": "某某路12号",
    "contact_name": "张三",
    "contact_phone": "13800001234",
    "contact_email": "zhangsan@example.com",
}
# The lane each role works in; a handler's department follows a colon: "handler:D01".
LANE = {"dispatcher": "dispatcher", "handler": "handler", "supervisor": "supervisor", "admin": None}


def is_problem(response, status: int) -> bool:
    """An RFC 9457 answer with this status: the media type and the members every problem has."""
    body = response.get_json(silent=True) or {}
    return (response.status_code == status and response.mimetype == PROBLEM
            and body.get("status") == status and isinstance(body.get("title"), str) and "type" in body)


@dataclass
class Citizen:
    """The author of one petition, holding its tracking number and access token."""

    client: Any
    tracking_no: str
    token: str

    def headers(self) -> dict[str, str]:
        return {"X-Access-Token": self.token}

    def view(self):
        return self.client.get(f"/api/v1/petitions/{self.tracking_no}", headers=self.headers())

    def feedback(self, **data: Any):
        return self.client.post(f"/api/v1/petitions/{self.tracking_no}/feedback", json=data, headers=self.headers())

    def inform(self, information: str):
        return self.client.post(f"/api/v1/petitions/{self.tracking_no}/information", json={"information": information},
                                headers=self.headers())


class Desk:
    """Staff working through their inboxes: `who` is a role, `handler:D01` for a handler."""

    def __init__(self, client: Any, as_staff: Callable[..., dict[str, str]]):
        self.client, self.as_staff = client, as_staff

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        role, _, department = who.partition(":")
        return self.as_staff(role, department or None, **extra)

    def submit(self, **fields: Any) -> Citizen:
        response = self.client.post("/api/v1/petitions", json={**PETITION, **fields})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return Citizen(self.client, body["tracking_no"], body["access_token"])

    def inbox(self, who: str, **params: Any) -> dict[str, Any]:
        response = self.client.get("/api/v1/tasks", query_string={"page_size": 100, **params}, headers=self.headers(who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def task(self, who: str, tracking_no: str, spec: str) -> dict[str, Any]:
        """The pending `spec` task of a petition as it appears in `who`'s inbox."""
        found = [t for t in self.inbox(who)["items"]
                 if t["task_spec"] == spec and t["petition"] and t["petition"]["tracking_no"] == tracking_no]
        assert len(found) == 1, f"{spec} of {tracking_no} in the inbox of {who}: {found}"
        return found[0]

    def complete(self, who: str, task_id: str, data: dict[str, Any], **headers: str):
        return self.client.post(f"/api/v1/tasks/{task_id}/complete", json=data, headers=self.headers(who, **headers))

    def do(self, who: str, tracking_no: str, spec: str, data: dict[str, Any]) -> dict[str, Any]:
        """Find the task in `who`'s inbox and complete it; the completion's answer."""
        response = self.complete(who, self.task(who, tracking_no, spec)["id"], data)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def petition(self, tracking_no: str, who: str = "admin") -> dict[str, Any]:
        """The full record, found by its tracking number."""
        listed = self.client.get("/api/v1/petitions", query_string={"q": tracking_no}, headers=self.headers(who))
        (item,) = listed.get_json()["items"]
        return self.client.get(f"/api/v1/petitions/{item['id']}", headers=self.headers(who)).get_json()

    def events(self, petition_id: int, who: str = "admin", **params: Any):
        return self.client.get(f"/api/v1/petitions/{petition_id}/events", query_string=params, headers=self.headers(who))

    def statuses(self, petition_id: int) -> list[str]:
        """Every status the petition went through, from its audit log."""
        body = self.events(petition_id, page_size=100).get_json()
        return [e["data"]["to"] for e in body["items"] if e["kind"] == "status_changed"]

    def dispatch(self, citizen: Citizen, department: str = "D01", sign: bool = True) -> None:
        self.do("dispatcher", citizen.tracking_no, "triage_petition", {"decision": "dispatch", "department": department})
        if sign:
            self.do(f"handler:{department}", citizen.tracking_no, "sign_for", {"sign_decision": "sign"})

    def reply(self, citizen: Citizen, department: str = "D01", text: str = "已安排维修，道路已修复") -> None:
        self.do(f"handler:{department}", citizen.tracking_no, "handle", {"action": "reply", "reply": text})
        self.do("supervisor", citizen.tracking_no, "review_reply", {"approved": True})
