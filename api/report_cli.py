"""`minyi report quarterly 2026Q3`: write the quarterly circular as HTML and PDF, and store it."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from engine.db import utcnow
from workflows.evaluation.periods import InvalidPeriod, Quarter
from workflows.evaluation.store import QuarterNotOver, generate

from .extensions import services

report_group = AppGroup("report", help="Reports.")
CLI = "cli"  # recorded as the author of circulars written from the command line


def init_app(app: Flask) -> None:
    app.cli.add_command(report_group)


def parse_quarter(ctx: click.Context, param: click.Parameter, value: str) -> Quarter:
    try:
        return Quarter.parse(value)
    except InvalidPeriod as exc:
        raise click.BadParameter(str(exc)) from None


@report_group.command("quarterly", help="Write the circular (季度工作通报) of a quarter, e.g. 2026Q3, as HTML and "
                                        "PDF into --out, and store it as the quarter's next version.")
@click.argument("quarter", callback=parse_quarter)
@click.option("--out", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder the files are written to (made if missing).")
def quarterly(quarter: Quarter, out: Path) -> None:
    svc = services()
    try:
        with svc.db.write() as session:
            generated = generate(session, quarter, utcnow(), svc.domain.tz, CLI, svc.report_settings)
            version, pages = generated.report.version, generated.report.pdf_pages
    except QuarterNotOver as exc:
        raise click.BadParameter(str(exc), param_hint="QUARTER") from None
    out.mkdir(parents=True, exist_ok=True)
    html, pdf = out / f"circular-{quarter}.html", out / f"circular-{quarter}.pdf"
    html.write_text(generated.html, encoding="utf-8")
    pdf.write_bytes(generated.pdf)
    click.echo(f"{quarter} circular, version {version}: {pdf} ({pages} pages), {html}")
