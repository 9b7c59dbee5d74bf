"""Benchmark: the department KPI table and the quarterly circular of a quarter with 1,000,000 petitions,
on PostgreSQL and SQLite.

1. Bulk load (COPY on PostgreSQL, multi-row INSERTs on SQLite): synthetic petitions received in
   2026Q3 over 40 departments, each with a scripted history (returns, transfers, late or deemed
   sign-for, extensions, replies on time or late, information requests, ratings, reopens, open
   petitions) written as its process instance, its `status_changed` audit events and its
   escalation rungs, exactly as the petition service writes them.
2. Baseline: the department table of the quarter without maintained facts, i.e. computed from
   the raw audit log at query time (replayed by `minyi kpi rebuild`'s function, then
   aggregated), in a fresh process: wall time and peak memory. The replayed facts
   (`kpi_assignment`) stay: they are the ones the petition service would have written.
3. Method: `department_table` for the quarter (SQL aggregation over the facts), in a fresh
   process: wall time of the first call and the median of three more, peak memory. Both
   tables must be equal.
4. The quarterly circular of the same quarter (`workflows.evaluation`: gather, then render HTML
   and PDF), in a fresh process: wall time of each part (the KPI tables, the hotspots, the rest
   of the gathering, the rendering) and peak memory. Baseline, same run: the PDF printed with the
   whole font files handed to WeasyPrint (its own subsetting) instead of the circular's subsets.

Run from the project root:
    .venv/bin/python bench/reports.py [--quick] [--json] [--database-url URL] [--petitions N]
                                      [--backend both|postgresql|sqlite] [--kpis-only] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, func, insert, select, text  # noqa: E402

import migrations  # noqa: E402
from engine import Database, InstanceEvent, ProcessInstance  # noqa: E402
from engine.connections import create_db_engine  # noqa: E402
from engine.models import ProcessVersion  # noqa: E402
from workflows.calendar import BusinessCalendar, load_calendar, seed_from_library  # noqa: E402
from workflows.evaluation import KpiTable, department_table  # noqa: E402
from workflows.evaluation import circular as circulars, fonts, render  # noqa: E402
from workflows.evaluation.periods import Quarter  # noqa: E402
from workflows.text.hotspots import discover  # noqa: E402
from workflows.evaluation.facts import rebuild  # noqa: E402
from workflows.models import Department, Escalation, Petition  # noqa: E402
from workflows.scripts import iso  # noqa: E402
from workflows.statuses import PUBLIC_STATUS, PetitionStatus as S  # noqa: E402

DEFAULT_POSTGRES = os.environ.get("MINYI_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/minyi_bench")
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUARTER = (date(2026, 7, 1), date(2026, 9, 30))
NOW = datetime(2026, 10, 15, 2, 0, tzinfo=timezone.utc)  # when the quarter's table is read
DEPARTMENTS = [f"D{n:02d}" for n in range(1, 41)]
CHUNK = 20_000  # petitions generated and written at a time


# -- synthetic histories ---------------------------------------------------------------------

class History:
    """One petition's life as the rows the petition service would have written."""

    def __init__(self, index: int, received: datetime, calendar: BusinessCalendar, rng: random.Random):
        self.index, self.received, self.calendar, self.rng = index, received, calendar, rng
        self.status, self.department = S.RECEIVED, None
        self.sign_due: datetime | None = None
        self.due: datetime | None = None
        self.events: list[dict[str, Any]] = []
        self.escalations: list[dict[str, Any]] = []
        self.rating: int | None = None
        self.solved: bool | None = None
        self.reopens = self.extension = 0
        self.replied_at: datetime | None = None

    def move(self, target: S, at: datetime, task_spec: str | None = None) -> None:
        data = {"from": self.status.value, "to": target.value, "department": self.department}
        if self.due:
            data["due"] = iso(self.due)
        if target is S.SIGNING:
            data["sign_due"] = iso(self.sign_due)
        self.events.append({"instance_id": self.index, "revision": 1, "kind": "status_changed", "at": at,
                            "actor": "bench", "task_id": None, "task_spec": task_spec, "data": data})
        self.status = target
        if target is S.REPLIED and self.replied_at is None:
            self.replied_at = at

    def dispatch(self, department: str, at: datetime, task_spec: str) -> None:
        self.department = department
        self.sign_due = self.calendar.deadline(at, 1, "working_days")
        self.due = self.calendar.deadline(at, 10, "working_days")
        self.move(S.SIGNING, at, task_spec)

    def sign_for(self, at: datetime) -> datetime:
        if self.rng.random() < 0.08:  # deemed signed when the limit passes
            self.move(S.HANDLING, self.sign_due, "auto_sign")
            return self.sign_due
        signed = at + timedelta(hours=self.rng.uniform(0.2, 20))
        self.move(S.HANDLING, min(signed, self.sign_due), "mark_signed")
        return min(signed, self.sign_due)

    def escalate_until(self, answered: datetime | None) -> None:
        """The rungs reached before `answered` (None: never): urge at the deadline, order a
        working day later, public notice five working days after that."""
        urge = self.due
        order = self.calendar.deadline(urge, 1, "working_days")
        notice = self.calendar.deadline(order, 5, "working_days")
        for level, moment in (("urge", urge), ("order", order), ("notice", notice)):
            if moment < NOW and (answered is None or moment < answered):
                self.escalations.append({"petition_id": self.index, "level": level, "department_code": self.department,
                                         "deadline": self.due, "created_at": moment})

    def reply(self, at: datetime) -> None:
        self.move(S.REVIEWING, at - timedelta(hours=2), "submit_reply")
        self.move(S.REPLIED, at, "publish")

    def live(self) -> None:
        rng, t = self.rng, self.received
        self.move(S.TRIAGE, t, "classify")
        if rng.random() < 0.03:
            self.move(S.REJECTED, t + timedelta(hours=1), "reject")
            return
        t += timedelta(hours=rng.uniform(0.5, 6))
        self.dispatch(rng.choice(DEPARTMENTS), t, "set_deadlines")
        if rng.random() < 0.05:  # the first department returns it (退单) and another one gets it
            t += timedelta(hours=rng.uniform(0.5, 30))
            self.move(S.RETURNED, t, "mark_returned")
            self.move(S.TRIAGE, t, "back_to_triage")
            t += timedelta(hours=2)
            self.dispatch(rng.choice(DEPARTMENTS), t, "set_deadlines")
        t = self.sign_for(t)
        if rng.random() < 0.03:  # transferred (转办) after a day
            t += timedelta(days=1)
            self.dispatch(rng.choice(DEPARTMENTS), t, "transfer")
            t = self.sign_for(t)
        if rng.random() < 0.05:
            self.move(S.EXTENSION_REQUESTED, t + timedelta(days=2), "request_extension")
            self.due = self.calendar.deadline(self.due, 5, "working_days")
            self.extension = 5
            self.move(S.HANDLING, t + timedelta(days=3), "extend")
        fate = rng.random()
        if fate < 0.05:
            self.move(S.AWAITING_INFO, t + timedelta(days=1), "pause")
            self.move(S.CLOSED, t + timedelta(days=8), "close_no_info")
            return
        if fate < 0.15:  # still open
            self.escalate_until(None)
            return
        on_time = rng.random() < 0.85
        answered = (t + (self.due - t) * rng.uniform(0.1, 0.95) if on_time
                    else self.due + timedelta(days=rng.uniform(0.5, 12)))
        self.escalate_until(answered)
        self.reply(answered)
        self.rate(answered)

    def rate(self, replied: datetime) -> None:
        rng = self.rng
        if rng.random() < 0.3:  # not rated within the window
            self.move(S.CLOSED, replied + timedelta(days=7), "not_rated")
            return
        self.rating = rng.choices((5, 4, 3, 2, 1), (50, 25, 10, 8, 7))[0]
        self.solved = self.rating >= 4 or rng.random() < 0.2
        if self.rating >= 3 and self.solved:
            self.move(S.CLOSED, replied + timedelta(days=1), "close")
            return
        self.reopens = 1
        self.move(S.HANDLING, replied + timedelta(days=1), "reopen")
        self.reply(replied + timedelta(days=4))
        self.rating, self.solved = rng.choice(((4, True), (5, True), (2, False)))
        self.move(S.CLOSED, replied + timedelta(days=5), "close")

    def petition(self) -> dict[str, Any]:
        closed = self.events[-1]["at"] if self.status in (S.CLOSED, S.REJECTED) else None
        return {"id": self.index, "tracking_no": f"BK{self.index:010d}", "access_token_hash": "x", "channel": "web",
                "type": "complaint", "urgency": "normal", "title": f"批量工单 {self.index}", "body": "正文",
                "department_code": self.department, "status": self.status, "public_status": PUBLIC_STATUS[self.status],
                "instance_id": self.index, "sign_due_at": self.sign_due, "due_at": self.due, "rating": self.rating,
                "solved": self.solved, "reopen_count": self.reopens, "extension_days": self.extension,
                "emergency": False, "created_at": self.received, "updated_at": self.events[-1]["at"],
                "replied_at": self.replied_at, "closed_at": closed}

    def instance(self) -> dict[str, Any]:
        done = self.status in (S.CLOSED, S.REJECTED)
        return {"id": self.index, "version_id": 1, "process_key": "petition", "business_key": f"BK{self.index:010d}",
                "status": "completed" if done else "running", "revision": 1, "state": "{}", "started_by": "bench",
                "created_at": self.received, "updated_at": self.events[-1]["at"],
                "ended_at": self.events[-1]["at"] if done else None}


