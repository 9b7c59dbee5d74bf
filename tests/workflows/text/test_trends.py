"""Trend alerts: a fast-growing topic notifies supervisors once per topic and week."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.models import JobRun, OutboxMessage
from tests.workflows.text.crafted import END, as_csv, corpus
from workflows.text import trends
from workflows.text.hotspots import Topic
from workflows.text.importer import import_messages
from workflows.text.models import HotspotAlert

SHANGHAI = ZoneInfo("Asia/Shanghai")


def load(db, docs, source="crafted"):
    with db.write() as session:
        import_messages(session, io.StringIO(as_csv(docs)), source, END, SHANGHAI)


def messages(db) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage)))


def test_only_the_topic_that_grows_fast_is_alerted_once(db):
    docs, truth = corpus()
    load(db, docs)  # the plant: 7 petitions in the last 7 days, 1 before; the others are older
    with db.write() as session:
        alerts = trends.check_trends(session, END, SHANGHAI)
    assert [(a.recent, a.previous) for a in alerts] == [(7, 1)]
    [message] = messages(db)
    assert (message.channel, message.recipient, message.subject) == ("role", "supervisor", "热点诉求快速增长提醒")
    assert "丽发新城小区" in message.body and "近 7 天新增诉求 7 件" in message.body
    assert message.payload["period"] == "2026-W40" and message.payload["recent"] == 7
    with db.write() as session:  # the same week: nothing new
        assert trends.check_trends(session, END + timedelta(hours=20), SHANGHAI) == []
    assert len(messages(db)) == 1


def test_a_topic_growing_slowly_is_not_alerted(db):
    docs, truth = corpus()
    # spread the plant's petitions: 4 in the last week, 4 the week before
    spread = [replace(d, created_at=END - timedelta(days=1 + 2 * (d.id - 1))) if d.id in truth["mixing_plant"] else d
              for d in docs]
    load(db, spread)
    with db.write() as session:
        assert trends.check_trends(session, END, SHANGHAI) == []
    assert messages(db) == []


def test_the_daily_job_runs_once_per_day_and_alerts_again_next_week(db):
    docs, _ = corpus()
    load(db, docs)
    assert trends.run_hotspot_refresh(db, "w1", END, SHANGHAI)
    assert not trends.run_hotspot_refresh(db, "w2", END + timedelta(hours=1), SHANGHAI)
    later = [replace(d, id=d.id + 100, created_at=d.created_at + timedelta(days=7)) for d in docs]
    load(db, later, source="later")  # a week on: 7 plant petitions against 8 the week before, not fast
    assert trends.run_hotspot_refresh(db, "w1", END + timedelta(days=7), SHANGHAI)
    with db.read() as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.period)).all()
        alerts = session.scalars(select(HotspotAlert)).all()
    assert [(r.job_id, r.period, r.error) for r in runs] == [
        ("hotspot-refresh", "2026-10-01", None), ("hotspot-refresh", "2026-10-08", None)]
    assert [a.period for a in alerts] == ["2026-W40"]


def test_growth_rule():
    topic = Topic(key="k", label="l", terms=[], place=None, petitions=9, petitioners=9, likes=0, dislikes=0,
                         first_at=END, last_at=END, recent=5, previous=0, heat=1.0)
    assert trends.grows_fast(topic)
    assert not trends.grows_fast(replace(topic, recent=4))
    assert trends.grows_fast(replace(topic, recent=6, previous=3))
    assert not trends.grows_fast(replace(topic, recent=6, previous=4))
