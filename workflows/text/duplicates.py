"""Near-duplicate petitions: found once at intake, kept for triage.

At intake a petition's signature (`signature`: its places and heaviest matter terms) is
written to `duplicate_term`, which holds open petitions only. Candidates are the open
petitions of the last `window_days` sharing at least two of the new petition's terms, and a
place when both name one: one grouped SQL query over index range scans of those terms, each
cut at the newest `per_term` postings, so a matter that floods in (a campaign of thousands of
copies) costs a lookup no more than a quiet one. The few best are read and scored precisely (`signature.similarity`); those
at or above the threshold are stored in `duplicate_candidate` in both directions, so triage
lists them without computing anything. A petition's terms are deleted when it closes or is
merged, so closed petitions are never candidates again.

Where writers queue for one lock (SQLite), the lookup is made ahead of the petition's write
transaction (`look_ahead`): scoring reads and segments the candidates' texts, milliseconds
each for those this process has not seen, and no other writer should wait for that. The
transaction then looks only at petitions indexed since (higher ids: a range of the primary
key), so two petitions submitted together still find each other. A candidate
that closed in that moment is kept all the same; triage shows it with its status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Select, Subquery, bindparam, case, delete, func, insert, select, union_all
from sqlalchemy.orm import Session

from engine import Engine, StepReport

from ..models import Petition
from ..petitions import petition_of_step
from ..statuses import FINAL_STATUSES, PetitionStatus
from .models import DuplicateCandidate, DuplicateTerm
from .signature import Signature, signature_of, similarity

TERM_CHARS = 32  # DuplicateTerm.term
# Built once (as are the queries below): building a statement costs more CPU than running it.
TEXTS_OF = select(Petition.id, Petition.title, Petition.body, Petition.location).where(
    Petition.id.in_(bindparam("ids", expanding=True)))
LATEST_PETITION = select(func.max(Petition.id))
AHEAD = "duplicates_ahead"  # session.info: the lookahead for the petition the transaction submits


@dataclass(frozen=True)
class DuplicateSettings:
    threshold: float = 0.3  # similarity from which a candidate is shown (see docs/duplicates.md)
    window_days: int = 90  # only petitions received this recently are candidates
    signature_terms: int = 8  # matter terms indexed per petition, besides its places
    min_shared: int = 2  # terms a candidate must share to be scored
    scored: int = 20  # candidates read and scored precisely, best-sharing first
    per_term: int = 500  # newest postings read per term: bounds a lookup when a matter floods in


@dataclass(frozen=True)
class Match:
    petition_id: int
    score: float


@dataclass(frozen=True)
class Lookahead:
    """The near-duplicates of a petition's text found before its write transaction, as of the
    index up to petition `seen_up_to`."""

    text: tuple[str, str, str | None]  # title, body, location
    at: datetime
    seen_up_to: int
    matches: list[Match]


@dataclass(frozen=True)
class Duplicate:
    """A near-duplicate as triage lists it."""

    id: int
    tracking_no: str
    title: str
    status: PetitionStatus
    department_code: str | None
    score: float


def term_rows(petition_id: int, created_at: datetime, signature: Signature, settings: DuplicateSettings) -> list[dict]:
    """The `duplicate_term` rows of an open petition: its places and heaviest matter terms."""
    terms = {place[:TERM_CHARS]: True for place in signature.places}
    for term in signature.top_terms(settings.signature_terms):
        terms.setdefault(term[:TERM_CHARS], False)
    return [{"petition_id": petition_id, "term": term, "is_place": is_place, "has_place": bool(signature.places),
             "created_at": created_at} for term, is_place in terms.items()]


def index_terms(session: Session, petition: Petition, signature: Signature, settings: DuplicateSettings) -> None:
    """Write the petition's signature terms (it is open)."""
    rows = term_rows(petition.id, petition.created_at, signature, settings)
    if rows:
        session.execute(insert(DuplicateTerm.__table__), rows)  # Core: the ORM's bulk insert adds nothing here but CPU


def forget(session: Session, petition_id: int) -> None:
    """The petition closed or was merged: it is no one's candidate any more."""
    session.execute(delete(DuplicateTerm).where(DuplicateTerm.petition_id == petition_id))


