"""`minyi kpi rebuild`: refill the evaluation facts from the audit log."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup

from workflows.evaluation.facts import rebuild

from .extensions import services

kpi_group = AppGroup("kpi", help="Department evaluation figures.")


def init_app(app: Flask) -> None:
    app.cli.add_command(kpi_group)


@kpi_group.command("rebuild", help="Replace the evaluation facts (kpi_assignment) by a replay of every petition's "
                                   "audit log: after a restore, or for petitions that moved before the table existed.")
def rebuild_command() -> None:
    domain = services().domain
    started = time.perf_counter()
    with domain.db.write() as session:
        written = rebuild(session, domain.calendar.get())
    click.echo(f"{written} assignments rebuilt in {time.perf_counter() - started:.1f} s")
