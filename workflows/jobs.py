"""The petition domain's scheduled jobs, for the engine's scheduler: what runs, and when.

Job functions are thin: they take the scheduler's context and call the domain function
with the time, the worker id and the settings bound in `cron_jobs`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from engine import Database
from engine.db import utcnow
from engine.scheduler import CronJob, SchedulerContext
from engine.workers import run_once_per_period

from . import digest
from .evaluation import circular, store
from .evaluation.periods import Quarter
from .text import retraining, trends

QUARTERLY_REPORT_JOB_ID = "quarterly-report"
SCHEDULER = "scheduler"  # recorded as the author of the circulars the job writes


def previous_quarter(day: date) -> Quarter:
    """The last complete quarter on `day`, e.g. 2026Q1 on any day of April to June 2026."""
    return Quarter.of(day).previous()


def run_quarterly_report(
    db: Database, worker_id: str, now: datetime, tz: ZoneInfo, clock: Callable[[], datetime] = utcnow,
    settings: circular.Settings = circular.Settings(),
) -> bool:
    """Write and store the circular of the quarter that just ended, once across workers;
    returns whether this call ran it (a failure is recorded on its `job_run` row and re-raised)."""
    quarter = previous_quarter(now.astimezone(tz).date())
    return run_once_per_period(db, QUARTERLY_REPORT_JOB_ID, str(quarter),
                               lambda session: store.generate(session, quarter, now, tz, SCHEDULER, settings),
                               worker_id=worker_id, clock=clock)


def digest_job(context: SchedulerContext, horizon: timedelta, tz: ZoneInfo) -> None:
    digest.run_daily_digest(context.db, context.worker.id, context.now(), horizon=horizon, tz=tz, clock=context.clock)


def quarterly_report_job(context: SchedulerContext, tz: ZoneInfo, settings: circular.Settings) -> None:
    run_quarterly_report(context.db, context.worker.id, context.now(), tz, context.clock, settings)


def hotspot_job(context: SchedulerContext, tz: ZoneInfo) -> None:
    trends.run_hotspot_refresh(context.db, context.worker.id, context.now(), tz, context.clock)


def router_retrain_job(context: SchedulerContext, tz: ZoneInfo, csv_path: Path | None, min_new: int,
                       scheme_csv: Path | None) -> None:
    retraining.run_router_retrain(context.db, context.worker.id, context.now(), tz, csv_path, min_new, context.clock,
                                  scheme_csv)


def cron_jobs(
    timezone: str = "Asia/Shanghai", digest_at: time = time(8, 0), digest_horizon: timedelta = digest.DEFAULT_HORIZON,
    report_settings: circular.Settings = circular.Settings(),
    router_csv: Path | None = None, router_min_new: int = retraining.MIN_NEW, router_scheme_csv: Path | None = None,
) -> list[CronJob]:
    """The domain's cron jobs: the daily digest at `digest_at`, the quarterly report on the 1st of Jan/Apr/Jul/Oct,
    the hotspot trend check daily at 07:00, the triage classifier's retraining on Mondays at 03:00."""
    tz = ZoneInfo(timezone)
    return [
        CronJob(digest.DIGEST_JOB_ID, partial(digest_job, horizon=digest_horizon, tz=tz),
                CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=tz)),
        CronJob(QUARTERLY_REPORT_JOB_ID, partial(quarterly_report_job, tz=tz, settings=report_settings),
                CronTrigger(month="1,4,7,10", day=1, hour=6, timezone=tz)),
        CronJob(trends.HOTSPOT_JOB_ID, partial(hotspot_job, tz=tz), CronTrigger(hour=7, minute=0, timezone=tz)),
        CronJob(retraining.RETRAIN_JOB_ID, partial(router_retrain_job, tz=tz, csv_path=router_csv, min_new=router_min_new,
                                                     scheme_csv=router_scheme_csv),
                CronTrigger(day_of_week="mon", hour=3, minute=0, timezone=tz)),
    ]
