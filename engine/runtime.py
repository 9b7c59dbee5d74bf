"""Running process instances: every step is lock → load → apply → run → save → project.

The caller owns the transaction (`Database.write()`); each public method here is one step
inside it. A step locks the instance row (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite
the write transaction already holds the database lock from `BEGIN IMMEDIATE`), and the row's
`revision` is compared-and-set on save, so of two conflicting steps exactly one lands and the
other gets a ConflictError.

All workflow execution happens before anything is written. When a script, condition or
expression fails, nothing of the step is written; instead the instance is marked `error`
with an incident that records the step, so `retry` can run it again once the cause is fixed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import audit, claims, effects, projections
from .effects import Effect
from .db import utcnow
from .definitions import Definitions
from .errors import (
    DuplicateRegistration,
    InstanceNotRunnable,
    InvalidData,
    NoMessageWaiting,
    StaleRevision,
    TaskClaimedByOther,
    TaskNotOpen,
    UnknownInstance,
    UnknownTask,
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
    Timer,
)
from .scripting import ScriptRegistry, create_script_engine
from .serializer import StateSerializer
from .warm import WarmWorkflow, WarmWorkflows

log = logging.getLogger(__name__)

MESSAGE_KEYS = frozenset({"business_key", "instance_id"})

# Built once: on the hot path, building a statement costs more than executing it.
_INSTANCES = ProcessInstance.__table__
_SAVE_INSTANCE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.revision == bindparam("expected"))
    .values({c: bindparam(c) for c in ("state", "status", "updated_at", "ended_at", "revision")})
)
_SELECT_INSTANCE = select(ProcessInstance).where(ProcessInstance.id == bindparam("iid"))
_LOCK_INSTANCE = _SELECT_INSTANCE.with_for_update(of=ProcessInstance)
_TASKS, _TIMERS = HumanTask.__table__, Timer.__table__
_SELECT_TIMER = select(_TIMERS.c.instance_id, _TIMERS.c.task_id, _TIMERS.c.due_at, _TIMERS.c.attempts).where(
    _TIMERS.c.id == bindparam("tid")
)
_RESCHEDULE_TIMER = (
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("tid"))
    .values(attempts=bindparam("attempts"), last_error=bindparam("last_error"), run_at=bindparam("run_at"),
            lock_owner=None, lock_expires_at=None)
)
_SELECT_TASK = select(_TASKS.c.instance_id, _TASKS.c.status, _TASKS.c.claimed_by).where(_TASKS.c.id == bindparam("tid"))


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
    ) -> ProcessInstance:
        """Start the latest (or given) version of a process. Raises UnknownProcess, InvalidData."""
        now = self.clock()
        data = self._checked_data(data)
        process = self.definitions.get_version(session, process_key, version)
        instance = ProcessInstance(
            version_id=process.id,
            process_key=process_key,
            business_key=business_key,
            started_by=actor,
            created_at=now,
            updated_at=now,
        )
        step = Step("start", data=data)
        workflow = self._new_workflow(session, instance, data)
        try:
            outcome = self._run(workflow, projections.take_snapshot(workflow), step)
        except Exception as exc:  # stored as it was before the failing step, for `retry`
            instance.state = self._encode(self._new_workflow(session, instance, data))
            instance.status = InstanceStatus.ERROR
            session.add(instance)
            session.flush()
            audit.record(session, instance, "started", now, actor, data=self.serializer.convert_data(data))
            return self._fail(session, instance, step, exc, actor, now)
        instance.state, instance.status = outcome.state, outcome.status
        instance.ended_at = now if outcome.status is InstanceStatus.COMPLETED else None
        session.add(instance)
        session.flush()
        started = audit.event(instance, "started", now, actor, data=self.serializer.convert_data(data))
        self._project(session, instance, workflow, step, outcome, actor, now, [started])
        self._warm.put(instance.id, WarmWorkflow(outcome.state, workflow, outcome.after))
        return instance

    def complete_task(
        self,
        session: Session,
        task_id: str,
        data: Mapping[str, Any] | None = None,
        actor: str | None = None,
        *,
        expected_revision: int | None = None,
    ) -> ProcessInstance:
        """Complete a READY user task with form data.

        Raises UnknownTask, TaskNotOpen (completed or cancelled), TaskClaimedByOther,
        InstanceNotRunnable, StaleRevision, InvalidData.
        """
        now = self.clock()
        data = self._checked_data(data)
        row = self._task_row(session, task_id)
        instance = self._lock(session, row.instance_id, expected_revision)
        if not _is_sqlite(session):  # read again under the row lock (SQLite's BEGIN IMMEDIATE already was)
            row = self._task_row(session, task_id)
        if row.status not in PENDING_TASK_STATUSES:
            raise TaskNotOpen(task_id, row.status.value)
        if row.status is TaskStatus.CLAIMED and actor is not None and row.claimed_by != actor:
            raise TaskClaimedByOther(task_id, row.claimed_by or "")
        self._require_active(instance, "complete a task of")
        return self._step(session, instance, self._load_for_step(session, instance), Step("complete", task_id, data), actor, now)

    def fire_timer(self, session: Session, timer_id: int, actor: str | None = "scheduler") -> ProcessInstance | None:
        """Fire one due timer. Returns None when the timer is gone or its instance is not active.

        A failing step is tried again later with backoff (`timer_retry`); the last failed
        attempt becomes an incident.
        """
        now = self.clock()
        timer = session.execute(_SELECT_TIMER, {"tid": timer_id}).first()
        if timer is None:
            return None
        instance = self._lock(session, timer.instance_id)
        if not _is_sqlite(session):  # read again under the row lock
            timer = session.execute(_SELECT_TIMER, {"tid": timer_id}).first()
        if timer is None or instance.status not in ACTIVE_STATUSES or timer.due_at >= now:
            return None  # gone, not runnable, or not due yet (SpiffWorkflow fires strictly after)
        loaded = self._load_for_step(session, instance)
        step = Step("timer", timer.task_id)

        def on_failure(exc: Exception) -> ProcessInstance:
            attempts = timer.attempts + 1
            if attempts >= self.timer_retry.max_attempts:
                return self._fail(session, instance, step, exc, actor, now)
            message, task_spec = _describe_failure(exc)
            run_at = now + self.timer_retry.delay(attempts)
            session.execute(_RESCHEDULE_TIMER, {"tid": timer_id, "attempts": attempts, "last_error": message, "run_at": run_at})
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
            instance = self._lock(session, wait.instance_id)
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
        instance = self._lock(session, instance_id)
        incident = self._open_incident(session, instance_id)
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
        instance = self._lock(session, instance_id)
        if instance.status not in (*ACTIVE_STATUSES, InstanceStatus.ERROR):
            raise InstanceNotRunnable(instance_id, instance.status.value, "terminate")
        cancelled = projections.clear(session, instance_id, now, actor)
        for incident in session.scalars(select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))):
            incident.resolved_at, incident.resolved_by = now, actor
        instance.status, instance.updated_at, instance.ended_at = InstanceStatus.TERMINATED, now, now
        session.flush()
        audit.record(session, instance, "terminated", now, actor, data={"reason": reason, "cancelled_tasks": cancelled})
        return instance

    def claim(self, session: Session, task_id: str, actor: str) -> HumanTask:
        return claims.claim(session, task_id, actor, self.clock())

    def unclaim(self, session: Session, task_id: str, actor: str, *, force: bool = False) -> HumanTask:
        return claims.unclaim(session, task_id, actor, self.clock(), force=force)

    def assign(self, session: Session, task_id: str, assignee: str, actor: str) -> HumanTask:
        return claims.assign(session, task_id, assignee, actor, self.clock())

    # -- queries ---------------------------------------------------------------------------

    def get_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise UnknownInstance(instance_id)
        return instance

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
            outcome = self._run(workflow, before, step)
        except TaskNotOpen:  # the caller's mistake, not the process's
            raise
        except Exception as exc:  # scripts and SpiffWorkflow may raise anything
            if on_failure is not None:
                return on_failure(exc)
            return self._fail(session, instance, step, exc, actor, now)
        self._save(session, instance, outcome, now)
        self._project(session, instance, workflow, step, outcome, actor, now)
        self._warm.put(instance.id, WarmWorkflow(outcome.state, workflow, outcome.after))
        return instance

    def _run(self, workflow: BpmnWorkflow, before: projections.Snapshot, step: Step) -> Outcome:
        """Everything a step computes, before anything is written. May raise anything."""
        with effects.collecting() as emitted:
            self._apply(workflow, step)
            workflow.do_engine_steps(will_complete_task=_before_task(step.patch))
            after = projections.take_snapshot(workflow)
            completed = step.task_id if step.action == "complete" else None
            plan = projections.plan_changes(workflow, before, after, completed)
        return Outcome(
            plan=plan,
            state=self._encode(workflow),
            status=_status_of(workflow, after),
            thrown=[
                self.serializer.convert_data({"name": e.event_definition.name, "payload": e.payload})
                for e in workflow.get_events()
            ],
            after=after,
            effects=list(emitted),
        )

    @staticmethod
    def _save(session: Session, instance: ProcessInstance, outcome: Outcome, now: datetime) -> None:
        """Compare-and-set the instance row on its revision. Raises StaleRevision."""
        values: dict[str, Any] = {
            "state": outcome.state,
            "status": outcome.status,
            "updated_at": now,
            "ended_at": now if outcome.status is InstanceStatus.COMPLETED else instance.ended_at,
            "revision": instance.revision + 1,
        }
        result = session.connection().execute(_SAVE_INSTANCE, {"iid": instance.id, "expected": instance.revision, **values})
        if result.rowcount != 1:
            raise StaleRevision(instance.id, instance.revision)
        for key, value in values.items():
            set_committed_value(instance, key, value)

    def _apply(self, workflow: BpmnWorkflow, step: Step) -> None:
        if step.action == "start":
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(step.data, **step.patch)
        elif step.action == "complete":
            task = self._ready_task(workflow, step.task_id)
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
        """Write the step's projection changes and audit events, then tell the step listeners."""
        created = projections.write_changes(session, instance, outcome.plan, now, actor)
        kind = {"start": "steps_run", "complete": "task_completed", "message": "message_received"}
        events = list(events or [])

        def add(kind_: str, **fields: Any) -> None:
            events.append(audit.event(instance, kind_, now, actor, **fields))

        if step.action in kind:
            add(kind[step.action], task_id=step.task_id, data=self.serializer.convert_data(step.data) or None)
        for task_id, task_spec in outcome.plan.fired_timers:  # whichever step it was that fired them
            add("timer_fired", task_id=task_id, task_spec=task_spec)
        for task_id in outcome.plan.cancelled_task_ids:
            add("task_cancelled", task_id=task_id)
        for row in created:
            add("task_created", task_id=row["id"], task_spec=row["task_spec"],
                data={"lane": row["lane"], "department": row["department"], "assignee": row["assignee"]})
        for thrown in outcome.thrown:
            add("message_sent", data=thrown)
        if outcome.status is InstanceStatus.COMPLETED:
            add("completed")
        audit.write(session, events)
        if self._listeners:
            report = StepReport(instance, workflow, step.action, step.task_id, step.data, actor, now, outcome.effects, created)
            for listener in self._listeners:
                listener(session, report)

    def _fail(self, session: Session, instance: ProcessInstance, step: Step, exc: Exception, actor, now) -> ProcessInstance:
        """Leave the state as it was before the step; mark the instance failed with an incident."""
        message, task_spec = _describe_failure(exc)
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
        self._flush(session, instance)
        audit.record(session, instance, "failed", now, actor, task_spec=task_spec,
                     data={"action": step.action, "error": message})
        return instance

    def _new_workflow(self, session: Session, instance: ProcessInstance, data: Mapping[str, Any]) -> BpmnWorkflow:
        specs = self.definitions.specs(session, instance.version_id)
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

    def _encode(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.encode(workflow)

    def _lock(self, session: Session, instance_id: int, expected_revision: int | None = None) -> ProcessInstance:
        query = _SELECT_INSTANCE if _is_sqlite(session) else _LOCK_INSTANCE
        instance = session.scalars(query, {"iid": instance_id}, execution_options={"populate_existing": True}).first()
        if instance is None:
            raise UnknownInstance(instance_id)
        if expected_revision is not None and instance.revision != expected_revision:
            raise StaleRevision(instance_id, expected_revision)
        return instance

    @staticmethod
    def _flush(session: Session, instance: ProcessInstance) -> None:
        try:
            session.flush()
        except StaleDataError:
            raise StaleRevision(instance.id) from None

    @staticmethod
    def _task_row(session: Session, task_id: str) -> Row:
        """The task's instance, status and claimant. Raises UnknownTask."""
        row = session.execute(_SELECT_TASK, {"tid": task_id}).first()
        if row is None:
            raise UnknownTask(task_id)
        return row

    @staticmethod
    def _ready_task(workflow: BpmnWorkflow, task_id: str):
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
            raise TaskNotOpen(task_id, "not ready")
        return task

    @staticmethod
    def _require_active(instance: ProcessInstance, action: str) -> None:
        if instance.status not in ACTIVE_STATUSES:
            raise InstanceNotRunnable(instance.id, instance.status.value, action)

    @staticmethod
    def _open_incident(session: Session, instance_id: int) -> Incident | None:
        return session.scalars(
            select(Incident)
            .where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
            .order_by(Incident.id.desc())
            .limit(1)
        ).first()

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


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _before_task(patch: dict[str, Any]) -> Callable[[Any], None]:
    """A do_engine_steps callback: names the running task for effects, applies a retry's corrections."""

    def before(task: Any) -> None:
        effects.running_task(task)
        if patch:
            task.data.update(patch)

    return before


def _status_of(workflow: BpmnWorkflow, snapshot: projections.Snapshot) -> InstanceStatus:
    if workflow.is_completed():
        return InstanceStatus.COMPLETED
    return InstanceStatus.RUNNING if snapshot.ready else InstanceStatus.WAITING


def _describe_failure(exc: Exception) -> tuple[str, str | None]:
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
