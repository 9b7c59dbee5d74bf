"""What a petition is about, in a form cheap to index and to compare: its places and its matter.

Places come from the petition's own text, with the gazetteer's rules (a name ending in 小区,
苑, 路, …), so a new petition needs no learned dictionary. The matter is everything else: its
terms weighted by TF-IDF, with jieba's bundled document frequencies (nothing to train, and
stable from one petition to the next), and the character bigrams of the text without its
place names, which catch rephrasings that share few whole words (电梯坏了 / 电梯故障).

Two petitions are near-duplicates when they name the same place (or one names none) and their
matters are close: the place is a gate, not a part of the score, so two petitions about
different matters of one large estate do not look alike for sharing its name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from jieba.analyse import default_tfidf

from .features import features_of
from .gazetteer import is_place, learn

BODY_CHARS = 400  # the start of a petition says what and where
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
WORD_SHARE = 0.5  # of the score; the rest is the bigrams'


@dataclass(frozen=True)
class Signature:
    places: frozenset[str]
    terms: dict[str, float]  # term → TF-IDF weight
    bigrams: Counter[str]  # character bigrams of the text without its places

    @cached_property
    def matter(self) -> dict[str, float]:
        """Its terms without its places, and their norm below: computed once per signature, not
        once per comparison (a signature is cached and compared with every new petition near it)."""
        return {t: w for t, w in self.terms.items() if t not in self.places}

    @cached_property
    def matter_norm(self) -> float:
        return _norm(self.matter)

    @cached_property
    def bigram_norm(self) -> float:
        return _norm(self.bigrams)

    def top_terms(self, count: int) -> list[str]:
        """The `count` heaviest matter terms (ties broken by the term, so the choice is stable)."""
        ranked = sorted(self.matter, key=lambda t: (-self.matter[t], t))
        return ranked[:count]


@lru_cache(maxsize=8192)
def signature_of(title: str, body: str, location: str | None = None) -> Signature:
    """The signature of one petition; `location` (the form's place field) counts as text.

    Cached by the text (a petition's text never changes, and the open petitions of a hot matter
    are scored again for every new one about it); callers must not change what it returns."""
    text = f"{location or ''} {title} {body[:BODY_CHARS]}"
    gazetteer = learn([text], min_count=1)
    places = frozenset(name for name in gazetteer.names if is_place(name))
    [terms] = features_of([(f"{location or ''} {title}", body[:BODY_CHARS])], gazetteer)
    idf, median = default_tfidf.idf_freq, default_tfidf.median_idf
    weights = {term: (1 + math.log(count)) * idf.get(term, median) for term, count in Counter(terms).items()}
    return Signature(places, weights, _bigrams(text, places))


def similarity(a: Signature, b: Signature) -> float:
    """How alike two petitions' matters are, in [0, 1]; 0 when both name places and share none."""
    if a.places and b.places and not a.places & b.places:
        return 0.0
    words = _cosine(*_matter(a, b.places), *_matter(b, a.places))
    return round(WORD_SHARE * words + (1 - WORD_SHARE) * _cosine(a.bigrams, a.bigram_norm, b.bigrams, b.bigram_norm), 4)


def _matter(signature: Signature, other_places: frozenset[str]) -> tuple[Mapping[str, float], float]:
    """The signature's matter terms that are not the other petition's places either, and their
    norm: its own, precomputed, unless the other names a place that is a matter term here."""
    if other_places.isdisjoint(signature.matter):
        return signature.matter, signature.matter_norm
    matter = {t: w for t, w in signature.matter.items() if t not in other_places}
    return matter, _norm(matter)


def _bigrams(text: str, places: frozenset[str]) -> Counter[str]:
    for place in sorted(places, key=len, reverse=True):
        text = text.replace(place, " ")
    return Counter(run[i:i + 2] for run in HAN_RUN.findall(text) for i in range(len(run) - 1))


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


def _cosine(a: Mapping[str, float], a_norm: float, b: Mapping[str, float], b_norm: float) -> float:
    if not a or not b:
        return 0.0
    dot = sum(weight * b[key] for key, weight in a.items() if key in b)
    return dot / (a_norm * b_norm)
