"""Retraining the triage classifier from petitions whose department was confirmed at triage.

A dispatch at triage is recorded as the petition's `status_changed` event from `triage` to
`signing`, naming the department; the last one of a petition counts (a returned petition is
dispatched again). Its category is the one the dispatch confirms: the citizen's category if
it routes to that department, else the suggestion's first category if it does, else the only
category routed there; a petition whose category stays ambiguous is left out.

The weekly `router-retrain` job retrains when at least `min_new` petitions were confirmed
since the active model was trained (or, without a model, when there are enough to train
one), from them and the optional CSV of `ROUTER_TRAINING_CSV`, with the category scheme of
`ROUTER_SCHEME_CSV` when set. It claims the week first, so
one worker trains; training runs outside any write transaction.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from engine import Database, InstanceEvent
from engine.db import utcnow
from engine.workers import run_once_per_period

from ..models import Petition, RoutingRule
from ..statuses import PetitionStatus
from .classifier import MIN_PER_CATEGORY, Labelled
from .router import Trained, active_model, read_labelled, store, train
from .router_models import TriageSuggestion

log = logging.getLogger(__name__)
RETRAIN_JOB_ID = "router-retrain"
MIN_NEW = 50


def _dispatches() -> ColumnElement[bool]:
    return and_(InstanceEvent.kind == "status_changed",
                InstanceEvent.data["from"].as_string() == PetitionStatus.TRIAGE.value,
                InstanceEvent.data["to"].as_string() == PetitionStatus.SIGNING.value)


def confirmed_since(session: Session, since: datetime | None) -> int:
    """Dispatches at triage after `since` (all when None)."""
    query = select(func.count()).select_from(InstanceEvent).where(_dispatches())
    return session.scalar(query if since is None else query.where(InstanceEvent.at > since)) or 0


def confirmed_examples(session: Session) -> list[Labelled]:
    """Every petition dispatched at triage whose category the dispatch confirms, oldest first."""
    rules = dict(session.execute(select(RoutingRule.category, RoutingRule.department_code)).all())
    routed_to: dict[str, list[str]] = defaultdict(list)
    for category, department in rules.items():
        routed_to[department].append(category)
    rows = session.execute(
        select(Petition.id, Petition.title, Petition.body, Petition.category,
               InstanceEvent.data["department"].as_string(), TriageSuggestion.ranking)
        .join(Petition, Petition.instance_id == InstanceEvent.instance_id)
        .outerjoin(TriageSuggestion, TriageSuggestion.petition_id == Petition.id)
        .where(_dispatches()).order_by(InstanceEvent.id))
    latest = {}
    for petition_id, title, body, citizens, department, ranking in rows:
        suggested = ranking[0][0] if ranking else None
        candidates = [c for c in (citizens, suggested) if c and rules.get(c) == department]
        only = routed_to[department][0] if len(routed_to.get(department, ())) == 1 else None
        category = candidates[0] if candidates else only
        latest[petition_id] = Labelled(title, body, category) if category else None
    return [example for example in latest.values() if example is not None]


@dataclass(frozen=True)
class RetrainingSet:
    examples: list[Labelled]
    left_out: dict[str, int]  # categories with too few petitions to learn, and their counts
    source: str


def retraining_set(confirmed: Sequence[Labelled], csv_path: Path | None) -> RetrainingSet:
    """Confirmed petitions and the CSV's rows; categories with fewer than MIN_PER_CATEGORY
    petitions are left out (a category new in the routing rules waits until it has enough).
    Raises MalformedCsv."""
    examples = list(confirmed)
    if csv_path is not None:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            examples += read_labelled(handle)
    counts = Counter(e.category for e in examples)
    left_out = {c: n for c, n in counts.items() if n < MIN_PER_CATEGORY}
    source = f"{len(confirmed)} confirmed at triage" + (f" + {csv_path.name}" if csv_path else "")
    return RetrainingSet([e for e in examples if e.category not in left_out], left_out, source)


def retrain(db: Database, csv_path: Path | None, now: datetime,
            scheme_csv: Path | None = None) -> tuple[Trained, RetrainingSet]:
    """Train from the confirmed petitions (and the CSV, and the category scheme), store and
    activate the model. Raises TooFewExamples, MalformedCsv."""
    with db.read() as session:
        chosen = retraining_set(confirmed_examples(session), csv_path)
    trained = train(chosen.examples, chosen.source, scheme_csv)
    with db.write() as session:
        store(session, trained, now)
    return trained, chosen


def retrain_if_due(db: Database, csv_path: Path | None, now: datetime, min_new: int = MIN_NEW,
                   scheme_csv: Path | None = None) -> Trained | None:
    """Retrain when `min_new` petitions were confirmed since the active model was trained."""
    with db.read() as session:
        model = active_model(session)
        fresh = confirmed_since(session, model.created_at if model else None)
    if fresh < min_new:
        log.info("router not retrained: %s petitions confirmed since the last model, %s needed", fresh, min_new)
        return None
    trained, chosen = retrain(db, csv_path, now, scheme_csv)
    log.info("router retrained from %s: macro-F1 %.3f; left out %s", trained.source, trained.metrics.macro_f1,
             chosen.left_out or "nothing")
    return trained


def run_router_retrain(db: Database, worker_id: str, now: datetime, tz: ZoneInfo, csv_path: Path | None,
                       min_new: int = MIN_NEW, clock: Callable[[], datetime] = utcnow,
                       scheme_csv: Path | None = None) -> bool:
    """Once a week across workers: claim the week, then retrain if due; returns whether this call ran."""
    year, week, _ = now.astimezone(tz).isocalendar()
    if not run_once_per_period(db, RETRAIN_JOB_ID, f"{year}-W{week:02d}", lambda session: None,
                               worker_id=worker_id, clock=clock):
        return False
    retrain_if_due(db, csv_path, now, min_new, scheme_csv)
    return True