def find(session: Session, signature: Signature, settings: DuplicateSettings, at: datetime, *,
         excluding: int = 0, newer_than: int | None = None) -> list[Match]:
    """The open petitions near-duplicate of a petition received `at`, best first: other than
    petition `excluding` (its own terms need not be indexed yet), and with `newer_than` only
    those of a higher id (indexed since a lookahead, so received within the window whatever
    `at` is)."""
    terms = list(dict.fromkeys(t[:TERM_CHARS] for t in [*signature.places, *signature.top_terms(settings.signature_terms)]))
    if not terms:
        return []
    if newer_than is None:
        query = candidates_query(len(terms), bool(signature.places), settings)
        params = {"since": at - timedelta(days=settings.window_days), **{f"term_{i}": term for i, term in enumerate(terms)}}
    else:
        query, params = indexed_since_query(bool(signature.places), settings), {"newer_than": newer_than, "terms": terms}
    ids = list(session.scalars(query, {"petition_id": excluding, **params}))
    if not ids:
        return []
    rows = session.execute(TEXTS_OF, {"ids": ids})
    matches = [Match(row.id, similarity(signature, signature_of(row.title, row.body, row.location))) for row in rows]
    return _best_first(m for m in matches if m.score >= settings.threshold)


def _best_first(matches: Iterable[Match]) -> list[Match]:
    """Highest score first; the older petition first among equals, so the order is stable."""
    return sorted(matches, key=lambda m: (-m.score, m.petition_id))


@lru_cache(maxsize=64)
def candidates_query(term_count: int, names_places: bool, settings: DuplicateSettings) -> Select:
    """The candidates sharing terms `term_0` .. with petition `petition_id` since `since`: built
    once per shape, since building a union of subqueries costs more than running it."""
    since, petition_id = bindparam("since", type_=DuplicateTerm.created_at.type), bindparam("petition_id")
    postings = union_all(*(
        select(select(DuplicateTerm.petition_id, DuplicateTerm.is_place, DuplicateTerm.has_place)
               .where(DuplicateTerm.term == bindparam(f"term_{i}"), DuplicateTerm.created_at >= since,
                      DuplicateTerm.petition_id != petition_id)
               .order_by(DuplicateTerm.created_at.desc()).limit(settings.per_term).subquery())
        for i in range(term_count))).subquery()
    return _best_sharing(postings, names_places, settings)


@lru_cache(maxsize=4)
def indexed_since_query(names_places: bool, settings: DuplicateSettings) -> Select:
    """The candidates among the petitions indexed after petition `newer_than` (other than
    `petition_id`) sharing `terms`: a range of the primary key, so its cost is that of the few
    petitions indexed meanwhile. Reading the postings of each term instead read the whole
    flood of a matter that floods in, up to `per_term` rows a term."""
    postings = (select(DuplicateTerm.petition_id, DuplicateTerm.is_place, DuplicateTerm.has_place)
                .where(DuplicateTerm.petition_id > bindparam("newer_than"),
                       DuplicateTerm.petition_id != bindparam("petition_id"),
                       # an expression, not the column, so that SQLite's planner takes the key's
                       # range and not the term index (whose postings it would read in full)
                       DuplicateTerm.term.concat("").in_(bindparam("terms", expanding=True)))
                .subquery())
    return _best_sharing(postings, names_places, settings)


def _best_sharing(postings: Subquery, names_places: bool, settings: DuplicateSettings) -> Select:
    """The petitions of `postings` (a row per term a petition shares) sharing at least
    `min_shared` terms, and a place when `names_places` (or naming none), best sharing first."""
    shared = func.count()
    query = (select(postings.c.petition_id)
             .group_by(postings.c.petition_id)
             .having(shared >= settings.min_shared)
             .order_by(shared.desc(), postings.c.petition_id.desc())
             .limit(settings.scored))
    if names_places:  # a candidate naming places must name one of ours
        places = func.sum(case((postings.c.is_place, 1), else_=0))
        query = query.having((places > 0) | (func.max(case((postings.c.has_place, 1), else_=0)) == 0))
    return query


