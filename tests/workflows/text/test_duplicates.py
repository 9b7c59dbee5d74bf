"""Near-duplicate detection at intake, on petitions submitted through the real processes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

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
