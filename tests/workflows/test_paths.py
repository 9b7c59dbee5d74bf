"""Every path of the petition processes, driven through the real engine with a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sqlalchemy import select

from engine.models import OutboxMessage
from workflows.models import Escalation
from tests.workflows.conftest import START
from workflows.statuses import PetitionStatus as S, PublicStatus, TRANSITIONS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI).astimezone(timezone.utc)


def assert_legal(statuses):
    previous = "received"
    for status in statuses:
        assert S(status) in TRANSITIONS[S(previous)], f"{previous} -> {status}"
        previous = status


def dispatch(case, department="D01"):
    case.complete("triage_petition", {"decision": "dispatch", "department": department}, "dispatcher")


def sign(case):
    case.complete("sign_for", {"sign_decision": "sign"}, "handler")


def reply_and_approve(case, text="已安排维修，道路已修复"):
    case.complete("handle", {"action": "reply", "reply": text}, "handler")
    case.complete("review_reply", {"approved": True}, "supervisor")


def test_normal_path(submit, domain):
    case = submit()
    petition = case.petition()
    assert (petition.status, petition.public_status) == (S.TRIAGE, PublicStatus.RECEIVED)
    assert petition.tracking_no.startswith("MY20260914")
    assert set(case.tasks()) == {"triage_petition"} and case.tasks()["triage_petition"].lane == "dispatcher"

    dispatch(case)
    petition = case.petition()
    assert (petition.status, petition.department_code) == (S.SIGNING, "D01")
    assert petition.sign_due_at == end_of(2026, 9, 15)
    # 15 working days from Monday Sep 14: Sunday Sep 20 and Saturday Oct 10 are make-up working
    # days, Sep 25 (Mid-Autumn) and Oct 1-7 (National Day) are not.
    assert petition.due_at == end_of(2026, 10, 10)
    sign_task = case.tasks()["sign_for"]
    assert (sign_task.lane, sign_task.department, sign_task.form) == ("handler", "D01", "sign_form")

    sign(case)
    assert case.petition().status is S.HANDLING
    case.complete("handle", {"action": "reply", "reply": "已安排维修"}, "handler")
    assert case.petition().status is S.REVIEWING
    assert case.tasks()["review_reply"].lane == "supervisor"
    case.complete("review_reply", {"approved": True}, "supervisor")
    petition = case.petition()
    assert (petition.status, petition.public_status, petition.reply) == (S.REPLIED, PublicStatus.REPLIED, "已安排维修")
    assert case.tasks()["rate_reply"].lane == "citizen"

    case.complete("rate_reply", {"rating": 5, "solved": True, "comment": "很满意"}, "citizen")
    petition = case.petition()
    assert (petition.status, petition.rating, petition.solved) == (S.CLOSED, 5, True)
    assert petition.closed_at is not None and case.tasks() == {}
    assert case.statuses() == ["triage", "signing", "handling", "reviewing", "replied", "closed"]
    with domain.db.read() as session:
        recipients = {(m.channel, m.recipient) for m in session.scalars(select(OutboxMessage))}
    assert ("department", "D01") in recipients and ("citizen", "13800000000") in recipients


def test_reject_as_out_of_scope(submit):
    case = submit()
    case.complete("triage_petition", {"decision": "reject", "reject_reason": "in_litigation"}, "dispatcher")
    petition = case.petition()
    assert (petition.status, petition.public_status, petition.reject_reason) == (S.REJECTED, PublicStatus.CLOSED, "in_litigation")
    assert case.tasks() == {}


def test_emergency_is_diverted_at_once(submit):
    case = submit(urgency="critical", emergency_hint="119", title="楼道起火")
    petition = case.petition()
    assert (petition.status, petition.emergency) == (S.DIVERTED, True)
    assert case.tasks() == {}


def test_return_accepted_reroutes(submit):
    case = submit()
    dispatch(case, "D02")
    case.complete("sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"}, "handler")
    assert case.petition().status is S.TRIAGE
    dispatch(case, "D01")
    assert case.tasks()["sign_for"].department == "D01"
    sign(case)
    assert case.statuses()[:5] == ["triage", "signing", "returned", "triage", "signing"]


def test_return_overruled_must_be_handled(submit):
    case = submit()
    dispatch(case, "D02")
    case.complete("sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"}, "handler")
    case.complete("triage_petition", {"decision": "overrule", "note": "属于该局职责"}, "dispatcher")
    assert set(case.tasks()) == {"handle"}, "no second chance to return it"
    assert (case.petition().status, case.tasks()["handle"].department) == (S.HANDLING, "D02")


def test_transfer_to_another_department(submit):
    case = submit()
    dispatch(case)
    sign(case)
    case.complete("handle", {"action": "transfer", "transfer_to": "D03"}, "handler")
    petition = case.petition()
    assert (petition.status, petition.department_code) == (S.SIGNING, "D03")
    assert case.tasks()["sign_for"].department == "D03"
    sign(case)
    assert case.tasks()["handle"].department == "D03"


def test_co_handling_with_two_assisting_departments(submit):
    case = submit()
    dispatch(case)
    sign(case)
    case.complete("handle", {"action": "cohandle", "assisting": ["D02", "D03"]}, "handler")
    assists = case.tasks_named("assist")
    assert sorted(t.department for t in assists) == ["D02", "D03"]
    for task in assists:
        with case.domain.db.write() as session:
            case.domain.petitions.complete_task(session, task.id, {"contribution": f"{task.department} 已配合处理"}, "helper")
    assert set(case.tasks()) == {"handle"} and case.tasks()["handle"].department == "D01"
    reply_and_approve(case)
    assert case.petition().status is S.REPLIED


def test_extension_approved_moves_the_deadline_and_refused_keeps_it(submit):
    case = submit()
    dispatch(case)
    sign(case)
    due = case.petition().due_at
    case.complete("handle", {"action": "extend", "extension_days": 3, "extension_reason": "需现场勘查"}, "handler")
    assert case.petition().status is S.EXTENSION_REQUESTED
    case.complete("approve_extension", {"extension_approved": True, "granted_days": 3}, "supervisor")
    petition = case.petition()
    assert (petition.status, petition.due_at, petition.extension_days) == (S.HANDLING, end_of(2026, 10, 14), 3)
    assert due == end_of(2026, 10, 10)
    case.complete("handle", {"action": "extend", "extension_days": 5, "extension_reason": "再次延期"}, "handler")
    case.complete("approve_extension", {"extension_approved": False}, "supervisor")
    assert case.petition().due_at == end_of(2026, 10, 14)


def test_information_request_pauses_the_clock(submit):
    case = submit()
    dispatch(case)
    sign(case)
    case.complete("handle", {"action": "request_info", "info_request": "请提供现场照片"}, "handler")
    assert (case.petition().status, case.petition().public_status) == (S.AWAITING_INFO, PublicStatus.IN_PROGRESS)
    assert case.tasks()["provide_info"].lane == "citizen"
    case.advance(timedelta(days=3))  # Mon Sep 14 -> Thu Sep 17: three working days paused
    case.complete("provide_info", {"information": "照片已上传"}, "citizen")
    assert case.petition().status is S.HANDLING
    assert case.petition().due_at == end_of(2026, 10, 14)  # Oct 10 + 3 working days (Oct 11 is Sunday)


def test_information_request_unanswered_closes_it(submit):
    case = submit()
    dispatch(case)
    sign(case)
    case.complete("handle", {"action": "request_info", "info_request": "请提供现场照片"}, "handler")
    case.advance(timedelta(days=8))
    assert case.petition().status is S.CLOSED and case.tasks() == {}


def test_reply_sent_back_by_the_reviewer(submit):
    case = submit()
    dispatch(case)
    sign(case)
    case.complete("handle", {"action": "reply", "reply": "已处理"}, "handler")
    case.complete("review_reply", {"approved": False, "review_comment": "答复过于简单"}, "supervisor")
    assert case.petition().status is S.HANDLING and set(case.tasks()) == {"handle"}
    reply_and_approve(case, "已于9月20日完成路面修补，并设置警示标志")
    assert case.petition().reply.startswith("已于9月20日")


def escalation_levels(domain):
    """The escalations recorded so far, oldest first."""
    with domain.db.read() as session:
        return [e.level for e in session.scalars(select(Escalation).order_by(Escalation.id))]


def test_escalation_ladder_warning_urge_order_notice(submit, domain):
    case = submit()
    dispatch(case)
    sign(case)

    def levels():
        return escalation_levels(domain)

    for _ in range(40):
        case.advance(timedelta(days=1))
        if len(levels()) == 4:
            break
    assert levels() == ["warning", "urge", "order", "notice"]
    assert "issue_order" in case.tasks() and case.tasks()["issue_order"].lane == "supervisor"
    assert "handle" in case.tasks(), "escalations do not take the petition away from its department"
    with domain.db.read() as session:
        rows = {e.level: e for e in session.scalars(select(Escalation))}
    assert rows["urge"].created_at >= end_of(2026, 10, 10) > rows["warning"].created_at
    assert rows["notice"].department_code == "D01"
    case.advance(timedelta(days=3))
    assert levels() == ["warning", "urge", "order", "notice"], "every rung fires exactly once"


def test_three_reopens_then_escalation(submit):
    case = submit()
    dispatch(case)
    sign(case)
    for round_no in range(1, 4):
        reply_and_approve(case, f"第{round_no}次答复")
        case.complete("rate_reply", {"rating": 1, "solved": False}, "citizen")
        petition = case.petition()
        assert (petition.status, petition.reopen_count) == (S.HANDLING, round_no)
        assert set(case.tasks()) == {"handle"}, "reopened petitions go straight back to the department"
    reply_and_approve(case, "第4次答复")
    case.complete("rate_reply", {"rating": 2, "solved": False}, "citizen")
    assert case.petition().status is S.ESCALATED
    case.complete("review_dissatisfaction", {"conclusion": "已充分答复，予以办结"}, "supervisor")
    assert case.petition().status is S.CLOSED
    assert_legal(case.statuses())


def test_feedback_window_expires_as_not_rated(submit):
    case = submit()
    dispatch(case)
    sign(case)
    reply_and_approve(case)
    case.advance(timedelta(days=8))
    petition = case.petition()
    assert (petition.status, petition.rating) == (S.CLOSED, None), "no rating is never counted as satisfied"


def test_sign_for_limit_missed_signs_it_automatically(submit):
    case = submit()
    dispatch(case)
    case.advance(timedelta(days=2))
    assert case.petition().status is S.HANDLING and set(case.tasks()) == {"handle"}


def test_replanning_the_ladder_for_the_same_deadline_does_not_escalate_again(submit, domain):
    case = submit()
    dispatch(case)
    sign(case)

    def levels():
        return sorted(escalation_levels(domain))

    def notifications():
        with domain.db.read() as session:
            return len(session.scalars(select(OutboxMessage)).all())

    case.advance(timedelta(days=30))  # Oct 14: past the deadline (Oct 10) and the order (Oct 12)
    assert levels() == ["order", "urge", "warning"] and len(case.tasks_named("issue_order")) == 1
    case.complete("handle", {"action": "transfer", "transfer_to": "D03"}, "handler")
    sign(case)  # the ladder is planned again for the same deadline
    sent = notifications()
    case.advance(timedelta(hours=1))
    assert len(case.tasks_named("issue_order")) == 1, "no second supervision order for the same deadline"
    assert levels() == ["order", "urge", "warning"] and notifications() == sent, "and no repeated urges"
    case.advance(timedelta(days=6))  # the notice rung (Oct 19) was still ahead, so it still comes
    assert levels() == ["notice", "order", "urge", "warning"]


@pytest.mark.parametrize(
    "type_,urgency,sign_due,handle_due",
    [
        ("letters", "critical", end_of(2026, 9, 29), end_of(2026, 11, 13)),  # 信访: 15 / 60 calendar days, wins over urgency
        ("complaint", "critical", START + timedelta(minutes=15), START + timedelta(hours=2)),
        ("report", "urgent", START + timedelta(hours=1), end_of(2026, 9, 15)),
        ("consultation", "normal", end_of(2026, 9, 15), end_of(2026, 9, 16)),
        ("help", "normal", end_of(2026, 9, 15), end_of(2026, 9, 28)),  # 10 working days: Sun Sep 20 is one, Fri Sep 25 not
        ("suggestion", "normal", end_of(2026, 9, 15), end_of(2026, 9, 28)),
        ("complaint", "normal", end_of(2026, 9, 15), end_of(2026, 10, 10)),
    ],
)
def test_deadline_rules_by_type_and_urgency(submit, type_, urgency, sign_due, handle_due):
    case = submit(type=type_, urgency=urgency)
    dispatch(case)
    petition = case.petition()
    assert (petition.sign_due_at, petition.due_at) == (sign_due, handle_due)


def test_tasks_carry_their_due_times(submit):
    case = submit()
    dispatch(case)
    assert case.tasks()["sign_for"].due_at == end_of(2026, 9, 15)
    sign(case)
    assert case.tasks()["handle"].due_at == end_of(2026, 10, 10)
