"""Claims, releases and assignments: each returns the task as it left it and the revision of
its instance (what If-Match sends back), records one audit event when it changed something,
and none when it did not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import InstanceEvent, TaskStatus


@pytest.fixture
def started(deploy, step, engine, pending):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    return instance, pending(instance.id)["task_1"]


def _events(db, instance_id: int) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(InstanceEvent.kind).where(InstanceEvent.instance_id == instance_id)
                                    .order_by(InstanceEvent.id)))


def _revision(db, engine, instance_id: int) -> int:
    with db.read() as session:
        return engine.revision_of(session, instance_id)


def test_each_change_returns_the_task_as_changed_and_the_revision(started, step, engine, db):
    instance, task = started
    revision = _revision(db, engine, instance.id)
    claimed = step(engine.claim, task.id, "bob")
    assert (claimed.task.status, claimed.task.claimed_by, claimed.revision) == (TaskStatus.CLAIMED, "bob", revision)
    released = step(engine.unclaim, task.id, "bob")
    assert (released.task.status, released.task.claimed_by, released.revision) == (TaskStatus.OPEN, None, revision)
    assigned = step(engine.assign, task.id, "carol", "supervisor")
    assert (assigned.task.assignee, assigned.task.claimed_by, assigned.revision) == ("carol", "carol", revision)
    assert _events(db, instance.id)[-3:] == ["task_claimed", "task_unclaimed", "task_assigned"]


def test_claiming_ones_own_task_or_releasing_an_open_one_changes_nothing(started, step, engine, db):
    instance, task = started
    revision = _revision(db, engine, instance.id)
    step(engine.claim, task.id, "bob")
    before = _events(db, instance.id)
    again = step(engine.claim, task.id, "bob")
    assert (again.task.status, again.task.claimed_by, again.revision) == (TaskStatus.CLAIMED, "bob", revision)
    step(engine.unclaim, task.id, "bob")
    released_again = step(engine.unclaim, task.id, "bob")
    assert (released_again.task.status, released_again.revision) == (TaskStatus.OPEN, revision)
    assert _events(db, instance.id) == [*before, "task_unclaimed"]


def test_a_change_after_a_step_returns_the_revision_the_step_left(started, step, engine, db, pending):
    instance, task = started
    step(engine.complete_task, task.id, {}, "alice")
    following = pending(instance.id)["task_2"]
    claimed = step(engine.claim, following.id, "bob")
    assert claimed.revision == _revision(db, engine, instance.id) > instance.revision
