"""Benchmark: the timer sweep (engine.timers.Sweeper) under a storm, a trickle and a large future backlog.

  storm    N instances of `four_tasks` whose reminder timers fall due at the same moment; time
           for worker processes to fire them all: one on SQLite, one and two on PostgreSQL.
           Baseline: the same firing steps as a bare loop of `Engine.fire_timer` over known
           timer ids (no claiming, no locks) in this process, on its own fresh database, with
           min(N, 10,000) timers (N/2 with --quick): the ceiling the sweep's overhead is measured against.
  trickle  timers falling due at a steady rate (250/s for 60 s; 100/s for 5 s with --quick),
           swept every second; due-to-fired lag p50/p99.
           Time is simulated with time_machine: each sweep starts on the next whole second
           after the previous one ended (as APScheduler's coalesced 1 s interval job would),
           and the clock runs in real time during the sweep, so the lag includes its work.
  growth   claiming one batch (500 due timers) with 10,000 and with 1,000,000 timers waiting in
           the future, bulk-inserted as rows over 100,000 waiting instances (rows with an empty
           state, never loaded). Baseline: the same claim in a transaction that dropped the
           `run_at` index first (rolled back afterwards).

Run from the project root: .venv/bin/python bench/timers.py [--quick] [--json] [--postgres URL]
PostgreSQL runs when the URL answers; its `public` schema is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/ (sys.path[0]), where `engine` would be bench/engine.py

import time_machine  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import migrations  # noqa: E402
from engine import (  # noqa: E402
    Database, Definitions, Engine, InstanceEvent, ProcessInstance, ProcessVersion, ScriptRegistry, Timer,
)
from engine.connections import create_db_engine  # noqa: E402
from engine.timers import Sweeper, claim_due_timers  # noqa: E402

BPMN = ROOT / "tests" / "engine" / "data" / "four_tasks.bpmn"
PROCESS, DATA, REMINDER = "four_tasks", {"department": "D01"}, timedelta(days=2)  # the P2D boundary timer
BATCH = 500
NO_INDEX = "DROP INDEX ix_timer_run_at"  # the growth baseline, rolled back after each claim
TARGETS = {"fired_per_s_per_worker": 1000.0, "p99_lag_s": 2.0, "growth_ratio": 1.5}
DEFAULT_POSTGRES = os.environ.get("MINYI_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/minyi_bench")


def fresh_database(url: str) -> Database:
    """An empty, migrated database with `four_tasks` deployed (PostgreSQL: schema recreated)."""
    sa_engine = create_db_engine(url)
    if sa_engine.dialect.name != "sqlite":
        with sa_engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrations.upgrade(sa_engine)
    sa_engine.dispose()
    db = Database.from_url(url)
    with db.write() as session:
        Engine(Definitions(), ScriptRegistry()).definitions.deploy(session, [(BPMN.name, BPMN.read_bytes())])
    return db


def postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers (creating the database if missing), else why not."""
    parsed = make_url(url)
    try:
        probe = create_db_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with probe.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}) is None:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        probe.dispose()
    except OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


def start_instances(db: Database, engine: Engine, count: int, at: datetime | Callable[[int], datetime]) -> float:
    """Start `count` instances through the engine, 500 per transaction, with the clock at `at` (or at(i)).

    Returns instances started per second.
    """
    began = time.perf_counter()
    with time_machine.travel(at if isinstance(at, datetime) else at(0), tick=False) as clock:
        for first in range(0, count, 500):
            with db.write() as session:
                for i in range(first, min(count, first + 500)):
                    if not isinstance(at, datetime):
                        clock.move_to(at(i))
                    engine.start(session, PROCESS, DATA, "bench")
    return count / (time.perf_counter() - began)


def fired_count(db: Database) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(InstanceEvent).where(InstanceEvent.kind == "timer_fired")
        return session.scalar(query)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


# -- storm -------------------------------------------------------------------------------------


def storm_worker(url: str, owner: str, barrier: Any, results: Any) -> None:
    """One worker process (forked): load the spec, wait for the others, sweep until nothing is due."""
    db = Database.from_url(url)
    engine = Engine(Definitions(), ScriptRegistry())
    with db.read() as session:
        engine.definitions.specs(session, engine.definitions.get_version(session, PROCESS).id)
    barrier.wait()
    began = time.time()
    committed = Sweeper(db, engine, owner, batch_size=BATCH).sweep()
    results.put((owner, committed, began, time.time()))
    db.dispose()


