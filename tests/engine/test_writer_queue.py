"""The queue of SQLite writers: one turn at a time, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import func, select

from engine import Database
from engine.db import utcnow
from engine.models import OutboxMessage
from engine.writer_queue import WriterQueue, writer_queue_for

fcntl = pytest.importorskip("fcntl", reason="the writer queue needs flock (POSIX)")


def _try_turn(path: str, results) -> None:
    with WriterQueue(path, timeout=0.05).turn() as held:
        results.put(held)


def _turn_in_forked_child(queue: WriterQueue, results) -> None:
    with queue.turn() as held:
        results.put(held)


def _record_turn(queue: WriterQueue, seen: list[bool]) -> None:
    with queue.turn() as held:
        seen.append(held)


def test_another_process_waits_while_a_turn_is_held(tmp_path):
    path = str(tmp_path / "minyi.sqlite3")
    results = multiprocessing.get_context("spawn").Queue()
    with WriterQueue(path).turn() as held:
        assert held
        child = multiprocessing.get_context("spawn").Process(target=_try_turn, args=(path, results))
        child.start()
        child.join(60)
        assert results.get(timeout=5) is False  # it went ahead only after its timeout
    child = multiprocessing.get_context("spawn").Process(target=_try_turn, args=(path, results))
    child.start()
    child.join(60)
    assert results.get(timeout=5) is True


def test_a_forked_child_does_not_share_its_parents_turn(tmp_path):
    queue = WriterQueue(str(tmp_path / "minyi.sqlite3"))
    queue.timeout = 0.05
    results = multiprocessing.get_context("fork").Queue()
    with queue.turn() as held:
        assert held
        child = multiprocessing.get_context("fork").Process(target=_turn_in_forked_child, args=(queue, results))
        child.start()
        child.join(60)
        assert results.get(timeout=5) is False
    assert child.exitcode == 0


def test_threads_of_one_process_take_turns(tmp_path):
    queue = WriterQueue(str(tmp_path / "minyi.sqlite3"), timeout=0.05)
    seen: list[bool] = []
    with queue.turn() as held:
        thread = threading.Thread(target=lambda: _record_turn(queue, seen))
        thread.start()
        thread.join(10)
    assert held and seen == [False]
    with queue.turn() as again:
        assert again


def test_every_write_of_concurrent_writers_lands(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path}/minyi.sqlite3")
    OutboxMessage.metadata.create_all(db.engine, tables=[OutboxMessage.__table__])
    def write_many() -> None:
        for _ in range(25):
            with db.write() as session:
                session.add(OutboxMessage(channel="log", recipient="r", subject="s", body="b", created_at=utcnow(),
                                          next_attempt_at=utcnow(), attempts=0))

    threads = [threading.Thread(target=write_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 100
    db.dispose()


def test_no_queue_without_a_database_file_or_where_its_lock_file_cannot_be_made(tmp_path):
    assert writer_queue_for(None) is None and writer_queue_for(":memory:") is None
    assert writer_queue_for(str(tmp_path / "missing-folder" / "minyi.sqlite3")) is None
    assert writer_queue_for(str(tmp_path / "minyi.sqlite3")) is not None
