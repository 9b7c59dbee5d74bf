"""Rate limits: citizens' submissions are limited per client address.

Counts are kept per process by default (`InProcessCounters`), so each gunicorn worker allows the
limit on its own; `RATELIMIT_STORAGE_URI` (e.g. `redis://host:6379`, with the `redis` package)
shares them between workers and machines.
"""

from __future__ import annotations

import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

IN_PROCESS = "minyi-memory://"
PURGE_EVERY_SECONDS = 60.0

limiter = Limiter(key_func=get_remote_address, default_limits=[])  # storage: RATELIMIT_STORAGE_URI


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    _check_decorated_views_only(app)


def _check_decorated_views_only(app: Flask) -> None:
    """Drop Flask-Limiter's app-wide before-request check unless default or application-wide
    limits are configured: it only applies those, and resolving them on every request costs
    tens of microseconds for nothing. A decorated view checks its own limits when called."""
    if not app.config.get("RATELIMIT_DEFAULT") and not app.config.get("RATELIMIT_APPLICATION"):
        app.before_request_funcs[None].remove(limiter._check_request_limit)


class InProcessCounters(MemoryStorage):
    """limits' in-process storage, without a thread started at nearly every hit.

    `MemoryStorage` expires counters from a 10 ms `threading.Timer`, started again at a hit
    whenever the last one has run: a worker whose submissions come further apart than that
    started a thread for each (about 0.5 ms of CPU a hit, and a wait for the interpreter lock
    before the request could go on). Served on SQLite, alternated pairs without them and with:
    on a slow day of the machine 45-47 petitions dispatched a second against 42-44 (three of
    three won), on a faster one 48-52 against 48-51 (two of three). A counter is expired when
    read (as `MemoryStorage` does anyway), and the counters of addresses not seen again are
    purged at a hit once a minute.
    """

    STORAGE_SCHEME = [IN_PROCESS.removesuffix("://")]

    _purged_at = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # what MemoryStorage calls at every hit
        now = time.time()
        if now - self._purged_at >= PURGE_EVERY_SECONDS:
            self._purged_at = now
            try:
                self._MemoryStorage__expire_events()
            except KeyError:
                # A counter another request's read expired while the purge went through them
                # (in limits' own timer thread too): the rest waits for the next purge.
                pass
