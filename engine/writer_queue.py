"""The queue of SQLite writers: one turn at a time, handed over as soon as it is released.

SQLite lets one transaction write at a time. Left to itself, a writer that finds the database
locked sleeps in SQLite's busy handler for 1, 2, 5, ... up to 100 ms between tries, so under
load the lock is often free while every waiter sleeps: a few gunicorn workers then spend more
time waiting than writing. Writers of this database in every process first take a turn here:
a thread lock inside the process, then an exclusive `flock` on a file beside the database
across processes, polled every millisecond at most. The turn covers BEGIN IMMEDIATE to COMMIT.

The queue only speeds the hand-over; SQLite's own lock still guards the data. A writer that
waits longer than `timeout` goes ahead without its turn and meets SQLite's busy timeout, as
before; a process that dies in its turn releases it with its file descriptor.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # not on Windows: writers then rely on SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
FIRST_POLL = 0.0001
LONGEST_POLL = 0.001


class WriterQueue:
    def __init__(self, database_path: str, timeout: float = 30.0):
        self.lock_path = f"{database_path}.writers"
        self.timeout = timeout
        self._pid = os.getpid()
        self._in_process = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Wait for this writer's turn and hold it for the block; yields False when `timeout`
        passed first and the writer goes ahead without it."""
        deadline = time.monotonic() + self.timeout
        self._after_fork()
        if not self._in_process.acquire(timeout=self.timeout):
            yield self._late()
            return
        try:
            fd = self._file()
            held = self._lock(fd, deadline)
            try:
                yield held or self._late()
            finally:
                if held:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._in_process.release()

    def _late(self) -> bool:
        log.warning("no writer turn within %s s on %s: going ahead on SQLite's busy timeout", self.timeout, self.lock_path)
        return False

    def _after_fork(self) -> None:
        """A forked child (a gunicorn worker) queues on its own: a lock or a descriptor inherited
        from the parent would be the parent's (a descriptor shares the parent's flock)."""
        if self._pid != os.getpid():
            self._pid, self._in_process, self._fd = os.getpid(), threading.Lock(), None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @staticmethod
    def _lock(fd: int, deadline: float) -> bool:
        pause = FIRST_POLL
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_POLL)


def writer_queue_for(database_path: str | None) -> WriterQueue | None:
    """A queue for an SQLite database file; None for an in-memory one, where flock is missing
    or where the lock file cannot be made."""
    if fcntl is None or not database_path or database_path == ":memory:":
        return None
    queue = WriterQueue(os.path.abspath(database_path))
    try:
        queue._file()  # made now, so a folder where it cannot be is found before the first write
    except OSError as exc:  # a read-only folder, say: writing still works, unqueued
        log.warning("no writer queue for %s: %s", database_path, exc)
        return None
    return queue
