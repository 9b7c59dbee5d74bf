"""The timer sweep and the scheduler's jobs, on a real database with the clock moved (no sleeps).

Every test counts `timer_fired` audit events per timer task: an escalation must fire once,
neither lost nor doubled, whatever happens to the workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import event, insert, select

from engine import (
    Definitions,
    DuplicateRegistration,
    Engine,
    Incident,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
    RetryPolicy,
    ScriptRegistry,
    Timer,
)
from engine.models import JobRun, Worker
from engine.scheduler import (
    HEARTBEAT_JOB,
    SWEEP_JOB,
    CronJob,
    SchedulerContext,
    SchedulerSettings,
    build_scheduler,
    run_job,
)
from engine.timers import Sweeper, claim_due_timers, due_timers_query
from engine.workers import (
    WorkerIdentity,
    heartbeat,
    housekeeping,
    read_health,
    run_once_per_period,
)
from tests.conftest import ENGINE_DATA

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LOCK_FOR = timedelta(minutes=5)

# A worker process: sweeps once and prints what it fired. With a kill count it SIGKILLs itself
# after that many committed timers; with --barrier it waits for a line on stdin first.
WORKER = """
import json, os, signal, sys
from engine import Database, Definitions, Engine, ScriptRegistry
from engine.timers import Sweeper
url, owner, batch, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fired = []
def on_fired(timer_id):
    fired.append(timer_id)
    if len(fired) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
sweeper = Sweeper(Database.from_url(url), Engine(Definitions(), ScriptRegistry()), owner, batch_size=batch,
                  on_fired=on_fired)
if "--barrier" in sys.argv:
    print("ready", flush=True)
    sys.stdin.readline()
