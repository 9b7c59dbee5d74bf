"""Hotspot discovery recovers known matters, labels them readably and reads only the period."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows.models import Petition
from workflows.text.hotspots import discover, find_topics, local_period
from workflows.text.importer import import_messages

from tests.workflows.text.crafted import END, as_csv, corpus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_three_crafted_matters_are_recovered_hottest_first(crafted):
    docs, truth = crafted
    topics = find_topics(docs, END, limit=10)
    assert [set(t.petition_ids) for t in topics] == [truth["mixing_plant"], truth["parking"], truth["tutoring"]]
    plant, parking, tutoring = topics
    assert "搅拌站" in plant.terms and plant.place == "A2区丽发新城小区"
    assert plant.label.startswith("A2区丽发新城小区：")
    assert parking.place == "伊景园滨河苑" and {"车位", "捆绑"} <= set(parking.terms)
    assert "补课" in tutoring.terms and tutoring.place is None
    assert plant.heat > parking.heat > tutoring.heat
    assert (plant.petitions, plant.petitioners) == (8, 8)
    assert plant.first_at == END - timedelta(days=8) and plant.last_at == END - timedelta(days=1)
    assert len(plant.representatives) == 3 and {r.id for r in plant.representatives} <= truth["mixing_plant"]


def test_labels_carry_no_stopwords_or_region_codes(crafted):
    docs, _ = crafted
    for topic in find_topics(docs, END):
        assert not {"问题", "反映", "A市", "A2区", "投诉", "相关部门"} & set(topic.terms), topic.terms


def test_limit_and_minimum_size(crafted):
    docs, truth = crafted
    assert len(find_topics(docs, END, limit=2)) == 2
    unrelated = [d for d in docs if not any(d.id in ids for ids in truth.values())]
    assert find_topics(unrelated, END) == []
    assert find_topics([], END) == []


def test_one_petitioner_writing_often_ranks_below_many_writing_once(crafted):
    docs, truth = crafted
    later = END + timedelta(days=365)  # a year on, recency and growth no longer tell the topics apart
    assert [set(t.petition_ids) for t in find_topics(docs, later)][0] == truth["mixing_plant"]
    same_person = [replace(d, petitioner="x") if d.id in truth["mixing_plant"] else d for d in docs]
    topics = find_topics(same_person, later)
    # 8 petitions by one person weigh 1 + 2 ln 8 = 5.2: less than 6 petitioners, more than 5
    assert [set(t.petition_ids) for t in topics] == [truth["parking"], truth["mixing_plant"], truth["tutoring"]]
    assert topics[1].petitioners == 1


def test_discover_reads_the_period_from_the_database(db):
    docs, truth = corpus()
    with db.write() as session:
        import_messages(session, io.StringIO(as_csv(docs)), "crafted", END, SHANGHAI)
    with db.read() as session:
        ids = {p.source_id: p.id for p in session.scalars(select(Petition))}
        everything = discover(session, END - timedelta(days=60), END, limit=5)
        # the last week only: just the newest plant petitions (1 to 7 days before END)
        week = discover(session, END - timedelta(days=7, hours=1), END, limit=5)
    assert [set(t.petition_ids) for t in everything][0] == {ids[str(i)] for i in truth["mixing_plant"]}
    assert len(everything) == 3
    assert [t.petitions for t in week] == [7]


def test_local_period_covers_whole_local_days():
    start, end = local_period(date(2026, 1, 1), date(2026, 1, 31), SHANGHAI)
    assert start == datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc)
