"""`minyi worker`, `minyi status` and the scheduler embedded in `minyi serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import time_machine
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select

import migrations
from api.extensions import create_scheduler, start_embedded_scheduler
from engine import Database, Definitions, Engine, InstanceEvent, ScriptRegistry, Timer
from engine.connections import create_db_engine
from engine.models import Worker
from engine.scheduler import stop_scheduler
from engine.timers import Sweeper
from tests.conftest import ENGINE_DATA

ROOT = Path(__file__).resolve().parents[2]
MINYI = Path(sys.executable).parent / "minyi"


def test_worker_stops_cleanly_on_sigterm_mid_sweep(tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    sa_engine = create_db_engine(url)
    migrations.upgrade(sa_engine)
    sa_engine.dispose()
    db, engine = Database.from_url(url), Engine(Definitions(), ScriptRegistry())
    with db.write() as session:
        engine.definitions.deploy(session, [("four_tasks.bpmn", (ENGINE_DATA / "four_tasks.bpmn").read_bytes())])
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(days=3), tick=False), db.write() as session:
        for _ in range(300):
            engine.start(session, "four_tasks", {"department": "D1"})

    env = {**os.environ, "MINYI_DATABASE_URL": url, "MINYI_SCHEDULER_INTERVAL_SECONDS": "0.2",
           "MINYI_SCHEDULER_BATCH_SIZE": "20", "MINYI_SECRET_KEY": "test", "MINYI_LOG_LEVEL": "DEBUG"}
    worker = subprocess.Popen([str(MINYI), "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    started = worker.stdout.readline()
    assert "started, sweeping timers every 0.2 s" in started, worker.stderr.read()
    for line in worker.stderr:  # wait until it is inside a sweep
        if "claimed 20 due timers" in line:
            break
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "stopped" in out

    with db.read() as session:
        assert session.scalars(select(Timer).where(Timer.lock_owner.is_not(None))).all() == [], "claims left behind"
        [row] = session.scalars(select(Worker)).all()
        assert row.stopped_at is not None and row.kind == "worker"
    assert Sweeper(db, engine, "after").sweep() > 0, "it stopped before the end, so some timers are left"
    with db.read() as session:
        fired = Counter(session.scalars(select(InstanceEvent.instance_id).where(InstanceEvent.kind == "timer_fired")))
    assert len(fired) == 300 and set(fired.values()) == {1}
    db.dispose()


def test_status_reports_workers_overdue_timers_and_incidents(runner, deploy, step, engine, db):
    deploy("timers.bpmn")
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(hours=2), tick=False):
        instance = step(engine.start, "timer_escalation", {"department": "D1"}, "alice")
    result = runner.invoke(args=["status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["workers_alive"] == 0 and status["open_incidents"] == 0 and status["failing_timers"] == 0
    overdue = status["oldest_overdue_timer"]
    assert overdue["instance_id"] == instance.id and overdue["task_spec"] == "reminder"
    assert 3590 < overdue["lag_seconds"] < 3700
    text = runner.invoke(args=["status"]).output
    assert "workers alive: 0" in text and "oldest overdue timer: #" in text and "open incidents: 0" in text


def test_embedded_scheduler_starts_with_every_job_and_stops(app):
    scheduler, context = start_embedded_scheduler(app)
    try:
        assert scheduler.running
        assert {job.id for job in scheduler.get_jobs()} == {"timer-sweep", "worker-heartbeat", "housekeeping",
                                                           "outbox-delivery", "department-digest", "quarterly-report",
                                                           "hotspot-refresh", "router-retrain"}
    finally:
        stop_scheduler(scheduler, context)
    assert not scheduler.running and context.sweeper.stopped


def test_scheduler_settings_come_from_the_configuration(app):
    app.config.update(SCHEDULER_INTERVAL_SECONDS=0.5, SCHEDULER_LOCK_SECONDS=60)
    scheduler, context = create_scheduler(app, "worker", BlockingScheduler)
    assert context.settings.interval == timedelta(seconds=0.5) and context.sweeper.lock_for == timedelta(seconds=60)
    assert context.worker.kind == "worker"
