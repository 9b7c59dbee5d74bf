"""The stored triage classifiers: training one from labelled petitions, storing and activating
it, and the active one loaded once per process.

Training data comes from a CSV (title, body, category) and from petitions whose department
was confirmed at triage (see `retraining.py`); an optional CSV of the category scheme
(level1, level2, level3) adds the names of each category's subcategories.
"""

from __future__ import annotations

import csv
import pickle
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .classifier import Labelled, Metrics, Scheme, Scorer, cross_validate, fit
from .importer import MalformedCsv
from .router_models import RouterModel

COLUMNS = ("title", "body", "category")
SCHEME_COLUMNS = ("level1", "level2", "level3")
MAX_SOURCE = 255
ACTIVE_VERSION = select(RouterModel.version).where(RouterModel.active.is_(True))  # built once: asked at every intake


def _reader(lines: Iterable[str], columns: tuple[str, ...], what: str) -> csv.DictReader:
    """A reader of `lines` that has `columns` (others ignored). Raises MalformedCsv."""
    reader = csv.DictReader(lines)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise MalformedCsv(None, None, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                       f"({what} has {', '.join(columns)})")
    return reader


def read_labelled(lines: Iterable[str]) -> list[Labelled]:
    """The rows of a labelled CSV (columns title, body, category; others ignored). Raises
    MalformedCsv for a missing column or an empty title or category."""
    reader = _reader(lines, COLUMNS, "a labelled CSV")
    examples = []
    for number, row in enumerate(reader, start=2):
        for column in ("title", "category"):
            if not (row[column] or "").strip():
                raise MalformedCsv(number, column, "empty")
        examples.append(Labelled(row["title"].strip(), (row["body"] or "").strip(), row["category"].strip()))
    return examples


def read_scheme(lines: Iterable[str]) -> Scheme:
    """The subcategories of a category scheme CSV (columns level1, level2, level3: first, second
    and third-level names) as (first-level category, "second third"). Raises MalformedCsv."""
    return [(row["level1"].strip(), f"{row['level2'].strip()} {row['level3'].strip()}".strip())
            for row in _reader(lines, SCHEME_COLUMNS, "a category scheme CSV") if (row["level1"] or "").strip()]


@dataclass(frozen=True)
class Trained:
    """A pipeline trained outside any transaction, with its cross-validated metrics."""

    pipeline: object
    metrics: Metrics
    source: str
    rows: int
    categories: list[str]


def train(examples: Sequence[Labelled], source: str, scheme_csv: Path | None = None) -> Trained:
    """Cross-validate, then train on all of `examples` (and the scheme's names, when given; the
    source then says so). Raises TooFewExamples, MalformedCsv.
    Takes seconds to minutes: call it outside a write transaction."""
    scheme: Scheme = ()
    if scheme_csv is not None:
        with scheme_csv.open(encoding="utf-8-sig", newline="") as handle:
            scheme = read_scheme(handle)
        source = f"{source} + scheme {scheme_csv.name}"
    metrics = cross_validate(examples, scheme)
    pipeline = fit(examples, scheme)
    return Trained(pipeline, metrics, source[:MAX_SOURCE], len(examples), sorted({e.category for e in examples}))


def store(session: Session, trained: Trained, now: datetime) -> RouterModel:
    """Store a trained model as the new active version."""
    session.execute(update(RouterModel).where(RouterModel.active.is_(True)).values(active=False))
    session.flush()
    model = RouterModel(created_at=now, source=trained.source, rows=trained.rows, categories=trained.categories,
                        metrics=trained.metrics.as_json(), pipeline=pickle.dumps(trained.pipeline), active=True)
    session.add(model)
    session.flush()
    return model


def active_model(session: Session) -> RouterModel | None:
    """The active model's row (its pipeline bytes are loaded only when read)."""
    return session.scalars(select(RouterModel).where(RouterModel.active.is_(True))).first()


class ActiveClassifier:
    """The active model of this process: unpickled once per version, replaced when another
    version becomes active. Costs one indexed lookup per use."""

    def __init__(self) -> None:
        self._loaded: tuple[int, Scorer] | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> tuple[int, Scorer] | None:
        """(version, scorer) of the active model, or None when none was trained."""
        version = session.scalar(ACTIVE_VERSION)
        if version is None:
            return None
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                blob = session.scalar(select(RouterModel.pipeline).where(RouterModel.version == version))
                self._loaded = (version, Scorer(pickle.loads(blob)))  # our own bytes: see router_models
            return self._loaded

    def loaded(self) -> Scorer | None:
        """The scorer loaded last, without asking the database which version is active (it may
        have changed since: for work that is only ever a head start)."""
        return self._loaded[1] if self._loaded else None
