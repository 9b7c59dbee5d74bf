"""Submitting a petition with its process's start run ahead of the write transaction
(`Petitions.prepare`, as `Domain.submit` does on SQLite): the tracking number drawn ahead is
checked when the start is saved."""

from __future__ import annotations

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
