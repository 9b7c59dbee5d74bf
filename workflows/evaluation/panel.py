"""The third-party panel (第三方评议): evaluators score each department twice a year.

Each evaluator gives every department one score set per half-year on three criteria, each
out of its own maximum (`CRITERIA`, 100 points in all); submitting again updates the set and
counts a revision. To judge reply quality they read a sample of the department's replies,
drawn at random with a seed stored for the half-year, so every evaluator (and every repeat
of the same request) reads the same petitions.

Sampling is "bottom-k" on a keyed hash: every replied petition of the department and
half-year gets a pseudo-random rank `blake2b(seed, id)` and the k lowest are the sample.
The rank of a petition never changes, so petitions replied later only enter the sample if
they rank among the lowest, and once the half-year is over the sample is fixed.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..departments import DepartmentNotFound
from ..errors import InvalidForm, PetitionError
from ..masking import mask_email, mask_name, mask_phone, mask_text
from ..models import Department, Petition
from ..staff import Staff
from .periods import HalfYear
from .tables import PanelPeriod, PanelScore


@dataclass(frozen=True)
class Criterion:
    field: str
    label: str
    maximum: int
    guide: str  # what earns full marks


CRITERIA = (
    Criterion("topic_quality", "主题质量", 30, "回应诉求主题准确，问题定性清楚，政策依据充分"),
    Criterion("organisation", "组织情况", 30, "签收、转办、协办、督办衔接顺畅，分工明确，时限意识强"),
    Criterion("reply_quality", "答复情况", 40, "答复及时、具体、可操作，语言规范，群众认可"),
)
TOTAL = sum(c.maximum for c in CRITERIA)
DEFAULT_SAMPLE_SIZE = 10


class PeriodNotStarted(PetitionError):
    def __init__(self, period: HalfYear):
        self.period = period
        self.errors = {"period": [f"{period} has not begun"]}
        super().__init__(f"half-year {period} has not begun: there is nothing to evaluate yet")


@dataclass(frozen=True)
class Scores:
    topic_quality: int
    organisation: int
    reply_quality: int
    comment: str | None = None

    @property
    def total(self) -> int:
        return self.topic_quality + self.organisation + self.reply_quality

    def check(self) -> None:
        """Raises InvalidForm naming each criterion outside 0..its maximum."""
        errors = {c.field: [f"must be between 0 and {c.maximum}"] for c in CRITERIA
                  if not 0 <= getattr(self, c.field) <= c.maximum}
        if errors:
            raise InvalidForm("panel scores", errors)


@dataclass(frozen=True)
class ScoreSet:
    """A stored score set, as listed."""

    period: str
    department_code: str
    department_name: str
    evaluator: str
    topic_quality: int
    organisation: int
    reply_quality: int
    total: int
    comment: str | None
    submitted_at: datetime
    updated_at: datetime
    revisions: int


@dataclass(frozen=True)
class PanelAverage:
    """The mean of a department's score sets for a half-year."""

    department_code: str
    department_name: str
    evaluators: int
    topic_quality: float
    organisation: float
    reply_quality: float
    total: float  # out of TOTAL


def _department(session: Session, code: str) -> Department:
    department = session.get(Department, code)
    if department is None:
        raise DepartmentNotFound(code)
    return department


def submit_scores(session: Session, period: HalfYear, department_code: str, evaluator: Staff, scores: Scores,
                  now: datetime, tz: ZoneInfo) -> ScoreSet:
    """Store `evaluator`'s scores (a new set or an update of theirs). Raises DepartmentNotFound,
    InvalidForm (a score out of range), PeriodNotStarted."""
    department = _department(session, department_code)
    if period.span.first > now.astimezone(tz).date():
        raise PeriodNotStarted(period)
    scores.check()
    row = session.scalars(select(PanelScore).where(
        PanelScore.period == str(period), PanelScore.department_code == department_code,
        PanelScore.evaluator_id == evaluator.id).with_for_update()).first()
    if row is None:
        row = PanelScore(period=str(period), department_code=department_code, evaluator_id=evaluator.id,
                         submitted_at=now, revisions=0)
        session.add(row)
    row.topic_quality, row.organisation, row.reply_quality = scores.topic_quality, scores.organisation, scores.reply_quality
    row.comment, row.updated_at, row.revisions = scores.comment, now, row.revisions + 1
    session.flush()
    return _score_set(row, department.name, evaluator.name)


