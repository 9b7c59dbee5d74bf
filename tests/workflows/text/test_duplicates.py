"""Near-duplicate detection at intake, on petitions submitted through the real processes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine import InstanceStatus
from workflows.domain import create_domain
from workflows.petitions import Submission
from workflows.text.duplicates import duplicates_of
from workflows.text.models import DuplicateTerm
from workflows.text.signature import signature_of, similarity

ELEVATOR = {"title": "景蓉华苑小区电梯坏了三天没人修",
            "body": "我住在景蓉华苑小区5栋，电梯已经坏了三天，物业一直不来维修，老人上下楼很困难。"}
REPHRASED = {"title": "景蓉华苑电梯故障无人维修",
             "body": "景蓉华苑5栋的电梯停运好几天了，物业公司迟迟不修，老年人出行非常不便，请督促物业尽快修好电梯。"}
OTHER_PLACE = {"title": "潇楚南路锦绣家园电梯坏了没人修",
               "body": "潇楚南路锦绣家园3栋电梯已经坏了三天，物业一直不来维修，老人上下楼很困难。"}
SAME_PLACE_OTHER_MATTER = {"title": "景蓉华苑小区楼下烧烤油烟扰民",
                           "body": "景蓉华苑小区门口的烧烤店每晚油烟很大，噪音扰民，影响居民休息。"}
UNRELATED = {"title": "孩子入学学位咨询", "body": "请问今年小学一年级的入学报名需要哪些材料，户口不在本区能否就读。"}


def found(domain, case) -> dict[int, float]:
    with domain.db.read() as session:
        return {d.id: d.score for d in duplicates_of(session, case.petition_id)}


def test_similarity_gates_on_the_place_and_scores_the_matter():
    original = signature_of(**ELEVATOR)
    assert "景蓉华苑" in original.places
    assert similarity(original, signature_of(**REPHRASED)) >= 0.3
    assert similarity(original, signature_of(**OTHER_PLACE)) == 0.0  # both name places, none shared
    assert similarity(original, signature_of(**UNRELATED)) < 0.1
    assert similarity(original, signature_of(**SAME_PLACE_OTHER_MATTER)) < 0.1
    assert similarity(original, original) == 1.0


def test_a_rephrased_petition_finds_the_original_and_nothing_else(domain, submit):
    original = submit(**ELEVATOR)
    others = [submit(**OTHER_PLACE), submit(**SAME_PLACE_OTHER_MATTER), submit(**UNRELATED)]
    rephrased = submit(**REPHRASED)

    assert list(found(domain, rephrased)) == [original.petition_id]
    assert 0.3 <= found(domain, rephrased)[original.petition_id] <= 1
    assert list(found(domain, original)) == [rephrased.petition_id]  # kept both ways for triage
    assert all(found(domain, other) == {} for other in others)


def test_only_recent_open_petitions_are_candidates(domain, submit, clock):
    old = submit(**ELEVATOR)
    clock.shift(timedelta(days=91))
    recent = submit(**ELEVATOR)
    assert found(domain, recent) == {}  # outside the 90-day window

    recent.complete("triage_petition", {"decision": "reject", "reject_reason": "duplicate"})
    with domain.db.read() as session:  # a closed petition leaves the index
        assert session.scalar(select(func.count()).where(DuplicateTerm.petition_id == recent.petition_id)) == 0
        assert session.scalar(select(func.count()).where(DuplicateTerm.petition_id == old.petition_id)) > 0
    assert found(domain, submit(**REPHRASED)) == {}


def submit_after_looking_ahead(domain, ahead, fields) -> int:
    """The second half of `Domain.submit`: the write transaction, handed the lookahead `ahead`."""
    with domain.db.write() as session:
        domain.duplicates.expect(session, ahead)
        return domain.petitions.submit(session, Submission(type="complaint", **fields)).petition.id


def look_ahead(domain, fields):
    with domain.db.read() as session:
        return domain.duplicates.look_ahead(session, fields["title"], fields["body"], None, domain.petitions.clock())


def test_a_petition_submitted_between_the_lookahead_and_the_write_is_found(domain, submit):
    """Submitted together: the original is indexed after the rephrased one looked ahead, and
    before its write transaction, which looks again at the petitions indexed since."""
    earlier = submit(**ELEVATOR)
    ahead = look_ahead(domain, REPHRASED)
    assert [m.petition_id for m in ahead.matches] == [earlier.petition_id]
    meanwhile = submit(**ELEVATOR)
    submit(**OTHER_PLACE), submit(**SAME_PLACE_OTHER_MATTER), submit(**UNRELATED)  # indexed since, not alike
    rephrased = submit_after_looking_ahead(domain, ahead, REPHRASED)
    with domain.db.read() as session:
        assert {d.id for d in duplicates_of(session, rephrased)} == {earlier.petition_id, meanwhile.petition_id}
        assert rephrased in {d.id for d in duplicates_of(session, meanwhile.petition_id)}


def test_a_lookahead_for_another_text_is_not_used(domain, submit):
    original = submit(**ELEVATOR)
    ahead = look_ahead(domain, UNRELATED)
    assert ahead.matches == []
    rephrased = submit_after_looking_ahead(domain, ahead, REPHRASED)
    with domain.db.read() as session:
        assert [d.id for d in duplicates_of(session, rephrased)] == [original.petition_id]


def test_a_petition_whose_start_failed_is_looked_up_and_indexed_when_it_is_retried(domain, submit):
    original = submit(**ELEVATOR)
    fragile = create_domain(domain.db, script_time_limit=1e-9)  # every script runs out of time
    failed = fragile.submit(Submission(type="complaint", contact_phone="13800000000", **REPHRASED)).petition
    with domain.db.write() as session:
        assert domain.engine.get_instance(session, failed.instance_id).status is InstanceStatus.ERROR
        assert duplicates_of(session, failed.id) == []
        assert domain.engine.retry(session, failed.instance_id, "admin").status is InstanceStatus.RUNNING
    with domain.db.read() as session:
        assert [d.id for d in duplicates_of(session, failed.id)] == [original.petition_id]
        assert session.scalar(select(func.count()).where(DuplicateTerm.petition_id == failed.id)) > 0
