"""The daily department digest and the cron jobs, on the real engine and database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from engine.models import JobRun, OutboxMessage
from tests.conftest import ENGINE_DATA
from workflows import digest, jobs

NOW = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai
# timers.bpmn with the user task's due time taken from the start data
WITH_DUE = (ENGINE_DATA / "timers.bpmn").read_bytes().replace(
    b'<spiffworkflow:property name="department" value="department" />',
    b'<spiffworkflow:property name="department" value="department" />\n'
    b'          <spiffworkflow:property name="due" value="due" />',
)


@pytest.fixture
def tasks(deploy, step, engine, pending):
    """Open `work` tasks of several departments, keyed by a label, due relative to NOW."""
    deploy(("timers.bpmn", WITH_DUE))
    plan = {
        "d1_overdue": ("D1", -timedelta(hours=3)),
        "d1_soon": ("D1", timedelta(hours=5)),
        "d1_later": ("D1", timedelta(days=3)),
        "d2_soon_claimed": ("D2", timedelta(hours=20)),
        "d2_done": ("D2", timedelta(hours=1)),
        "d3_later": ("D3", timedelta(days=2)),
    }
    made = {}
    with time_machine.travel(NOW - timedelta(minutes=10), tick=False):
        for label, (department, offset) in plan.items():
            data = {"department": department, "due": (NOW + offset).isoformat()}
            instance = step(engine.start, "timer_escalation", data, "alice")
            made[label] = pending(instance.id)["work"]
        step(engine.claim, made["d2_soon_claimed"].id, "bob")
        step(engine.complete_task, made["d2_done"].id, {}, "carol")
    return made


def outbox(db) -> dict[str, OutboxMessage]:
    with db.read() as session:
        return {m.recipient: m for m in session.scalars(select(OutboxMessage))}


def test_digest_writes_one_message_per_department_with_overdue_and_soon_due_tasks(db, tasks):
    assert digest.run_daily_digest(db, "w1", NOW)
    messages = outbox(db)
    assert set(messages) == {"D1", "D2"}, "D3 has nothing due within a day"
    d1, d2 = messages["D1"], messages["D2"]
    assert (d1.channel, d1.subject, d1.sent_at) == ("digest", "今日临期工单提醒", None)
    assert [t["task_id"] for t in d1.payload["overdue"]] == [tasks["d1_overdue"].id]
    assert [t["task_id"] for t in d1.payload["due_soon"]] == [tasks["d1_soon"].id]
    assert d2.payload["overdue"] == []
    assert [t["task_id"] for t in d2.payload["due_soon"]] == [tasks["d2_soon_claimed"].id]
    assert d2.payload["due_soon"][0]["assignee"] is None
    assert "已超期工单 1 件" in d1.body and "已超期 3.0 小时" in d1.body and "24 小时内到期工单 1 件" in d1.body
    assert "截止 2026-03-02 13:30" in d1.body, "times are shown in local time"
    assert "已超期" not in d2.body


def test_the_digest_runs_once_a_local_day_across_workers(db, tasks):
    assert digest.run_daily_digest(db, "w1", NOW)
    assert not digest.run_daily_digest(db, "w2", NOW + timedelta(hours=10)), "still 2 March in Shanghai"
    assert len(outbox(db)) == 2
    assert digest.run_daily_digest(db, "w2", NOW + timedelta(hours=16))  # 3 March, 00:30 local
    with db.read() as session:
        assert session.scalars(select(JobRun.period).order_by(JobRun.id)).all() == ["2026-03-02", "2026-03-03"]


def test_the_horizon_is_configurable(db, tasks):
    digest.run_daily_digest(db, "w1", NOW, horizon=timedelta(days=4))
    messages = outbox(db)
    assert set(messages) == {"D1", "D2", "D3"}
    assert len(messages["D1"].payload["due_soon"]) == 2 and "96 小时内到期" in messages["D1"].body


@pytest.mark.parametrize(("day", "quarter"), [(date(2026, 4, 1), "2026Q1"), (date(2026, 1, 1), "2025Q4"),
                                              (date(2026, 12, 31), "2026Q3")])
def test_previous_quarter(day, quarter):
    assert str(jobs.previous_quarter(day)) == quarter


def test_cron_jobs_have_stable_ids_and_local_times():
    by_id = {job.id: job for job in jobs.cron_jobs("Asia/Shanghai")}
    assert set(by_id) == {"department-digest", "quarterly-report", "hotspot-refresh", "router-retrain"}
    first = by_id["department-digest"].trigger.get_next_fire_time(None, NOW)
    assert first.isoformat() == "2026-03-03T08:00:00+08:00"
    retrain = by_id["router-retrain"].trigger.get_next_fire_time(None, NOW)  # NOW is a Monday after 03:00
    assert retrain.isoformat() == "2026-03-09T03:00:00+08:00"