def histories(count: int, calendar: BusinessCalendar, seed: int) -> Iterator[dict[Table, list[dict[str, Any]]]]:
    """Rows per table, CHUNK petitions at a time, received uniformly over the quarter."""
    rng = random.Random(seed)
    start = datetime.combine(QUARTER[0], datetime.min.time(), SHANGHAI).astimezone(timezone.utc)
    span = (QUARTER[1] - QUARTER[0]).days * 86400 + 86399
    for first in range(1, count + 1, CHUNK):
        rows: dict[Table, list[dict[str, Any]]] = {ProcessInstance.__table__: [], Petition.__table__: [],
                                                   InstanceEvent.__table__: [], Escalation.__table__: []}
        for index in range(first, min(first + CHUNK, count + 1)):
            history = History(index, start + timedelta(seconds=rng.randrange(span)), calendar, rng)
            history.live()
            rows[ProcessInstance.__table__].append(history.instance())
            rows[Petition.__table__].append(history.petition())
            rows[InstanceEvent.__table__].extend(history.events)
            rows[Escalation.__table__].extend(history.escalations)
        yield rows


# -- bulk loading ----------------------------------------------------------------------------

def fresh_database(url: str) -> Database:
    sa = create_db_engine(url)
    migrations.recreate(sa)
    sa.dispose()
    return Database.from_url(url)


