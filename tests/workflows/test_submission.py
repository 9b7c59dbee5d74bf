"""Submitting a petition with its process's start run ahead of the write transaction
(`Petitions.prepare`, as `Domain.submit` does on SQLite): the tracking number drawn ahead is
checked when the start is saved."""

from __future__ import annotations

from engine import InstanceStatus
from workflows.petitions import Submission

SUBMISSION = Submission(type="complaint", title="小区门口道路破损", body="某某路12号小区门口路面塌陷，雨天积水严重。",
                        contact_phone="13800000000")


def test_a_prepared_submission_whose_tracking_number_was_taken_starts_again_under_a_new_one(domain):
    with domain.db.read() as session:
        prepared = domain.petitions.prepare(session, SUBMISSION)
    submitted = []
    for _ in range(2):  # the second finds the number taken by the first
        with domain.db.write() as session:
            submitted.append(domain.petitions.submit(session, SUBMISSION, prepared=prepared))
    first, second = (s.petition for s in submitted)
    assert first.tracking_no == prepared.tracking_no != second.tracking_no
    with domain.db.read() as session:
        for petition in (first, second):
            instance = domain.engine.get_instance(session, petition.instance_id)
            triage = domain.engine.load_workflow(session, instance).get_next_task(spec_name="triage_petition")
            assert instance.business_key == triage.data["tracking_no"] == petition.tracking_no


def test_an_instance_with_a_petitions_tracking_number_that_is_not_its_own_leaves_it_alone(domain, submit):
    """A designer may start any process with any business key; one started of the petition
    process under a live petition's tracking number must not change that petition."""
    case = submit()
    case.complete("triage_petition", {"decision": "dispatch", "department": "D01"}, "dispatcher")
    before = case.petition()
    with domain.db.write() as session:
        data = {"tracking_no": before.tracking_no, "type": "complaint", "urgency": "normal", "title": "试一试",
                "body": "设计人员试运行流程", "channel": "web", "received_at": "2026-09-14T02:00:00+00:00",
                "emergency_hint": "none", "suggested_department": ""}
        foreign = domain.engine.start(session, "petition", data, "designer", business_key=before.tracking_no)
    after = case.petition()
    assert foreign.id != after.instance_id and foreign.status is InstanceStatus.RUNNING
    assert (after.status, after.updated_at, after.instance_id) == (before.status, before.updated_at, before.instance_id)
