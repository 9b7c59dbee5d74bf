"""The third-party panel: score sets (one per evaluator, department and half-year) and the
reproducible reply sample."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.workflows.evaluation.records import add_departments, add_petition
from workflows.departments import DepartmentNotFound
from workflows.errors import InvalidForm
from workflows.evaluation.panel import PeriodNotStarted, Scores, panel_averages, sample, score_sets, submit_scores
from workflows.evaluation.periods import HalfYear, InvalidPeriod, Quarter
from workflows.staff import Role, create_staff

TZ = ZoneInfo("Asia/Shanghai")
H2 = HalfYear(2026, 2)
NOW = datetime(2026, 12, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def evaluators(db):
    with db.write() as session:
        add_departments(session)
        return [create_staff(session, name, Role.EVALUATOR, None, NOW).staff for name in ("专家甲", "代表乙")]


def test_periods_parse_and_span():
    assert Quarter.parse("2026Q3") == Quarter.parse("2026-q3") == Quarter(2026, 3)
    assert str(Quarter(2026, 3)) == "2026Q3" and Quarter(2026, 3).label == "2026年第三季度"
    assert Quarter(2026, 4).span.last.isoformat() == "2026-12-31" and Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2026, 3).half_year == H2 and H2.label == "2026年下半年"
    start, end = Quarter(2026, 3).span.bounds(TZ)
    assert (start, end) == (datetime(2026, 6, 30, 16, tzinfo=timezone.utc), datetime(2026, 9, 30, 16, tzinfo=timezone.utc))
    for bad in ("2026Q5", "2026", "Q3", "1999Q1", "2026H3"):
        with pytest.raises(InvalidPeriod):
            Quarter.parse(bad)
    with pytest.raises(InvalidPeriod):
        HalfYear.parse("2026Q2")


def test_one_score_set_per_evaluator_department_and_half_year(db, evaluators):
    first, second = evaluators
    with db.write() as session:
        submit_scores(session, H2, "D01", first, Scores(20, 25, 30, "答复较具体"), NOW, TZ)
        submit_scores(session, H2, "D01", second, Scores(28, 26, 36), NOW, TZ)
        later = NOW + timedelta(days=3)
        updated = submit_scores(session, H2, "D01", first, Scores(24, 25, 34, "复核后上调"), later, TZ)
    assert (updated.total, updated.revisions, updated.submitted_at, updated.updated_at) == (83, 2, NOW, later)
    with db.read() as session:
        sets = score_sets(session, H2)
        own = score_sets(session, H2, first)
        average = panel_averages(session, H2)["D01"]
    assert [(s.evaluator, s.total) for s in sets] == [("专家甲", 83), ("代表乙", 90)]
    assert [s.comment for s in own] == ["复核后上调"]
    assert (average.evaluators, average.topic_quality, average.reply_quality, average.total) == (2, 26.0, 35.0, 86.5)


def test_scores_out_of_scale_unknown_departments_and_future_half_years_are_refused(db, evaluators):
    with db.write() as session:
        with pytest.raises(InvalidForm) as refused:
            submit_scores(session, H2, "D01", evaluators[0], Scores(31, -1, 40), NOW, TZ)
        assert set(refused.value.errors) == {"topic_quality", "organisation"}
        with pytest.raises(DepartmentNotFound):
            submit_scores(session, H2, "D99", evaluators[0], Scores(1, 1, 1), NOW, TZ)
        with pytest.raises(PeriodNotStarted):
            submit_scores(session, HalfYear(2027, 1), "D01", evaluators[0], Scores(1, 1, 1), NOW, TZ)


def test_the_sample_is_the_same_for_the_same_request_and_masks_contacts(db, evaluators):
    start = datetime(2026, 7, 1, tzinfo=TZ)
    with db.write() as session:
        replied = [add_petition(session, start + timedelta(hours=5 * i)).id for i in range(40)]
        add_petition(session, start, reply=None)  # not replied: never sampled
        add_petition(session, start, department="D02")  # another department's
        add_petition(session, datetime(2026, 6, 30, 23, tzinfo=TZ))  # the first half-year's
    draws = []
    for _ in range(2):
        with db.write() as session:
            draws.append(sample(session, H2, "D01", 8, NOW, TZ))
    ids = [r.id for r in draws[0]]
    assert ids == [r.id for r in draws[1]] and len(set(ids)) == 8 and set(ids) <= set(replied)
    assert ids != sorted(ids) and ids != replied[:8]  # drawn, not the first ones
    item = draws[0][0]
    assert (item.contact_name, item.contact_phone, item.contact_email) == ("张*", "138****1234", "z***@example.com")
    assert "13800001234" not in item.body and "138****1234" in item.body
    with db.write() as session:  # a larger sample extends the smaller one (bottom-k ranks)
        assert [r.id for r in sample(session, H2, "D01", 12, NOW, TZ)][:8] == ids
        assert [r.id for r in sample(session, H2.previous(), "D01", 8, NOW, TZ)] != []
        with pytest.raises(DepartmentNotFound):
            sample(session, H2, "D99", 8, NOW, TZ)
