"""The triage classifier: training and prediction, metrics, stored models, bad training data."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import numpy as np
import pytest

from tests.workflows.text.crafted import DATASETS
from tests.workflows.text.labelled import EXAMPLES, SCHEME_CSV, UNSEEN, as_csv
from workflows.text.classifier import (MATCH_WEIGHT, SchemeMatches, Scorer, TooFewExamples, cross_validate, fit,
                                       score, text_of)
from workflows.text.importer import MalformedCsv
from workflows.text.router import ActiveClassifier, Trained, read_labelled, read_scheme, store
from workflows.text.router_models import RouterModel

LABELLED = DATASETS / "messages_labeled.csv"
NOW = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pipeline():
    return fit(EXAMPLES)


@pytest.fixture(scope="module")
def with_scheme():
    return fit(EXAMPLES, read_scheme(io.StringIO(SCHEME_CSV)))


def test_a_trained_pipeline_puts_unseen_petitions_in_their_category(pipeline):
    scorer = Scorer(pipeline)
    for title, body, category in UNSEEN:
        ranking = scorer.rank(title, body, 3)
        assert ranking[0][0] == category, ranking
        assert [c for c, _ in ranking] == sorted([c for c, _ in ranking], key=dict(ranking).get, reverse=True)
        assert sum(p for _, p in ranking) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize("trained", ["pipeline", "with_scheme"])
def test_the_scorer_gives_the_pipelines_own_probabilities(trained, request):
    pipeline = request.getfixturevalue(trained)
    texts = [text_of(title, body) for title, body, _ in UNSEEN] + [text_of("路灯不亮", ""), text_of("公交线路", "秸秆焚烧")]
    scorer = Scorer(pipeline)
    assert np.allclose(pipeline.predict_proba(texts), [scorer.probabilities(t) for t in texts], atol=1e-12)


def test_a_remembered_ranking_is_the_same_and_cannot_be_changed_by_its_reader(pipeline):
    scorer = Scorer(pipeline)
    title, body, _ = UNSEEN[0]
    first = scorer.rank(title, body, 3)
    first.append(("tampered", 1.0))
    assert scorer.rank(title, body, 3) == first[:3]
    assert scorer.rank(title, body, 2) == first[:2]


def test_a_pipeline_of_two_categories_scores_alike():
    two = [e for e in EXAMPLES if e.category != "交通运输"]
    pipeline = fit(two)
    texts = [text_of(title, body) for title, body, _ in UNSEEN]
    assert np.allclose(pipeline.predict_proba(texts), [Scorer(pipeline).probabilities(t) for t in texts], atol=1e-12)


def test_cross_validation_measures_every_category():
    metrics = cross_validate(EXAMPLES)
    assert (metrics.rows, metrics.folds) == (36, 5)
    assert [c.category for c in metrics.per_category] == ["交通运输", "城乡建设", "环境保护"]
    assert [c.support for c in metrics.per_category] == [12, 12, 12]
    assert metrics.macro_f1 >= 0.75 and metrics.accuracy >= 0.75


def test_scores_count_a_category_never_predicted():
    metrics = score(["a", "a", "b", "b"], ["a", "a", "a", "b"])
    assert metrics.accuracy == 0.75
    by_name = {c.category: c for c in metrics.per_category}
    assert (by_name["a"].precision, by_name["b"].recall) == (pytest.approx(2 / 3, abs=1e-4), 0.5)


def test_too_few_petitions_of_a_category_are_refused_by_name():
    few = EXAMPLES[:12] + EXAMPLES[12:16]
    with pytest.raises(TooFewExamples, match=r"at least 5 labelled petitions; too few: 环境保护 \(4\)"):
        fit(few)
    with pytest.raises(TooFewExamples, match="two categories at least"):
        cross_validate(EXAMPLES[:12])


@pytest.mark.parametrize("text, message", [
    ("title,body\n标题,正文\n", "missing column category"),
    ("headline,text\n标题,正文\n", "missing columns title, body, category"),
    ("title,body,category\n标题,正文,城乡建设\n标题,正文, \n", "row 3, column category: empty"),
])
def test_a_bad_labelled_csv_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(MalformedCsv, match=message):
        read_labelled(io.StringIO(text))


def test_the_scheme_teaches_the_names_of_subcategories_no_petition_uses(pipeline, with_scheme):
    assert read_scheme(io.StringIO(SCHEME_CSV))[2] == ("环境保护", "大气污染 秸秆焚烧")
    for text, category in (("基站辐射", "环境保护"), ("超限超载", "交通运输"), ("公租房分配", "城乡建设")):
        ranking = dict(Scorer(with_scheme).rank(text, "", 3))
        assert max(ranking, key=ranking.get) == category, ranking
        assert ranking[category] > dict(Scorer(pipeline).rank(text, "", 3))[category]


def test_scheme_matches_count_the_scheme_words_a_text_shares_with_each_category():
    scheme = [*read_scheme(io.StringIO(SCHEME_CSV)), ("城乡建设", "公路 养护"), ("政法", "公交线路")]
    matches = SchemeMatches(scheme, ["城乡建设", "环境保护", "交通运输"]).fit([])
    row = matches.transform([text_of("公交线路取消", "秸秆焚烧的烟飘到公路上")]).toarray()[0] / MATCH_WEIGHT
    # columns 交通运输, 城乡建设, 环境保护: 公路 is a word of two of them, 政法 is not learned
    whole = np.log1p([1 + 0.5, 0.5, 2])
    assert row[:3] == pytest.approx(whole / np.linalg.norm(whole))
    assert row[3:] == pytest.approx([1, 0, 0])  # the title's only scheme word is 公交线路


def test_a_scheme_csv_without_its_columns_is_refused():
    with pytest.raises(MalformedCsv, match="missing column level3"):
        read_scheme(io.StringIO("level1,level2\n城乡建设,住房保障\n"))


def test_a_labelled_csv_reads_back_with_extra_columns_ignored():
    text = as_csv(EXAMPLES[:2], ("id", "title", "body", "category"))
    assert read_labelled(io.StringIO(text)) == EXAMPLES[:2]


def test_one_model_is_active_and_loaded_once_per_version(db, pipeline):
    first = Trained(pipeline, score(["a"], ["a"]), "a.csv", 36, ["交通运输", "城乡建设", "环境保护"])
    classifier = ActiveClassifier()
    with db.write() as session:
        assert classifier.get(session) is None
        v1 = store(session, first, NOW).version
    with db.read() as session:
        loaded = classifier.get(session)
        assert loaded[0] == v1 and classifier.get(session)[1] is loaded[1]
    with db.write() as session:
        v2 = store(session, Trained(first.pipeline, first.metrics, "b.csv", 36, first.categories), NOW).version
    with db.read() as session:
        assert classifier.get(session)[0] == v2 != v1
        assert {m.version: m.active for m in session.query(RouterModel)} == {v1: False, v2: True}


@pytest.mark.skipif(not LABELLED.exists(), reason=f"the shared datasets are not there ({LABELLED})")
def test_on_real_petitions_a_held_out_fifth_is_mostly_right():
    """One fold of the real set (bench/text.py cross-validates all five and times them)."""
    with LABELLED.open(encoding="utf-8-sig", newline="") as handle:
        examples = read_labelled(handle)
    held_out = examples[::5]
    trained_on = [e for i, e in enumerate(examples) if i % 5]
    scorer = Scorer(fit(trained_on))
    metrics = score([e.category for e in held_out], [scorer.rank(e.title, e.body, 1)[0][0] for e in held_out])
    assert metrics.macro_f1 >= 0.7, metrics
