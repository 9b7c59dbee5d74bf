"""Benchmark: the HTTP API under a mixed workload, served by gunicorn (2 workers) on loopback.

The server runs as shipped (gunicorn.conf.py: threaded workers, 2 threads each, no
keep-alive); on SQLite it runs once more with single-threaded sync workers, the baseline of
that choice. Each client is a dispatcher of its own and repeats: submit a petition (as a
citizen), read its inbox, claim the oldest open triage task it can (all clients race for the
same oldest ones; when the others took every task on the page it reads the inbox again),
complete it (dispatch to a department). Figures: requests/s,
p50/p99 latency per request, errors (non-2xx other than the expected 409 of a lost claim), and
the CPU the gunicorn workers spent per request, and the whole machine's per round, which on
PostgreSQL counts its server too (Linux). Lost claims are cheap requests, so a
change that makes fewer claims lose lowers requests/s and raises CPU per request without
costing anything: rounds/s (petitions submitted and dispatched) and CPU per round compare
two versions where those mislead.

Baseline, in the same process: the same four operations called directly on the petition
domain (no HTTP, no serialization), one client, which shows what the web layer costs. Then
the CPU time each operation costs through the whole Flask app in this process (no sockets):
the budget a worker spends per request, which bounds requests/s on 2 cores; and the Python
function calls each one makes, a count that stays the same from run to run where times drift
with the machine, to compare two versions of the code.

Second part (PostgreSQL): the inbox and the staff petition list against a bulk-loaded table
of petitions and open tasks (1,000,000 / 200,000 in the full run): p95 latency.

Run from the project root: .venv/bin/python bench/api.py [--quick] [--json] [--postgres URL]
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import migrations  # noqa: E402
from engine import Database, HumanTask  # noqa: E402
from engine.connections import create_db_engine  # noqa: E402
from engine.db import utcnow  # noqa: E402
from engine.models import PENDING_TASK_STATUSES  # noqa: E402
from workflows.calendar import seed_from_library  # noqa: E402
from workflows.domain import create_domain  # noqa: E402
from workflows.models import Department  # noqa: E402
from workflows.petitions import Submission  # noqa: E402
from workflows.staff import Role, create_staff  # noqa: E402

DEFAULT_POSTGRES = os.environ.get("MINYI_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/minyi_bench")
PETITION = {"type": "complaint", "title": "路灯不亮", "body": "某某路路灯连续一周不亮，夜间出行不安全。", "contact_phone": "13800000000"}
INBOX = "/tasks?lane=dispatcher&status=open&page_size=5"  # the dispatcher's open triage tasks, oldest first
DISPATCH = {"decision": "dispatch", "department": "D01"}  # the triage form that completes one


def prepare(url: str, dispatchers: int = 1) -> dict[str, str]:
    """A fresh schema with reference data, the processes and staff; returns their tokens: a
    handler's and `dispatchers` dispatchers' ("dispatcher", "dispatcher_1", ...)."""
    sa = create_db_engine(url)
    migrations.recreate(sa)
    sa.dispose()
    db = Database.from_url(url)
    domain = create_domain(db)
    now = utcnow()
    with db.write() as session:
        session.add(Department(code="D01", name="市住房和城乡建设局", active=True))
        session.flush()
        seed_from_library(session, [now.year, now.year + 1], now)
        files = [(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").iterdir()) if p.suffix in (".bpmn", ".dmn")]
        domain.engine.definitions.deploy(session, files, actor="bench")
        tokens = {"handler": create_staff(session, "bench-handler", Role.HANDLER, "D01", now).token}
        for number in range(dispatchers):
            key = f"dispatcher_{number}" if number else "dispatcher"
            tokens[key] = create_staff(session, f"bench-{key}", Role.DISPATCHER, None, now).token
    db.dispose()
    return tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(url: str) -> dict[str, str]:
    return {"MINYI_DATABASE_URL": url, "MINYI_SCHEDULER_ENABLED": "false",
            "MINYI_SUBMISSION_RATE_LIMIT": "100000 per minute", "MINYI_SECRET_KEY": "bench"}


def start_server(url: str, port: int, *flags: str) -> subprocess.Popen:
    """gunicorn with 2 workers and the rest of gunicorn.conf.py (2 threads each), or `flags`."""
    env = {**os.environ, **server_env(url)}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", *flags, "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class Client:
    """One dispatcher's keep-alive HTTP connection, timing every request."""

    def __init__(self, port: int, dispatcher_token: str):
        self.dispatcher_token = dispatcher_token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)  # a worker may still be booting
        self.latencies: list[float] = []
        self.errors = 0
        self.conflicts = 0
        self.dispatched = 0

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        self.connection.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        self.latencies.append(time.perf_counter() - started)
        if response.status == 409:
            self.conflicts += 1
        elif response.status >= 400:
            self.errors += 1
        return response.status, json.loads(payload) if payload else None


