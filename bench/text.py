"""Benchmark: reading petitions. The triage classifier on labelled real petitions, hotspot
topics on real petitions, and the hotspot method at 100,000 petitions.

1. Classifier: ../shared/datasets/messages_labeled.csv (348 real messages, 7 first-level
   categories), stratified 5-fold cross-validation: accuracy, macro-F1 and the per-category
   table, against two baselines on the same folds in the same process: the majority category,
   and a plain classifier (TF-IDF of jieba words, linear SVM: no characters, no category
   scheme, no calibration). Confidence thresholds: share of petitions suggested and accuracy
   of the suggestions. Inference: one petition at a time, as at intake, through the stored
   model's scorer and through sklearn's own `predict_proba` (the baseline).
2. Hotspots: messages_hot.csv (4,326 real messages, 2017-2020) is imported with
   `minyi import messages`' function, then the 10 hottest topics of the whole period are found
   and printed with their representative titles. Baseline in the same run: a naive
   keyword-count ranking (the 10 terms most petitions use, plain jieba words without the
   learned place dictionary, stopwords removed; a topic = the petitions using the term).
   Both are scored on the same neutral representation (TF-IDF of character bigrams of title
   and body head): cohesion = mean pairwise cosine similarity inside a topic; overlap = share
   of the top-10 petitions that fall in more than one topic.
3. Scale: the real messages repeated with variation (sentences of the body shuffled, another
   petitioner, a time spread over one year) up to 100,000 petitions, imported, then hotspots
   of the year found in a fresh process each (method, then baseline), measuring wall time,
   CPU time and peak memory of that process.

Run from the project root: .venv/bin/python bench/text.py [--quick] [--json] [--workers N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

import migrations  # noqa: E402
from engine import Database  # noqa: E402
from workflows.text import segment  # noqa: E402
from workflows.text.hotspots import Doc, Settings, Topic, discover, read_period  # noqa: E402
from workflows.text.importer import import_messages  # noqa: E402
from workflows.text.stopwords import STOPWORDS  # noqa: E402
from workflows.text.classifier import (FOLDS, Labelled, Metrics, Scorer, fit, out_of_fold, score,  # noqa: E402
                                       text_of, words)
from workflows.text.router import read_labelled, read_scheme  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
DATASET = DATASETS / "messages_hot.csv"
LABELLED = DATASETS / "messages_labeled.csv"
SCHEME = DATASETS / "categories.csv"
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SHANGHAI = ZoneInfo("Asia/Shanghai")
SCALE_START = datetime(2019, 1, 1, tzinfo=timezone.utc)


def new_database(directory: str, name: str) -> Database:
    db = Database.from_url(f"sqlite:///{directory}/{name}.sqlite3")
    migrations.upgrade(db.engine)
    return db


def load(db: Database, text: str, source: str) -> tuple[int, float]:
    """Import a messages CSV; returns (rows added, seconds)."""
    started = time.perf_counter()
    with db.write() as session:
        report = import_messages(session, io.StringIO(text), source, datetime.now(timezone.utc), SHANGHAI)
    return report.added, time.perf_counter() - started


def keyword_topics(docs: list[Doc], limit: int) -> list[dict]:
    """The baseline: the `limit` terms most petitions use, each with the petitions using it."""
    using: dict[str, list[int]] = {}
    for index, doc in enumerate(docs):
        for term in {w for w in segment.words(f"{doc.title}｜{doc.body}") if len(w) > 1 and w not in STOPWORDS
                     and not w.isascii()}:
            using.setdefault(term, []).append(index)
    ranked = sorted(using.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    return [{"label": term, "members": members, "titles": [docs[i].title for i in members[:3]]}
            for term, members in ranked]


def method_topics(topics: list[Topic], docs: list[Doc]) -> list[dict]:
    position = {d.id: i for i, d in enumerate(docs)}
    return [{"label": t.label, "members": [position[i] for i in t.petition_ids],
             "titles": [r.title for r in t.representatives], "petitions": t.petitions,
             "petitioners": t.petitioners, "heat": t.heat, "place": t.place} for t in topics]


def scores(groups: list[dict], docs: list[Doc]) -> dict:
    """Cohesion and overlap of topics on a representation neither method uses."""
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(2, 2)).fit_transform(
        [f"{d.title} {d.body[:100]}" for d in docs])
    cohesion = []
    for group in groups:
        rows = vectors[group["members"]]
        n = rows.shape[0]
        similarity = (rows @ rows.T).toarray()
        cohesion.append(float((similarity.sum() - n) / (n * (n - 1))) if n > 1 else 1.0)
    counts = Counter(i for group in groups for i in group["members"])
    return {"mean_cohesion": round(float(np.mean(cohesion)), 3) if cohesion else None,
            "overlap": round(sum(1 for c in counts.values() if c > 1) / max(1, len(counts)), 3),
            "petitions_covered": len(counts)}


def real_messages(quick: bool) -> dict:
    """Top 10 on messages_hot.csv: the method against the keyword baseline."""
    text = DATASET.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as directory:
        db = new_database(directory, "hot")
        added, import_seconds = load(db, text, "messages_hot")
        with db.read() as session:
            docs = read_period(session, datetime(2000, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc), 160)
        end = max(d.created_at for d in docs) + timedelta(seconds=1)
        started = time.perf_counter()
        baseline = keyword_topics(docs, 10)  # first: the method adds learned names to the segmenter
        baseline_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with db.read() as session:
            topics = discover(session, min(d.created_at for d in docs), end, 10)
        method_seconds = time.perf_counter() - started
        db.dispose()
    method = method_topics(topics, docs)
    return {"petitions": added, "import_seconds": round(import_seconds, 2),
            "import_rows_per_second": round(added / import_seconds),
            "method": {"seconds": round(method_seconds, 2), **scores(method, docs), "topics": method},
            "baseline": {"seconds": round(baseline_seconds, 2), **scores(baseline, docs), "topics": baseline}}


# -- 1. the triage classifier ----------------------------------------------------------------


def baseline_predictions(examples: list[Labelled]) -> dict[str, list[str]]:
    """Out-of-fold predictions of the baselines, on the classifier's own folds."""
    truth = np.array([e.category for e in examples], dtype=object)
    texts = np.array([text_of(e.title, e.body) for e in examples], dtype=object)
    majority = np.empty(len(examples), dtype=object)
    plain = np.empty(len(examples), dtype=object)
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(texts, truth):
        majority[test] = Counter(truth[train]).most_common(1)[0][0]
        model = make_pipeline(TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False), LinearSVC())
        plain[test] = model.fit(list(texts[train]), list(truth[train])).predict(list(texts[test]))
    return {"majority": list(majority), "plain_words_svm": list(plain)}