def _copy_value(value: Any) -> Any:
    """A value as COPY wants it: naive UTC times (as UTCDateTime stores them), JSON text, enum values."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return getattr(value, "value", value)


def write_rows(db: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL, multi-row INSERTs elsewhere, in the table's own transaction."""
    if not rows:
        return
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_copy_value(row[c]) for c in columns])
        raw.commit()
    finally:
        raw.close()


def bulk_load(url: str, count: int, seed: int = 2026) -> dict[str, Any]:
    """A fresh database with `count` petitions of the quarter, their audit log and escalations
    (no evaluation facts yet). Returns row counts and seconds."""
    db = fresh_database(url)
    now = datetime.now(timezone.utc)
    with db.write() as session:
        session.add_all(Department(code=code, name=f"市第{n}委办局", active=True) for n, code in enumerate(DEPARTMENTS, 1))
        seed_from_library(session, [2026, 2027], now)
        session.add(ProcessVersion(id=1, process_key="petition", version=1, content_hash="bench", deployed_at=now))
    with db.read() as session:
        calendar = load_calendar(session, SHANGHAI)
    started, written = time.perf_counter(), {"petitions": 0, "events": 0, "escalations": 0}
    for rows in histories(count, calendar, seed):
        for table, table_rows in rows.items():
            write_rows(db, table, table_rows)
        written["petitions"] += len(rows[Petition.__table__])
        written["events"] += len(rows[InstanceEvent.__table__])
        written["escalations"] += len(rows[Escalation.__table__])
    db.dispose()
    return {**written, "load_seconds": round(time.perf_counter() - started, 1)}


