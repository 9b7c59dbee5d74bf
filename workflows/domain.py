"""Wiring the petition domain onto an engine: calendar, script functions, petition service.

Both the Flask app and the tests build the domain here, so they run exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from engine import Database, Definitions, Engine, ScriptRegistry, utcnow

from .calendar import CalendarCache
from .merge import Merging
from .petitions import Petitions, Submission
from .scripts import register_script_functions
from .text.duplicates import DuplicateDetection, DuplicateSettings
from .text.router import ActiveClassifier
from .text.suggestions import DEFAULT_THRESHOLD, TriageSuggestions


@dataclass
class Domain:
    db: Database
    engine: Engine
    petitions: Petitions
    calendar: CalendarCache
    tz: ZoneInfo
    merging: Merging
    duplicates: DuplicateDetection
    suggestions: TriageSuggestions

    def read_ahead(self, submission: Submission) -> None:
        """Do the text analysis of a submission before its write transaction (segmentation,
        classification: milliseconds of CPU), so that on SQLite the other writers do not wait
        for it; the step listeners inside the transaction find the results ready."""
        self.duplicates.read_ahead(submission.title, submission.body, submission.location)
        self.suggestions.read_ahead(submission.title, submission.body)


def create_domain(
    db: Database,
    *,
    timezone: str = "Asia/Shanghai",
    script_time_limit: float = 1.0,
    max_definition_bytes: int | None = None,
    clock: Callable[[], datetime] = utcnow,
    pseudonym_key: bytes | None = None,
    duplicates: DuplicateSettings = DuplicateSettings(),
    suggestion_threshold: float = DEFAULT_THRESHOLD,
) -> Domain:
    """`pseudonym_key` keys the hash of citizens' contacts that counts distinct petitioners."""
    tz = ZoneInfo(timezone)
    calendar = CalendarCache(db, tz)
    registry = ScriptRegistry()
    register_script_functions(registry, calendar.get, clock)
    definitions = Definitions(max_file_bytes=max_definition_bytes) if max_definition_bytes else Definitions()
    engine = Engine(definitions, registry, clock=clock, script_time_limit=script_time_limit)
    # first: the listeners after it see the petition's new status
    petitions = Petitions(engine, clock, calendar.get, pseudonym_key)
    suggestions = TriageSuggestions(ActiveClassifier(), suggestion_threshold)
    engine.add_step_listener(suggestions.on_step)
    return Domain(db=db, engine=engine, petitions=petitions, calendar=calendar, tz=tz,
                  merging=Merging(engine, clock), duplicates=DuplicateDetection(engine, duplicates),
                  suggestions=suggestions)
