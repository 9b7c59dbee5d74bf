"""Running process instances: every step is lock → load → apply → run → save → project.

The caller owns the transaction (`Database.write()`); each public method here is one step
inside it. A step locks the instance row (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite
the write transaction already holds the database lock from `BEGIN IMMEDIATE`), and the row's
`revision` is compared-and-set on save, so of two conflicting steps exactly one lands and the
other gets a ConflictError.

A start may also run ahead, on a plain read (`prepare_start`): a new instance has nothing
another step could change meanwhile, so `start` saves that outcome as it is (unless a deploy
made another version the latest), and on SQLite the one writer is held only for the writes.

A task's completion may also run ahead, on a plain read (`prepare_completion`); its outcome is
saved under the lock only if the instance is still at the revision it ran on, and otherwise the
step runs again there. The revision moves with every change of the row, so an outcome is never
saved over a state it was not computed from.

All workflow execution happens before anything is written. When a script, condition or
expression fails, nothing of the step is written; instead the instance is marked `error`
with an incident that records the step, so `retry` can run it again once the cause is fixed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import audit, claims, projections, store
from .claims import TaskChange
from .db import utcnow
from .definitions import Definitions
from .errors import (
    DuplicateRegistration,
    EngineError,
    InstanceNotRunnable,
    InvalidData,
    NoMessageWaiting,
    TaskClaimedByOther,
    TaskNotOpen,
    UnknownInstance,
)
from .models import (
    ACTIVE_STATUSES,
    PENDING_TASK_STATUSES,
    HumanTask,
    Incident,
    InstanceStatus,
    MessageWait,
    ProcessInstance,
    TaskStatus,
)
from .scripting import ScriptRegistry, create_script_engine
from .serializer import StateSerializer
from .steps import Outcome, RetryPolicy, Step, StepListener, StepReport, describe_failure, run_step
from .warm import WarmWorkflow, WarmWorkflows

log = logging.getLogger(__name__)

MESSAGE_KEYS = frozenset({"business_key", "instance_id"})


@dataclass(frozen=True)
class PreparedStart:
    """A process start run ahead of its write transaction (`Engine.prepare_start`). A new
    instance has nothing another step could have changed meanwhile, so `start` saves the
    outcome as it is; a start that failed ahead runs again there, which records the failure."""

    process_key: str
    version_id: int
    data: dict[str, Any]
    now: datetime
    workflow: BpmnWorkflow
    outcome: Outcome | None  # None when the start failed, with
    failure: Exception | None = None


@dataclass(frozen=True)
class PreparedStep:
    """A task completion run ahead of its write transaction (`Engine.prepare_completion`): its
    outcome holds while the instance stays at `revision`, which every change of the row moves."""

    instance_id: int
    revision: int
    step: Step
    now: datetime
    workflow: BpmnWorkflow
    outcome: Outcome


class Engine:
    """A BPMN runtime over SpiffWorkflow that persists state-only instances with projections."""

    def __init__(
        self,
        definitions: Definitions,
        scripts: ScriptRegistry,
        *,
        clock: Callable[[], datetime] = utcnow,
        script_time_limit: float = 1.0,
        serializer: StateSerializer | None = None,
        timer_retry: RetryPolicy = RetryPolicy(),
        warm_workflows: int = 1024,
    ):
        self.definitions = definitions
        self.timer_retry = timer_retry
        self._warm = WarmWorkflows(warm_workflows)
        self._listeners: list[StepListener] = []
        self.serializer = serializer or StateSerializer()
        self.script_engine = create_script_engine(scripts, script_time_limit)
        self.clock = clock

    def add_step_listener(self, listener: StepListener) -> None:
        """Call `listener(session, report)` after every saved step, inside its transaction.

        Listeners keep host records (e.g. a domain row's status) in step with the process;
        an exception from one rolls the whole transaction back.
        """
        if listener in self._listeners:
            raise DuplicateRegistration("step listener", getattr(listener, "__name__", repr(listener)))
        self._listeners.append(listener)

    # -- steps -----------------------------------------------------------------------------

    def start(
        self,
        session: Session,
        process_key: str,
        data: Mapping[str, Any] | None = None,
        actor: str | None = None,
        *,
        business_key: str | None = None,
        version: int | None = None,
        prepared: PreparedStart | None = None,
    ) -> ProcessInstance:
        """Start the latest (or given) version of a process; with `prepared` (from
        `prepare_start` with the same process and data), save the outcome it ran ahead, unless
        another version is the latest by now (a deploy meanwhile). Raises UnknownProcess,
        InvalidData."""
        data = self._checked_data(data)
        if (prepared is None or prepared.outcome is None or (prepared.process_key, prepared.data) != (process_key, data)
                or prepared.version_id != self.definitions.version_id(session, process_key, version)):
            prepared = self._run_start(session, process_key, data, version)
        now, workflow, outcome = prepared.now, prepared.workflow, prepared.outcome
        instance = ProcessInstance(
            version_id=prepared.version_id,
            process_key=process_key,
            business_key=business_key,
            started_by=actor,
            created_at=now,
            updated_at=now,
        )
        step = Step("start", data=data)
        if outcome is None:  # stored as it was before the failing step, for `retry`
            instance.state = self.serializer.encode(self._new_workflow(session, instance.version_id, data))
            instance.status = InstanceStatus.ERROR
            store.insert_instance(session, instance)
            audit.record(session, instance, "started", now, actor, data=self.serializer.convert_data(data))
            return self._fail(session, instance, step, prepared.failure, actor, now)
        instance.state, instance.status = outcome.state, outcome.status
        instance.ended_at = now if outcome.status is InstanceStatus.COMPLETED else None
        store.insert_instance(session, instance)
        started = audit.event(instance, "started", now, actor, data=self.serializer.convert_data(data))
        self._project(session, instance, workflow, step, outcome, actor, now, [started])
        self._warm.put(instance.id, WarmWorkflow(outcome.state, workflow, outcome.after))
        return instance

    def prepare_start(
        self, session: Session, process_key: str, data: Mapping[str, Any] | None = None, *, version: int | None = None
    ) -> PreparedStart:
        """Run a start on a plain read, before its write transaction, so that on SQLite the one
        writer is held only while `start(prepared=...)` saves it. Nothing is written.
        Raises UnknownProcess, InvalidData."""
        return self._run_start(session, process_key, self._checked_data(data), version)

    def complete_task(
        self,
        session: Session,
        task_id: str,
        data: Mapping[str, Any] | None = None,
        actor: str | None = None,
        *,
        expected_revision: int | None = None,
        prepared: PreparedStep | None = None,
    ) -> ProcessInstance:
        """Complete a READY user task with form data; with `prepared` (from `prepare_completion`
        with the same task and data), save its outcome if the instance has not moved since.

        Raises UnknownTask, TaskNotOpen (completed or cancelled), TaskClaimedByOther,
        InstanceNotRunnable, StaleRevision, InvalidData.
        """
        data = self._checked_data(data)
        instance, row = store.lock_task_instance(session, task_id, expected_revision)
        if not store.is_sqlite(session):  # read again under the row lock (SQLite's BEGIN IMMEDIATE already was)
            row = store.task_row(session, task_id)
        _check_completable(task_id, row, instance, actor)
        step = Step("complete", task_id, data)
        if (prepared is not None and prepared.instance_id == instance.id and prepared.revision == instance.revision
                and prepared.step == step):
            return self._save(session, instance, prepared.workflow, step, prepared.outcome, actor, prepared.now)
        return self._step(session, instance, self._load_for_step(session, instance), step, actor, self.clock())

    def prepare_completion(
        self, session: Session, task_id: str, data: Mapping[str, Any] | None, actor: str | None
    ) -> PreparedStep | None:
        """Run a task's completion on a plain read of its instance, before the write transaction,
        so that on SQLite the one writer is held only while the outcome is saved.

        Nothing is written. None when it cannot run ahead (the task or instance is not open to
        `actor`, the data is refused, the step fails): `complete_task` then decides under the
        lock as it always does, and records a failure as an incident.
        """
        now = self.clock()
        try:
            data = self._checked_data(data)
            instance, row = store.task_instance(session, task_id)
            _check_completable(task_id, row, instance, actor)
        except EngineError:
            return None
        step = Step("complete", task_id, data)
        workflow, before = self._load_for_step(session, instance)
        try:
            outcome = run_step(self.serializer, workflow, before, step, now)
        except Exception:  # noqa: BLE001  (run again under the lock, which records the failure)
            return None
        return PreparedStep(instance.id, instance.revision, step, now, workflow, outcome)

    def fire_timer(self, session: Session, timer_id: int, actor: str | None = "scheduler") -> ProcessInstance | None:
        """Fire one due timer. Returns None when the timer is gone or its instance is not active.

        A failing step is tried again later with backoff (`timer_retry`); the last failed
        attempt becomes an incident.
        """
        now = self.clock()
        timer = store.timer_row(session, timer_id)
        if timer is None:
            return None
        instance = store.lock_instance(session, timer.instance_id)
        if not store.is_sqlite(session):  # read again under the row lock
            timer = store.timer_row(session, timer_id)
        if timer is None or instance.status not in ACTIVE_STATUSES or timer.due_at >= now:
            return None  # gone, not runnable, or not due yet (SpiffWorkflow fires strictly after)
        loaded = self._load_for_step(session, instance)
        step = Step("timer", timer.task_id)

        def on_failure(exc: Exception) -> ProcessInstance:
            attempts = timer.attempts + 1
            if attempts >= self.timer_retry.max_attempts:
                return self._fail(session, instance, step, exc, actor, now)
            message, task_spec = describe_failure(exc)
            run_at = now + self.timer_retry.delay(attempts)
            store.reschedule_timer(session, timer_id, attempts, message, run_at)
            log.warning("timer %s of instance %s failed (attempt %s): %s", timer_id, instance.id, attempts, message)
            audit.record(session, instance, "timer_failed", now, actor, task_id=timer.task_id, task_spec=task_spec,
                         data={"attempt": attempts, "error": message, "next_try": run_at.isoformat()})
            return instance

        return self._step(session, instance, loaded, step, actor, now, on_failure)

    def correlate_message(
        self,
        session: Session,
        name: str,
        keys: Mapping[str, Any],
        payload: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> list[ProcessInstance]:
        """Deliver a message to every active instance waiting for it that matches `keys`.

        `keys` narrows by `business_key` and/or `instance_id`. Raises NoMessageWaiting,
        InvalidData.
        """
        unknown = set(keys) - MESSAGE_KEYS
        if unknown or not keys:
            raise InvalidData({"keys": [f"correlate by {sorted(MESSAGE_KEYS)}; got {sorted(keys)}"]})
        payload = self._checked_data(payload)
        query = select(MessageWait).where(MessageWait.message_name == name)
        if "business_key" in keys:
            query = query.where(MessageWait.business_key == str(keys["business_key"]))
        if "instance_id" in keys:
            query = query.where(MessageWait.instance_id == int(keys["instance_id"]))
        waits = list(session.scalars(query.order_by(MessageWait.instance_id)))
        delivered = []
        for wait in waits:
            now = self.clock()
            instance = store.lock_instance(session, wait.instance_id)
            if instance.status not in ACTIVE_STATUSES:
                continue
            step = Step("message", wait.task_id, payload)
            delivered.append(self._step(session, instance, self._load_for_step(session, instance), step, actor, now))
        if not delivered:
            raise NoMessageWaiting(name, dict(keys))
        return delivered

    def retry(
        self, session: Session, instance_id: int, actor: str | None = None, data: Mapping[str, Any] | None = None
    ) -> ProcessInstance:
        """Run the failed step of an instance in `error` again; `data` corrects the data of every task it runs.

        Raises UnknownInstance, InstanceNotRunnable (not in error), InvalidData.
        """
        now = self.clock()
        patch = self._checked_data(data)
        instance = store.lock_instance(session, instance_id)
        incident = store.open_incident(session, instance_id)
        if instance.status is not InstanceStatus.ERROR or incident is None:
            raise InstanceNotRunnable(instance_id, instance.status.value, "retry")
        incident.resolved_at, incident.resolved_by = now, actor
        failed = incident.details or {}
        step = Step(failed["action"], failed.get("task_id"), self.serializer.restore_data(failed.get("data", {})), patch)
        audit.record(session, instance, "retried", now, actor, data={"incident": incident.id, "patch": patch})
        return self._step(session, instance, self._load_for_step(session, instance), step, actor, now)

    def terminate(self, session: Session, instance_id: int, actor: str | None, reason: str) -> ProcessInstance:
        """Stop an active or failed instance for good; pending tasks are cancelled."""
        now = self.clock()
        instance = store.lock_instance(session, instance_id)
        if instance.status not in (*ACTIVE_STATUSES, InstanceStatus.ERROR):
            raise InstanceNotRunnable(instance_id, instance.status.value, "terminate")
        cancelled = projections.clear(session, instance_id, now, actor)
        for incident in session.scalars(select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))):
            incident.resolved_at, incident.resolved_by = now, actor
        instance.status, instance.updated_at, instance.ended_at = InstanceStatus.TERMINATED, now, now
        session.flush()
        audit.record(session, instance, "terminated", now, actor, data={"reason": reason, "cancelled_tasks": cancelled})
        return instance

    def claim(self, session: Session, task_id: str, actor: str) -> TaskChange:
        return claims.claim(session, task_id, actor, self.clock())

    @staticmethod
    def refuse_lost_claim(task: HumanTask, actor: str) -> None:
        claims.refuse_lost_claim(task, actor)

    def unclaim(self, session: Session, task_id: str, actor: str, *, force: bool = False) -> TaskChange:
        return claims.unclaim(session, task_id, actor, self.clock(), force=force)

    def assign(self, session: Session, task_id: str, assignee: str, actor: str) -> TaskChange:
        return claims.assign(session, task_id, assignee, actor, self.clock())

    # -- queries ---------------------------------------------------------------------------

    def get_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise UnknownInstance(instance_id)
        return instance

    def revision_of(self, session: Session, instance_id: int) -> int:
        """An instance's revision (what If-Match sends back), without loading its state."""
        return store.revision_of(session, instance_id)

    def load_workflow(self, session: Session, instance: ProcessInstance) -> BpmnWorkflow:
        """The live workflow of an instance, for inspection (nothing is saved)."""
        return self._load(session, instance)

    # -- internals -------------------------------------------------------------------------

    def _step(
        self,
        session: Session,
        instance: ProcessInstance,
        loaded: tuple[BpmnWorkflow, projections.Snapshot],
        step: Step,
        actor: str | None,
        now: datetime,
        on_failure: Callable[[Exception], ProcessInstance] | None = None,
    ) -> ProcessInstance:
        """Run a step on a loaded, locked instance and persist it; a failing run goes to `on_failure`."""
        workflow, before = loaded
        try:
            outcome = run_step(self.serializer, workflow, before, step, now)
        except TaskNotOpen:  # the caller's mistake, not the process's
            raise
        except Exception as exc:  # scripts and SpiffWorkflow may raise anything
            if on_failure is not None:
                return on_failure(exc)
            return self._fail(session, instance, step, exc, actor, now)
        return self._save(session, instance, workflow, step, outcome, actor, now)

    def _save(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, step: Step,
              outcome: Outcome, actor: str | None, now: datetime) -> ProcessInstance:
        """Persist a step's outcome on the locked instance (state, projections, events, listeners)
        and keep its workflow warm for the next step."""
        store.save_state(session, instance, outcome.state, outcome.status, now)
        self._project(session, instance, workflow, step, outcome, actor, now)
        self._warm.put(instance.id, WarmWorkflow(outcome.state, workflow, outcome.after))
        return instance

    def _project(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        step: Step,
        outcome: Outcome,
        actor: str | None,
        now: datetime,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """Write the step's projection changes, tell the step listeners, and write the step's
        audit events with those the listeners added."""
        created = projections.write_changes(session, instance, outcome.plan, now, actor)
        step_data = self.serializer.convert_data(step.data) or None
        events = [*(events or []), *audit.step_events(instance, step, step_data, outcome, created, actor, now)]
        if self._listeners:
            report = StepReport(instance, workflow, step.action, step.task_id, step.data, actor, now, outcome.effects,
                                created, events)
            for listener in self._listeners:
                listener(session, report)
        audit.write(session, events)

    def _fail(self, session: Session, instance: ProcessInstance, step: Step, exc: Exception, actor, now) -> ProcessInstance:
        """Leave the state as it was before the step; mark the instance failed with an incident."""
        message, task_spec = describe_failure(exc)
        log.warning("process instance %s failed during %s: %s", instance.id, step.action, message)
        session.add(
            Incident(
                instance_id=instance.id,
                action=step.action,
                task_spec=task_spec,
                message=message,
                details=self.serializer.convert_data(step.as_dict()),
                created_at=now,
            )
        )
        instance.status, instance.updated_at = InstanceStatus.ERROR, now
        store.flush(session, instance)
        audit.record(session, instance, "failed", now, actor, task_spec=task_spec,
                     data={"action": step.action, "error": message})
        return instance

    def _run_start(self, session: Session, process_key: str, data: dict[str, Any], version: int | None) -> PreparedStart:
        now = self.clock()
        version_id = self.definitions.version_id(session, process_key, version)
        workflow = self._new_workflow(session, version_id, data)
        try:
            outcome = run_step(self.serializer, workflow, projections.take_snapshot(workflow), Step("start", data=data), now)
        except Exception as exc:  # scripts and SpiffWorkflow may raise anything
            return PreparedStart(process_key, version_id, data, now, workflow, None, exc)
        return PreparedStart(process_key, version_id, data, now, workflow, outcome)

    def _new_workflow(self, session: Session, version_id: int, data: Mapping[str, Any]) -> BpmnWorkflow:
        specs = self.definitions.specs(session, version_id)
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return workflow

    def _load_for_step(self, session: Session, instance: ProcessInstance) -> tuple[BpmnWorkflow, projections.Snapshot]:
        """The instance's live workflow and its snapshot: warm from the last step, or deserialized."""
        warm = self._warm.take(instance.id, instance.state)
        if warm is not None:
            return warm.workflow, warm.snapshot
        workflow = self._load(session, instance)
        return workflow, projections.take_snapshot(workflow)

    def _load(self, session: Session, instance: ProcessInstance) -> BpmnWorkflow:
        specs = self.definitions.specs(session, instance.version_id)
        workflow = self.serializer.decode(instance.state, specs.spec, specs.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    def _checked_data(self, data: Mapping[str, Any] | None) -> dict[str, Any]:
        """Task data must be a JSON object of values the serializer can store."""
        if data is None:
            return {}
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise InvalidData({"data": ["must be an object with string keys"]})
        try:
            json.dumps(self.serializer.convert_data(dict(data)))
        except (TypeError, ValueError) as exc:
            raise InvalidData({"data": [f"cannot be stored: {exc}"]}) from None
        return dict(data)


def _check_completable(task_id: str, row, instance: ProcessInstance, actor: str | None) -> None:
    """Raises TaskNotOpen, TaskClaimedByOther, InstanceNotRunnable."""
    if row.status not in PENDING_TASK_STATUSES:
        raise TaskNotOpen(task_id, row.status.value)
    if row.status is TaskStatus.CLAIMED and actor is not None and row.claimed_by != actor:
        raise TaskClaimedByOther(task_id, row.claimed_by or "")
    _require_active(instance, "complete a task of")


def _require_active(instance: ProcessInstance, action: str) -> None:
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotRunnable(instance.id, instance.status.value, action)
