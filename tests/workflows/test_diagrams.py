"""The shipped diagrams: complete diagram interchange, forms that exist, statuses in the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lxml import etree

from workflows.forms import FORMS
from workflows.scripts import ESCALATION_LEVELS
from workflows.statuses import PetitionStatus

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODES = [
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "manualTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
]
DIAGRAMS = sorted(BPMN_DIR.glob("*.bpmn"))
EXPECTED = {"petition.bpmn", "intake.bpmn", "triage.bpmn", "handling.bpmn", "supervision.bpmn", "feedback.bpmn"}


def parse(path: Path):
    return etree.parse(str(path))


def test_every_process_file_is_there():
    assert {p.name for p in DIAGRAMS} >= EXPECTED
    assert (BPMN_DIR / "deadlines.dmn").exists()


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_node_has_a_shape_and_every_flow_an_edge(path):
    tree = parse(path)
    drawn = {el.get("bpmnElement") for el in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {el.get("bpmnElement") for el in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id") for name in FLOW_NODES for el in tree.iterfind(f".//bpmn:{name}", NS)}
    flows = {el.get("id") for el in tree.iterfind(".//bpmn:sequenceFlow", NS)}
    assert nodes and nodes <= drawn, f"not drawn: {sorted(nodes - drawn)}"
    assert flows <= edges, f"no edge: {sorted(flows - edges)}"


def user_tasks():
    for path in DIAGRAMS:
        for task in parse(path).iterfind(".//bpmn:userTask", NS):
            props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", NS)}
            yield path.name, task.get("id"), props


@pytest.mark.parametrize("file,task_id,props", list(user_tasks()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_user_task_names_a_known_form(file, task_id, props):
    assert props.get("form") in FORMS, f"{file} {task_id}: form {props.get('form')!r}"


def script_calls(name: str) -> list[tuple[str, str]]:
    """Every literal first argument of `name(...)` in the diagrams' scripts, with its file."""
    found = []
    for path in DIAGRAMS:
        for script in parse(path).iterfind(".//bpmn:script", NS):
            for node in ast.walk(ast.parse(script.text or "")):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                    assert isinstance(node.args[0], ast.Constant), f"{path.name}: {name} with a computed argument"
                    found.append((path.name, node.args[0].value))
    return found


def test_every_status_the_diagrams_set_is_in_the_transition_table():
    statuses = script_calls("set_status")
    assert statuses, "the diagrams set no status at all"
    unknown = [(f, s) for f, s in statuses if s not in {m.value for m in PetitionStatus}]
    assert unknown == []
    assert {s for _, s in statuses} >= {"triage", "signing", "handling", "replied", "closed"}


def test_every_escalation_level_is_known():
    assert {level for _, level in script_calls("record_escalation")} == set(ESCALATION_LEVELS)