def per_petition_ms(predict, examples: list[Labelled]) -> dict:
    """Milliseconds per petition scored one at a time: mean and 95th percentile (wall and CPU)."""
    wall, cpu = [], time.process_time()
    for e in examples:
        started = time.perf_counter()
        predict(e)
        wall.append((time.perf_counter() - started) * 1000)
    return {"mean_ms": round(float(np.mean(wall)), 2), "p95_ms": round(float(np.percentile(wall, 95)), 2),
            "cpu_ms": round((time.process_time() - cpu) * 1000 / len(examples), 2)}


def classifier_figures(quick: bool) -> dict:
    with LABELLED.open(encoding="utf-8-sig", newline="") as handle:
        examples = read_labelled(handle)
    with SCHEME.open(encoding="utf-8-sig", newline="") as handle:
        scheme = read_scheme(handle)
    timed = examples[:100] if quick else examples
    truth = [e.category for e in examples]
    started = time.perf_counter()
    categories, probabilities = out_of_fold(examples, scheme)
    cv_seconds = time.perf_counter() - started
    best = probabilities.argmax(axis=1)
    method = score(truth, [categories[i] for i in best], FOLDS)
    confidence = probabilities.max(axis=1)
    right = np.array([categories[i] == t for i, t in zip(best, truth)])
    thresholds = [{"threshold": t, "suggested": round(float((confidence >= t).mean()), 3),
                   "accuracy": round(float(right[confidence >= t].mean()), 3) if (confidence >= t).any() else None}
                  for t in THRESHOLDS]
    without, plain_probabilities = out_of_fold(examples)
    predictions = {"without_scheme": [without[i] for i in plain_probabilities.argmax(axis=1)],
                   **baseline_predictions(examples)}
    baselines = {name: score(truth, predicted, FOLDS) for name, predicted in predictions.items()}
    pipeline = fit(examples, scheme)
    scorer = Scorer(pipeline)
    return {"petitions": len(examples), "cv_seconds": round(cv_seconds, 1), "method": method.as_json(),
            "baselines": {name: m.as_json() for name, m in baselines.items()}, "thresholds": thresholds,
            "inference": {"scorer": per_petition_ms(lambda e: scorer.rank(e.title, e.body, 4), timed),
                          "sklearn_predict_proba": per_petition_ms(
                              lambda e: pipeline.predict_proba([text_of(e.title, e.body)]), timed)}}


def print_classifier(figures: dict) -> None:
    print(f"classifier, messages_labeled.csv: {figures['petitions']} petitions, stratified {FOLDS}-fold "
          f"cross-validation ({figures['cv_seconds']} s)")
    print(f"{'':18s} {'accuracy':>9s} {'macro-F1':>9s}")
    for name, part in [("method (scheme)", figures["method"]), *figures["baselines"].items()]:
        print(f"{name:18s} {part['accuracy']:9.3f} {part['macro_f1']:9.3f}")
    print(f"\n{'category':12s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'support':>8s}")
    for c in Metrics.from_json(figures["method"]).per_category:
        print(f"{c.category}{' ' * (12 - 2 * len(c.category))} {c.precision:9.3f} {c.recall:7.3f} {c.f1:7.3f} "
              f"{c.support:8d}")
    print("\nthreshold  suggested  accuracy of the suggestions")
    for row in figures["thresholds"]:
        print(f"{row['threshold']:9.1f}  {row['suggested']:9.1%}  {row['accuracy']}")
    print("\ninference, one petition at a time (ms): mean, p95, CPU")
    for name, part in figures["inference"].items():
        print(f"  {name:22s} {part['mean_ms']:6.2f} {part['p95_ms']:6.2f} {part['cpu_ms']:6.2f}")


