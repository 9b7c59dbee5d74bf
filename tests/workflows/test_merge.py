"""Merging through the domain: races between two merges, and chains of duplicates."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine import ConflictError, HumanTask
from workflows.models import Petition
from workflows.statuses import PetitionStatus, PublicStatus

ELEVATOR = {"title": "景蓉华苑小区电梯坏了三天没人修", "body": "景蓉华苑小区5栋电梯已经坏了三天，物业一直不来维修。"}


def merge_at_once(domain, pairs: list[tuple[int, int]]) -> list[str]:
    """Run the merges in threads released together; what each one ended with."""
    start, outcomes = threading.Barrier(len(pairs)), []

    def run(duplicate: int, original: int) -> None:
        start.wait()
        try:
            with domain.db.write() as session:
                domain.merging.merge(session, duplicate, original, "dispatcher", after_triage=False)
            outcomes.append("merged")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.parametrize("crosswise", [False, True], ids=["same pair", "each into the other"])
def test_of_two_merges_at_once_one_wins(domain, submit, crosswise):
    a, b = submit(**ELEVATOR), submit(**ELEVATOR)
    pairs = [(b.petition_id, a.petition_id), (a.petition_id, b.petition_id) if crosswise else (b.petition_id, a.petition_id)]
    assert merge_at_once(domain, pairs) == ["conflict", "merged"]
    assert sorted(p.petition().status for p in (a, b)) == sorted([PetitionStatus.MERGED, PetitionStatus.TRIAGE])


def test_duplicates_of_a_merged_petition_follow_its_original(domain, submit):
    original, middle, last = submit(**ELEVATOR), submit(**ELEVATOR), submit(**ELEVATOR)
    with domain.db.write() as session:
        domain.merging.merge(session, last.petition_id, middle.petition_id, "dispatcher", after_triage=False)
        domain.merging.merge(session, middle.petition_id, original.petition_id, "dispatcher", after_triage=False)
    assert last.petition().merged_into_id == original.petition_id

    original.complete("triage_petition", {"decision": "reject", "reject_reason": "duplicate"})
    for case in (middle, last):
        petition: Petition = case.petition()
        assert (petition.status, petition.public_status) == (PetitionStatus.MERGED, PublicStatus.CLOSED)
        assert petition.closed_at == original.petition().closed_at


def test_a_merge_is_followed_even_after_its_original_was_looked_up_in_the_transaction(domain, submit):
    """Whether duplicates follow a petition is found with its lookup, once per transaction: a
    merge into it later in the same transaction must still be followed."""
    original, duplicate = submit(**ELEVATOR), submit(**ELEVATOR)
    original.complete("triage_petition", {"decision": "dispatch", "department": "D01"})
    with domain.db.write() as session:
        sign = original.tasks()["sign_for"]
        domain.petitions.complete_task(session, sign.id, {"sign_decision": "sign"}, "staff")  # looks it up: nothing follows
        domain.merging.merge(session, duplicate.petition_id, original.petition_id, "supervisor", after_triage=True)
        handle = session.scalars(select(HumanTask).where(HumanTask.instance_id == original.petition().instance_id,
                                                         HumanTask.task_spec == "handle")).one()
        domain.petitions.complete_task(session, handle.id, {"action": "reply", "reply": "已安排维修"}, "staff")
        review = session.scalars(select(HumanTask).where(HumanTask.instance_id == original.petition().instance_id,
                                                         HumanTask.task_spec == "review_reply")).one()
        domain.petitions.complete_task(session, review.id, {"approved": True}, "supervisor")
    followed = duplicate.petition()
    assert (followed.public_status, followed.reply) == (PublicStatus.REPLIED, "已安排维修")
