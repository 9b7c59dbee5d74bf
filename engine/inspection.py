"""Read-only views of deployed definitions and running instances, for the people who model
and operate processes: which versions exist, what an instance waits for, where its tokens are.

Everything comes from the projection tables except the tokens, which need a load of the
workflow (nothing is saved). Nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .errors import UnknownDefinitionFile, UnknownProcess
from .models import (
    PENDING_TASK_STATUSES,
    DefinitionFile,
    HumanTask,
    Incident,
    MessageWait,
    ProcessInstance,
    ProcessVersion,
    Timer,
)
from .runtime import Engine

TOKEN_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class VersionSummary:
    """A deployed version and the names of the files it is built from."""

    process_key: str
    version: int
    name: str | None
    content_hash: str
    deployed_at: datetime
    deployed_by: str | None
    files: list[str]

    @classmethod
    def of(cls, version: ProcessVersion) -> VersionSummary:
        """Reads `version.files`: call it while the session is open."""
        return cls(version.process_key, version.version, version.name, version.content_hash, version.deployed_at,
                   version.deployed_by, [f.name for f in version.files])


@dataclass(frozen=True)
class Token:
    """A BPMN element an instance is at: ready to run, waiting (timers, messages, joins) or
    started (a subprocess or call activity that is under way)."""

    task_id: str
    element_id: str
    name: str | None
    state: str
    kind: str
    process: str


@dataclass(frozen=True)
class InstanceDetails:
    instance: ProcessInstance
    version: int
    tasks: list[HumanTask]
    timers: list[Timer]
    messages: list[MessageWait]
    incidents: list[Incident]
    tokens: list[Token]


def latest_versions(session: Session, engine: Engine) -> list[VersionSummary]:
    """The newest version of every process key, by key."""
    return [VersionSummary.of(v) for v in engine.definitions.latest_versions(session)]


def versions_query(session: Session, process_key: str) -> Select:
    """Every version of a process, newest first. Raises UnknownProcess when none was deployed."""
    if session.scalars(select(ProcessVersion.id).where(ProcessVersion.process_key == process_key).limit(1)).first() is None:
        raise UnknownProcess(process_key)
    return select(ProcessVersion).where(ProcessVersion.process_key == process_key).order_by(ProcessVersion.version.desc())


def version_file(session: Session, engine: Engine, process_key: str, version: int, name: str) -> DefinitionFile:
    """One file of a deployed version, as it was deployed. Raises UnknownProcess, UnknownDefinitionFile."""
    found = engine.definitions.get_version(session, process_key, version)
    for stored in found.files:
        if stored.name == name:
            return stored
    raise UnknownDefinitionFile(process_key, version, name)


def tokens(workflow: BpmnWorkflow) -> list[Token]:
    """Where the tokens of a live workflow are, subprocesses included; engine-internal tasks
    (those that are no BPMN element) are left out."""
    found = []
    for task in workflow.get_tasks(state=TOKEN_STATES):
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if element_id is None:
            continue
        found.append(Token(str(task.id), element_id, task.task_spec.bpmn_name, TaskState.get_name(task.state),
                           type(task.task_spec).__name__, task.workflow.spec.name))
    return found


def inspect_instance(session: Session, engine: Engine, instance_id: int) -> InstanceDetails:
    """Everything an operator needs to see about one instance. Raises UnknownInstance."""
    instance = engine.get_instance(session, instance_id)

    def rows(model, *where, order_by):
        return list(session.scalars(select(model).where(model.instance_id == instance_id, *where).order_by(order_by)))

    return InstanceDetails(
        instance=instance,
        version=session.get(ProcessVersion, instance.version_id).version,
        tasks=rows(HumanTask, HumanTask.status.in_(PENDING_TASK_STATUSES), order_by=HumanTask.created_at),
        timers=rows(Timer, order_by=Timer.due_at),
        messages=rows(MessageWait, order_by=MessageWait.id),
        incidents=rows(Incident, Incident.resolved_at.is_(None), order_by=Incident.id),
        tokens=tokens(engine.load_workflow(session, instance)),
    )
