"""Grouping terms of petitions: jieba words with the learned names kept whole, stopwords,
single characters, numbers and region codes left out.

A module of its own with light imports: for large periods it runs in worker processes,
which import it afresh.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context

from . import segment
from .gazetteer import REGION, Gazetteer
from .stopwords import STOPWORDS

LETTERS_AND_DIGITS = re.compile(r"^[\x00-\x7f]+$")
SEPARATOR = "｜"  # between title and body: a word of its own for jieba, and never a term
PARALLEL_FROM = 5000  # petitions; below, starting processes costs more than it saves


def features_of(documents: Sequence[tuple[str, str]], gazetteer: Gazetteer, workers: int = 1) -> list[list[str]]:
    """Grouping terms of each (title, body), segmented with the gazetteer's names kept whole;
    in `workers` processes when there are many (segmentation is most of the time)."""
    terms = gazetteer.terms()
    segment.add_words(terms)
    texts = [f"{title}{SEPARATOR}{body}" for title, body in documents]  # one call each: a third faster
    if workers < 2 or len(texts) < PARALLEL_FROM:
        features = [_features(text) for text in texts]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"),
                                 initializer=segment.add_words, initargs=(terms,)) as pool:
            features = list(pool.map(_features, texts, chunksize=1000))
    shared: dict[str, str] = {}  # one string object per distinct term: a tenth of the memory
    return [[shared.setdefault(term, term) for term in found] for found in features]


def _features(text: str) -> list[str]:
    """Grouping terms: the title's (before the first SEPARATOR) twice, then the body's."""
    words = segment.words(text)
    split = words.index(SEPARATOR)
    title = [w for w in words[:split] if _is_term(w)]
    return title + title + [w for w in words[split + 1:] if _is_term(w)]


@lru_cache(maxsize=200_000)
def _is_term(word: str) -> bool:
    """Not a stopword, a single character, a number or code, nor a region (A市, A3区)."""
    return len(word) > 1 and word not in STOPWORDS and not LETTERS_AND_DIGITS.match(word) and not REGION.fullmatch(word)
