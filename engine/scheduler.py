"""The engine's background work on APScheduler 3: timer sweep, heartbeat, housekeeping, outbox.

`build_scheduler` puts these interval jobs, plus the host's cron jobs, on a
`BackgroundScheduler` (embedded in a web process) or a `BlockingScheduler` (a standalone
worker). Every job is a thin module-level function that takes the shared
`SchedulerContext`, opens its own sessions and calls into the engine; `run_job` logs what a
job raises, so no error ever stops the scheduler. Each job runs at most one instance at a
time and missed runs are coalesced, so a sweep that takes longer than the interval is
simply followed by the next one.

Several processes may run these jobs against one database: timer claims, outbox leases and
once-per-period `job_run` rows keep them from doing the same work twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DBAPIError

from .db import Database, utcnow
from .errors import DuplicateRegistration
from .outbox import Sender, deliver_pending
from .runtime import Engine
from .timers import DEFAULT_BATCH_SIZE, DEFAULT_LOCK_FOR, Sweeper
from .workers import WorkerIdentity, heartbeat, housekeeping, mark_stopped

log = logging.getLogger(__name__)

SWEEP_JOB = "timer-sweep"
HEARTBEAT_JOB = "worker-heartbeat"
HOUSEKEEPING_JOB = "housekeeping"
OUTBOX_JOB = "outbox-delivery"
# One run of a job at a time; runs missed while busy or down collapse into one, however late.
JOB_OPTIONS: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


@dataclass(frozen=True)
class SchedulerSettings:
    interval: timedelta = timedelta(seconds=1)  # between timer sweeps
    batch_size: int = DEFAULT_BATCH_SIZE  # timers claimed at a time
    lock_for: timedelta = DEFAULT_LOCK_FOR  # after which a dead worker's claims are taken over
    heartbeat_every: timedelta = timedelta(seconds=10)
    housekeeping_every: timedelta = timedelta(minutes=1)
    outbox_every: timedelta = timedelta(seconds=5)
    silent_after: timedelta = timedelta(minutes=5)  # a worker without heartbeat this long is stopped
    timezone: str = "UTC"  # of the cron triggers

    @property
    def alive_within(self) -> timedelta:
        """A worker counts as alive while its last heartbeat is within three beats."""
        return 3 * self.heartbeat_every


@dataclass
class SchedulerContext:
    """What every job of one scheduler shares. No web framework; each job opens its own sessions."""

    db: Database
    engine: Engine
    worker: WorkerIdentity
    settings: SchedulerSettings
    senders: Mapping[str, Sender]
    clock: Callable[[], datetime] = utcnow
    sweeper: Sweeper = field(init=False)

    def __post_init__(self) -> None:
        self.sweeper = Sweeper(self.db, self.engine, self.worker.id, batch_size=self.settings.batch_size,
                               lock_for=self.settings.lock_for, clock=self.clock)

    def now(self) -> datetime:
        return self.clock()


@dataclass(frozen=True)
class CronJob:
    """A host job on the scheduler: `func(context)` whenever `trigger` fires."""

    id: str
    func: Callable[[SchedulerContext], Any]
    trigger: BaseTrigger


# -- jobs --------------------------------------------------------------------------------------


def sweep_timers(context: SchedulerContext) -> None:
    fired = context.sweeper.sweep()
    if fired:
        log.info("fired %s timers", fired)


def beat(context: SchedulerContext) -> None:
    with context.db.write() as session:
        heartbeat(session, context.worker, context.now())


def keep_house(context: SchedulerContext) -> None:
    with context.db.write() as session:
        done = housekeeping(session, context.now(), context.settings.silent_after)
    if done.cleared_locks or done.silent_workers:
        log.info("housekeeping: cleared %s expired timer claims, marked %s silent workers stopped",
                 done.cleared_locks, done.silent_workers)


def deliver_outbox(context: SchedulerContext) -> None:
    report = deliver_pending(context.db, context.senders, context.now())
    if report.sent or report.failed:
        log.info("outbox: %s sent, %s failed", report.sent, report.failed)


def run_job(job_id: str, func: Callable[[SchedulerContext], Any], context: SchedulerContext) -> None:
    """Run one job; what it raises is logged here, never passed to the scheduler loop."""
    try:
        func(context)
    except Exception:
        log.exception("scheduler job %s failed", job_id)


# -- the scheduler -----------------------------------------------------------------------------


def build_scheduler(
    context: SchedulerContext,
    cron_jobs: Iterable[CronJob] = (),
    scheduler_class: type[BaseScheduler] = BackgroundScheduler,
) -> BaseScheduler:
    """A scheduler (not started) with the engine's jobs and `cron_jobs`; the interval jobs run first at start.

    Raises DuplicateRegistration when a cron job reuses a job id.
    """
    settings = context.settings
    scheduler = scheduler_class(timezone=ZoneInfo(settings.timezone))
    start = context.now()
    intervals = [
        (SWEEP_JOB, sweep_timers, settings.interval),
        (HEARTBEAT_JOB, beat, settings.heartbeat_every),
        (HOUSEKEEPING_JOB, keep_house, settings.housekeeping_every),
        (OUTBOX_JOB, deliver_outbox, settings.outbox_every),
    ]
    for job_id, func, every in intervals:
        scheduler.add_job(run_job, IntervalTrigger(seconds=every.total_seconds()), args=(job_id, func, context),
                          id=job_id, name=job_id, next_run_time=start, **JOB_OPTIONS)
    taken = {job_id for job_id, _, _ in intervals}
    for job in cron_jobs:
        if job.id in taken:
            raise DuplicateRegistration("scheduler job", job.id)
        taken.add(job.id)
        scheduler.add_job(run_job, job.trigger, args=(job.id, job.func, context), id=job.id, name=job.id, **JOB_OPTIONS)
    return scheduler


def stop_scheduler(scheduler: BaseScheduler, context: SchedulerContext) -> None:
    """Stop after the timer in hand: the sweep releases its claims, running jobs finish, the worker is stopped."""
    context.sweeper.stop()
    if scheduler.running:
        scheduler.shutdown(wait=True)
    _mark_stopped(context)


def run_until_signalled(scheduler: BlockingScheduler, context: SchedulerContext) -> None:
    """Run a blocking scheduler until SIGTERM or SIGINT, then stop it as `stop_scheduler` does.

    The handler only sets flags: it interrupts the main thread anywhere, even inside the
    scheduler's locks, so a helper thread does the shutdown and waits for the running jobs.
    """
    requested, started = threading.Event(), threading.Event()
    scheduler.add_listener(lambda _event: started.set(), EVENT_SCHEDULER_STARTED)

    def on_signal(signum: int, _frame: Any) -> None:
        context.sweeper.stop()
        requested.set()

    def shut_down() -> None:
        requested.wait()
        started.wait()
        log.info("stopping worker %s: finishing the timer in hand", context.worker.id)
        scheduler.shutdown(wait=True)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    threading.Thread(target=shut_down, name="scheduler-shutdown", daemon=True).start()
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _mark_stopped(context)


def _mark_stopped(context: SchedulerContext) -> None:
    try:
        with context.db.write() as session:
            mark_stopped(session, context.worker.id, context.now())
    except DBAPIError:
        log.warning("could not mark worker %s stopped; housekeeping will once it falls silent", context.worker.id)
