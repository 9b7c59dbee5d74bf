"""`run_engine_tasks` runs exactly what SpiffWorkflow's `do_engine_steps` runs, in the same order."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import ScriptRegistry
from engine.scripting import create_script_engine
from engine.steps import run_engine_tasks
from tests.conftest import ENGINE_DATA

CASES = [  # process, its files, start data, data for each user task
    ("parallel_review", ["parallel.bpmn"], {}, {}),
    ("parent_process", ["call_activity.bpmn", "called.bpmn"], {}, {}),
    ("escalating", ["escalation.bpmn"], {}, {"attempt": {"ok": False}}),
    ("review_loop", ["lanes_loop.bpmn"], {"department": "D01"}, {"review": {"approved": True}}),
    ("decide", ["decision.bpmn", "risk.dmn"], {}, {"enter_amount": {"amount": 5000}}),
]


def _workflow(process: str, files: list[str]) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    for name in files:
        (parser.add_dmn_file if name.endswith(".dmn") else parser.add_bpmn_file)(str(ENGINE_DATA / name))
    engine = create_script_engine(ScriptRegistry())
    return BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process), script_engine=engine)


def _run(process: str, files: list[str], start: dict, answers: dict, ours: bool) -> list[list[str]]:
    """Every engine pass's tasks in the order they ran, completing user tasks oldest first."""
    workflow, passes = _workflow(process, files), []
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(start)
    while True:
        ran: list[str] = []
        record = lambda task: ran.append(task.task_spec.name)  # noqa: E731
        if ours:
            run_engine_tasks(workflow, record)
        else:
            workflow.do_engine_steps(will_complete_task=record)
        passes.append(ran)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            return passes
        ready[0].data.update(answers.get(ready[0].task_spec.bpmn_id, {}))
        ready[0].run()


@pytest.mark.parametrize("process, files, start, answers", CASES, ids=[case[0] for case in CASES])
def test_the_same_tasks_run_in_the_same_order(process, files, start, answers):
    assert _run(process, files, start, answers, ours=True) == _run(process, files, start, answers, ours=False)
