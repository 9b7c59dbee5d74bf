"""The triage classifier: the category of a petition from its title and body.

TF-IDF of jieba words (1-2 grams) and of characters (1-3 grams), then a linear SVM whose
scores are calibrated into probabilities on inner folds (sigmoid), so that a confidence of 0.8
is right about four times out of five and a threshold on it means something.

The text is the title twice (it names the matter) and the first `BODY_CHARS` characters of the
body: the start says what and where, the rest is mostly detail and courtesy, and a bounded
text keeps a prediction within a few milliseconds. An optional category scheme (first, second
and third-level names of the 12345 scheme, read by `router.read_scheme`) adds one short
document per subcategory of each trained category, and per category a count of the scheme's
words a petition contains, in its whole text and in its title (`SchemeMatches`); with a few
hundred labelled petitions the documents lift macro-F1 by about ten points, the counts by
five more (bench/text.py, docs/triage-suggestion.md).

Words come from the project's segmenter (`segment.py`); place names the hotspot discovery adds
to it in the same process stay whole afterwards, which shifts a few word features of a
petition naming them, never the character ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_union
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from ..errors import PetitionError
from . import segment

BODY_CHARS = 300
SEPARATOR = "｜"
MIN_PER_CATEGORY = 5  # stratified 5-fold cross-validation needs one per fold
FOLDS = 5
CALIBRATION_FOLDS = 3
RANKINGS_KEPT = 256  # Scorer.rank
MATCH_WEIGHT = 0.2  # of the scheme-word features against the TF-IDF ones (0.15-0.3 tried: 0.2-0.3 alike)
Scheme = Sequence[tuple[str, str]]  # (first-level category, "second third" names) per subcategory


class TooFewExamples(PetitionError):
    """Too few labelled petitions to learn and measure: a category with fewer than
    MIN_PER_CATEGORY, or fewer than two categories; `counts` are the categories concerned."""

    def __init__(self, counts: dict[str, int]):
        self.counts = counts
        found = ", ".join(f"{name} ({count})" for name, count in sorted(counts.items()))
        if any(count < MIN_PER_CATEGORY for count in counts.values()):
            message = f"each category needs at least {MIN_PER_CATEGORY} labelled petitions; too few: {found}"
        else:
            message = f"two categories at least are needed; found {found or 'no labelled petitions'}"
        super().__init__(message)


@dataclass(frozen=True)
class Labelled:
    title: str
    body: str
    category: str


def text_of(title: str, body: str) -> str:
    return f"{title}{SEPARATOR}{title}{SEPARATOR}{body[:BODY_CHARS]}"


def words(text: str) -> list[str]:
    """The word analyser (module level, so pickled pipelines refer to it by name)."""
    return segment.words(text)


class SchemeMatches(TransformerMixin, BaseEstimator):
    """Per category, how much a text's words point to it through the scheme's names, for the
    whole text and again for its title (the part before the first SEPARATOR).

    A scheme word (a jieba word of two characters or more in the names of a category's
    subcategories) found in the text counts 1/n for each of the n learned categories whose names
    use it; the sums are log-scaled, L2-normalised and weighted by MATCH_WEIGHT. Found as a
    substring, not among the text's words: a match does not depend on how jieba cuts the
    petition (公交 in 公交站), and it saves segmenting the text a second time. A handful of dense
    features the SVM weighs from the labelled petitions: unlike the scheme documents, they let a
    petition that names a subcategory once, in a long text, still lean towards its category.
    """

    def __init__(self, scheme: Scheme = (), categories: Sequence[str] = ()):
        self.scheme = scheme
        self.categories = categories

    def fit(self, texts: Sequence[str], labels: Sequence[str] | None = None) -> SchemeMatches:
        self.categories_ = sorted(self.categories)
        owners: dict[str, set[int]] = {}
        for category, names in self.scheme:
            if category in self.categories_:
                for word in words(names):
                    if len(word) > 1:
                        owners.setdefault(word, set()).add(self.categories_.index(category))
        self.owners_ = {word: (np.array(sorted(columns)), 1 / len(columns)) for word, columns in owners.items()}
        return self

    @property
    def width(self) -> int:
        """How many features it adds: one per category, for the whole text and for the title."""
        return 2 * len(self.categories_)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        titles = [text.split(SEPARATOR, 1)[0] for text in texts]
        return sparse.csr_matrix(MATCH_WEIGHT * np.hstack([self._matches(texts), self._matches(titles)]))

    def _matches(self, texts: Sequence[str]) -> np.ndarray:
        sums = np.zeros((len(texts), len(self.categories_)))
        for row, text in enumerate(texts):
            for word, (columns, share) in self.owners_.items():
                if word in text:
                    sums[row, columns] += share
        return normalize(np.log1p(sums))


def build_pipeline(scheme: Scheme = (), categories: Sequence[str] = (), seed: int = 0) -> Pipeline:
    """The pipeline; with a scheme, its word matches (`SchemeMatches`) are the last features."""
    vectorizers = [
        TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
    ]
    features = make_union(*vectorizers, *([SchemeMatches(scheme, categories)] if scheme else []))
    svm = LinearSVC(class_weight="balanced", random_state=seed)
    return Pipeline([("features", features), ("model", CalibratedClassifierCV(svm, cv=CALIBRATION_FOLDS))])


def scheme_documents(scheme: Scheme, categories: set[str]) -> list[tuple[str, str]]:
    """(text, category) of the scheme's subcategories of `categories`."""
    return [(names, category) for category, names in scheme if category in categories]


