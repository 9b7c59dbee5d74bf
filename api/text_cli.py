"""`minyi import messages` and `minyi hotspots`: historical petitions in, hot topics out."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from engine.db import utcnow
from workflows.text.importer import MalformedCsv, import_messages

from .extensions import services

import_group = AppGroup("import", help="Load historical data.")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_group)


@import_group.command("messages", help="Load a messages CSV (id,title,created_at,body[,user,likes,dislikes,reply,"
                                       "replied_at]) as closed petitions; rows already imported are skipped.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Import source name (default: the file name without .csv).")
def import_messages_command(csv_file: Path, source: str | None) -> None:
    source = source or csv_file.stem
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    try:
        with csv_file.open(encoding="utf-8-sig", newline="") as handle, services().db.write() as session:
            report = import_messages(session, handle, source, utcnow(), tz)
    except (MalformedCsv, UnicodeDecodeError) as exc:
        click.echo(f"error: {csv_file}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{source}: {report.added} petitions imported, {report.skipped} already there "
               f"({report.read} rows read)")
