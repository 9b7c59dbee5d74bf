"""The `minyi` command: database migrations, deploying definitions, serving the app."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup, with_appcontext

import migrations
from engine import DefinitionError

from .extensions import services

DEFINITION_SUFFIXES = (".bpmn", ".dmn")


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=lambda: create_app(), add_version_option=False, help="Minyi (民意) petition service.")(
        prog_name="minyi"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(deploy)
    app.cli.add_command(serve)


db_group = AppGroup("db", help="Database schema.")


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
    from flask import current_app
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
