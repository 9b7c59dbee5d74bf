"""Deploying definitions: versioning by content, and refusing bad or hostile files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import DefinitionError, ProcessVersion, UnknownProcess
from engine.models import DefinitionFile
from tests.conftest import ENGINE_DATA

LANES = (ENGINE_DATA / "lanes_loop.bpmn").read_bytes()


def versions(db) -> dict[str, list[int]]:
    with db.read() as session:
        rows = session.execute(select(ProcessVersion.process_key, ProcessVersion.version).order_by(ProcessVersion.version))
        result: dict[str, list[int]] = {}
        for key, version in rows:
            result.setdefault(key, []).append(version)
        return result


def test_identical_content_is_a_no_op_and_a_change_makes_a_new_version(deploy, db):
    first = deploy("lanes_loop.bpmn")
    assert [(d.process_key, d.version, d.created) for d in first] == [("review_loop", 1, True)]
    again = deploy("lanes_loop.bpmn")
    assert [(d.version, d.created) for d in again] == [(1, False)]
    changed = LANES.replace(b'name="Review request"', b'name="Review the request"')
    assert changed != LANES
    assert [(d.version, d.created) for d in deploy(("lanes_loop.bpmn", changed))] == [(2, True)]
    assert versions(db) == {"review_loop": [1, 2]}


def test_running_instances_keep_their_version(deploy, step, engine, pending, db):
    deploy("lanes_loop.bpmn")
    old = step(engine.start, "review_loop", {"department": "D01"}, "alice")
    changed = LANES.replace(b'name="Review request"', b'name="Review (v2)"')
    deploy(("lanes_loop.bpmn", changed))
    new = step(engine.start, "review_loop", {"department": "D01"}, "alice")
    with db.read() as session:
        assert [session.get(ProcessVersion, i.version_id).version for i in (old, new)] == [1, 2]
    step(engine.complete_task, pending(old.id)["submit"].id, {}, "alice")
    step(engine.complete_task, pending(new.id)["submit"].id, {}, "alice")
    assert pending(old.id)["review"].title == "Review request"
    assert pending(new.id)["review"].title == "Review (v2)"


def test_changing_a_called_process_makes_a_new_version_of_the_caller(deploy, db):
    deploy("call_activity.bpmn", "called.bpmn")
    assert versions(db) == {"parent_process": [1], "child_process": [1]}
    called = (ENGINE_DATA / "called.bpmn").read_bytes().replace(b"value + 10", b"value + 20")
    deploy(("call_activity.bpmn", (ENGINE_DATA / "call_activity.bpmn").read_bytes()), ("called.bpmn", called))
    assert versions(db) == {"parent_process": [1, 2], "child_process": [1, 2]}


def test_missing_called_process_is_resolved_from_earlier_deployments(deploy, step, engine, pending, db):
    deploy("called.bpmn")
    deploy("call_activity.bpmn")
    instance = step(engine.start, "parent_process", {}, "alice")
    assert set(pending(instance.id)) == {"child_task"}


def test_unknown_process_is_refused(step, engine, db):
    with pytest.raises(UnknownProcess):
        step(engine.start, "nope", {}, "alice")


BAD_FILES = {
    "malformed": (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><oops>", "not well-formed"),
    "not bpmn": (b"<html/>", "neither BPMN"),
    "xsd violation": (
        LANES.replace(b"<bpmn:startEvent id=", b"<bpmn:startEvent bogus=\"1\" id="),
        "bogus",
    ),
    "entity bomb": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><bpmn:definitions '
        b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>',
        "DOCTYPE",
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>',
        "DOCTYPE",
    ),
    "utf-16 doctype": (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'.encode("utf-16"),
        "DOCTYPE",
    ),
    "50 MB": (b"<bpmn:definitions>" + b" " * (50 * 1024 * 1024) + b"</bpmn:definitions>", "limit"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_definitions_are_refused_and_nothing_is_deployed(deploy, db, case):
    content, expected = BAD_FILES[case]
    with pytest.raises(DefinitionError) as caught:
        deploy(("good.bpmn", (ENGINE_DATA / "parallel.bpmn").read_bytes()), ("bad.bpmn", content))
    problems = caught.value.problems
    assert problems and all(p.file == "bad.bpmn" for p in problems)
    assert expected in str(caught.value)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0
        assert session.scalar(select(func.count()).select_from(DefinitionFile)) == 0


def test_validation_error_names_file_line_and_element(deploy):
    broken = LANES.replace(b'<bpmn:userTask id="review"', b'<bpmn:userTask foo="bar" id="review"', 1)
    assert broken != LANES
    with pytest.raises(DefinitionError) as caught:
        deploy(("review.bpmn", broken))
    problem = caught.value.problems[0]
    assert problem.file == "review.bpmn" and problem.line and problem.element_id == "review"


def test_dangling_reference_is_refused(deploy):
    with pytest.raises(DefinitionError) as caught:
        deploy("call_activity.bpmn")
    assert "child_process" in str(caught.value)


def test_a_changed_decision_table_alone_versions_the_processes_that_use_it(deploy, step, engine, pending, db):
    deploy("decision.bpmn", "risk.dmn")
    stricter = (ENGINE_DATA / "risk.dmn").read_bytes().replace(b"1000", b"100")
    assert stricter != (ENGINE_DATA / "risk.dmn").read_bytes()
    assert [(d.process_key, d.version) for d in deploy(("risk.dmn", stricter))] == [("decide", 2)]
    instance = step(engine.start, "decide", {}, "alice")
    step(engine.complete_task, pending(instance.id)["enter_amount"].id, {"amount": 500}, "alice")
    assert "approve_high" in pending(instance.id), "the new version uses the new threshold"


def test_unrelated_files_alone_are_refused(deploy):
    with pytest.raises(DefinitionError) as caught:
        deploy("risk.dmn")
    assert "no deployed process is built from these files" in str(caught.value)


def test_a_process_id_longer_than_a_key_is_refused(deploy):
    from tests.engine.bpmn_builder import script_process

    long_id = "p" * 300
    with pytest.raises(DefinitionError) as caught:
        deploy(("long.bpmn", script_process(long_id, "x = 1")))
    assert "longer than 255" in str(caught.value)
