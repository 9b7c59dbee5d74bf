"""Benchmark: near-duplicate lookup at intake with 200,000 open petitions, on SQLite and PostgreSQL.

Open petitions are the real messages of ../shared/datasets/messages_hot.csv again and again,
each copy with its body's sentences shuffled, spread over the 90-day window (so every one is
a candidate by date: the worst case), with their signature terms indexed as intake writes
them. Closed petitions have no index rows, so however many there are they cost the lookup
nothing. Then new petitions (fresh variations) are looked up as intake does:
`signature_of` + `find` (one grouped index query, then the best few scored precisely), and
the latency is measured per lookup.

Baseline in the same process: brute force, as one would without the index: read the most
recent open petitions (5,000; 1,000 with --quick) and score each against the new one. Recall
compares what the two find: every real message has many copies, all near-duplicates of each
other and of a probe made from it, so a match is counted by the message it was made from; the
recall is the share of the messages behind the baseline's top 5 matches that the indexed
lookup finds too.

Run from the project root: .venv/bin/python bench/duplicates.py [--quick] [--json] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

import migrations  # noqa: E402
from engine import Database  # noqa: E402
from engine.connections import create_db_engine  # noqa: E402
from workflows.models import Petition  # noqa: E402
from workflows.statuses import PUBLIC_STATUS, PetitionStatus  # noqa: E402
from workflows.text.duplicates import DuplicateSettings, find, term_rows  # noqa: E402
from workflows.text.models import DuplicateTerm  # noqa: E402
from workflows.text.signature import signature_of, similarity  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "messages_hot.csv"
DEFAULT_POSTGRES = os.environ.get("MINYI_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/minyi_bench")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
SETTINGS = DuplicateSettings()
BATCH = 5000


def messages() -> list[tuple[str, str]]:
    with DATASET.open(encoding="utf-8") as handle:
        return [(row["title"], row["body"]) for row in csv.DictReader(handle)]


def variation(rng: random.Random, message: tuple[str, str]) -> tuple[str, str]:
    """The same petition in other words' order: its body's sentences shuffled."""
    title, body = message
    sentences = body.split("，")
    rng.shuffle(sentences)
    return title, "，".join(sentences)


def fresh_schema(url: str) -> Database:
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(engine)
    engine.dispose()
    return Database.from_url(url)


def petition_row(index: int, title: str, body: str, created_at: datetime) -> dict:
    return {"id": index, "tracking_no": f"MYB{index:09d}", "access_token_hash": "-", "channel": "web", "type": "complaint",
            "urgency": "normal", "title": title, "body": body, "status": PetitionStatus.HANDLING,
            "public_status": PUBLIC_STATUS[PetitionStatus.HANDLING], "created_at": created_at, "updated_at": created_at,
            "reopen_count": 0, "extension_days": 0, "emergency": False}


def fill(db: Database, count: int, corpus: list[tuple[str, str]]) -> float:
    """`count` open petitions with their signature terms; returns the seconds it took."""
    rng = random.Random(7)
    started = time.perf_counter()
    for first in range(1, count + 1, BATCH):
        petitions, terms = [], []
        for index in range(first, min(first + BATCH, count + 1)):
            title, body = variation(rng, corpus[index % len(corpus)])
            created_at = NOW - timedelta(seconds=rng.randrange(SETTINGS.window_days * 86400 - 3600))
            petitions.append(petition_row(index, title, body, created_at))
            terms += term_rows(index, created_at, signature_of(title, body), SETTINGS)
        with db.write() as session:
            session.execute(insert(Petition), petitions)
            session.execute(insert(DuplicateTerm), terms)
    return time.perf_counter() - started


def new_petitions(corpus: list[tuple[str, str]], count: int) -> list[Petition]:
    rng = random.Random(11)
    return [Petition(id=10**9 + i, created_at=NOW, location=None,
                     **dict(zip(("title", "body"), variation(rng, rng.choice(corpus))))) for i in range(count)]


def source(petition_id: int, corpus: list[tuple[str, str]]) -> int:
    """The real message a benchmark petition was made from (`fill` cycles through them)."""
    return petition_id % len(corpus)


def indexed(db: Database, probes: list[Petition]) -> tuple[list[float], list[set[int]]]:
    """Latency (ms) and the matches of each lookup, as intake does it."""
    latencies, found = [], []
    with db.read() as session:
        for probe in probes:
            started = time.perf_counter()
            matches = find(session, signature_of(probe.title, probe.body), SETTINGS, probe.created_at, excluding=probe.id)
            latencies.append((time.perf_counter() - started) * 1000)
            found.append({m.petition_id for m in matches})
    return latencies, found


def brute_force(db: Database, probes: list[Petition], recent: int) -> tuple[list[float], list[list[int]]]:
    """Latency (ms) and the top 5 matches of scoring the `recent` newest open petitions one by one."""
    latencies, top = [], []
    with db.read() as session:
        for probe in probes:
            started = time.perf_counter()
            signature = signature_of(probe.title, probe.body)
            rows = session.execute(select(Petition.id, Petition.title, Petition.body, Petition.location)
                                   .where(Petition.status.not_in([PetitionStatus.CLOSED, PetitionStatus.MERGED]))
                                   .order_by(Petition.created_at.desc(), Petition.id.desc()).limit(recent))
            scored = [(similarity(signature, signature_of(r.title, r.body, r.location)), r.id) for r in rows]
            latencies.append((time.perf_counter() - started) * 1000)
            top.append([pid for score, pid in sorted(scored, reverse=True)[:5] if score >= SETTINGS.threshold])
    return latencies, top


def summary(latencies: list[float]) -> dict:
    cuts = quantiles(latencies, n=20)
    return {"lookups": len(latencies), "p50_ms": round(cuts[9], 2), "p95_ms": round(cuts[18], 2),
            "max_ms": round(max(latencies), 2)}


def run(url: str, count: int, probes: int, recent: int, baseline_probes: int, corpus: list[tuple[str, str]]) -> dict:
    db = fresh_schema(url)
    fill_seconds = fill(db, count, corpus)
    with db.read() as session:
        term_count = session.scalar(select(func.count()).select_from(DuplicateTerm))
    queries = new_petitions(corpus, probes)
    indexed(db, queries[:5])  # warm the segmenter and the database cache
    latencies, found = indexed(db, queries)
    base_latencies, top = brute_force(db, queries[:baseline_probes], recent)
    wanted = [{source(pid, corpus) for pid in t} for t in top]
    got = [{source(pid, corpus) for pid in f} for f in found]
    recall = sum(len(w & got[i]) for i, w in enumerate(wanted)) / sum(map(len, wanted)) if any(wanted) else None
    db.dispose()
    return {"backend": db.engine.dialect.name, "open_petitions": count, "index_rows": term_count,
            "fill_seconds": round(fill_seconds, 1),
            "mean_matches": round(sum(len(f) for f in found) / len(found), 1),
            "indexed": summary(latencies),
            "baseline": {"recent_scored": recent, **summary(base_latencies),
                         "recall_of_baseline_top5_messages": round(recall, 3) if recall is not None else None}}


def print_run(figures: dict) -> None:
    print(f"\n{figures['backend']}: {figures['open_petitions']:,} open petitions, {figures['index_rows']:,} index rows "
          f"(filled in {figures['fill_seconds']} s); {figures['mean_matches']} matches per lookup on average")
    print(f"{'':28s} {'lookups':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
    base = figures["baseline"]
    for name, part in ((f"indexed (window {SETTINGS.window_days} d)", figures["indexed"]),
                       (f"brute force, {base['recent_scored']:,} newest", base)):
        print(f"{name:28s} {part['lookups']:8d} {part['p50_ms']:8.2f} {part['p95_ms']:8.2f} {part['max_ms']:8.2f}")
    print(f"the indexed lookup finds {base['recall_of_baseline_top5_messages']} of the messages behind the brute force's "
          "top-5 matches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,000 open petitions, fewer lookups")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (its public schema is replaced)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if not DATASET.exists():
        print(f"skipped: {DATASET} is not there (the shared datasets are needed for this benchmark)")
        return
    corpus = messages()
    count, probes, recent, baseline_probes = (8_000, 100, 1_000, 5) if args.quick else (200_000, 500, 5_000, 20)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        urls = {"sqlite": f"sqlite:///{directory}/duplicates.sqlite3"}
        if not args.no_postgres:
            urls["postgresql"] = args.postgres
        for name, url in urls.items():
            results[name] = run(url, count, probes, recent, baseline_probes, corpus)
            print_run(results[name])
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