def record(session: Session, petition_id: int, matches: list[Match], now: datetime) -> None:
    """Keep the matches for triage, in both directions."""
    if matches:
        session.execute(insert(DuplicateCandidate.__table__), [  # Core, as in index_terms
            row for m in matches for row in (
                {"petition_id": petition_id, "candidate_id": m.petition_id, "score": m.score, "found_at": now},
                {"petition_id": m.petition_id, "candidate_id": petition_id, "score": m.score, "found_at": now})])


def detect(session: Session, petition: Petition, settings: DuplicateSettings, now: datetime,
           ahead: Lookahead | None = None) -> list[Match]:
    """Intake: find and keep the petition's near-duplicates, then index it for later ones; with
    `ahead`, what it found for this text, adding the petitions indexed since."""
    signature = signature_of(petition.title, petition.body, petition.location)
    if ahead is None:
        matches = find(session, signature, settings, petition.created_at, excluding=petition.id)
    else:
        since = find(session, signature, settings, ahead.at, excluding=petition.id, newer_than=ahead.seen_up_to)
        best = {m.petition_id: m for m in [*ahead.matches, *since]}
        matches = _best_first(best.values())[:settings.scored]
    record(session, petition.id, matches, now)
    index_terms(session, petition, signature, settings)
    return matches


def duplicates_of(session: Session, petition_id: int, department: str | None = None) -> list[Duplicate]:
    """The near-duplicates found for a petition, best first; only `department`'s when given
    (a handler never learns of another department's petitions)."""
    query = duplicates_query(department is not None)
    return [Duplicate(*row) for row in session.execute(query, {"petition_id": petition_id, "department": department})]


@lru_cache(maxsize=2)
def duplicates_query(of_department: bool) -> Select:
    """The stored candidates of petition `petition_id` (of `department`, when asked)."""
    query = (select(Petition.id, Petition.tracking_no, Petition.title, Petition.status, Petition.department_code,
                    DuplicateCandidate.score)
             .join(DuplicateCandidate, DuplicateCandidate.candidate_id == Petition.id)
             .where(DuplicateCandidate.petition_id == bindparam("petition_id"))
             .order_by(DuplicateCandidate.score.desc(), Petition.id))
    return query.where(Petition.department_code == bindparam("department")) if of_department else query


class DuplicateDetection:
    """Engine step listener: detect at a petition's start, forget when it closes."""

    def __init__(self, engine: Engine, settings: DuplicateSettings = DuplicateSettings()):
        self.settings = settings
        engine.add_step_listener(self.on_step)

    @staticmethod
    def read_ahead(title: str, body: str, location: str | None) -> None:
        """Segment a petition's text before its write transaction: `signature_of` remembers the
        signature that `detect`, inside it, will ask for."""
        signature_of(title, body, location)

    def look_ahead(self, session: Session, title: str, body: str, location: str | None, at: datetime) -> Lookahead:
        """Find the near-duplicates of a petition about to be submitted, in a read transaction
        before its write transaction; hand the result to that one with `expect`."""
        seen_up_to = session.scalar(LATEST_PETITION) or 0  # first: what is indexed after it is looked at again
        matches = find(session, signature_of(title, body, location), self.settings, at)
        return Lookahead((title, body, location), at, seen_up_to, matches)

    @staticmethod
    def expect(session: Session, ahead: Lookahead) -> None:
        """The transaction about to submit the petition of `ahead` uses what it found."""
        session.info[AHEAD] = ahead

    def on_step(self, session: Session, report: StepReport) -> None:
        if report.action == "start":
            petition = petition_of_step(session, report)  # the petition's own start, at submission or retried
            ahead = session.info.pop(AHEAD, None)
            if petition is not None and petition.status not in FINAL_STATUSES:
                fits = ahead is not None and ahead.text == (petition.title, petition.body, petition.location)
                detect(session, petition, self.settings, report.at, ahead if fits else None)
        closing = any(e.name == "status" and PetitionStatus(e.values["status"]) in FINAL_STATUSES for e in report.effects)
        if closing and report.action != "start":
            petition = petition_of_step(session, report)
            if petition is not None:
                forget(session, petition.id)
