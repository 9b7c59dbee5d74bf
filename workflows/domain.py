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
from .petitions import Petitions, Submission, Submitted
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

    def submit(self, submission: Submission, actor: str | None = None) -> Submitted:
        """Submit a petition in a transaction of its own, doing before it what it does not
        decide: the text analysis (segmentation, classification: milliseconds of CPU) and, where
        writers queue for one lock (SQLite), the near-duplicate lookup and the process's start,
        in a read transaction. Other writers then do not wait for them; inside the write
        transaction the step listeners find the results ready, and the start is saved as run."""
        self.suggestions.read_ahead(submission.title, submission.body)
        if not self.db.is_sqlite:
            self.duplicates.read_ahead(submission.title, submission.body, submission.location)
            with self.db.write() as session:
                return self.petitions.submit(session, submission, actor)
        with self.db.read() as session:
            ahead = self.duplicates.look_ahead(session, submission.title, submission.body, submission.location,
                                               self.petitions.clock())
            prepared = self.petitions.prepare(session, submission)
        with self.db.write() as session:
            self.duplicates.expect(session, ahead)
            return self.petitions.submit(session, submission, actor, prepared)


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
