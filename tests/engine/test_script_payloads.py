"""Every sandbox payload, run as a BPMN script task of a real instance: the step fails with a
script error, the instance is left in `error` with an incident, and the engine carries on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Definitions, Engine, Incident, InstanceStatus, ScriptRegistry
from tests.engine.bpmn_builder import script_process
from tests.engine.sandbox_payloads import PAYLOADS

XML_SAFE = {name: script for name, (script, _) in PAYLOADS.items() if "\0" not in script}


@pytest.fixture(scope="module")
def catalogue_size():
    assert len(XML_SAFE) >= 20
    return len(XML_SAFE)


@pytest.mark.parametrize("script", XML_SAFE.values(), ids=XML_SAFE.keys())
def test_payload_fails_the_step_and_leaves_the_instance_in_error(db, step, script, catalogue_size):
    engine = Engine(Definitions(), ScriptRegistry(), script_time_limit=0.2)
    with db.write() as session:
        engine.definitions.deploy(session, [("payload.bpmn", script_process("payload", script)),
                                            ("fine.bpmn", script_process("fine", "x = 1 + 1"))])
    instance = step(engine.start, "payload", {}, "designer")
    assert instance.status is InstanceStatus.ERROR
    with db.read() as session:
        incident = session.scalars(select(Incident).where(Incident.instance_id == instance.id)).one()
    assert incident.task_spec == "run_script" and "ScriptError" in incident.message
    assert step(engine.start, "fine", {}, "designer").status is InstanceStatus.RUNNING