# -- 2. hotspots on real petitions, 3. at scale ------------------------------------------------


def synthetic_csv(count: int, seed: int = 7) -> str:
    """`count` petitions: the real ones again and again, sentences shuffled, over one year."""
    with DATASET.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "user", "title", "created_at", "body", "likes", "dislikes"])
    for index in range(count):
        row = rows[index % len(rows)]
        sentences = row["body"].split("，")
        rng.shuffle(sentences)
        moment = (SCALE_START + timedelta(seconds=rng.randrange(365 * 86400))).astimezone(SHANGHAI)
        writer.writerow([f"s{index}", f"p{rng.randrange(count)}", row["title"], moment.replace(tzinfo=None).isoformat(),
                         "，".join(sentences), rng.choice((0, 0, 0, 1, 2, 5)), rng.choice((0, 0, 1))])
    return out.getvalue()


def peak_mb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def scale_method(url: str, workers: int) -> dict:
    """In a fresh process: the year's hotspots at scale."""
    db = Database.from_url(url)
    wall, cpu = time.perf_counter(), time.process_time()
    with db.read() as session:
        topics = discover(session, SCALE_START, SCALE_START + timedelta(days=365), 10, Settings(workers=workers))
    return {"seconds": round(time.perf_counter() - wall, 2), "cpu_seconds": round(time.process_time() - cpu, 2),
            "peak_mb": peak_mb(), "top": [f"{t.label} ({t.petitions})" for t in topics[:3]]}


def scale_baseline(url: str) -> dict:
    """In a fresh process: the keyword-count ranking at scale."""
    db = Database.from_url(url)
    wall, cpu = time.perf_counter(), time.process_time()
    with db.read() as session:
        docs = read_period(session, SCALE_START, SCALE_START + timedelta(days=365), 160)
    topics = keyword_topics(docs, 10)
    return {"seconds": round(time.perf_counter() - wall, 2), "cpu_seconds": round(time.process_time() - cpu, 2),
            "peak_mb": peak_mb(), "top": [f"{t['label']} ({len(t['members'])})" for t in topics[:3]]}


def scale(count: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        db = new_database(directory, "scale")
        added, import_seconds = load(db, synthetic_csv(count), "synthetic")
        url = str(db.engine.url)
        db.dispose()
        results = {}
        for name, job, args in (("method", scale_method, (url, workers)), ("baseline", scale_baseline, (url,))):
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                results[name] = pool.submit(job, *args).result()
    return {"petitions": added, "import_seconds": round(import_seconds, 2),
            "import_rows_per_second": round(added / import_seconds), "workers": workers, **results}


def print_real(figures: dict) -> None:
    print(f"messages_hot.csv: {figures['petitions']} petitions imported in {figures['import_seconds']} s "
          f"({figures['import_rows_per_second']} rows/s)")
    for name in ("method", "baseline"):
        part = figures[name]
        print(f"\n{name}: {part['seconds']} s, cohesion {part['mean_cohesion']}, overlap {part['overlap']}, "
              f"{part['petitions_covered']} petitions in the top 10")
        for rank, topic in enumerate(part["topics"], start=1):
            extra = (f"  heat {topic['heat']}, {topic['petitions']} petitions, {topic['petitioners']} petitioners"
                     if "heat" in topic else f"  {len(topic['members'])} petitions")
            print(f"{rank:2d}. {topic['label']}{extra}")
            for title in topic["titles"]:
                print(f"      {title}")


def print_scale(figures: dict) -> None:
    print(f"\nscale: {figures['petitions']} petitions imported in {figures['import_seconds']} s "
          f"({figures['import_rows_per_second']} rows/s)")
    print(f"{'':10s} {'wall s':>8s} {'cpu s':>8s} {'peak MB':>8s}  top 3")
    for name in ("method", "baseline"):
        part = figures[name]
        print(f"{name:10s} {part['seconds']:8.2f} {part['cpu_seconds']:8.2f} {part['peak_mb']:8d}  "
              + "; ".join(part["top"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="inference timed on 100 petitions; scale run with 10,000 petitions")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    parser.add_argument("--workers", type=int, default=1, help="segmenting processes in the scale run")
    args = parser.parse_args()
    if not (DATASET.exists() and LABELLED.exists() and SCHEME.exists()):
        print(f"skipped: {DATASETS} lacks messages_hot.csv, messages_labeled.csv or categories.csv (the shared datasets)")
        return
    classifier = classifier_figures(args.quick)
    print_classifier(classifier)
    print()
    real = real_messages(args.quick)
    print_real(real)
    scaled = scale(10_000 if args.quick else 100_000, args.workers)
    print_scale(scaled)
    if args.json:
        for part in ("method", "baseline"):
            for topic in real[part]["topics"]:
                topic.pop("members")
        print(json.dumps({"classifier": classifier, "messages_hot": real, "scale": scaled}, ensure_ascii=False))


if __name__ == "__main__":
    main()
