"""The submission limit's in-process counters: no thread started per hit, counters of a passed
window forgotten; and a configured storage (shared between workers) is the one used."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import time_machine
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api import create_app
from api.rate_limits import IN_PROCESS, PURGE_EVERY_SECONDS, InProcessCounters, limiter

LIMIT = parse("2 per minute")


def _counters() -> InProcessCounters:
    storage = storage_from_string(IN_PROCESS)
    storage.timer.join()  # the one timer MemoryStorage starts when created
    return storage


def test_a_hit_starts_no_thread():
    storage = _counters()
    threads, timer = threading.active_count(), storage.timer
    limits = FixedWindowRateLimiter(storage)
    assert [limits.hit(LIMIT, "10.0.0.1") for _ in range(3)] == [True, True, False]
    assert storage.timer is timer and threading.active_count() == threads


def test_the_counters_of_a_passed_window_are_forgotten():
    with time_machine.travel(datetime(2026, 12, 8, 9, 0, tzinfo=timezone.utc), tick=False) as clock:
        storage = _counters()
        limits = FixedWindowRateLimiter(storage)
        assert [limits.hit(LIMIT, "10.0.0.1") for _ in range(3)] == [True, True, False]
        clock.shift(timedelta(seconds=61))
        assert limits.hit(LIMIT, "10.0.0.1"), "a new window, a new allowance"
        clock.shift(timedelta(seconds=PURGE_EVERY_SECONDS + 1))
        limits.hit(LIMIT, "10.0.0.2")
        assert [key for key in storage.storage if "10.0.0.1" in key] == [], "an address not seen again is purged"


def test_the_configured_storage_is_the_one_used(database_url, db):
    for settings, storage_type in (({}, InProcessCounters), ({"RATELIMIT_STORAGE_URI": "memory://"}, MemoryStorage)):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True, **settings})
        app.extensions["minyi"].db.dispose()
        assert type(limiter.storage) is storage_type