def storm(url: str, n: int, workers: int) -> dict[str, Any]:
    db, engine = fresh_database(url), Engine(Definitions(), ScriptRegistry())
    start_rate = start_instances(db, engine, n, datetime.now(timezone.utc) - REMINDER - timedelta(minutes=1))
    db.dispose()  # forked workers must not inherit open connections
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=storm_worker, args=(url, f"w{i}", barrier, results)) for i in range(workers)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    seconds = max(o[3] for o in outcomes) - min(o[2] for o in outcomes)
    fired = fired_count(db)
    db.dispose()
    if fired != n:
        raise SystemExit(f"storm on {url}: {fired} of {n} timers fired")
    return {"timers": n, "workers": workers, "seconds": seconds, "fired_per_s": n / seconds,
            "fired_per_s_per_worker": n / seconds / workers, "shares": sorted(o[1] for o in outcomes),
            "starts_per_s": start_rate}


def bare_fire_loop(url: str, n: int) -> dict[str, Any]:
    """Baseline: the same firing steps without the sweeper, one transaction each, ids known in advance."""
    db, engine = fresh_database(url), Engine(Definitions(), ScriptRegistry())
    start_instances(db, engine, n, datetime.now(timezone.utc) - REMINDER - timedelta(minutes=1))
    with db.read() as session:
        ids = list(session.scalars(select(Timer.id).order_by(Timer.run_at)))
        engine.definitions.specs(session, engine.definitions.get_version(session, PROCESS).id)
    began = time.perf_counter()
    for timer_id in ids:
        with db.write() as session:
            engine.fire_timer(session, timer_id)
    seconds = time.perf_counter() - began
    db.dispose()
    return {"timers": n, "seconds": seconds, "fired_per_s": n / seconds}


# -- trickle -----------------------------------------------------------------------------------


def trickle(url: str, rate: int, duration: int) -> dict[str, Any]:
    db, engine = fresh_database(url), Engine(Definitions(), ScriptRegistry())
    n = rate * duration
    base = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    start_instances(db, engine, n, lambda i: base + timedelta(seconds=(i + 0.5) / rate))  # never due on a tick
    with db.read() as session:
        due = {(t.instance_id, t.task_id): t.due_at for t in session.scalars(select(Timer))}
    first_due = base + REMINDER
    sweeper, tick, sweeps = Sweeper(db, engine, "trickle", batch_size=BATCH), 0, 0
    with time_machine.travel(first_due, tick=True) as clock:
        while tick <= duration + 1:
            clock.move_to(first_due + timedelta(seconds=tick))
            began = time.perf_counter()
            sweeper.sweep()
            sweeps += 1
            tick += max(1, math.ceil(time.perf_counter() - began))
    with db.read() as session:
        fired = session.execute(
            select(InstanceEvent.instance_id, InstanceEvent.task_id, InstanceEvent.at)
            .where(InstanceEvent.kind == "timer_fired")
        ).all()
    db.dispose()
    lags = [(at - due[(instance_id, task_id)]).total_seconds() for instance_id, task_id, at in fired]
    if len(lags) != n:
        raise SystemExit(f"trickle on {url}: {len(lags)} of {n} timers fired")
    return {"timers": n, "rate_per_s": rate, "sweeps": sweeps, "p50_lag_s": percentile(lags, 50),
            "p99_lag_s": percentile(lags, 99), "max_lag_s": max(lags)}


# -- growth ------------------------------------------------------------------------------------


def bulk_insert(db: Database, sql: str, params: dict[str, Any]) -> None:
    """Run an `INSERT … SELECT … FROM s` where s(i) counts from :first to :last, then refresh statistics."""
    if db.is_sqlite:
        sql = "WITH RECURSIVE s(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM s WHERE i < :last) " + sql
    else:
        sql = sql.replace("FROM s", "FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS s(i)")
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)
    # Fresh statistics, and no autovacuum of the new rows competing with the measurement.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))


