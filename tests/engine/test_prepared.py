"""Completions run ahead of their write transaction (`Engine.prepare_completion`): saved as
they ran while the instance stands still, run again under the lock once it has moved."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from engine import Definitions, Engine, InstanceStatus, ScriptRegistry

START = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


@pytest.fixture
def engine(scripts: ScriptRegistry) -> Engine:
    """Each reading of the clock is a second later, so the time a step was saved with says
    which run of it was saved."""
    ticks = count()
    return Engine(Definitions(), scripts, clock=lambda: START + timedelta(seconds=next(ticks)))


@pytest.fixture
def prepare(db, engine):
    def _prepare(task_id: str, data: dict, actor: str = "alice"):
        with db.read() as session:
            return engine.prepare_completion(session, task_id, data, actor)

    return _prepare


def _events(audit_log, instance_id: int) -> list[tuple[str, dict | None]]:
    return [(event.kind, event.data) for event in audit_log(instance_id)]


def test_a_prepared_completion_is_saved_as_it_ran(deploy, step, engine, pending, prepare, audit_log):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    task = pending(instance.id)["task_1"]
    prepared = prepare(task.id, {"note": "ok"})
    assert prepared is not None and prepared.revision == instance.revision
    saved = step(engine.complete_task, task.id, {"note": "ok"}, "alice", prepared=prepared)
    assert saved.updated_at == prepared.now, "saved from the run ahead, not run again"
    assert saved.revision == instance.revision + 1 and list(pending(instance.id)) == ["task_2"]
    assert ("task_completed", {"note": "ok"}) in _events(audit_log, instance.id)


def test_a_prepared_completion_is_run_again_once_the_instance_moved_on(deploy, step, engine, pending, prepare):
    """Finance completes between legal's run ahead and its save: saving that run would lose
    finance's completion and leave the join waiting for ever."""
    deploy("parallel.bpmn")
    instance = step(engine.start, "parallel_review", {}, "alice")
    tasks = pending(instance.id)
    prepared = prepare(tasks["legal_check"].id, {"legal_ok": True})
    step(engine.complete_task, tasks["finance_check"].id, {"finance_ok": True}, "bob")
    saved = step(engine.complete_task, tasks["legal_check"].id, {"legal_ok": True}, "alice", prepared=prepared)
    assert saved.updated_at != prepared.now
    assert saved.status is InstanceStatus.COMPLETED and pending(instance.id) == {}


def test_a_completion_prepared_with_other_data_is_not_saved(deploy, step, engine, pending, prepare, audit_log):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    task = pending(instance.id)["task_1"]
    prepared = prepare(task.id, {"note": "draft"})
    saved = step(engine.complete_task, task.id, {"note": "final"}, "alice", prepared=prepared)
    assert saved.updated_at != prepared.now
    events = _events(audit_log, instance.id)
    assert ("task_completed", {"note": "final"}) in events and ("task_completed", {"note": "draft"}) not in events


def test_nothing_is_prepared_for_a_task_the_actor_cannot_complete(deploy, step, engine, pending, prepare):
    deploy("four_tasks.bpmn")
    instance = step(engine.start, "four_tasks", {"department": "D01"}, "alice")
    task = pending(instance.id)["task_1"]
    step(engine.claim, task.id, "bob")
    assert prepare(task.id, {}, "alice") is None, "claimed by someone else"
    assert prepare("no-such-task", {}) is None
    step(engine.complete_task, task.id, {}, "bob")
    assert prepare(task.id, {}, "bob") is None, "completed already"
