"""Stored state: custom types round-trip, and state stored by an earlier release still loads."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from SpiffWorkflow.util.task import TaskState

from engine import Engine, ScriptRegistry
from engine.serializer import CURRENT_FORMAT, FORMAT_KEY, MIGRATIONS, StateSerializer
from tests.conftest import ENGINE_DATA


def test_decimal_date_and_datetime_survive_a_step(deploy, step, engine, pending, db):
    deploy("four_tasks.bpmn")
    values = {"amount": Decimal("12.50"), "day": date(2026, 10, 1), "at": datetime(2026, 10, 1, 8, tzinfo=timezone.utc)}
    instance = step(engine.start, "four_tasks", {"department": "D01", **values}, "alice")
    step(engine.complete_task, pending(instance.id)["task_1"].id, {"paid": Decimal("0.10")}, "alice")
    fresh = Engine(engine.definitions, ScriptRegistry(), warm_workflows=0)  # deserializes from the row
    with db.read() as session:
        workflow = fresh.load_workflow(session, fresh.get_instance(session, instance.id))
    data = workflow.get_next_task(state=TaskState.READY, manual=True).data
    assert {k: data[k] for k in values} == values and data["paid"] == Decimal("0.10")
    assert isinstance(data["amount"], Decimal) and type(data["day"]) is date


def test_unstorable_data_is_refused_before_the_step(deploy, step, engine):
    import pytest

    from engine import InvalidData

    deploy("four_tasks.bpmn")
    with pytest.raises(InvalidData):
        step(engine.start, "four_tasks", {"department": "D01", "blob": object()}, "alice")


def test_state_stored_in_format_1_still_loads():
    """A state saved by the first release (format 1) loads through the migration chain."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    stored = json.loads((ENGINE_DATA / "state_format1_four_tasks.json").read_text())
    assert stored[FORMAT_KEY] == 1 and set(MIGRATIONS) == set(range(1, CURRENT_FORMAT))
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ENGINE_DATA / "four_tasks.bpmn"))
    workflow = StateSerializer().from_state(stored, parser.get_spec("four_tasks"), parser.get_subprocess_specs("four_tasks"))
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in ready] == ["task_1"] and ready[0].data["department"] == "D01"
    ready[0].run()
    workflow.do_engine_steps()
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["task_2"]


def _stock_encoding(workflow, types: dict) -> dict:
    """The state as SpiffWorkflow's own task converter writes it (our workflow converter and
    data types kept: the first leaves the specs out)."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    from engine.serializer import _StateOnlyWorkflowConverter

    registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: _StateOnlyWorkflowConverter})
    for cls, (to_dict, from_dict) in types.items():
        registry.register(cls, to_dict, from_dict)
    serializer = BpmnWorkflowSerializer(registry)
    return json.loads(json.dumps(registry.convert(workflow), cls=serializer._encoder_cls))


def test_task_encoding_is_spiffworkflows_and_round_trips(deploy, step, engine, pending, db):
    """Tasks are written by a leaner converter of our own: it must write what SpiffWorkflow's
    does, for a call activity's subprocess too, and read it back to the same state."""
    deploy("call_activity.bpmn", "called.bpmn")
    instance = step(engine.start, "parent_process", {"department": "D01", "day": date(2026, 10, 1)}, "alice")
    step(engine.complete_task, pending(instance.id)["child_task"].id, {"answer": Decimal("1.5")}, "alice")
    fresh = Engine(engine.definitions, ScriptRegistry(), warm_workflows=0)
    with db.read() as session:
        stored = fresh.get_instance(session, instance.id)
        workflow = fresh.load_workflow(session, stored)
        specs = fresh.definitions.specs(session, stored.version_id)
    serializer = StateSerializer()
    ours = json.loads(serializer.encode(workflow))
    assert ours["subprocesses"] and len(ours["tasks"]) > 5
    assert {k: v for k, v in ours.items() if k not in ("serializer_version", FORMAT_KEY)} == _stock_encoding(workflow, serializer._types)
    again = serializer.decode(json.dumps(ours), specs.spec, specs.subprocess_specs)
    assert json.loads(serializer.encode(again)) == ours
