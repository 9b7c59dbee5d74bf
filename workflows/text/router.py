"""The stored triage classifiers: training one from labelled petitions, storing and activating
it, and the active one loaded once per process.

Training data comes from a CSV (title, body, category) and from petitions whose department
was confirmed at triage (see `confirmed.py`).
"""

from __future__ import annotations

import csv
import pickle
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .classifier import Labelled, Metrics, Scorer, cross_validate, fit
from .importer import MalformedCsv
from .router_models import RouterModel

COLUMNS = ("title", "body", "category")
MAX_SOURCE = 255


def read_labelled(lines: Iterable[str]) -> list[Labelled]:
    """The rows of a labelled CSV (columns title, body, category; others ignored). Raises
    MalformedCsv for a missing column or an empty title or category."""
    reader = csv.DictReader(lines)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MalformedCsv(None, None, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                       f"(a labelled CSV has {', '.join(COLUMNS)})")
    examples = []
    for number, row in enumerate(reader, start=2):
        for column in ("title", "category"):
            if not (row[column] or "").strip():
                raise MalformedCsv(number, column, "empty")
        examples.append(Labelled(row["title"].strip(), (row["body"] or "").strip(), row["category"].strip()))
    return examples


@dataclass(frozen=True)
class Trained:
    """A pipeline trained outside any transaction, with its cross-validated metrics."""

    pipeline: object
    metrics: Metrics
    source: str
    rows: int
    categories: list[str]


def train(examples: Sequence[Labelled], source: str) -> Trained:
    """Cross-validate, then train on all of `examples`. Raises TooFewExamples.
    Takes seconds to minutes: call it outside a write transaction."""
    metrics = cross_validate(examples)
    pipeline = fit(examples)
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
        version = session.scalar(select(RouterModel.version).where(RouterModel.active.is_(True)))
        if version is None:
            return None
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                blob = session.scalar(select(RouterModel.pipeline).where(RouterModel.version == version))
                self._loaded = (version, Scorer(pickle.loads(blob)))  # our own bytes: see router_models
            return self._loaded