print(json.dumps({"owner": owner, "committed": sweeper.sweep(), "fired": len(fired)}), flush=True)
"""


def start_worker(url: str, owner: str, batch: int, kill_after: int = 0, *barrier: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, owner, str(batch), str(kill_after), *barrier],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


FIRED = select(InstanceEvent.instance_id, InstanceEvent.task_id).where(InstanceEvent.kind == "timer_fired")


def fired_counts(db) -> Counter:
    """timer_fired events per (instance, timer task)."""
    with db.read() as session:
        return Counter(tuple(row) for row in session.execute(FIRED))


def timer_rows(db) -> list[Timer]:
    with db.read() as session:
        return list(session.scalars(select(Timer).order_by(Timer.run_at, Timer.id)))


def start_many(db, engine, key: str, count: int, data: dict) -> list[int]:
    """Start `count` instances in one transaction; every one must be running. For many starts the
    caller passes an engine with a generous script time limit: a pause under load once failed a
    start of a thousand, when the limit was counted on the wall clock (it is CPU time now, which
    a garbage collection during an evaluation still counts)."""
    with db.write() as session:
        instances = [engine.start(session, key, data, "test") for _ in range(count)]
    failed = [i.id for i in instances if i.status is InstanceStatus.ERROR]
    assert not failed, f"instances failed at start: {failed}"
    return [i.id for i in instances]


def real_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def sweeper(db, engine) -> Sweeper:
    return Sweeper(db, engine, "test-sweeper", batch_size=50)


def test_timers_fire_at_their_due_time_within_one_sweep_and_never_before(deploy, step, engine, db, sweeper, pending):
    deploy("timers.bpmn")
    with time_machine.travel(T0, tick=False) as clock:
        instance = step(engine.start, "timer_escalation", {"department": "D1"}, "alice")
        due = {t.task_spec: t for t in timer_rows(db)}
        assert (due["reminder"].due_at, due["deadline"].due_at) == (T0 + timedelta(hours=1), T0 + timedelta(days=1))

        clock.move_to(T0 + timedelta(hours=1) - timedelta(seconds=1))
        assert sweeper.sweep() == 0 and fired_counts(db) == Counter()
        clock.move_to(T0 + timedelta(hours=1, seconds=1))
        assert sweeper.sweep() == 1
        assert fired_counts(db) == Counter({(instance.id, due["reminder"].task_id): 1})
        assert step(engine.get_instance, instance.id).status is InstanceStatus.RUNNING
        assert "work" in pending(instance.id)

        clock.move_to(T0 + timedelta(days=1) - timedelta(seconds=1))
        assert sweeper.sweep() == 0
        clock.move_to(T0 + timedelta(days=1, seconds=1))
        assert sweeper.sweep() == 1
    assert fired_counts(db) == Counter({(instance.id, due[spec].task_id): 1 for spec in ("reminder", "deadline")})
    assert step(engine.get_instance, instance.id).status is InstanceStatus.COMPLETED
    assert timer_rows(db) == []


def test_timers_follow_the_engines_clock_not_the_wall_clock(deploy, db, scripts, pending):
    """An engine on a clock of its own (`minyi demo` replays the past) starts duration timers
    from that clock and fires them only when that clock passes them, not on the wall clock."""
    now = [real_now() - timedelta(days=30)]
    engine = Engine(Definitions(), scripts, clock=lambda: now[0])
    sweeper = Sweeper(db, engine, "past-sweeper", clock=lambda: now[0])
    deploy("timers.bpmn")
    start = now[0]
    with db.write() as session:
        instance = engine.start(session, "timer_escalation", {"department": "D1"}, "alice")
    due = {t.task_spec: t for t in timer_rows(db)}
    assert (due["reminder"].due_at, due["deadline"].due_at) == (start + timedelta(hours=1), start + timedelta(days=1))
    assert fired_counts(db) == Counter()

    now[0] = start + timedelta(hours=1, seconds=1)
    assert sweeper.sweep() == 1
    assert fired_counts(db) == Counter({(instance.id, due["reminder"].task_id): 1})
    assert "work" in pending(instance.id)


def test_catch_up_after_downtime_fires_everything_in_due_order(deploy, step, engine, db, sweeper):
    deploy("four_tasks.bpmn")
    with time_machine.travel(T0, tick=False) as clock:
        for minutes in (50, 10, 30, 0, 40, 20):  # started out of order: due in order of start time
            clock.move_to(T0 + timedelta(minutes=minutes))
            step(engine.start, "four_tasks", {"department": "D1"}, "alice")
        due_order = [(t.instance_id, t.task_id) for t in timer_rows(db)]
        clock.move_to(T0 + timedelta(days=5))  # nothing swept for days
        sweeper.batch_size = 4  # the one sweep drains several batches
        assert sweeper.sweep() == 6
    with db.read() as session:
        assert [tuple(row) for row in session.execute(FIRED.order_by(InstanceEvent.id))] == due_order
    assert set(fired_counts(db).values()) == {1}


def test_sigkilled_worker_mid_batch_loses_and_doubles_nothing(deploy, engine, db, database_url):
    deploy("timers.bpmn")
    with time_machine.travel(real_now() - timedelta(hours=2), tick=False):  # reminders fell due an hour ago
        start_many(db, engine, "timer_escalation", 10, {"department": "D1"})
    reminders = {(t.instance_id, t.task_id) for t in timer_rows(db) if t.task_spec == "reminder"}

    victim = start_worker(database_url, "victim", 10, 4)
    out, err = victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL, err
    assert sum(fired_counts(db).values()) == 4
    orphaned = [t for t in timer_rows(db) if t.lock_owner == "victim"]
    assert len(orphaned) == 6, "the rest of the batch is still claimed by the dead worker"

    rescuer = Sweeper(db, engine, "rescuer")
    assert rescuer.sweep() == 0, "claims are honoured until they expire"
    with time_machine.travel(real_now() + LOCK_FOR + timedelta(seconds=5), tick=False):
        assert rescuer.sweep() == 6
    counts = fired_counts(db)
    assert set(counts) == reminders and set(counts.values()) == {1}
    assert not [t for t in timer_rows(db) if t.lock_owner]


@pytest.mark.parametrize("workers", [2, 4])
def test_several_workers_on_postgresql_fire_each_of_1000_timers_once(deploy, engine, db, database_url, workers):
    if db.is_sqlite:
        pytest.skip("several workers need PostgreSQL (SQLite serialises writers; one worker per file)")
    deploy("four_tasks.bpmn")
    with time_machine.travel(real_now() - timedelta(days=3), tick=False):  # P2D reminders: due a day ago
        patient = Engine(Definitions(), ScriptRegistry(), script_time_limit=60)
        start_many(db, patient, "four_tasks", 1000, {"department": "D1"})
    procs = [start_worker(database_url, f"w{i}", 25, 0, "--barrier") for i in range(workers)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.splitlines()[-1]))
    counts = fired_counts(db)
    assert len(counts) == 1000 and set(counts.values()) == {1}, results
    assert sum(r["committed"] for r in results) == 1000
    assert sum(1 for r in results if r["committed"]) >= 2, f"the work was not shared: {results}"
    assert timer_rows(db) == []


def test_failing_timer_backs_off_becomes_an_incident_and_fires_once_after_retry(deploy, step, db, pending):
    failing = (ENGINE_DATA / "timers.bpmn").read_bytes().replace(b"reminded = True", b"reminded = 1 / flag")
    engine = Engine(Definitions(), ScriptRegistry(), timer_retry=RetryPolicy(3, timedelta(seconds=30), 2))
    deploy(("timers.bpmn", failing))
    sweeper = Sweeper(db, engine, "w1")

    def reminder() -> Timer:
        return next(t for t in timer_rows(db) if t.task_spec == "reminder")

    due = T0 + timedelta(hours=1, seconds=1)
    with time_machine.travel(T0, tick=False) as clock:
        instance = step(engine.start, "timer_escalation", {"department": "D1", "flag": 0}, "alice")
        for offset, attempts in ((0, 1), (29, 1), (30, 2)):
            clock.move_to(due + timedelta(seconds=offset))
            sweeper.sweep()
            assert (reminder().attempts, reminder().lock_owner) == (attempts, None)
        assert reminder().run_at == due + timedelta(seconds=90)
        clock.move_to(due + timedelta(seconds=90))
        sweeper.sweep()
        assert step(engine.get_instance, instance.id).status is InstanceStatus.ERROR
        assert reminder().lock_owner is None, "the incident's timer is not left claimed"
        clock.move_to(due + timedelta(hours=1))
        assert sweeper.sweep() == 0, "an instance in error is not swept"
        step(engine.retry, instance.id, "admin", {"flag": 2})
        assert sweeper.sweep() == 0
    with db.read() as session:
        resolved_by = session.scalars(select(Incident.resolved_by).where(Incident.instance_id == instance.id)).all()
    assert resolved_by == ["admin"]
    assert list(fired_counts(db).values()) == [1]
    assert set(pending(instance.id)) == {"work"}


def test_a_new_version_does_not_break_timers_of_instances_on_the_old_one(deploy, step, db):
    first = Engine(Definitions(), ScriptRegistry())
    deploy("timers.bpmn")
    v2 = (ENGINE_DATA / "timers.bpmn").read_bytes().replace(b'"PT1H"', b'"PT2H"')
    v2 = v2.replace(b"reminded = True", b"reminded = 2")
    with time_machine.travel(T0, tick=False) as clock:
        old = step(first.start, "timer_escalation", {"department": "D1"}, "alice")
        deploy(("timers.bpmn", v2))
        new = step(first.start, "timer_escalation", {"department": "D1"}, "alice")
        assert (step(first.get_instance, old.id).version_id, step(first.get_instance, new.id).version_id) == (1, 2)
        fresh = Engine(Definitions(), ScriptRegistry())  # a worker that never saw version 1 before
        sweeper = Sweeper(db, fresh, "w1")
        clock.move_to(T0 + timedelta(hours=1, seconds=1))
        assert sweeper.sweep() == 1
        clock.move_to(T0 + timedelta(hours=2, seconds=1))
        assert sweeper.sweep() == 1
        with db.read() as session:
            assert reminded(fresh, session, old.id) is True and reminded(fresh, session, new.id) == 2
    assert sorted(instance for instance, _ in fired_counts(db)) == [old.id, new.id]


def reminded(engine, session, instance_id):
    """What the reminder branch's script set, read from the instance's state."""
    workflow = engine.load_workflow(session, engine.get_instance(session, instance_id))
    [task] = workflow.get_tasks(spec_name="note_reminder")
    return task.data["reminded"]


def test_stop_ends_the_sweep_after_the_timer_in_hand_and_releases_claims(deploy, engine, db):
    deploy("four_tasks.bpmn")
    with time_machine.travel(T0, tick=False) as clock:
        start_many(db, engine, "four_tasks", 8, {"department": "D1"})
        clock.move_to(T0 + timedelta(days=3))
        fired: list[int] = []

        def stop_after_three(timer_id: int) -> None:
            fired.append(timer_id)
            if len(fired) == 3:
                sweeper.stop()

        sweeper = Sweeper(db, engine, "w1", batch_size=5, on_fired=stop_after_three)
        assert sweeper.sweep() == 3
        assert [t.lock_owner for t in timer_rows(db)] == [None] * 5
        assert sweeper.sweep() == 0, "a stopped sweeper claims nothing"
        assert Sweeper(db, engine, "w2").sweep() == 5
    assert sum(fired_counts(db).values()) == 8


def test_sweep_query_reads_the_run_at_index_only_as_far_as_the_batch(deploy, step, engine, db):
    """With many instances and timers waiting in the future, the claim query still touches only due rows."""
    deploy("four_tasks.bpmn")
    with time_machine.travel(T0, tick=False):
        instance = step(engine.start, "four_tasks", {"department": "D1"}, "alice")
    waiting = {"version_id": instance.version_id, "process_key": "four_tasks", "status": InstanceStatus.WAITING,
               "revision": 1, "state": "{}", "created_at": T0, "updated_at": T0}
    with db.engine.begin() as conn:
        ids = conn.execute(insert(ProcessInstance).returning(ProcessInstance.id), [waiting] * 2000).scalars().all()
        later = [T0 + timedelta(days=3, minutes=i) for i in range(5000)]
        conn.execute(insert(Timer), [
            {"instance_id": ids[i % len(ids)], "task_id": f"future-{i}", "task_spec": "reminder", "due_at": at,
             "run_at": at, "attempts": 0} for i, at in enumerate(later)
        ])
        conn.exec_driver_sql("ANALYZE")
    plan = explain(db, due_timers_query(T0 + timedelta(days=2, seconds=1), 500))
    if db.is_sqlite:
        assert "SEARCH timer USING INDEX ix_timer_run_at (run_at<?)" in plan, plan
        assert "SEARCH process_instance USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN " not in plan and "TEMP B-TREE" not in plan, plan
    else:
        assert "Index Scan using ix_timer_run_at on timer" in plan, plan
        assert "Index Scan using pk_process_instance on process_instance" in plan, plan
        assert not [word for word in ("Sort", "Seq Scan", "Hash", "Bitmap") if word in plan], plan


def explain(db, query) -> str:
    """The query plan, as the backend prints it."""
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "

    def rewrite(conn, cursor, statement, parameters, context, executemany):
        return prefix + statement, parameters

    event.listen(db.engine, "before_cursor_execute", rewrite, retval=True)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(query).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", rewrite)
    return "\n".join(str(row[-1]) for row in rows)


def test_run_once_per_period_runs_once_among_two_claimants(db):
    barrier, ran = threading.Barrier(2), []

    def claimant(name: str) -> bool:
        barrier.wait()
        return run_once_per_period(db, "nightly", "2026-03-02", lambda session: ran.append(name), worker_id=name)

    outcomes: dict[str, bool] = {}
    threads = [threading.Thread(target=lambda n=n: outcomes.__setitem__(n, claimant(n))) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == [False, True] and len(ran) == 1
    assert run_once_per_period(db, "nightly", "2026-03-03", lambda session: ran.append("next day"), worker_id="a")
    with db.read() as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.period, r.worker_id, r.error) for r in runs] == [("2026-03-02", ran[0], None), ("2026-03-03", "a", None)]
    assert all(r.finished_at is not None for r in runs)


def test_a_failing_once_per_period_job_is_recorded_not_repeated(db):
    def broken(session):
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError):
        run_once_per_period(db, "report", "2026-Q1", broken, worker_id="a")
    assert not run_once_per_period(db, "report", "2026-Q1", broken, worker_id="b")
    with db.read() as session:
        assert session.scalars(select(JobRun.error)).all() == ["generator crashed"]


def test_housekeeping_clears_expired_claims_and_stops_silent_workers(deploy, engine, db):
    deploy("four_tasks.bpmn")
    with time_machine.travel(T0, tick=False):
        start_many(db, engine, "four_tasks", 3, {"department": "D1"})
    due = T0 + timedelta(days=2, seconds=1)
    dead, alive = WorkerIdentity("dead", "worker", "h", 1), WorkerIdentity("alive", "worker", "h", 2)
    with db.write() as session:
        assert len(claim_due_timers(session, due, "dead", lock_for=LOCK_FOR)) == 3
        heartbeat(session, dead, due)
    with db.write() as session:
        heartbeat(session, alive, due + LOCK_FOR + timedelta(minutes=1))
        done = housekeeping(session, due + LOCK_FOR + timedelta(minutes=1), silent_after=LOCK_FOR)
    assert (done.cleared_locks, done.silent_workers) == (3, 1)
    assert [t.lock_owner for t in timer_rows(db)] == [None] * 3
    with db.read() as session:
        stopped = dict(session.execute(select(Worker.id, Worker.stopped_at)).all())
        health = read_health(session, due + LOCK_FOR + timedelta(minutes=1), timedelta(seconds=30))
    assert stopped == {"dead": due, "alive": None}
    assert [w.id for w in health.workers] == ["alive"]
    lag = LOCK_FOR + timedelta(minutes=1, seconds=1)
    assert health.oldest_overdue_timer.lag_seconds == pytest.approx(lag.total_seconds())


def test_scheduler_has_the_engine_jobs_and_host_cron_jobs(db, engine):
    context = SchedulerContext(db, engine, WorkerIdentity.for_this_process("worker"), SchedulerSettings(), {})
    nightly = CronJob("nightly", lambda ctx: None, CronTrigger(hour=2))
    scheduler = build_scheduler(context, [nightly], BlockingScheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {SWEEP_JOB, HEARTBEAT_JOB, "housekeeping", "outbox-delivery", "nightly"} == set(jobs)
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    assert jobs[SWEEP_JOB].trigger.interval == timedelta(seconds=1)
    with pytest.raises(DuplicateRegistration):
        build_scheduler(context, [nightly, nightly], BlockingScheduler)


def test_a_failing_job_is_logged_and_does_not_escape(db, engine, caplog):
    context = SchedulerContext(db, engine, WorkerIdentity.for_this_process("worker"), SchedulerSettings(), {})

    def broken(ctx):
        raise RuntimeError("boom")

    run_job("broken", broken, context)
    assert "scheduler job broken failed" in caplog.text and "boom" in caplog.text
