"""gunicorn's settings for `gunicorn wsgi:app`, read from this file when started in the project
folder (command-line flags override them).

Threaded workers: a worker keeps each client's connection open between requests and, while
one request waits (SQLite's single writer, a PostgreSQL lock or round trip), serves another.
With 2 workers and 8 clients of bench/api.py's mixed workload, 4 threads per worker served
about 60 % more requests per second than single-threaded workers, with half the p99 latency.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
threads = int(os.environ.get("MINYI_WEB_THREADS", "4"))
