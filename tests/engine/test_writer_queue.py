"""The queue of SQLite writers: one turn at a time, across threads and processes."""

from __future__ import annotations

import multiprocessing
import queue
import threading

import pytest
from sqlalchemy import func, select

from engine import Database
from engine.db import utcnow
from engine.models import OutboxMessage
from engine.writer_queue import WriterQueue, writer_queue_for

fcntl = pytest.importorskip("fcntl", reason="the writer queue needs flock (POSIX)")


def _try_turn(path: str, results) -> None:
    with WriterQueue(path).turn() as held:
        results.put(held)


def _turn_in_forked_child(writers: WriterQueue, results) -> None:
    with writers.turn() as held:
        results.put(held)


def _record_turn(writers: WriterQueue, seen: queue.Queue[bool]) -> None:
    with writers.turn() as held:
        seen.put(held)


def _waits_until_released(holder: WriterQueue, waiter, results) -> None:
    """Start `waiter` while `holder` holds a turn: it must still wait when the turn is let go."""
    with holder.turn() as held:
        assert held
        waiter.start()
        waiter.join(1.5)  # long enough for a spawned process to start and reach the lock
        assert waiter.is_alive() and results.empty()
    waiter.join(60)
    assert results.get(timeout=5) is True


def test_another_process_waits_while_a_turn_is_held(tmp_path):
    path = str(tmp_path / "minyi.sqlite3")
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    _waits_until_released(WriterQueue(path), spawn.Process(target=_try_turn, args=(path, results)), results)


def test_a_forked_child_does_not_share_its_parents_turn(tmp_path):
    writers = WriterQueue(str(tmp_path / "minyi.sqlite3"))
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    _waits_until_released(writers, fork.Process(target=_turn_in_forked_child, args=(writers, results)), results)


def test_two_queues_of_one_file_in_one_process_wait_for_each_other(tmp_path):
    """As two processes do: they meet at the file lock."""
    path = str(tmp_path / "minyi.sqlite3")
    results: queue.Queue[bool] = queue.Queue()
    waiter = WriterQueue(path)
    _waits_until_released(WriterQueue(path), threading.Thread(target=_record_turn, args=(waiter, results)), results)


def test_threads_of_one_process_take_turns(tmp_path):
    writers = WriterQueue(str(tmp_path / "minyi.sqlite3"), timeout=0.05)
    seen: queue.Queue[bool] = queue.Queue()
    with writers.turn() as held:
        thread = threading.Thread(target=_record_turn, args=(writers, seen))
        thread.start()
        thread.join(10)
    assert held and seen.get_nowait() is False  # went ahead without a turn after its timeout
    with writers.turn() as again:
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
