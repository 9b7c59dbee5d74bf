"""Host functions called from scripts emit effects that step listeners receive after the save."""

from __future__ import annotations

import pytest

from engine import Definitions, Engine, InstanceStatus, ScriptError, ScriptRegistry
from engine.effects import emit
from tests.engine.bpmn_builder import script_process


def engine_with(db, script: str, **functions) -> Engine:
    """An engine whose scripts may call `functions`, with `script` deployed as process `notifying`."""
    registry = ScriptRegistry()
    for name, func in functions.items():
        registry.register(name, func)
    engine = Engine(Definitions(), registry)
    with db.write() as session:
        engine.definitions.deploy(session, [("notify.bpmn", script_process("notifying", script))])
    return engine


def test_effects_reach_listeners_in_the_step_transaction(step, db):
    engine = engine_with(db, 'notify("dispatcher", "new petition " + str(number))\nlater = number + 1',
                         notify=lambda who, text: emit("notify", who=who, text=text))
    reports = []
    engine.add_step_listener(lambda session, report: reports.append((report.action, report.effects)))
    step(engine.start, "notifying", {"number": 7}, "alice")
    [(action, effects)] = reports
    assert action == "start"
    assert [(e.name, e.values, e.task_spec) for e in effects] == [
        ("notify", {"who": "dispatcher", "text": "new petition 7"}, "run_script")
    ]
    assert effects[0].data["later"] == 8, "effects see the data the whole script left"


def test_failed_step_emits_nothing(step, db):
    engine = engine_with(db, 'notify("x")\nboom = 1 / 0', notify=lambda who: emit("notify", who=who))
    reports = []
    engine.add_step_listener(lambda session, report: reports.append(report))
    assert step(engine.start, "notifying", {}, "alice").status is InstanceStatus.ERROR
    assert reports == []


def test_emit_outside_a_step_is_refused():
    with pytest.raises(ScriptError):
        emit("notify")


def test_a_listener_registered_twice_is_refused(engine):
    from engine import DuplicateRegistration

    def listener(session, report):
        pass

    engine.add_step_listener(listener)
    with pytest.raises(DuplicateRegistration):
        engine.add_step_listener(listener)