def check_counts(labels: Sequence[str]) -> None:
    """Raises TooFewExamples unless there are two categories with MIN_PER_CATEGORY petitions each."""
    counts = Counter(labels)
    short = {name: count for name, count in counts.items() if count < MIN_PER_CATEGORY}
    if short or len(counts) < 2:
        raise TooFewExamples(short or dict(counts))


def fit(examples: Sequence[Labelled], scheme: Scheme = (), seed: int = 0) -> Pipeline:
    """A pipeline trained on `examples` (and the scheme's names of their categories).
    Raises TooFewExamples."""
    check_counts([e.category for e in examples])
    return _fit([text_of(e.title, e.body) for e in examples], [e.category for e in examples], scheme, seed)


def _fit(texts: list[str], labels: list[str], scheme: Scheme, seed: int) -> Pipeline:
    """Trains on the petitions and the scheme's documents. A scheme document's own matches are
    set to zero: it contains its names by construction, and would teach the SVM to trust a
    match as a certainty."""
    extra = scheme_documents(scheme, set(labels))
    pipeline = build_pipeline(scheme, sorted(set(labels)), seed)
    features = pipeline.named_steps["features"]
    matrix = sparse.csr_matrix(features.fit_transform(texts + [t for t, _ in extra]))
    if extra:
        match_columns = features.transformer_list[-1][1].width  # SchemeMatches: the last features
        documents = sparse.diags(np.r_[np.zeros(len(texts)), np.ones(len(extra))])
        columns = sparse.diags(np.r_[np.zeros(matrix.shape[1] - match_columns), np.ones(match_columns)])
        matrix = (matrix - documents @ matrix @ columns).tocsr()
        matrix.eliminate_zeros()
    pipeline.named_steps["model"].fit(matrix, labels + [c for _, c in extra])
    return pipeline


