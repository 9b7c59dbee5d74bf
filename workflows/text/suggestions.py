"""The triage suggestion: the category the classifier reads in a petition, the department that
category routes to, how confident it is, and the runners-up.

It is computed once, when the petition's first triage task is created (an engine step
listener, in the step's transaction: the API ranks the text before that transaction begins, so
the listener finds the ranking ready), and stored beside the petition; reading it applies the
confidence threshold and the routing rules as they are then. Below the threshold there is no
suggestion, but the best categories still show as alternatives: a hint, not a verdict.
Without a trained model nothing is stored and nothing is shown.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import HumanTask, StepReport

from ..models import Petition, RoutingRule
from ..petitions import petition_of_step
from .classifier import Scorer
from .router import ActiveClassifier
from .router_models import TriageSuggestion

log = logging.getLogger(__name__)
TRIAGE_FORM = "triage_form"
ALTERNATIVES = 3
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Candidate:
    category: str
    department: str | None  # the routing rule's department; None when the category has no rule
    confidence: float


@dataclass(frozen=True)
class Suggestion:
    model_version: int
    threshold: float
    suggested: Candidate | None  # None below the threshold
    alternatives: list[Candidate]  # the next most likely (the most likely when none is suggested)


class TriageSuggestions:
    """Suggesting a category at triage with the active model; `threshold` is the least
    confidence that makes a suggestion."""

    def __init__(self, classifier: ActiveClassifier, threshold: float = DEFAULT_THRESHOLD):
        self.classifier = classifier
        self.threshold = threshold

    def on_step(self, session: Session, report: StepReport) -> None:
        """Step listener: rank the categories of a petition whose first triage task was just created.

        A failure is logged and the petition goes on without a suggestion: the citizen's
        submission must not depend on the classifier.
        """
        if not any(t["form"] == TRIAGE_FORM for t in report.created_tasks):
            return
        petition = petition_of_step(session, report)
        if petition is None or (report.action != "start" and session.get(TriageSuggestion, petition.id) is not None):
            return  # (a petition starting has none yet; one back at triage keeps its first)
        try:
            active = self.classifier.get(session)
            if active is None:
                return
            version, scorer = active
            ranking = _ranking(scorer, petition.title, petition.body)
        except Exception:  # noqa: BLE001  (advisory: see the docstring)
            log.exception("no triage suggestion for petition %s", petition.id)
            return
        session.add(TriageSuggestion(petition_id=petition.id, model_version=version,
                                     ranking=[list(pair) for pair in ranking], created_at=report.at))

    def read_ahead(self, title: str, body: str) -> None:
        """Rank a petition's text before its write transaction, so that `on_step`, inside it,
        finds the ranking ready (Scorer.rank remembers it) instead of holding up other writers."""
        scorer = self.classifier.loaded()
        if scorer is not None:
            with suppress(Exception):  # on_step tries again, and logs a failure
                _ranking(scorer, title, body)

    def for_task(self, session: Session, task: HumanTask, petition: Petition | None) -> Suggestion | None:
        """The suggestion shown with a task: a triage task's petition's, None for other tasks."""
        return self.for_petition(session, petition.id) if task.form == TRIAGE_FORM and petition else None

    def for_petition(self, session: Session, petition_id: int) -> Suggestion | None:
        """The stored suggestion, with departments from today's routing rules; None when the
        petition reached triage without a trained model."""
        stored = session.get(TriageSuggestion, petition_id)
        if stored is None:
            return None
        categories = [category for category, _ in stored.ranking]
        routes = dict(session.execute(select(RoutingRule.category, RoutingRule.department_code)
                                      .where(RoutingRule.category.in_(categories))).all())
        candidates = [Candidate(category, routes.get(category), float(p)) for category, p in stored.ranking]
        confident = bool(candidates) and candidates[0].confidence >= self.threshold
        return Suggestion(stored.model_version, self.threshold, candidates[0] if confident else None,
                          candidates[1:] if confident else candidates[:ALTERNATIVES])


def _ranking(scorer: Scorer, title: str, body: str) -> list[tuple[str, float]]:
    """The ranking a suggestion stores; one call for `read_ahead` and `on_step`, so that the
    scorer's memory of it is found."""
    return scorer.rank(title, body, ALTERNATIVES + 1)