def _score_set(row: PanelScore, department_name: str, evaluator: str) -> ScoreSet:
    return ScoreSet(row.period, row.department_code, department_name, evaluator, row.topic_quality, row.organisation,
                    row.reply_quality, row.topic_quality + row.organisation + row.reply_quality, row.comment,
                    row.submitted_at, row.updated_at, row.revisions)


def score_sets(session: Session, period: HalfYear, evaluator: Staff | None = None) -> list[ScoreSet]:
    """The period's score sets by department and evaluator (only `evaluator`'s, when given)."""
    query = (select(PanelScore, Department.name, Staff.name)
             .join(Department, Department.code == PanelScore.department_code)
             .join(Staff, Staff.id == PanelScore.evaluator_id)
             .where(PanelScore.period == str(period))
             .order_by(PanelScore.department_code, PanelScore.evaluator_id))
    if evaluator is not None:
        query = query.where(PanelScore.evaluator_id == evaluator.id)
    return [_score_set(row, department, name) for row, department, name in session.execute(query)]


def averages(sets: Sequence[ScoreSet]) -> list[PanelAverage]:
    """Each department's mean scores over the given sets, by department code."""
    by_department: dict[str, list[ScoreSet]] = defaultdict(list)
    for item in sets:
        by_department[item.department_code].append(item)

    def mean(items: list[ScoreSet], field: str) -> float:
        return round(sum(getattr(i, field) for i in items) / len(items), 2)

    return [PanelAverage(code, items[0].department_name, len(items), *(mean(items, f) for f in
                         ("topic_quality", "organisation", "reply_quality", "total")))
            for code, items in sorted(by_department.items())]


def panel_averages(session: Session, period: HalfYear) -> dict[str, PanelAverage]:
    """Every evaluator's sets of the period, averaged per department, by department code."""
    return {a.department_code: a for a in averages(score_sets(session, period))}


# -- the reply sample -------------------------------------------------------------------------


def sample_seed(session: Session, period: HalfYear, now: datetime) -> int:
    """The period's stored seed, drawn and stored on first use (a concurrent first use keeps one)."""
    seed = session.scalar(select(PanelPeriod.seed).where(PanelPeriod.period == str(period)))
    if seed is not None:
        return seed
    try:
        with session.begin_nested():
            session.add(PanelPeriod(period=str(period), seed=secrets.randbits(62), created_at=now))
    except IntegrityError:  # another request stored it first
        pass
    return session.scalar(select(PanelPeriod.seed).where(PanelPeriod.period == str(period)))


def rank(seed: int, petition_id: int) -> bytes:
    """A petition's fixed pseudo-random rank under `seed`."""
    return hashlib.blake2b(petition_id.to_bytes(8, "big"), key=seed.to_bytes(8, "big"), digest_size=8).digest()


@dataclass(frozen=True)
class SampledReply:
    """A sampled petition and its reply as evaluators read it: contacts masked, in the text too."""

    id: int
    tracking_no: str
    type: str
    category: str | None
    title: str
    body: str | None
    reply: str | None
    created_at: datetime
    replied_at: datetime | None
    rating: int | None
    solved: bool | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None

    @classmethod
    def of(cls, p: Petition) -> SampledReply:
        return cls(p.id, p.tracking_no, p.type, p.category, p.title, mask_text(p.body), mask_text(p.reply), p.created_at,
                   p.replied_at, p.rating, p.solved, mask_name(p.contact_name), mask_phone(p.contact_phone),
                   mask_email(p.contact_email))


def sample(session: Session, period: HalfYear, department_code: str, size: int, now: datetime,
           tz: ZoneInfo) -> list[SampledReply]:
    """`size` replied petitions of the department received in the half-year, drawn with the
    period's seed, in rank order. Reads their ids only, then the sampled rows. Raises DepartmentNotFound."""
    _department(session, department_code)
    start, end = period.span.bounds(tz)
    seed = sample_seed(session, period, now)
    ids = session.scalars(select(Petition.id).where(
        Petition.department_code == department_code, Petition.created_at >= start, Petition.created_at < end,
        Petition.reply.is_not(None)))
    chosen = heapq.nsmallest(size, ids, key=lambda petition_id: rank(seed, petition_id))
    rows = {p.id: p for p in session.scalars(select(Petition).where(Petition.id.in_(chosen)))} if chosen else {}
    return [SampledReply.of(rows[i]) for i in chosen]
