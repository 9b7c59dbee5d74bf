"""Claims, releases and assignments: each returns the task as it left it and the revision of
its instance (what If-Match sends back), records one audit event when it changed something,
and none when it did not."""

from __future__ import annotations

import pytest

from engine import TaskStatus


@pytest.fixture
def started(deploy, step, engine, pending):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    return instance, pending(instance.id)["task_1"]


def _kinds(audit_log, instance_id: int) -> list[str]:
    return [event.kind for event in audit_log(instance_id)]


def _revision(db, engine, instance_id: int) -> int:
    with db.read() as session:
        return engine.revision_of(session, instance_id)


def test_each_change_returns_the_task_as_changed_and_the_revision(started, step, engine, db, audit_log):
    instance, task = started
    revision = _revision(db, engine, instance.id)
    claimed = step(engine.claim, task.id, "bob")
    assert (claimed.task.status, claimed.task.claimed_by, claimed.revision) == (TaskStatus.CLAIMED, "bob", revision)
    released = step(engine.unclaim, task.id, "bob")
    assert (released.task.status, released.task.claimed_by, released.revision) == (TaskStatus.OPEN, None, revision)
    assigned = step(engine.assign, task.id, "carol", "supervisor")
    assert (assigned.task.assignee, assigned.task.claimed_by, assigned.revision) == ("carol", "carol", revision)
    assert _kinds(audit_log, instance.id)[-3:] == ["task_claimed", "task_unclaimed", "task_assigned"]


def test_claiming_ones_own_task_or_releasing_an_open_one_changes_nothing(started, step, engine, db, audit_log):
    instance, task = started
    revision = _revision(db, engine, instance.id)
    step(engine.claim, task.id, "bob")
    before = _kinds(audit_log, instance.id)
    again = step(engine.claim, task.id, "bob")
    assert (again.task.status, again.task.claimed_by, again.revision) == (TaskStatus.CLAIMED, "bob", revision)
    step(engine.unclaim, task.id, "bob")
    released_again = step(engine.unclaim, task.id, "bob")
    assert (released_again.task.status, released_again.revision) == (TaskStatus.OPEN, revision)
    assert _kinds(audit_log, instance.id) == [*before, "task_unclaimed"]


def test_a_change_after_a_step_returns_the_revision_the_step_left(started, step, engine, db, pending):
    instance, task = started
    step(engine.complete_task, task.id, {}, "alice")
    following = pending(instance.id)["task_2"]
    claimed = step(engine.claim, following.id, "bob")
    assert claimed.revision == _revision(db, engine, instance.id) > instance.revision
