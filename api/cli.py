"""The `minyi` command: database migrations, deploying definitions, serving the app, the
scheduler's standalone worker and its status."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import func, select

import migrations
from engine import DefinitionError
from engine.db import utcnow
from engine.scheduler import run_until_signalled, stop_scheduler
from engine.workers import Health, read_health

from workflows.calendar import coverage as calendar_coverage, seed_from_library
from workflows.demo import seed_demo
from workflows.errors import PetitionError
from workflows.models import Petition
from workflows.staff import Role, create_staff

from . import evaluation_cli, report_cli, router_cli, text_cli
from .extensions import create_scheduler, scheduler_settings, services, start_embedded_scheduler
from .serving import prepare_to_serve

DEFINITION_SUFFIXES = (".bpmn", ".dmn")


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=lambda: create_app(), add_version_option=False, help="Minyi (民意) petition service.")(
        prog_name="minyi"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(calendar_group)
    app.cli.add_command(db_group)
    app.cli.add_command(deploy)
    app.cli.add_command(serve)
    app.cli.add_command(worker)
    app.cli.add_command(status)
    app.cli.add_command(user_group)
    text_cli.init_app(app)
    report_cli.init_app(app)
    evaluation_cli.init_app(app)
    router_cli.init_app(app)


# Chatty at INFO, so quiet below DEBUG: APScheduler logs every run of every job (twice a second
# for the sweep), SpiffWorkflow every state change of every task (some fifty per completion).
CHATTY_LOGGERS = ("apscheduler.executors", "spiff")


def configure_logging() -> None:
    """Log to stderr at LOG_LEVEL (default INFO) unless the host configured logging already."""
    level = str(current_app.config.get("LOG_LEVEL", "INFO")).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


db_group = AppGroup("db", help="Database schema.")
user_group = AppGroup("user", help="Staff accounts.")
calendar_group = AppGroup("calendar", help="The business calendar (public holidays and make-up working days).")


@calendar_group.command("seed", help="Load holidays and make-up working days from the holidays library.")
@click.argument("years", nargs=-1, type=int)
def calendar_seed(years: tuple[int, ...]) -> None:
    now = utcnow()
    years = years or (now.year, now.year + 1)
    with services().db.write() as session:
        seeded = seed_from_library(session, years, now)
    services().domain.calendar.invalidate()
    for year, official in seeded.items():
        click.echo(f"{year}: {'official schedule' if official else 'statutory holidays only (no official schedule yet)'}")


@click.command("demo", help="Seed departments, routing rules, the calendar and synthetic petitions (once).")
@click.option("--count", default=300, show_default=True, help="How many petitions.")
@click.option("--force", is_flag=True, help="Add petitions even if there are some already.")
@with_appcontext
def demo(count: int, force: bool) -> None:
    svc = services()
    with svc.db.read() as session:
        existing = session.scalar(select(func.count()).select_from(Petition))
    if existing and not force:
        click.echo(f"demo data not added: there are {existing} petitions already (use --force)")
        return
    statuses = seed_demo(svc.db, utcnow(), count=count, timezone=current_app.config["TIMEZONE"],
                         pseudonym_key=current_app.config["SECRET_KEY"].encode())
    svc.domain.calendar.invalidate()
    click.echo(f"{sum(statuses.values())} demo petitions: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))


@user_group.command("add", help="Create a staff account and print its API token (shown this once).")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--department", default=None, help="Department code (required for handlers).")
def user_add(name: str, role: str, department: str | None) -> None:
    try:
        with services().db.write() as session:
            created = create_staff(session, name, Role(role), department, utcnow())
    except PetitionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"created {role} {name!r} (id {created.staff.id}); API token, shown this once:", err=True)
    click.echo(created.token)


@db_group.command("upgrade", help="Apply all pending migrations.")
def db_upgrade() -> None:
    migrations.upgrade(services().db.engine)
    click.echo("database is at the newest schema")


def definition_files(paths: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Read .bpmn/.dmn files, descending into folders; names are file names."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in DEFINITION_SUFFIXES))
        else:
            found.append(path)
    return [(p.name, p.read_bytes()) for p in found]


@click.command("deploy", help="Deploy BPMN/DMN files or folders as new process versions.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--actor", default="cli", show_default=True, help="Recorded as the deployer.")
@with_appcontext
def deploy(paths: tuple[str, ...], actor: str) -> None:
    files = definition_files(paths)
    if not files:
        click.echo(f"nothing to deploy: no .bpmn or .dmn files in {', '.join(paths)}")
        return
    svc = services()
    try:
        with svc.db.write() as session:
            deployed = svc.engine.definitions.deploy(session, files, actor=actor)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    for item in deployed:
        click.echo(f"{item.process_key} v{item.version} {'deployed' if item.created else 'unchanged'}")


@click.command("serve", help="Run the HTTP API (and, unless disabled, the embedded scheduler).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    configure_logging()
    prepare_to_serve()
    embedded = start_embedded_scheduler(app) if app.config["SCHEDULER_ENABLED"] else None
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: the server returns, the scheduler stops
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if embedded is not None:
            stop_scheduler(*embedded)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@click.command("worker", help="Run the scheduler alone (timer sweep and cron jobs) until SIGTERM or SIGINT.")
@with_appcontext
def worker() -> None:
    configure_logging()
    scheduler, context = create_scheduler(current_app._get_current_object(), "worker", BlockingScheduler)
    click.echo(f"worker {context.worker.id} started, sweeping timers every "
               f"{context.settings.interval.total_seconds():g} s")
    sys.stdout.flush()
    run_until_signalled(scheduler, context)
    click.echo(f"worker {context.worker.id} stopped")


@click.command("status", help="Workers alive, the oldest overdue timer, incidents and failing timers.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def status(as_json: bool) -> None:
    settings = scheduler_settings(current_app._get_current_object())
    now = utcnow()
    with services().db.read() as session:
        health = read_health(session, now, settings.alive_within)
    gaps = calendar_coverage(services().domain.calendar.get(), now.astimezone(services().domain.tz).date())
    if as_json:
        click.echo(json.dumps({**health.as_json(), "calendar": gaps}, ensure_ascii=False))
    else:
        click.echo(describe(health))
        click.echo(f"calendar, next 90 days: years without data {gaps['missing'] or 'none'}, "
                   f"without the official schedule yet {gaps['provisional'] or 'none'}")


def describe(health: Health) -> str:
    """The status as lines for a terminal."""
    lines = [f"workers alive: {len(health.workers)}"]
    lines += [f"  {w.id} ({w.kind}), last heartbeat {(health.now - w.heartbeat_at).total_seconds():.0f} s ago"
              for w in health.workers]
    timer = health.oldest_overdue_timer
    if timer is None:
        lines.append("oldest overdue timer: none")
    else:
        lines.append(f"oldest overdue timer: #{timer.id} ({timer.task_spec} of instance {timer.instance_id}), "
                     f"due {timer.due_at.isoformat()}, {timer.lag_seconds:.1f} s late")
    lines.append(f"open incidents: {health.open_incidents}")
    lines.append(f"timers with failed attempts: {health.failing_timers}")
    lines.append(f"outbox: {health.outbox_pending} unsent, {health.outbox_failing} of them failing")
    return "\n".join(lines)