def settle(url: str) -> None:
    """Steady state on PostgreSQL, as autovacuum leaves it: statistics and the visibility map."""
    db = Database.from_url(url)
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    db.dispose()


# -- measuring -------------------------------------------------------------------------------

def peak_mb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure_table(url: str) -> tuple[dict[str, Any], KpiTable]:
    """In a fresh process: the quarter's table from the maintained facts, cold then warm."""
    db = Database.from_url(url)
    seconds = []
    for _ in range(4):
        started = time.perf_counter()
        with db.read() as session:
            table = department_table(session, *QUARTER, now=NOW)
        seconds.append(time.perf_counter() - started)
    db.dispose()
    return {"first_seconds": round(seconds[0], 3), "median_seconds": round(statistics.median(seconds[1:]), 3),
            "peak_mb": peak_mb()}, table


def measure_baseline(url: str) -> tuple[dict[str, Any], KpiTable]:
    """In a fresh process: the same table without maintained facts, from the raw audit log
    replayed at query time. The replayed facts are kept: they are what the method then reads
    (the service would have written the same ones step by step; `minyi kpi rebuild` does this)."""
    db = Database.from_url(url)
    started = time.perf_counter()
    with db.write() as session:
        assignments = rebuild(session, load_calendar(session, SHANGHAI))
        table = department_table(session, *QUARTER, now=NOW)
    seconds = time.perf_counter() - started
    db.dispose()
    return {"seconds": round(seconds, 2), "peak_mb": peak_mb(), "assignments": assignments}, table


def in_fresh_process(job, *args):
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(job, *args).result()


def loaded(url: str) -> dict[str, Any]:
    """What a previous run loaded (for --reuse)."""
    db = Database.from_url(url)
    with db.read() as session:
        counts = {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                  for name, table in (("petitions", Petition), ("events", InstanceEvent), ("escalations", Escalation))}
    db.dispose()
    return {**counts, "load_seconds": None}


def kpi_figures(url: str, count: int, reuse: bool = False) -> dict[str, Any]:
    """Load (unless `reuse`), then the table without facts (baseline, which leaves the facts
    behind) and with them (method); both must agree."""
    figures: dict[str, Any] = {"load": loaded(url) if reuse else bulk_load(url, count)}
    settle(url)
    figures["baseline"], expected = in_fresh_process(measure_baseline, url)
    settle(url)
    figures["method"], table = in_fresh_process(measure_table, url)
    figures["tables_equal"] = table == expected
    city = table.city
    figures["city"] = {"petitions": city.petitions, "on_time_completion": city.on_time_completion.value,
                       "satisfaction": city.satisfaction.value, "p90_reply_days": city.p90_reply_days,
                       "urges": city.urges, "open_overdue": city.open_overdue}
    figures["speedup"] = round(figures["baseline"]["seconds"] / figures["method"]["median_seconds"], 1)
    return figures


def measure_circular(url: str) -> dict[str, Any]:
    """In a fresh process: the circular of the quarter, gathered and rendered, part by part."""
    db = Database.from_url(url)
    quarter, seconds = Quarter.of(QUARTER[0]), {}
    started = time.perf_counter()
    with db.read() as session:
        data = circulars.gather(session, quarter, NOW, SHANGHAI)
    seconds["gather"] = time.perf_counter() - started
    with db.read() as session:  # the parts of the gathering that grow with the petitions, alone
        started = time.perf_counter()
        department_table(session, *QUARTER, now=NOW)
        seconds["kpi_table"] = time.perf_counter() - started
        started = time.perf_counter()
        discover(session, *quarter.span.bounds(SHANGHAI), circulars.HOTSPOTS)
        seconds["hotspots"] = time.perf_counter() - started
    started = time.perf_counter()
    rendered = render.render(data)
    seconds["render"] = time.perf_counter() - started
    db.dispose()
    return {**{f"{name}_seconds": round(value, 2) for name, value in seconds.items()},
            "total_seconds": round(seconds["gather"] + seconds["render"], 2), "pages": rendered.pages,
            "pdf_kb": round(len(rendered.pdf) / 1024), "html": rendered.html, "peak_mb": peak_mb()}