class Scorer:
    """The pipeline's probabilities for one petition at a time, a few times faster.

    Equal to `pipeline.predict_proba` (the tests compare them): the same vectorisers, then each
    calibrated SVM's decision values through its per-category sigmoids, normalised, averaged.
    Done here in numpy because sklearn's input checks on each of the calibrated pieces cost
    more than the arithmetic when a single text is scored.
    """

    def __init__(self, pipeline: Pipeline):
        self.vectorizers = [vectorizer for _, vectorizer in pipeline.named_steps["features"].transformer_list]
        calibrated = pipeline.named_steps["model"]
        self.categories = [str(c) for c in calibrated.classes_]
        self.members = []
        for member in calibrated.calibrated_classifiers_:
            if list(member.estimator.classes_) != list(calibrated.classes_):
                raise ValueError("a calibration fold lacked a category")
            self.members.append((member.estimator.coef_.T, member.estimator.intercept_,
                                 np.array([c.a_ for c in member.calibrators]), np.array([c.b_ for c in member.calibrators])))
        self._ranked = lru_cache(maxsize=RANKINGS_KEPT)(self._rank)

    def probabilities(self, text: str) -> np.ndarray:
        row = sparse.hstack([vectorizer.transform([text]) for vectorizer in self.vectorizers]).tocsr()
        total = np.zeros(len(self.categories))
        for coef, intercept, a, b in self.members:
            calibrated = expit(-(a * (row @ coef + intercept).ravel() + b))
            if len(self.categories) == 2:  # one decision value: the second category's
                calibrated = np.array([1.0 - calibrated[0], calibrated[0]])
            mass = calibrated.sum()
            total += calibrated / mass if mass > 0 else 1 / len(self.categories)
        return total / len(self.members)

    def rank(self, title: str, body: str, top: int) -> list[tuple[str, float]]:
        """The `top` most likely categories with their probabilities, most likely first.

        The last few rankings are remembered: intake ranks a petition before its write
        transaction, and the step listener that stores the suggestion asks again inside it."""
        return list(self._ranked(title, body, top))

    def _rank(self, title: str, body: str, top: int) -> tuple[tuple[str, float], ...]:
        probabilities = self.probabilities(text_of(title, body))
        order = np.argsort(-probabilities, kind="stable")[:top]
        return tuple((self.categories[i], round(float(probabilities[i]), 4)) for i in order)


@dataclass(frozen=True)
class CategoryScore:
    category: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """How well predictions matched the truth: overall and per category."""

    rows: int
    accuracy: float
    macro_f1: float
    per_category: list[CategoryScore]
    folds: int | None = None  # cross-validated, or scored on a separate set (None)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Metrics:
        return cls(**{**data, "per_category": [CategoryScore(**c) for c in data["per_category"]]})


def score(truth: Sequence[str], predicted: Sequence[str], folds: int | None = None) -> Metrics:
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    categories = sorted(set(truth) | set(predicted))
    return Metrics(
        rows=len(truth), accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(float(f1_score(truth, predicted, average="macro", labels=sorted(set(truth)), zero_division=0)), 4),
        per_category=[CategoryScore(c, round(report[c]["precision"], 4), round(report[c]["recall"], 4),
                                    round(report[c]["f1-score"], 4), int(report[c]["support"])) for c in categories],
        folds=folds)


def out_of_fold(examples: Sequence[Labelled], scheme: Scheme = (), folds: int = FOLDS,
                seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Stratified `folds`-fold cross-validation: each petition's probabilities per category (in
    the returned order) from a pipeline trained on the other folds (and the scheme) only.
    Raises TooFewExamples."""
    labels = [e.category for e in examples]
    check_counts(labels)
    categories = sorted(set(labels))
    texts = np.array([text_of(e.title, e.body) for e in examples], dtype=object)
    truth = np.array(labels, dtype=object)
    probabilities = np.zeros((len(examples), len(categories)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, truth):
        pipeline = _fit(list(texts[train]), list(truth[train]), scheme, seed)
        columns = [categories.index(c) for c in pipeline.classes_]
        probabilities[np.ix_(test, columns)] = pipeline.predict_proba(list(texts[test]))
    return categories, probabilities


def cross_validate(examples: Sequence[Labelled], scheme: Scheme = (), folds: int = FOLDS, seed: int = 0) -> Metrics:
    """Metrics of the out-of-fold predictions. Raises TooFewExamples."""
    categories, probabilities = out_of_fold(examples, scheme, folds, seed)
    return score([e.category for e in examples], [categories[i] for i in probabilities.argmax(axis=1)], folds)
