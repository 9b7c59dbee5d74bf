"""`minyi import messages` and `minyi hotspots`: historical petitions in, hot topics out."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from engine.db import utcnow
from workflows.text.hotspots import Settings, Topic, discover, local_period
from workflows.text.importer import MalformedCsv, import_messages

from .extensions import services

import_group = AppGroup("import", help="Load historical data.")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_group)
    app.cli.add_command(hotspots)


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


@click.command("hotspots", help="The hottest topics among the petitions of a period (local days, both included).")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (default: 29 days before --to).")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (default: today).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes segmenting the text of large periods.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def hotspots(first: datetime | None, last: datetime | None, limit: int, workers: int, as_json: bool) -> None:
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    to = last.date() if last else utcnow().astimezone(tz).date()
    since = first.date() if first else to - timedelta(days=29)
    if since > to:
        raise click.BadParameter("must not be after --to", param_hint="--from")
    start, end = local_period(since, to, tz)
    with services().db.read() as session:
        topics = discover(session, start, end, limit, Settings(workers=workers))
    if as_json:
        click.echo(json.dumps({"from": since.isoformat(), "to": to.isoformat(),
                               "topics": [topic_json(t) for t in topics]}, ensure_ascii=False))
        return
    click.echo(f"{len(topics)} topics, {since} to {to}")
    for rank, topic in enumerate(topics, start=1):
        click.echo(f"{rank:2d}. {topic.label}  heat {topic.heat:g}: {topic.petitions} petitions, "
                   f"{topic.petitioners} petitioners, {topic.likes} likes, "
                   f"{topic.first_at.astimezone(tz):%Y-%m-%d} to {topic.last_at.astimezone(tz):%Y-%m-%d}")
        click.echo(f"    key terms: {' '.join(topic.terms)}")
        for item in topic.representatives:
            click.echo(f"    #{item.id} {item.title}")


def topic_json(topic: Topic) -> dict:
    """A topic as plain JSON (times in ISO 8601), as the API shows it."""
    data = {k: v for k, v in asdict(topic).items() if k != "petition_ids"}
    data["first_at"], data["last_at"] = topic.first_at.isoformat(), topic.last_at.isoformat()
    data["representatives"] = [{**r, "created_at": r["created_at"].isoformat()} for r in data["representatives"]]
    return data