def insert_instances(db: Database, count: int, now: datetime) -> int:
    """Bulk-insert `count` waiting instances with an empty state (never loaded); returns the first id."""
    with db.read() as session:
        version_id = session.scalar(select(ProcessVersion.id))
    sql = ("INSERT INTO process_instance (version_id, process_key, status, revision, state, created_at, updated_at) "
           f"SELECT :version, '{PROCESS}', 'waiting', 1, '{{}}', :now, :now FROM s")
    bulk_insert(db, sql, {"first": 1, "last": count, "version": version_id, "now": now.replace(tzinfo=None)})
    with db.read() as session:
        return session.scalar(select(func.min(ProcessInstance.id)))


def insert_timers(db: Database, instances: tuple[int, int], first: int, count: int, run_at: datetime) -> None:
    """Bulk-insert timers `first`… spread over the instances (first id, count), one second apart from `run_at`."""
    at = ("datetime(:run_at, '+' || i || ' seconds') || '.000000'"  # the text format SQLAlchemy stores on SQLite
          if db.is_sqlite else ":run_at + i * interval '1 second'")
    sql = ("INSERT INTO timer (instance_id, task_id, task_spec, due_at, run_at, attempts) "
           f"SELECT :base + i % :k, 'bench-' || i, 'reminder', {at}, {at}, 0 FROM s")
    bulk_insert(db, sql, {"first": first, "last": first + count - 1, "base": instances[0], "k": instances[1],
                          "run_at": run_at.replace(tzinfo=None)})


def time_claim(db: Database, now: datetime, runs: int, setup: str | None = None) -> float:
    """Median seconds of claiming one batch after `setup` (SQL), in transactions that are rolled back."""
    samples = []
    for _ in range(runs):
        # a transaction of its own (a read unit has none on PostgreSQL), never committed
        with db.engine.connect() as connection, Session(connection) as session:
            if setup:
                session.execute(text(setup))
            began = time.perf_counter()
            claimed = claim_due_timers(session, now, "bench", BATCH)
            samples.append(time.perf_counter() - began)
            session.rollback()
        assert len(claimed) == BATCH, len(claimed)
    return statistics.median(samples)


