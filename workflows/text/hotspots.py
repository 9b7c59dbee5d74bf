"""Hotspot discovery: the matters many petitions of a period are about, ranked by heat.

Method (docs/hotspots.md): learn the period's place and organisation names (`gazetteer`)
and keep them whole when segmenting; TF-IDF over title (counted twice) and the head of the
body; tight average-linkage clusters (`clustering`); the clusters with at least
`min_petitions` petitions are topics, ranked by the heat index (`heat`). A topic is labelled
by its place and the terms most particular to it (class TF-IDF: share of its petitions
using a term × the term's inverse document frequency in the period), stopwords and region
codes excluded; its representatives are the petitions nearest its centroid.

Only the period's rows are read, through the created_at index, and only the head of each
body: the start of a petition says what and where.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Petition
from . import clustering
from .features import features_of
from .gazetteer import Gazetteer, is_place, learn
from .heat import Activity, Window, heat

DISTRICT = re.compile(r"[A-Z]\d+[区县市]")
KEY_TERM_SHARE = 0.25


@dataclass(frozen=True)
class Settings:
    body_chars: int = 160  # head of the body read and segmented
    segment_budget: int = 4_000_000  # characters segmented in all: large periods read less of each body
    distance: float = 0.8  # average cosine distance under which petitions form one cluster
    merge_distance: float = 0.55  # centroid distance under which clusters cut apart are joined
    min_petitions: int = 3
    max_df: float = 0.1
    chunk: int = 5000  # petitions clustered at once (the distance matrix is chunk²)
    terms: int = 5  # key terms per topic
    representatives: int = 3
    workers: int = 1  # processes segmenting large periods
    window: Window | None = None  # growth window; default: the 7 days before the period's end


@dataclass(frozen=True)
class Doc:
    """What hotspots read of one petition."""

    id: int
    title: str
    body: str  # its head only
    created_at: datetime
    petitioner: str | None = None
    likes: int = 0
    dislikes: int = 0


@dataclass(frozen=True)
class Representative:
    id: int
    title: str
    created_at: datetime


@dataclass(frozen=True)
class Topic:
    key: str  # stable for the same place and key terms, e.g. to alert once per topic
    label: str
    terms: list[str]
    place: str | None
    petitions: int
    petitioners: int
    likes: int
    dislikes: int
    first_at: datetime
    last_at: datetime
    recent: int  # petitions in the latest window
    previous: int  # petitions in the window before it
    heat: float
    representatives: list[Representative] = field(default_factory=list)
    petition_ids: list[int] = field(default_factory=list)


def discover(session: Session, start: datetime, end: datetime, limit: int = 10,
             settings: Settings = Settings()) -> list[Topic]:
    """The `limit` hottest topics among petitions created in [start, end)."""
    return find_topics(read_period(session, start, end, settings.body_chars), end, limit, settings)


def local_period(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC bounds [start, end) of the local days `first` to `last`, both included."""
    return (datetime.combine(first, time(), tz).astimezone(timezone.utc),
            datetime.combine(last + timedelta(days=1), time(), tz).astimezone(timezone.utc))


def read_period(session: Session, start: datetime, end: datetime, body_chars: int) -> list[Doc]:
    """The period's petitions, by the created_at index, each body cut to its head in the database."""
    rows = session.execute(
        select(Petition.id, Petition.title, func.substr(Petition.body, 1, body_chars), Petition.created_at,
               Petition.petitioner_ref, func.coalesce(Petition.likes, 0), func.coalesce(Petition.dislikes, 0))
        .where(Petition.created_at >= start, Petition.created_at < end)
        .order_by(Petition.id)
    )
    return [Doc(*row) for row in rows]


