"""Benchmark: replay real petitions through the processes under a moved clock.

Each message of ../shared/datasets/messages_replies.csv is submitted as a normal complaint at its
real submission time, dispatched and signed at once, and replied to (reply approved, citizen
satisfied) at its real reply time; between events the timer sweep runs as the scheduler would,
so the escalation ladder fires wherever a reply came late.

Baseline, in the same process: the same counts computed directly from the business calendar
(no engine), which also cross-checks the engine's escalations.

Run from the project root: .venv/bin/python bench/replay.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import quantiles
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import time_machine  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import migrations  # noqa: E402
from engine import Database, HumanTask, fire_due_timers  # noqa: E402
from engine.models import PENDING_TASK_STATUSES  # noqa: E402
from workflows.calendar import BusinessCalendar, load_calendar, seed_from_library  # noqa: E402
from workflows.domain import create_domain  # noqa: E402
from workflows.models import Department, Escalation, Petition  # noqa: E402
from workflows.petitions import Submission  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "messages_replies.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LEVELS = ("warning", "urge", "order", "notice")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    created: datetime
    replied: datetime


def load_messages(limit: int | None) -> list[Message]:
    with DATASET.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    messages = []
    for row in rows:
        created = datetime.fromisoformat(row["created_at"]).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)
        replied = datetime.fromisoformat(row["replied_at"]).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)
        if replied > created:
            messages.append(Message(row["title"][:200] or "(无标题)", row["body"] or row["title"], created, replied))
    messages.sort(key=lambda m: m.created)
    return messages[:limit] if limit else messages


def expected_rungs(calendar: BusinessCalendar, message: Message) -> list[str]:
    """The baseline: which rungs fire for a reply at `replied`, straight from the calendar."""
    due = calendar.deadline(message.created, 15, "working_days")
    warn = BusinessCalendar.warning_time(message.created, due, 0.8)
    order = calendar.deadline(due, 1, "working_days")
    notice = calendar.deadline(order, 5, "working_days")
    times = dict(zip(LEVELS, (warn, due, order, notice)))
    return [level for level in LEVELS if times[level].replace(microsecond=0) < message.replied]


def replay(db: Database, messages: list[Message]) -> dict:
    """Drive every message through the engine in time order; returns counts and timings."""
    domain = create_domain(db)
    events: list[tuple[datetime, int, str, int]] = []
    for index, message in enumerate(messages):
        heapq.heappush(events, (message.created, index, "submit", index))
    petitions: dict[int, int] = {}
    started = time.perf_counter()
    with time_machine.travel(messages[0].created, tick=False) as clock:
        while events:
            at, _, kind, index = heapq.heappop(events)
            clock.move_to(at)
            fire_due_timers(db, domain.engine, at, limit=10_000)
            if kind == "submit":
                petitions[index] = submit_and_sign(domain, messages[index])
                heapq.heappush(events, (messages[index].replied, len(messages) + index, "reply", index))
            else:
                reply_and_close(domain, petitions[index])
    elapsed = time.perf_counter() - started
    with db.read() as session:
        counts = Counter(dict(session.execute(select(Escalation.level, func.count()).group_by(Escalation.level)).all()))
        statuses = Counter(p.status.value for p in session.scalars(select(Petition)))
    return {"elapsed": elapsed, "counts": {level: counts.get(level, 0) for level in LEVELS}, "statuses": dict(statuses)}


def _open_task(domain, petition_id: int, spec: str) -> str:
    with domain.db.read() as session:
        instance_id = session.get(Petition, petition_id).instance_id
        return session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.task_spec == spec, HumanTask.status.in_(PENDING_TASK_STATUSES))).one()


def _complete(domain, petition_id: int, spec: str, data: dict) -> None:
    task_id = _open_task(domain, petition_id, spec)
    with domain.db.write() as session:
        domain.petitions.complete_task(session, task_id, data, "replay")


def submit_and_sign(domain, message: Message) -> int:
    with domain.db.write() as session:
        petition_id = domain.petitions.submit(session, Submission(type="complaint", title=message.title, body=message.body)).petition.id
    _complete(domain, petition_id, "triage_petition", {"decision": "dispatch", "department": "D01"})
    _complete(domain, petition_id, "sign_for", {"sign_decision": "sign"})
    return petition_id


def reply_and_close(domain, petition_id: int) -> None:
    _complete(domain, petition_id, "handle", {"action": "reply", "reply": "已答复"})
    _complete(domain, petition_id, "review_reply", {"approved": True})
    _complete(domain, petition_id, "rate_reply", {"rating": 5, "solved": True})


def setup_database(directory: str, years: list[int]) -> Database:
    db = Database.from_url(f"sqlite:///{directory}/replay.sqlite3")
    migrations.upgrade(db.engine)
    with db.write() as session:
        session.add(Department(code="D01", name="承办单位", active=True))
        seed_from_library(session, years, datetime.now(timezone.utc))
        files = [(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").iterdir()) if p.suffix in (".bpmn", ".dmn")]
        create_domain(db).engine.definitions.deploy(session, files, actor="bench")
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first 200 messages only")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    args = parser.parse_args()
    if not DATASET.exists():
        print(f"skipped: {DATASET} is not there (the shared datasets are needed for this benchmark)")
        return
    messages = load_messages(200 if args.quick else None)
    years = sorted({m.created.year for m in messages} | {m.replied.year for m in messages})
    with tempfile.TemporaryDirectory() as directory:
        db = setup_database(directory, years)
        with db.read() as session:
            calendar = load_calendar(session, SHANGHAI)
        base_started = time.perf_counter()
        baseline = Counter(level for m in messages for level in expected_rungs(calendar, m))
        base_elapsed = time.perf_counter() - base_started
        result = replay(db, messages)
        db.dispose()
    days = [calendar.working_days_between(m.created.astimezone(SHANGHAI).date(), m.replied.astimezone(SHANGHAI).date()) for m in messages]
    deciles = quantiles(days, n=10)
    buckets = Counter("0-2" if d <= 2 else "3-5" if d <= 5 else "6-10" if d <= 10 else "11-15" if d <= 15 else "16-30" if d <= 30 else ">30" for d in days)
    figures = {
        "petitions": len(messages),
        "years": years,
        "engine_seconds": round(result["elapsed"], 2),
        "petitions_per_second": round(len(messages) / result["elapsed"], 1),
        "baseline_seconds": round(base_elapsed, 4),
        "escalations": result["counts"],
        "baseline_escalations": {level: baseline.get(level, 0) for level in LEVELS},
        "agree_with_baseline": all(result["counts"][lv] == baseline.get(lv, 0) for lv in LEVELS),
        "working_days_to_reply": {"p10": deciles[0], "p50": deciles[4], "p90": deciles[8], "max": max(days),
                                  "buckets": {k: buckets.get(k, 0) for k in ("0-2", "3-5", "6-10", "11-15", "16-30", ">30")}},
        "final_statuses": result["statuses"],
    }
    print(f"replayed {len(messages)} petitions ({years[0]}-{years[-1]}) as normal complaints (15 working days)")
    print(f"{'rung':10s} {'engine':>8s} {'baseline':>9s}")
    for level in LEVELS:
        print(f"{level:10s} {figures['escalations'][level]:8d} {figures['baseline_escalations'][level]:9d}")
    print(f"working days to reply: p10 {deciles[0]:.0f}, p50 {deciles[4]:.0f}, p90 {deciles[8]:.0f}, max {max(days)}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in figures["working_days_to_reply"]["buckets"].items()))
    print(f"engine replay {figures['engine_seconds']} s ({figures['petitions_per_second']} petitions/s, "
          f"6 user steps each plus timers); baseline calendar-only {figures['baseline_seconds']} s")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
