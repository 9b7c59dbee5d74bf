"""Wiring the domain into the Flask app: one Database and one petition Domain (engine, calendar,
petition service) per app, the outbox senders, and the scheduler built from the app's
configuration (embedded in `minyi serve` or alone in `minyi worker`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask, current_app

from engine import Database, Engine
from engine.outbox import ANY_CHANNEL, LogSender, Sender
from engine.scheduler import SchedulerContext, SchedulerSettings, build_scheduler
from engine.workers import WorkerIdentity
from workflows import jobs
from workflows.domain import Domain, create_domain
from workflows.evaluation.circular import Settings as ReportSettings
from workflows.evaluation.ranking import Weights
from workflows.text.duplicates import DuplicateSettings

from . import rate_limits


@dataclass
class Services:
    domain: Domain
    report_settings: ReportSettings
    senders: dict[str, Sender] = field(default_factory=lambda: {ANY_CHANNEL: LogSender()})  # by outbox channel

    @property
    def db(self) -> Database:
        return self.domain.db

    @property
    def engine(self) -> Engine:
        return self.domain.engine


def init_app(app: Flask) -> None:
    rate_limits.init_app(app)
    domain = create_domain(
        Database.from_url(app.config["DATABASE_URL"]),
        timezone=app.config["TIMEZONE"],
        script_time_limit=app.config["SCRIPT_TIME_LIMIT_SECONDS"],
        max_definition_bytes=app.config["MAX_DEFINITION_BYTES"],
        pseudonym_key=app.config["SECRET_KEY"].encode(),
        duplicates=DuplicateSettings(threshold=app.config["DUPLICATE_THRESHOLD"],
                                     window_days=app.config["DUPLICATE_WINDOW_DAYS"]),
        suggestion_threshold=float(app.config["ROUTER_MIN_CONFIDENCE"]),
    )
    app.extensions["minyi"] = Services(domain=domain, report_settings=report_settings(app))


def report_settings(app: Flask) -> ReportSettings:
    """The circular's settings from `REPORT_*` and `KPI_MIN_SAMPLE`. Raises InvalidWeights, at
    start-up rather than at the first quarterly run."""
    config = app.config
    weights = Weights.from_config(config.get("REPORT_WEIGHTS"), config.get("REPORT_MIN_COVERAGE"))
    return ReportSettings(issuer=config["REPORT_ISSUER"], weights=weights, min_sample=int(config["KPI_MIN_SAMPLE"]))


def services() -> Services:
    return current_app.extensions["minyi"]


def scheduler_settings(app: Flask) -> SchedulerSettings:
    """Scheduler settings from `SCHEDULER_*` configuration (seconds), defaulting to SchedulerSettings'."""
    config, defaults = app.config, SchedulerSettings()

    def seconds(key: str, default: timedelta) -> timedelta:
        return timedelta(seconds=float(config.get(key, default.total_seconds())))

    return SchedulerSettings(
        interval=seconds("SCHEDULER_INTERVAL_SECONDS", defaults.interval),
        batch_size=int(config.get("SCHEDULER_BATCH_SIZE", defaults.batch_size)),
        lock_for=seconds("SCHEDULER_LOCK_SECONDS", defaults.lock_for),
        heartbeat_every=seconds("SCHEDULER_HEARTBEAT_SECONDS", defaults.heartbeat_every),
        housekeeping_every=seconds("SCHEDULER_HOUSEKEEPING_SECONDS", defaults.housekeeping_every),
        outbox_every=seconds("SCHEDULER_OUTBOX_SECONDS", defaults.outbox_every),
        silent_after=seconds("SCHEDULER_SILENT_AFTER_SECONDS", defaults.silent_after),
        timezone=config.get("TIMEZONE", defaults.timezone),
    )


def create_scheduler(
    app: Flask, kind: str, scheduler_class: type[BaseScheduler]
) -> tuple[BaseScheduler, SchedulerContext]:
    """A scheduler with the engine's jobs and the domain's cron jobs, and the context its jobs share."""
    svc: Services = app.extensions["minyi"]
    settings = scheduler_settings(app)
    context = SchedulerContext(svc.db, svc.engine, WorkerIdentity.for_this_process(kind), settings, svc.senders)
    digest_at = time.fromisoformat(app.config.get("DIGEST_AT", "08:00"))
    horizon = timedelta(hours=float(app.config.get("DIGEST_HORIZON_HOURS", 24)))
    training_csv, scheme_csv = app.config.get("ROUTER_TRAINING_CSV"), app.config.get("ROUTER_SCHEME_CSV")
    cron = jobs.cron_jobs(settings.timezone, digest_at, horizon, svc.report_settings,
                          Path(training_csv) if training_csv else None,
                          int(app.config.get("ROUTER_RETRAIN_MIN_NEW", jobs.retraining.MIN_NEW)),
                          Path(scheme_csv) if scheme_csv else None)
    return build_scheduler(context, cron, scheduler_class), context


def start_embedded_scheduler(app: Flask) -> tuple[BaseScheduler, SchedulerContext]:
    """Start the scheduler in a background thread of this process; stop it with `stop_scheduler`."""
    scheduler, context = create_scheduler(app, "embedded", BackgroundScheduler)
    scheduler.start()
    return scheduler, context