def find_topics(docs: Sequence[Doc], end: datetime, limit: int = 10, settings: Settings = Settings()) -> list[Topic]:
    """The `limit` hottest topics among `docs` at the period's `end` (no database: the method itself)."""
    if not docs:
        return []
    head = body_head(docs, settings)
    texts = [f"{d.title}\n{d.body[:head]}" for d in docs]
    gazetteer = learn(texts, min_count=max(2, len(docs) // 2000))
    features = features_of([(d.title, d.body[:head]) for d in docs], gazetteer, settings.workers)
    vectors = clustering.vectorize(features, settings.max_df)
    labels = clustering.cluster(vectors.tfidf, settings.distance, settings.chunk)
    sizes = np.bincount(labels)
    labels = clustering.merge(vectors.tfidf, labels, np.flatnonzero(sizes >= settings.min_petitions).tolist(),
                              settings.merge_distance)
    sizes = np.bincount(labels)
    window = settings.window or Window(end)
    order, ends = np.argsort(labels, kind="stable"), np.cumsum(sizes)  # cluster c: order[ends[c] - sizes[c]:ends[c]]
    groups = (order[ends[c] - sizes[c]:ends[c]] for c in np.flatnonzero(sizes >= settings.min_petitions))
    ranked = sorted(((_heat(docs, members, end, window), members) for members in groups),
                    key=lambda pair: (-pair[0][0], int(pair[1][0])))
    return [_describe(docs, texts, members, activity, value, vectors, gazetteer, settings)
            for (value, activity), members in ranked[:limit]]


def body_head(docs: Sequence[Doc], settings: Settings) -> int:
    """How much of each body to read: `body_chars`, less when the period is so large that the
    titles and heads would exceed the segmentation budget (titles say the most)."""
    titles = sum(len(d.title) for d in docs)
    return max(0, min(settings.body_chars, (settings.segment_budget - titles) // len(docs)))


def _heat(docs: Sequence[Doc], members: np.ndarray, end: datetime, window: Window) -> tuple[float, Activity]:
    chosen = [docs[i] for i in members]
    known = {d.petitioner for d in chosen if d.petitioner}
    anonymous = sum(1 for d in chosen if not d.petitioner)
    activity = Activity(
        petitions=len(chosen), petitioners=len(known) + anonymous, likes=sum(d.likes for d in chosen),
        dislikes=sum(d.dislikes for d in chosen), last_at=max(d.created_at for d in chosen),
        recent=sum(1 for d in chosen if window.recent(d.created_at)),
        previous=sum(1 for d in chosen if window.previous(d.created_at)),
    )
    return heat(activity, end), activity


def _describe(docs: Sequence[Doc], texts: Sequence[str], members: np.ndarray, activity: Activity, value: float,
              vectors: clustering.Vectors, gazetteer: Gazetteer, settings: Settings) -> Topic:
    place = _place(texts, members, vectors, gazetteer)
    terms = _key_terms(members, vectors, settings.terms, exclude=place or "")
    label = "、".join(terms[:3])
    chosen = [docs[i] for i in members]
    return Topic(
        key=hashlib.sha256(f"{place}|{'|'.join(sorted(terms[:3]))}".encode()).hexdigest()[:16],
        label=f"{place}：{label}" if place else label,
        terms=terms, place=place, petitions=activity.petitions, petitioners=activity.petitioners,
        likes=activity.likes, dislikes=activity.dislikes, first_at=min(d.created_at for d in chosen),
        last_at=activity.last_at, recent=activity.recent, previous=activity.previous, heat=round(value, 2),
        representatives=[Representative(docs[i].id, docs[i].title, docs[i].created_at)
                         for i in _nearest(vectors.tfidf, members, settings.representatives)],
        petition_ids=sorted(d.id for d in chosen),
    )


def _term_shares(members: np.ndarray, vectors: clustering.Vectors) -> np.ndarray:
    """Per term, the share of the topic's petitions that use it."""
    return np.asarray(vectors.counts[members].sum(axis=0)).ravel() / len(members)


def _key_terms(members: np.ndarray, vectors: clustering.Vectors, count: int, exclude: str) -> list[str]:
    """Terms by share × idf, among those a quarter of the topic's petitions (two at least) use."""
    shares = _term_shares(members, vectors)
    common = shares >= max(KEY_TERM_SHARE, 2 / len(members))
    scores = np.where(common, shares * np.log(vectors.counts.shape[0] / np.maximum(vectors.document_frequency, 1)), 0)
    terms: list[str] = []
    for column in np.argsort(-scores):
        term = str(vectors.terms[column])
        if scores[column] <= 0 or len(terms) == count:
            break
        if term not in exclude and not any(term in kept or kept in term for kept in terms):
            terms.append(term)
    return terms


def _place(texts: Sequence[str], members: np.ndarray, vectors: clustering.Vectors, gazetteer: Gazetteer) -> str | None:
    """The district most of the topic's petitions name, and the place (estate, road, …) at least
    a third of them name; None when neither is shared."""
    districts = Counter(d for i in members for d in set(DISTRICT.findall(texts[i])))
    district = next((d for d, n in districts.most_common(1) if n >= len(members) / 2), None)
    shares = _term_shares(members, vectors)
    places = [(shares[column], str(vectors.terms[column])) for column in np.flatnonzero(shares >= 1 / 3)
              if vectors.terms[column] in gazetteer.names and is_place(str(vectors.terms[column]))]
    spot = max(places)[1] if places else None
    return "".join(filter(None, [district, spot])) or None


def _nearest(tfidf, members: np.ndarray, count: int) -> list[int]:
    """The members closest to the topic's centroid, most typical first."""
    rows = tfidf[members]
    centroid = np.asarray(rows.mean(axis=0)).ravel()
    norm = math.sqrt(float(centroid @ centroid)) or 1.0
    similarity = rows @ (centroid / norm)
    return [int(members[i]) for i in np.argsort(-similarity, kind="stable")[:count]]
