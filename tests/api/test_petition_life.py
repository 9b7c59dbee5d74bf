"""The life of a petition over HTTP, for every path of tests/workflows/test_paths.py that
people drive (the timer-driven ones are covered there and in test_escalations.py).

Each scenario is a table of steps: who acts (a role, `handler:D01`, or `citizen`), on which
task, with what data, and the petition's status afterwards. The runner finds every task in
the actor's own inbox, completes it over the API, checks the status both in the staff record
and in the citizen's public view, and finally checks the audit log against the steps.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.drive import Citizen, Desk
from workflows.statuses import PUBLIC_STATUS, TRANSITIONS, PetitionStatus

Step = tuple[str, str, dict[str, Any], str]

DISPATCH_D01: list[Step] = [
    ("dispatcher", "triage_petition", {"decision": "dispatch", "department": "D01"}, "signing"),
    ("handler:D01", "sign_for", {"sign_decision": "sign"}, "handling"),
]


def reply_round(text: str, rating: int | None = None, after_rating: str = "closed") -> list[Step]:
    steps: list[Step] = [
        ("handler:D01", "handle", {"action": "reply", "reply": text}, "reviewing"),
        ("supervisor", "review_reply", {"approved": True}, "replied"),
    ]
    if rating is not None:
        steps.append(("citizen", "rate_reply", {"rating": rating, "solved": rating >= 4}, after_rating))
    return steps


SCENARIOS: dict[str, list[Step]] = {
    "normal": [*DISPATCH_D01, *reply_round("已安排维修，道路已修复", rating=5)],
    "reject": [("dispatcher", "triage_petition", {"decision": "reject", "reject_reason": "in_litigation"}, "rejected")],
    "return_accepted": [
        ("dispatcher", "triage_petition", {"decision": "dispatch", "department": "D02"}, "signing"),
        ("handler:D02", "sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"}, "triage"),
        *DISPATCH_D01,
    ],
    "return_overruled": [
        ("dispatcher", "triage_petition", {"decision": "dispatch", "department": "D02"}, "signing"),
        ("handler:D02", "sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"}, "triage"),
        ("dispatcher", "triage_petition", {"decision": "overrule", "note": "属于该局职责"}, "handling"),
        ("handler:D02", "handle", {"action": "reply", "reply": "已处理"}, "reviewing"),
    ],
    "transfer": [
        *DISPATCH_D01,
        ("handler:D01", "handle", {"action": "transfer", "transfer_to": "D03"}, "signing"),
        ("handler:D03", "sign_for", {"sign_decision": "sign"}, "handling"),
        ("handler:D03", "handle", {"action": "reply", "reply": "已由交通部门处理"}, "reviewing"),
    ],
    "co_handling": [
        *DISPATCH_D01,
        ("handler:D01", "handle", {"action": "cohandle", "assisting": ["D02", "D03"]}, "handling"),
        ("handler:D02", "assist", {"contribution": "D02 已配合处理"}, "handling"),
        ("handler:D03", "assist", {"contribution": "D03 已配合处理"}, "handling"),
        *reply_round("多部门联合处理完毕"),
    ],
    "extension_approved_then_refused": [
        *DISPATCH_D01,
        ("handler:D01", "handle", {"action": "extend", "extension_days": 3, "extension_reason": "需现场勘查"},
         "extension_requested"),
        ("supervisor", "approve_extension", {"extension_approved": True, "granted_days": 3}, "handling"),
        ("handler:D01", "handle", {"action": "extend", "extension_days": 5, "extension_reason": "再次延期"},
         "extension_requested"),
        ("supervisor", "approve_extension", {"extension_approved": False}, "handling"),
    ],
    "information_answered": [
        *DISPATCH_D01,
        ("handler:D01", "handle", {"action": "request_info", "info_request": "请提供现场照片"}, "awaiting_info"),
        ("citizen", "provide_info", {"information": "照片已上传"}, "handling"),
        *reply_round("已根据照片安排维修", rating=4),
    ],
    "reply_sent_back": [
        *DISPATCH_D01,
        ("handler:D01", "handle", {"action": "reply", "reply": "已处理"}, "reviewing"),
        ("supervisor", "review_reply", {"approved": False, "review_comment": "答复过于简单"}, "handling"),
        *reply_round("已于9月20日完成路面修补，并设置警示标志"),
    ],
    "three_reopens_then_escalation": [
        *DISPATCH_D01,
        *reply_round("第1次答复", rating=1, after_rating="handling"),
        *reply_round("第2次答复", rating=1, after_rating="handling"),
        *reply_round("第3次答复", rating=2, after_rating="handling"),
        *reply_round("第4次答复", rating=2, after_rating="escalated"),
        ("supervisor", "review_dissatisfaction", {"conclusion": "已充分答复，予以办结"}, "closed"),
    ],
}


@pytest.fixture
def desk(client, as_staff) -> Desk:
    return Desk(client, as_staff)


def act(desk: Desk, citizen: Citizen, who: str, spec: str, data: dict[str, Any]) -> None:
    if who != "citizen":
        desk.do(who, citizen.tracking_no, spec, data)
        return
    response = citizen.feedback(**data) if spec == "rate_reply" else citizen.inform(data["information"])
    assert response.status_code == 200, response.get_json()


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    remaining = iter(seen)
    return all(any(status == s for s in remaining) for status in wanted)


@pytest.mark.parametrize("name", SCENARIOS)
def test_petition_life(desk, name):
    citizen = desk.submit()
    record = desk.petition(citizen.tracking_no)
    assert (record["status"], citizen.view().get_json()["status"]) == ("triage", "received")
    expected = ["triage"]
    for who, spec, data, status in SCENARIOS[name]:
        act(desk, citizen, who, spec, data)
        record = desk.petition(citizen.tracking_no)
        public = citizen.view().get_json()
        assert (record["status"], public["status"]) == (status, PUBLIC_STATUS[PetitionStatus(status)].value), (who, spec)
        if status != expected[-1]:
            expected.append(status)
    trail = desk.statuses(record["id"])
    assert is_subsequence(expected, trail), trail
    assert all(PetitionStatus(b) in TRANSITIONS[PetitionStatus(a)] for a, b in zip(["received", *trail], trail)), trail


def test_normal_life_as_the_citizen_sees_it(desk):
    citizen = desk.submit()
    view = citizen.view().get_json()
    assert [e["event"] for e in view["timeline"]] == ["received"]
    assert (view["can_rate"], view["information_requested"], view["reply"]) == (False, None, None)

    desk.dispatch(citizen)
    desk.do("handler:D01", citizen.tracking_no, "handle", {"action": "reply", "reply": "已安排维修"})
    assert citizen.view().get_json()["reply"] is None, "a draft under review is not published"
    desk.do("supervisor", citizen.tracking_no, "review_reply", {"approved": True})
    view = citizen.view().get_json()
    assert (view["status"], view["reply"], view["can_rate"]) == ("replied", "已安排维修", True)
    timeline = [(e["event"], e["department"]) for e in view["timeline"]]
    assert timeline == [("received", None), ("dispatched", "市住房和城乡建设局"), ("accepted", "市住房和城乡建设局"),
                        ("replied", None)]
    assert all(set(e) == {"at", "event", "department", "note"} for e in view["timeline"]), "no staff names"

    rated = citizen.feedback(rating=5, solved=True, comment="很满意")
    assert rated.status_code == 200
    assert (rated.get_json()["status"], rated.get_json()["can_rate"]) == ("closed", False)
    assert rated.get_json()["timeline"][-1]["event"] == "closed"
    record = desk.petition(citizen.tracking_no)
    assert (record["rating"], record["solved"]) == (5, True)
