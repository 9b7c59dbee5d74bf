"""The daily digest: per department, the open tasks falling due soon and those already overdue.

One outbox message per department with anything to report (channel `digest`, recipient the
department code), written in the same transaction that claims the day's `job_run` row, so
several workers produce one digest a day between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Database, HumanTask
from engine.db import utcnow
from engine.models import PENDING_TASK_STATUSES
from engine.outbox import enqueue
from engine.workers import run_once_per_period

DIGEST_JOB_ID = "department-digest"
CHANNEL = "digest"
SUBJECT = "今日临期工单提醒"
DEFAULT_HORIZON = timedelta(days=1)
DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class DigestItem:
    task_id: str
    instance_id: int
    process_key: str
    title: str
    assignee: str | None
    due_at: datetime


@dataclass
class DepartmentDigest:
    department: str
    overdue: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)


def collect(session: Session, now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> list[DepartmentDigest]:
    """Open or claimed tasks with a department that are overdue or fall due within `horizon`, by department."""
    rows = session.scalars(
        select(HumanTask)
        .where(
            HumanTask.status.in_(PENDING_TASK_STATUSES),
            HumanTask.department.is_not(None),
            HumanTask.due_at < now + horizon,
        )
        .order_by(HumanTask.department, HumanTask.due_at, HumanTask.id)
    )
    digests: dict[str, DepartmentDigest] = {}
    for row in rows:
        digest = digests.setdefault(row.department, DepartmentDigest(row.department))
        item = DigestItem(row.id, row.instance_id, row.process_key, row.title, row.assignee, row.due_at)
        (digest.overdue if row.due_at < now else digest.due_soon).append(item)
    return list(digests.values())


def render(digest: DepartmentDigest, now: datetime, horizon: timedelta, tz: ZoneInfo) -> tuple[str, dict]:
    """The message body (Chinese, for staff) and a machine-readable payload for richer senders."""

    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def line(item: DigestItem, note: str) -> str:
        who = f"，处理人 {item.assignee}" if item.assignee else ""
        return f"  · {item.title}（{item.process_key} #{item.instance_id}）{note}{who}"

    hours = round(horizon.total_seconds() / 3600)
    lines = [f"{digest.department}：截至 {when(now)}"]
    if digest.overdue:
        lines.append(f"已超期工单 {len(digest.overdue)} 件：")
        lines += [line(i, f"，应于 {when(i.due_at)} 办结，已超期 {_hours(now - i.due_at)} 小时")
                  for i in digest.overdue]
    if digest.due_soon:
        lines.append(f"{hours} 小时内到期工单 {len(digest.due_soon)} 件：")
        lines += [line(i, f"，截止 {when(i.due_at)}") for i in digest.due_soon]

    def items(group: list[DigestItem]) -> list[dict]:
        return [{"task_id": i.task_id, "instance_id": i.instance_id, "process_key": i.process_key, "title": i.title,
                 "assignee": i.assignee, "due_at": i.due_at.isoformat()} for i in group]

    payload = {"department": digest.department, "as_of": now.isoformat(), "horizon_hours": hours,
               "overdue": items(digest.overdue), "due_soon": items(digest.due_soon)}
    return "\n".join(lines), payload


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}"


def write_digest(session: Session, now: datetime, horizon: timedelta = DEFAULT_HORIZON,
                 tz: ZoneInfo = DEFAULT_TIMEZONE) -> int:
    """Queue one digest message per department with tasks to report; returns how many."""
    digests = collect(session, now, horizon)
    for digest in digests:
        body, payload = render(digest, now, horizon, tz)
        enqueue(session, CHANNEL, digest.department, SUBJECT, body, payload, now=now)
    return len(digests)


def digest_period(now: datetime, tz: ZoneInfo = DEFAULT_TIMEZONE) -> str:
    """The local calendar day a digest covers: one digest per day in the service's time zone."""
    return now.astimezone(tz).date().isoformat()


def run_daily_digest(
    db: Database,
    worker_id: str,
    now: datetime,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    tz: ZoneInfo = DEFAULT_TIMEZONE,
    clock: Callable[[], datetime] = utcnow,
) -> bool:
    """Write today's digest unless another worker already has; returns whether this call wrote it."""
    return run_once_per_period(
        db, DIGEST_JOB_ID, digest_period(now, tz), lambda session: write_digest(session, now, horizon, tz),
        worker_id=worker_id, clock=clock,
    )
