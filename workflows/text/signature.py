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

    def top_terms(self, count: int) -> list[str]:
        """The `count` heaviest matter terms (ties broken by the term, so the choice is stable)."""
        ranked = sorted((t for t in self.terms if t not in self.places), key=lambda t: (-self.terms[t], t))
        return ranked[:count]


def signature_of(title: str, body: str, location: str | None = None) -> Signature:
    """The signature of one petition; `location` (the form's place field) counts as text."""
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
    matter_a = {t: w for t, w in a.terms.items() if t not in a.places | b.places}
    matter_b = {t: w for t, w in b.terms.items() if t not in a.places | b.places}
    return round(WORD_SHARE * _cosine(matter_a, matter_b) + (1 - WORD_SHARE) * _cosine(a.bigrams, b.bigrams), 4)


def _bigrams(text: str, places: frozenset[str]) -> Counter[str]:
    for place in sorted(places, key=len, reverse=True):
        text = text.replace(place, " ")
    return Counter(run[i:i + 2] for run in HAN_RUN.findall(text) for i in range(len(run) - 1))


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(weight * b[key] for key, weight in a.items() if key in b)
    return dot / (math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values())))