def render_with_whole_fonts(html: str) -> dict[str, Any]:
    """Baseline, in a fresh process: the same HTML printed with the whole font files."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    started = time.perf_counter()
    config = FontConfiguration()
    faces = "\n".join(f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); }}'
                      for family, path in ((fonts.SERIF, fonts.serif_file()), (fonts.SANS, fonts.sans_file())))
    pdf = HTML(string=html).write_pdf(stylesheets=[CSS(string=faces, font_config=config)], font_config=config)
    return {"render_seconds": round(time.perf_counter() - started, 2), "pdf_kb": round(len(pdf) / 1024),
            "peak_mb": peak_mb()}


def circular_figures(url: str) -> dict[str, Any]:
    method = in_fresh_process(measure_circular, url)
    baseline = in_fresh_process(render_with_whole_fonts, method.pop("html"))
    return {"method": method, "baseline": baseline,
            "render_speedup": round(baseline["render_seconds"] / method["render_seconds"], 1)}


def print_circular(figures: dict[str, Any]) -> None:
    method, baseline = figures["method"], figures["baseline"]
    print(f"  quarterly circular:         {method['total_seconds']} s (gather {method['gather_seconds']} s, of which "
          f"KPI table {method['kpi_table_seconds']} s and hotspots {method['hotspots_seconds']} s; render "
          f"{method['render_seconds']} s), {method['pages']} pages, {method['pdf_kb']} KB, peak {method['peak_mb']} MB")
    print(f"  baseline (whole fonts):     render {baseline['render_seconds']} s, {baseline['pdf_kb']} KB, "
          f"peak {baseline['peak_mb']} MB (x{figures['render_speedup']})")


def print_figures(backend: str, figures: dict[str, Any]) -> None:
    load, method, baseline = figures["load"], figures["method"], figures["baseline"]
    print(f"\n{backend}: {load['petitions']:,} petitions, {load['events']:,} audit events, "
          f"{load['escalations']:,} escalations loaded in {load['load_seconds']} s; "
          f"{baseline['assignments']:,} assignments")
    print(f"  department table (facts):   first {method['first_seconds']} s, median {method['median_seconds']} s, "
          f"peak {method['peak_mb']} MB")
    print(f"  baseline (raw audit log):   {baseline['seconds']} s, peak {baseline['peak_mb']} MB "
          f"(x{figures['speedup']}); tables equal: {figures['tables_equal']}")
    print(f"  city: {figures['city']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 petitions")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES, help="PostgreSQL database (its schema is replaced)")
    parser.add_argument("--petitions", type=int, default=None)
    parser.add_argument("--backend", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--kpis-only", action="store_true", help="skip the quarterly circular")
    parser.add_argument("--reuse", action="store_true", help="measure the PostgreSQL database a previous run loaded")
    args = parser.parse_args()
    count = args.petitions or (20_000 if args.quick else 1_000_000)
    results: dict[str, Any] = {"petitions": count, "quarter": f"{QUARTER[0]}..{QUARTER[1]}"}
    if args.backend in ("both", "postgresql"):
        results["postgresql"] = kpi_figures(args.database_url, count, args.reuse)
        print_figures("PostgreSQL", results["postgresql"])
        if not args.kpis_only:
            results["postgresql"]["circular"] = circular_figures(args.database_url)
            print_circular(results["postgresql"]["circular"])
    if args.backend in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/reports.sqlite3"
            results["sqlite"] = kpi_figures(url, count)
            print_figures("SQLite", results["sqlite"])
            if not args.kpis_only:
                results["sqlite"]["circular"] = circular_figures(url)
                print_circular(results["sqlite"]["circular"])
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
