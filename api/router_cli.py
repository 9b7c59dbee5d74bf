"""`minyi router`: train the triage classifier, score it, retrain it from confirmed petitions."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from flask import Flask
from flask.cli import AppGroup

from engine.db import utcnow
from workflows.errors import PetitionError
from workflows.text.classifier import Labelled, Metrics, score
from workflows.text.router import ActiveClassifier, read_labelled, store, train
from workflows.text.retraining import retrain

from .extensions import services

T = TypeVar("T")
router_group = AppGroup("router", help="The triage classifier that suggests a category (and department).")
CSV_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
SCHEME_OPTION = click.option("--scheme", "scheme_csv", type=CSV_FILE, default=None,
                             help="Category scheme CSV (level1, level2, level3): subcategory names to learn from too.")


def init_app(app: Flask) -> None:
    app.cli.add_command(router_group)


def _or_exit(what: Path | str, action: Callable[[], T]) -> T:
    """Run `action`; a domain error or an unreadable file is one line on stderr and exit status 1."""
    try:
        return action()
    except (PetitionError, UnicodeDecodeError) as exc:
        click.echo(f"error: {what}: {exc}", err=True)
        sys.exit(1)


def _read(csv_file: Path) -> list[Labelled]:
    with csv_file.open(encoding="utf-8-sig", newline="") as handle:
        return read_labelled(handle)


def padded(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (a Chinese character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - columns, 0)


def metrics_lines(metrics: Metrics) -> list[str]:
    how = f"{metrics.folds}-fold cross-validation" if metrics.folds else "scored"
    lines = [f"{how} on {metrics.rows} petitions: accuracy {metrics.accuracy:.3f}, macro-F1 {metrics.macro_f1:.3f}",
             f"  {padded('category', 16)}{'precision':>10s}{'recall':>8s}{'F1':>8s}{'support':>9s}"]
    lines += [f"  {padded(c.category, 16)}{c.precision:>10.3f}{c.recall:>8.3f}{c.f1:>8.3f}{c.support:>9d}"
              for c in metrics.per_category]
    return lines


@router_group.command("train", help="Train from a labelled CSV (title, body, category), cross-validate, "
                                    "store the model and make it the active one.")
@click.argument("csv_file", type=CSV_FILE)
@SCHEME_OPTION
def train_command(csv_file: Path, scheme_csv: Path | None) -> None:
    trained = _or_exit(csv_file, lambda: train(_read(csv_file), csv_file.name, scheme_csv))
    with services().db.write() as session:
        model = store(session, trained, utcnow())
    click.echo(f"model v{model.version} trained on {trained.rows} petitions, {len(trained.categories)} categories; active")
    click.echo("\n".join(metrics_lines(trained.metrics)))


@router_group.command("evaluate", help="Score the active model on another labelled CSV.")
@click.argument("csv_file", type=CSV_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(csv_file: Path, as_json: bool) -> None:
    examples = _or_exit(csv_file, lambda: _read(csv_file))
    with services().db.read() as session:
        active = ActiveClassifier().get(session)
    if active is None:
        click.echo("error: no model is trained yet (minyi router train CSV)", err=True)
        sys.exit(1)
    version, scorer = active
    predicted = [scorer.rank(e.title, e.body, 1)[0][0] for e in examples]
    metrics = score([e.category for e in examples], predicted)
    if as_json:
        click.echo(json.dumps({"model_version": version, "file": csv_file.name, **metrics.as_json()}, ensure_ascii=False))
        return
    click.echo(f"model v{version} on {csv_file.name}")
    click.echo("\n".join(metrics_lines(metrics)))


@router_group.command("retrain", help="Train from the petitions whose department was confirmed at triage "
                                      "(and a labelled CSV), store the model and make it the active one.")
@click.option("--csv", "csv_file", type=CSV_FILE, default=None, help="Labelled CSV to learn from as well.")
@SCHEME_OPTION
def retrain_command(csv_file: Path | None, scheme_csv: Path | None) -> None:
    trained, chosen = _or_exit(csv_file or "confirmed petitions",
                               lambda: retrain(services().db, csv_file, utcnow(), scheme_csv))
    click.echo(f"trained on {trained.rows} petitions ({trained.source}), {len(trained.categories)} categories; active")
    if chosen.left_out:
        click.echo("left out (too few petitions): " + ", ".join(f"{c} ({n})" for c, n in sorted(chosen.left_out.items())))
    click.echo("\n".join(metrics_lines(trained.metrics)))
