"""A process start run ahead of its write transaction (`Engine.prepare_start`) is saved as it
ran; one that failed ahead, was run for other data, or on a version superseded since, is run
again by `start`."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import Incident, InstanceStatus, ProcessInstance

from tests.conftest import ENGINE_DATA


def instances(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance))


def prepare(db, engine, key: str, data: dict):
    with db.read() as session:
        return engine.prepare_start(session, key, data)


def result_of(db, engine, instance_id: int):
    with db.read() as session:
        workflow = engine.load_workflow(session, engine.get_instance(session, instance_id))
        return workflow.get_next_task(spec_name="show_result").data["result"]


def test_a_start_run_ahead_writes_nothing_and_is_saved_as_it_ran(deploy, step, engine, pending, db):
    deploy("four_tasks.bpmn")
    prepared = prepare(db, engine, "four_tasks", {"department": "D1"})
    assert instances(db) == 0
    instance = step(engine.start, "four_tasks", {"department": "D1"}, "alice", prepared=prepared)
    plain = step(engine.start, "four_tasks", {"department": "D1"}, "alice")
    assert instance.created_at == prepared.now and instance.state == prepared.outcome.state
    assert instance.status is plain.status is InstanceStatus.RUNNING
    assert set(pending(instance.id)) == set(pending(plain.id)) and pending(instance.id)


def test_a_start_that_failed_ahead_runs_again_and_records_the_failure(deploy, step, engine, db):
    deploy("script_error.bpmn")
    prepared = prepare(db, engine, "fragile", {"divisor": 0})
    assert prepared.outcome is None and "division by zero" in str(prepared.failure)
    instance = step(engine.start, "fragile", {"divisor": 0}, "alice", prepared=prepared)
    assert instance.status is InstanceStatus.ERROR
    with db.read() as session:
        [incident] = session.scalars(select(Incident).where(Incident.instance_id == instance.id))
    assert incident.action == "start" and "division by zero" in incident.message


def test_a_start_prepared_for_other_data_is_run_again(deploy, step, engine, db):
    deploy("script_error.bpmn")
    prepared = prepare(db, engine, "fragile", {"divisor": 4})
    instance = step(engine.start, "fragile", {"divisor": 5}, "alice", prepared=prepared)
    assert instance.status is InstanceStatus.RUNNING and result_of(db, engine, instance.id) == 20


def test_a_start_prepared_before_a_deploy_runs_again_on_the_new_version(deploy, step, engine, db):
    deploy("script_error.bpmn")
    prepared = prepare(db, engine, "fragile", {"divisor": 4})
    deploy(("script_error.bpmn", (ENGINE_DATA / "script_error.bpmn").read_bytes().replace(b"100 / divisor", b"1000 / divisor")))
    instance = step(engine.start, "fragile", {"divisor": 4}, "alice", prepared=prepared)
    assert instance.version_id != prepared.version_id and result_of(db, engine, instance.id) == 250
