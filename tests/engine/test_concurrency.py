"""Conflicting steps: exactly one lands, the others get a typed conflict."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine import ConflictError, InstanceEvent, StaleRevision, TaskClaimedByOther, TaskNotOpen

import pytest


def run_concurrently(count: int, action):
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = action(index)
        except Exception as exc:  # collected and asserted on below
            outcomes[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


@pytest.fixture
def first_task(deploy, step, engine, pending):
    """A started `four_tasks` instance and its open first task."""
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    return instance, pending(instance.id)["task_1"]


def test_eight_threads_completing_the_same_task(first_task, engine, pending, db):
    instance, task = first_task

    def complete(index: int):
        with db.write() as session:
            return engine.complete_task(session, task.id, {"by": index}, f"user{index}").revision

    outcomes = run_concurrently(8, complete)
    wins = [o for o in outcomes if isinstance(o, int)]
    conflicts = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(wins) == 1 and len(conflicts) == 7, outcomes
    assert all(isinstance(c, TaskNotOpen) for c in conflicts)
    assert set(pending(instance.id)) == {"task_2"}
    with db.read() as session:
        completions = session.scalar(
            select(func.count()).where(InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "task_completed")
        )
        assert completions == 1
        assert engine.get_instance(session, instance.id).revision == wins[0]


def test_eight_threads_claiming_the_same_task(first_task, engine, pending, db):
    instance, task = first_task

    def claim(index: int):
        with db.write() as session:
            return engine.claim(session, task.id, f"user{index}").task.claimed_by

    outcomes = run_concurrently(8, claim)
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1
    assert all(isinstance(o, TaskClaimedByOther) for o in outcomes if not isinstance(o, str))
    assert pending(instance.id)["task_1"].claimed_by == winners[0]


def test_claimed_task_cannot_be_completed_by_someone_else(first_task, step, engine, pending):
    instance, task = first_task
    step(engine.claim, task.id, "bob")
    with pytest.raises(TaskClaimedByOther):
        step(engine.complete_task, task.id, {}, "carol")
    step(engine.unclaim, task.id, "bob")
    step(engine.assign, task.id, "carol", "supervisor")
    assert pending(instance.id)["task_1"].assignee == "carol"
    step(engine.complete_task, task.id, {}, "carol")
    with pytest.raises(TaskNotOpen):
        step(engine.claim, task.id, "bob")


def test_stale_revision_is_a_conflict(deploy, step, engine, pending):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    with pytest.raises(StaleRevision):
        step(engine.complete_task, pending(instance.id)["task_1"].id, {}, "alice", expected_revision=instance.revision - 1)
    step(engine.complete_task, pending(instance.id)["task_1"].id, {}, "alice", expected_revision=instance.revision)
