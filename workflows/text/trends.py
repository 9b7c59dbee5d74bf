"""Trend alerts: supervisors hear of a topic whose petitions grow fast, once per topic per week.

Daily, the hotspots of the last 30 days are found again; a topic *grows fast* when its latest
7 days hold at least `MIN_RECENT` petitions and at least `GROWTH_FACTOR` times those of the 7
days before (a topic new this week needs only the minimum). Each such topic gets one outbox
message to the `supervisor` role, unless it was alerted already in the same ISO week (a
`hotspot_alert` row, unique per topic key and week), written in the job's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Database
from engine.db import utcnow
from engine.outbox import enqueue
from engine.workers import run_once_per_period

from .heat import Window
from .hotspots import Settings, Topic, discover
from .models import HotspotAlert

HOTSPOT_JOB_ID = "hotspot-refresh"
CHANNEL, RECIPIENT = "role", "supervisor"  # as the processes' own `notify` addresses a role
SUBJECT = "热点诉求快速增长提醒"
LOOKBACK = timedelta(days=30)
WINDOW = timedelta(days=7)
MIN_RECENT = 5
GROWTH_FACTOR = 2.0
TOPICS_CHECKED = 50


@dataclass(frozen=True)
class TrendPolicy:
    lookback: timedelta = LOOKBACK
    window: timedelta = WINDOW
    min_recent: int = MIN_RECENT
    growth_factor: float = GROWTH_FACTOR


def grows_fast(topic: Topic, policy: TrendPolicy = TrendPolicy()) -> bool:
    """At least `min_recent` petitions in the latest window and `growth_factor` × the one before."""
    return topic.recent >= policy.min_recent and topic.recent >= policy.growth_factor * topic.previous


def alert_period(now: datetime, tz: ZoneInfo) -> str:
    """The ISO week of `now` in the service's time zone, e.g. "2026-W48"."""
    year, week, _ = now.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def check_trends(session: Session, now: datetime, tz: ZoneInfo,
                 policy: TrendPolicy = TrendPolicy()) -> list[HotspotAlert]:
    """Alert supervisors of each fast-growing topic not yet alerted this week; returns the new alerts."""
    settings = Settings(window=Window(now, policy.window))
    period = alert_period(now, tz)
    alerts = []
    for topic in discover(session, now - policy.lookback, now, TOPICS_CHECKED, settings):
        if not grows_fast(topic, policy) or _alerted(session, topic.key, period):
            continue
        alert = HotspotAlert(topic_key=topic.key, period=period, label=topic.label[:255], recent=topic.recent,
                             previous=topic.previous, created_at=now)
        session.add(alert)
        enqueue(session, CHANNEL, RECIPIENT, SUBJECT, _body(topic, policy), _payload(topic, period), now=now)
        alerts.append(alert)
    return alerts


def _alerted(session: Session, topic_key: str, period: str) -> bool:
    return session.scalars(select(HotspotAlert.id).where(HotspotAlert.topic_key == topic_key,
                                                         HotspotAlert.period == period)).first() is not None


def _body(topic: Topic, policy: TrendPolicy) -> str:
    days = policy.window.days
    lines = [f"热点“{topic.label}”近 {days} 天新增诉求 {topic.recent} 件（此前 {days} 天 {topic.previous} 件），"
             f"共 {topic.petitions} 件、{topic.petitioners} 位诉求人，热度 {topic.heat:g}。代表诉求："]
    lines += [f"  · {r.title}（#{r.id}）" for r in topic.representatives]
    return "\n".join(lines)


def _payload(topic: Topic, period: str) -> dict:
    return {"topic_key": topic.key, "period": period, "label": topic.label, "terms": topic.terms,
            "place": topic.place, "recent": topic.recent, "previous": topic.previous, "petitions": topic.petitions,
            "heat": topic.heat, "petition_ids": [r.id for r in topic.representatives]}


def run_hotspot_refresh(db: Database, worker_id: str, now: datetime, tz: ZoneInfo,
                        clock: Callable[[], datetime] = utcnow) -> bool:
    """Check the trends once a day across workers; returns whether this call ran the check."""
    return run_once_per_period(db, HOTSPOT_JOB_ID, now.astimezone(tz).date().isoformat(),
                               lambda session: check_trends(session, now, tz), worker_id=worker_id, clock=clock)