def mixed_round(client: Client, inbox_reads: int = 50) -> None:
    """Submit a petition, then dispatch the oldest open triage task this client can claim:
    read the inbox and claim down it, and read it again when the others took every task on it
    (at most `inbox_reads` times). An error, or an empty inbox, ends the round undispatched."""
    client.call("POST", "/petitions", PETITION)
    for _ in range(inbox_reads):
        status, inbox = client.call("GET", INBOX, token=client.dispatcher_token)
        items = (inbox or {}).get("items", []) if status == 200 else []
        if not items:
            return
        for item in items:
            status, _ = client.call("POST", f"/tasks/{item['id']}/claim", token=client.dispatcher_token)
            if status == 200:
                status, _ = client.call("POST", f"/tasks/{item['id']}/complete", DISPATCH, token=client.dispatcher_token)
                client.dispatched += status == 200
                return
            if status != 409:  # not a lost race
                return


def run_clients(clients: list[Client], rounds: int) -> None:
    threads = [threading.Thread(target=lambda c=c: [mixed_round(c) for _ in range(rounds)]) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time the processes have used so far (Linux /proc; None elsewhere)."""
    try:
        fields = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids]
    except OSError:
        return None
    return sum(int(f[11]) + int(f[12]) for f in fields) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU time the whole machine has been busy so far, all cores, every process (Linux
    /proc/stat; None elsewhere): with the database server's share, which the workers' omits."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def children_of(pid: int) -> list[int]:
    """The gunicorn workers of a master process (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def run_http(url: str, clients: int, rounds: int, *flags: str) -> dict[str, Any]:
    tokens = prepare(url, dispatchers=clients)  # each client a dispatcher of its own, as staff are
    port = free_port()
    server = start_server(url, port, *flags)
    try:
        workers = [Client(port, token) for key, token in tokens.items() if key.startswith("dispatcher")]
        run_clients(workers, 1)  # untimed: both workers have booted and warmed up
        for client in workers:
            client.latencies.clear()
            client.errors = client.conflicts = client.dispatched = 0
        server_pids = children_of(server.pid)
        server_cpu, machine_cpu = cpu_seconds(server_pids), machine_busy_seconds()
        started, client_cpu = time.perf_counter(), time.process_time()
        run_clients(workers, rounds)
        elapsed, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
        server_cpu = None if server_cpu is None else cpu_seconds(server_pids) - server_cpu
        machine_cpu = None if machine_cpu is None else machine_busy_seconds() - machine_cpu
    finally:
        server.terminate()
        server.wait(60)  # graceful: workers finish what they are doing
    latencies = sorted(lat for c in workers for lat in c.latencies)
    cuts = quantiles(latencies, n=100)
    rounds_run = clients * rounds
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "rps": round(len(latencies) / elapsed, 1),
            # a round is one petition submitted, claimed and dispatched, however many claims it lost
            # on the way: unlike requests/s, this does not rise when more (cheap) claims lose; and
            # the dispatches, to show that every round made one
            "rounds_per_s": round(rounds_run / elapsed, 1),
            "dispatched_per_s": round(sum(c.dispatched for c in workers) / elapsed, 1),
            "p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2),
            "errors": sum(c.errors for c in workers), "lost_claims": sum(c.conflicts for c in workers),
            "client_cores": round(client_cpu / elapsed, 2),  # of the 2 cores, what the clients themselves used
            # what the gunicorn workers spent per request and per round, sockets included (in
            # process: cpu_ms_per_request)
            "worker_cpu_ms": None if server_cpu is None else round(server_cpu / len(latencies) * 1000, 2),
            "worker_cpu_ms_per_round": None if server_cpu is None else round(server_cpu / rounds_run * 1000, 2),
            # everything the machine did per round: workers, clients, the database server, the kernel
            "machine_cpu_ms_per_round": None if machine_cpu is None else round(machine_cpu / rounds_run * 1000, 2)}


def run_direct(url: str, rounds: int) -> dict[str, Any]:
    """The baseline: the same operations on the domain, no HTTP."""
    prepare(url)
    db = Database.from_url(url)
    domain = create_domain(db)
    latencies: list[float] = []

    def timed(call):
        started = time.perf_counter()
        result = call()
        latencies.append(time.perf_counter() - started)
        return result

    def submit():
        with db.write() as session:
            domain.petitions.submit(session, Submission(**PETITION))

    def inbox():
        with db.read() as session:
            return list(session.scalars(select(HumanTask).where(HumanTask.lane == "dispatcher", HumanTask.status.in_(PENDING_TASK_STATUSES))
                                        .order_by(HumanTask.created_at).limit(5)))

    def act(call):
        with db.write() as session:
            return call(session)

    def one_round():
        timed(submit)
        task = timed(inbox)[0]
        timed(lambda: act(lambda s: domain.engine.claim(s, task.id, "dispatcher")))
        timed(lambda: act(lambda s: domain.petitions.complete_task(s, task.id, DISPATCH, "dispatcher")))

    for _ in range(3):  # untimed: the processes, the calendar, the segmenter's dictionary load
        one_round()
    latencies.clear()
    started = time.perf_counter()
    for _ in range(rounds):
        one_round()
    elapsed = time.perf_counter() - started
    db.dispose()
    cuts = quantiles(latencies, n=100)
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


def per_operation(url: str, rounds: int, measure: Callable[[Callable[[], Any]], tuple[Any, float]]) -> dict[str, float]:
    """What each operation costs through the whole Flask app in this process (routing,
    authentication, schemas, domain, database driver), by `measure`: it runs the request and
    says what it cost, averaged here over `rounds` after five untimed rounds (they load the
    processes, the calendar and the models)."""
    tokens = prepare(url)
    os.environ.update(server_env(url))
    from api import create_app

    client = create_app().test_client()
    dispatcher = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    spent = {"submit": 0.0, "inbox": 0.0, "claim": 0.0, "complete": 0.0}

    def timed(name: str, call):
        response, cost = measure(call)
        spent[name] += cost
        if response.status_code >= 400:
            raise RuntimeError(f"{name}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        return response

    for round_no in range(rounds + 5):
        if round_no == 5:
            spent = dict.fromkeys(spent, 0.0)
        timed("submit", lambda: client.post("/api/v1/petitions", json=PETITION))
        inbox = timed("inbox", lambda: client.get("/api/v1" + INBOX, headers=dispatcher))
        task = inbox.get_json()["items"][0]["id"]
        timed("claim", lambda: client.post(f"/api/v1/tasks/{task}/claim", headers=dispatcher))
        timed("complete", lambda: client.post(f"/api/v1/tasks/{task}/complete", headers=dispatcher,
                                              json=DISPATCH))
    per_request = {name: total / rounds for name, total in spent.items()}
    return per_request | {"mean": sum(per_request.values()) / len(per_request)}


def cpu_time(call: Callable[[], Any]) -> tuple[Any, float]:
    """CPU milliseconds: what a request costs a worker, whatever else the machine is doing."""
    started = time.process_time()
    response = call()
    return response, (time.process_time() - started) * 1000


def python_calls(call: Callable[[], Any]) -> tuple[Any, float]:
    """Python function calls (cProfile's count): unlike time, the same on every run of the same
    code, so two versions compare on a machine whose speed drifts."""
    profile = cProfile.Profile()
    response = profile.runcall(call)
    return response, pstats.Stats(profile).total_calls


def run_cpu(url: str, rounds: int) -> dict[str, float]:
    return {name: round(value, 2) for name, value in per_operation(url, rounds, cpu_time).items()}


def run_calls(url: str, rounds: int) -> dict[str, float]:
    return {name: round(value) for name, value in per_operation(url, rounds, python_calls).items()}


def bulk_load(url: str, petitions: int, open_tasks: int) -> None:
    """Petitions and open tasks straight into PostgreSQL with generate_series (no engine)."""
    sa = create_db_engine(url)
    with sa.begin() as conn:
        conn.execute(text("""
            INSERT INTO process_instance (version_id, process_key, business_key, status, revision, state, created_at, updated_at)
            SELECT v.id, 'petition', 'BK' || g, 'running', 1, '{}', now(), now()
            FROM generate_series(1, :t) AS g,
                 (SELECT max(id) AS id FROM process_version WHERE process_key = 'petition') AS v"""), {"t": open_tasks})
        conn.execute(text("""
            INSERT INTO petition (tracking_no, access_token_hash, channel, type, urgency, title, body, department_code,
                status, public_status, reopen_count, extension_days, emergency, created_at, updated_at, due_at, instance_id)
            SELECT 'BK' || g, md5(g::text), 'web', (ARRAY['complaint','help','suggestion','consultation'])[g % 4 + 1],
                'normal', '批量工单 ' || g, '正文', 'D01',
                (ARRAY['handling','closed','signing','replied'])[g % 4 + 1],
                (ARRAY['in_progress','closed','in_progress','replied'])[g % 4 + 1], 0, 0, false,
                now() - (g % 365) * interval '1 day', now(), now() + ((g % 30) - 10) * interval '1 day',
                (SELECT id FROM process_instance WHERE business_key = 'BK' || g)
            FROM generate_series(1, :n) AS g"""), {"n": petitions})
        conn.execute(text("""
            INSERT INTO human_task (id, instance_id, process_key, task_spec, title, lane, form, department, status,
                due_at, created_at)
            SELECT md5('t' || i.id), i.id, 'petition', 'handle', '办理', 'handler', 'handle_form', 'D0' || (i.id % 9 + 1),
                'open', now() + ((i.id % 30) - 10) * interval '1 day', now() - (i.id % 60) * interval '1 day'
            FROM process_instance AS i WHERE i.business_key LIKE 'BK%'"""))
    # Steady state, as autovacuum leaves it: statistics and the visibility map (index-only scans).
    with sa.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    sa.dispose()


def run_queries(url: str, tokens: dict[str, str], samples: int) -> dict[str, Any]:
    """p95 of each list, after an untimed round: the first requests wait for a worker to boot
    and build its statements, which would otherwise be most of a quick run's p95."""
    queries = [
        ("inbox_handler", "/tasks?page_size=20", tokens["handler"]),
        ("inbox_overdue", "/tasks?overdue=true&page_size=20", tokens["handler"]),
        ("petitions_list", "/petitions?page_size=20", tokens["dispatcher"]),
        ("petitions_filtered", "/petitions?status=handling&department=D01&page_size=20", tokens["dispatcher"]),
    ]
    port = free_port()
    server = start_server(url, port)
    try:
        client = Client(port, tokens["dispatcher"])
        for _, path, token in queries * 10:  # untimed: workers boot and build each query's statements
            client.call("GET", path, token=token)
        client.errors = 0
        timings: dict[str, list[float]] = {}
        for name, path, token in queries:
            client.latencies = []
            for _ in range(samples):
                client.call("GET", path, token=token)
            timings[name] = client.latencies
    finally:
        server.terminate()
        server.wait(60)  # graceful: workers finish what they are doing
    return {name: round(quantiles(values, n=20)[18] * 1000, 2) for name, values in timings.items()} | {"errors": client.errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    clients, rounds = (4, 25) if args.quick else (8, 150)
    figures: dict[str, Any] = {"clients": clients, "rounds_per_client": rounds}
    with tempfile.TemporaryDirectory() as directory:
        figures["direct_sqlite"] = run_direct(f"sqlite:///{directory}/direct.sqlite3", rounds)
        figures["cpu_ms_per_request"] = run_cpu(f"sqlite:///{directory}/cpu.sqlite3", rounds)
        figures["python_calls_per_request"] = run_calls(f"sqlite:///{directory}/calls.sqlite3", min(rounds, 50))
        figures["http_sqlite"] = run_http(f"sqlite:///{directory}/http.sqlite3", clients, rounds)
        figures["http_sqlite_sync_workers"] = run_http(f"sqlite:///{directory}/sync.sqlite3", clients, rounds,
                                                       "--worker-class", "sync")
    try:
        create_db_engine(make_url(args.postgres).set(database="postgres"), isolation_level="AUTOCOMMIT").connect().close()
        pg_ok = True
    except Exception as exc:  # the PostgreSQL part is optional
        pg_ok, figures["postgres_skipped"] = False, str(exc).splitlines()[0]
    if pg_ok:
        sa = create_db_engine(make_url(args.postgres).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with sa.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": make_url(args.postgres).database}).first():
                conn.execute(text(f'CREATE DATABASE "{make_url(args.postgres).database}"'))
        sa.dispose()
        figures["http_postgresql"] = run_http(args.postgres, clients, rounds)
        petitions, tasks = (20_000, 4_000) if args.quick else (1_000_000, 200_000)
        tokens = prepare(args.postgres)
        bulk_load(args.postgres, petitions, tasks)
        figures["queries_postgresql"] = {"petitions": petitions, "open_tasks": tasks,
                                         **run_queries(args.postgres, tokens, 50 if args.quick else 200)}
    print(f"mixed workload (submit, inbox, claim, complete), {clients} clients x {rounds} rounds, "
          "gunicorn -w 2 (gthread, 2 threads: gunicorn.conf.py; baseline: single-threaded sync workers)")
    print(f"{'':24s} {'requests':>9s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'rounds/s':>9s}"
          f" {'dispatched/s':>13s} {'lost claims':>12s} {'client cores':>13s} {'worker CPU ms/req':>18s} {'/round':>7s} {'machine CPU ms/round':>21s}")
    for key in ("direct_sqlite", "http_sqlite_sync_workers", "http_sqlite", "http_postgresql"):
        if key in figures:
            f = figures[key]
            print(f"{key:24s} {f['requests']:9d} {f['rps']:8.1f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f} {f.get('errors', 0):7d}"
                  + (f" {f['rounds_per_s']:9.1f} {f['dispatched_per_s']:13.1f} {f['lost_claims']:12d} {f['client_cores']:13.2f}"
                     f" {f['worker_cpu_ms'] or '-':>18} {f['worker_cpu_ms_per_round'] or '-':>7}"
                     f" {f['machine_cpu_ms_per_round'] or '-':>21}" if "client_cores" in f else ""))
    cpu = figures["cpu_ms_per_request"]
    print("server CPU per request (whole Flask app in process, SQLite), ms: "
          + ", ".join(f"{name} {value}" for name, value in cpu.items()))
    print("Python function calls per request (the same, counted: steady from run to run): "
          + ", ".join(f"{name} {value:,}" for name, value in figures["python_calls_per_request"].items()))
    if "queries_postgresql" in figures:
        q = figures["queries_postgresql"]
        print(f"queries with {q['petitions']:,} petitions and {q['open_tasks']:,} open tasks (PostgreSQL), p95 ms: "
              + ", ".join(f"{k} {v}" for k, v in q.items() if k not in ("petitions", "open_tasks")))
    print("targets: >= 400 req/s mixed with p99 <= 100 ms; inbox p95 <= 20 ms at 1,000,000 petitions")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
