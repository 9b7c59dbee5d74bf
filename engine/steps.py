"""One step of a workflow, computed in memory: what it does, what it produced, what it reports.

Nothing here touches the database: `run_step` applies a step to a live workflow and returns
the state to store and the projection changes to write, or raises whatever the process
raised. `runtime.Engine` frames it with locking, saving and projecting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow
from SpiffWorkflow.util.task import TaskState

from . import effects, projections
from .spiff_clock import step_time
from .effects import Effect
from .errors import TaskNotOpen
from .models import InstanceStatus, ProcessInstance
from .serializer import StateSerializer


@dataclass(frozen=True)
class Step:
    """What a step does, as recorded on an incident so that `retry` can run it again."""

    action: str  # start | complete | timer | message
    task_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    patch: dict[str, Any] = field(default_factory=dict)  # on retry: merged into every task the step runs

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "task_id": self.task_id, "data": self.data}


@dataclass(frozen=True)
class Outcome:
    """What running a step produced: the state to store and the projection changes to write."""

    plan: projections.Plan
    state: str
    status: InstanceStatus
    thrown: list[dict[str, Any]]
    after: projections.Snapshot
    effects: list[Effect]


@dataclass(frozen=True)
class StepReport:
    """What a saved step did, as handed to the host's step listeners."""

    instance: ProcessInstance
    workflow: BpmnWorkflow
    action: str  # start | complete | timer | message
    task_id: str | None
    data: dict[str, Any]
    actor: str | None
    at: datetime
    effects: list[Effect]
    created_tasks: list[dict[str, Any]]
    # The step's audit events (`engine.audit.event` rows), written after the listeners: one
    # may add its own, which then cost no INSERT of their own.
    events: list[dict[str, Any]]


StepListener = Callable[[Session, StepReport], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing timer step is tried again before it becomes an incident."""

    max_attempts: int = 3
    base_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0

    def delay(self, attempt: int) -> timedelta:
        """Wait before the try after `attempt` failed ones: base, base·factor, base·factor², …"""
        return self.base_delay * (self.factor ** (attempt - 1))


def run_step(
    serializer: StateSerializer, workflow: BpmnWorkflow, before: projections.Snapshot, step: Step, now: datetime
) -> Outcome:
    """Everything a step at `now` computes, before anything is written. May raise anything.

    Timers are judged by `now`, the engine's clock, not by the wall clock."""
    with effects.collecting() as emitted, step_time(now):
        apply_step(workflow, step)
        run_engine_tasks(workflow, _before_task(step.patch))
        after = projections.take_snapshot(workflow)
        completed = step.task_id if step.action == "complete" else None
        plan = projections.plan_changes(workflow, before, after, completed)
    return Outcome(
        plan=plan,
        state=serializer.encode(workflow),
        status=status_of(workflow, after),
        thrown=[
            serializer.convert_data({"name": e.event_definition.name, "payload": e.payload})
            for e in workflow.get_events()
        ],
        after=after,
        effects=list(emitted),
    )


def apply_step(workflow: BpmnWorkflow, step: Step) -> None:
    """Do what the step is about, before the engine runs on. Raises TaskNotOpen."""
    if step.action == "start":
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(step.data, **step.patch)
    elif step.action == "complete":
        task = ready_task(workflow, step.task_id)
        task.data.update(step.data, **step.patch)
        effects.running_task(task)
        task.run()
    elif step.action == "timer":
        workflow.refresh_timers()
    elif step.action == "message":
        task = workflow.get_task_from_id(UUID(step.task_id))
        if task is None or not task.has_state(TaskState.WAITING):
            raise TaskNotOpen(step.task_id, "not waiting")
        workflow.send_event(BpmnEvent(task.task_spec.event_definition, step.data))
    else:
        raise ValueError(f"unknown step action {step.action!r}")


def run_engine_tasks(workflow: BpmnWorkflow, before_task: Callable[[Task], None]) -> None:
    """`BpmnWorkflow.do_engine_steps`, mostly without its task tree walks.

    SpiffWorkflow finds the READY engine tasks to run by walking a task tree: each subprocess's,
    then the top one's, pass after pass until a pass runs nothing. A process is mostly a chain,
    so a walk finds one task or none, and the walks are a good part of a step. Here the READY
    tasks are found in the flat task maps instead, and a tree is walked only when more than one
    could run, as their order is the walk's.
    """
    while _engine_pass(workflow, before_task):
        pass
    workflow.refresh_timers()


def _engine_pass(workflow: BpmnWorkflow, before_task: Callable[[Task], None]) -> bool:
    """One pass of SpiffWorkflow's `_do_engine_steps`: whether it ran anything or started a subprocess."""
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda sp: sp.depth, reverse=True):
        while _run_ready(workflow, subprocess, before_task):
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    ran = _run_ready(workflow, workflow, before_task)
    return ran > 0 or len(workflow.get_active_subprocesses()) > len(active)


def _run_ready(workflow: BpmnWorkflow, flow: Workflow, before_task: Callable[[Task], None]) -> int:
    """Run the READY engine tasks a walk of `flow`'s tree would find, in its order; how many ran.

    Reads `Task._state`, not the `state` property: this scans every task of the workflow several
    times per step, and the property call was a third of the scan."""
    ready = [
        task
        for tasks in (workflow.tasks, *(sp.tasks for sp in workflow.subprocesses.values()))
        for task in tasks.values()
        if task._state == TaskState.READY and not task.task_spec.manual and _walk_reaches(workflow, flow, task)
    ]
    if len(ready) > 1:
        ready = [task for task in flow.get_tasks(state=TaskState.READY) if not task.task_spec.manual]
    for task in ready:
        before_task(task)
        task.run()
    return len(ready)


def _walk_reaches(workflow: BpmnWorkflow, flow: Workflow, task: Task) -> bool:
    """Whether SpiffWorkflow's walk for READY tasks from `flow`'s root visits `task`.

    The walk goes down into the children of definite and finished tasks (not of predicted
    ones) and into the subprocess a task holds; so up from `task`, every task must be one of
    those until `flow`'s root.
    """
    while task is not flow.task_tree:
        parent = task.parent
        if parent is None:  # the root of a subprocess: go on from the task holding it
            if task.workflow is workflow:
                return False
            parent = workflow.get_task_from_id(task.workflow.parent_task_id)
        elif parent.state < TaskState.FUTURE and parent.id not in workflow.subprocesses:
            return False
        task = parent
    return True


def ready_task(workflow: BpmnWorkflow, task_id: str) -> Task:
    """The READY user task with this id. Raises TaskNotOpen."""
    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
        raise TaskNotOpen(task_id, "not ready")
    return task


def _before_task(patch: dict[str, Any]) -> Callable[[Any], None]:
    """A do_engine_steps callback: names the running task for effects, applies a retry's corrections."""

    def before(task: Any) -> None:
        effects.running_task(task)
        if patch:
            task.data.update(patch)

    return before


def status_of(workflow: BpmnWorkflow, snapshot: projections.Snapshot) -> InstanceStatus:
    if workflow.is_completed():
        return InstanceStatus.COMPLETED
    return InstanceStatus.RUNNING if snapshot.ready else InstanceStatus.WAITING


def describe_failure(exc: Exception) -> tuple[str, str | None]:
    task_spec = getattr(exc, "task_spec", None)
    spec_id = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", None)
    inner = getattr(exc, "exception", None)
    message = str(exc)
    if inner is not None and str(inner) not in message:
        message = f"{message}: {inner}"
    notes = getattr(exc, "__notes__", None)
    if notes:
        message = "; ".join([message, *notes])
    return message[:4000], spec_id
