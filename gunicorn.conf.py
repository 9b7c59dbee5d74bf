"""gunicorn's settings for `gunicorn wsgi:app`, read from this file when started in the project
folder (command-line flags override them).

Threaded workers: while one request waits (SQLite's single writer, a PostgreSQL lock or round
trip), the worker serves another. Connections are not kept alive: a kept-alive connection stays
with the worker that accepted it, so a few busy clients (or a proxy's pooled connections) load
one worker, whose threads share one core, while the other idles. Measured with bench/api.py's
mixed workload (2 workers, 8 clients, on a quiet machine), against single-threaded sync
workers: on PostgreSQL 130 against 92 requests/s (three runs each). With keep-alive, the
threaded workers fell back to 92 on PostgreSQL.

Two threads: a worker's threads share one interpreter lock, and since submissions and
completions run their steps before taking SQLite's writer, more threads mostly contend for it.
Alternated runs on SQLite, 2 threads against 4: 400-436 against 289-424 requests/s, all five
pairs won, p99 42-49 against 50-71 ms, and less CPU per petition; on PostgreSQL 263-283 against
258-260. Three threads won one of three rounds against two.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
threads = int(os.environ.get("MINYI_WEB_THREADS", "2"))
keepalive = 0