def growth(url: str, sizes: tuple[int, int], runs: int) -> dict[str, Any]:
    """Claim time with sizes[0], then sizes[1] future timers, over one waiting instance per ten timers."""
    db, now = fresh_database(url), datetime.now(timezone.utc)
    instances = (insert_instances(db, sizes[1] // 10, now), sizes[1] // 10)
    insert_timers(db, instances, 0, BATCH, now - timedelta(hours=1))  # one batch due
    out: dict[str, Any] = {"instances": instances[1]}
    inserted = 0
    for size in sizes:
        insert_timers(db, instances, BATCH + inserted, size - inserted, now + timedelta(days=3))
        inserted = size
        time_claim(db, now, 3)  # warm up
        out[f"claim_ms_{size}"] = time_claim(db, now, runs) * 1000
        out[f"baseline_claim_ms_{size}"] = time_claim(db, now, max(3, runs // 5), NO_INDEX) * 1000
    small, large = sizes
    out["ratio"] = out[f"claim_ms_{large}"] / out[f"claim_ms_{small}"]
    out["baseline_ratio"] = out[f"baseline_claim_ms_{large}"] / out[f"baseline_claim_ms_{small}"]
    db.dispose()
    return out


# -- report ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    n = args.timers or (1_000 if args.quick else 100_000)
    baseline_n = n // 2 if args.quick else min(n, 10_000)
    rate, duration = (100, 5) if args.quick else (250, 60)
    sizes = (10_000, 1_000_000)
    backends = [("sqlite", lambda name: f"sqlite:///{workdir}/{name}.sqlite3", (1,))]
    skipped = postgres_reachable(args.postgres)
    if skipped is None:
        backends.append(("postgresql", lambda name: args.postgres, (1, 2)))
    figures: dict[str, Any] = {"n": n, "postgres_skipped": skipped}
    for backend, url, worker_counts in backends:
        for workers in worker_counts:
            log(f"storm: {backend}, {workers} worker(s), {n} timers")
            figures[f"storm_{backend}_{workers}w"] = storm(url(f"storm{workers}"), n, workers)
        log(f"storm baseline: {backend}, bare fire_timer loop, {baseline_n} timers")
        figures[f"storm_{backend}_baseline"] = bare_fire_loop(url("baseline"), baseline_n)
        log(f"trickle: {backend}, {rate}/s for {duration} s")
        figures[f"trickle_{backend}"] = trickle(url("trickle"), rate, duration)
        log(f"growth: {backend}, {sizes[0]} and {sizes[1]} future timers")
        figures[f"growth_{backend}"] = growth(url("growth"), sizes, 10 if args.quick else 30)
    figures["targets"] = TARGETS
    figures["targets_met"] = targets_met(figures)
    return figures


def targets_met(f: dict[str, Any]) -> dict[str, bool]:
    storms = [v for k, v in f.items() if k.startswith("storm_") and not k.endswith("baseline")]
    return {
        "fired_per_s_per_worker": all(s["fired_per_s_per_worker"] >= TARGETS["fired_per_s_per_worker"] for s in storms),
        "p99_lag_s": all(v["p99_lag_s"] <= TARGETS["p99_lag_s"] for k, v in f.items() if k.startswith("trickle_")),
        "growth_ratio": all(v["ratio"] <= TARGETS["growth_ratio"] for k, v in f.items() if k.startswith("growth_")),
    }


def print_table(f: dict[str, Any]) -> None:
    print(f"\nstorm: {f['n']} timers due at one moment, time to fire them all (worker processes, batches of {BATCH})")
    print(f"{'':22} {'timers':>8} {'seconds':>8} {'fired/s':>8} {'per worker/s':>13} {'shares':>14}")
    for key, s in f.items():
        if key.startswith("storm_"):
            label = key.removeprefix("storm_").replace("_baseline", " bare loop").replace("_", " ")
            per_worker = f"{s['fired_per_s_per_worker']:.0f}" if "workers" in s else ""
            shares = "/".join(map(str, s.get("shares", [])))
            print(f"{label:22} {s['timers']:>8} {s['seconds']:>8.2f} {s['fired_per_s']:>8.0f} {per_worker:>13} "
                  f"{shares:>14}")
    print("\ntrickle: timers due at a steady rate, 1 s sweep (simulated clock, real work)")
    print(f"{'':22} {'timers':>8} {'rate/s':>8} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    for key, t in f.items():
        if key.startswith("trickle_"):
            print(f"{key.removeprefix('trickle_'):22} {t['timers']:>8} {t['rate_per_s']:>8} {t['p50_lag_s']:>8.3f} "
                  f"{t['p99_lag_s']:>8.3f} {t['max_lag_s']:>8.3f}")
    print(f"\ngrowth: claiming one batch ({BATCH} due) with future timers in the table, median ms")
    print(f"{'':22} {'10k':>8} {'1M':>8} {'ratio':>8}   {'no index: 10k':>13} {'1M':>8} {'ratio':>8}")
    for key, g in f.items():
        if key.startswith("growth_"):
            print(f"{key.removeprefix('growth_'):22} {g['claim_ms_10000']:>8.2f} {g['claim_ms_1000000']:>8.2f} "
                  f"{g['ratio']:>8.2f}   {g['baseline_claim_ms_10000']:>13.2f} {g['baseline_claim_ms_1000000']:>8.2f} "
                  f"{g['baseline_ratio']:>8.2f}")
    if f["postgres_skipped"]:
        print(f"\nPostgreSQL skipped: {f['postgres_skipped']}")
    yes = {True: "met", False: "NOT met"}
    met = f["targets_met"]
    print(f"\ntargets: >= {TARGETS['fired_per_s_per_worker']:.0f} fired/s per worker: "
          f"{yes[met['fired_per_s_per_worker']]}; "
          f"p99 lag <= {TARGETS['p99_lag_s']} s: {yes[met['p99_lag_s']]}; "
          f"1M/10k claim time <= {TARGETS['growth_ratio']}: {yes[met['growth_ratio']]}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 storm timers and a 5 s trickle (under a minute)")
    parser.add_argument("--timers", type=int, help="storm size (default 100,000; 1,000 with --quick)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (its public schema is recreated)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minyi-bench-timers-") as workdir:
        figures = run(args, workdir)
    figures["wall_seconds"] = time.perf_counter() - began
    print_table(figures)
    print(f"\nwall time {figures['wall_seconds']:.0f} s on {os.cpu_count()} CPUs")
    if args.json:
        print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
