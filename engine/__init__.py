"""A generic BPMN runtime on SpiffWorkflow: deploy definitions, run instances step by step.

Nothing here knows what the processes are about. Hosts register the functions scripts may
call (`ScriptRegistry`), frame transactions (`Database`) and drive the `Engine`.
"""

from .claims import TaskChange
from .connections import create_db_engine
from .db import Base, Database, utcnow
from .definitions import DeployedVersion, Definitions
from .errors import (
    ConflictError,
    DefinitionError,
    DefinitionProblem,
    DuplicateRegistration,
    EngineError,
    InstanceNotRunnable,
    InvalidData,
    NoMessageWaiting,
    ScriptError,
    StaleRevision,
    TaskClaimedByOther,
    TaskNotOpen,
    UnknownInstance,
    UnknownProcess,
    UnknownTask,
)
from .models import (
    HumanTask,
    Incident,
    InstanceEvent,
    InstanceStatus,
    MessageWait,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    Timer,
)
from .runtime import Engine, PreparedStart, PreparedStep
from .steps import RetryPolicy, StepReport
from .scripting import ScriptRegistry
from .timers import claim_due_timers, fire_due_timers

__all__ = [
    "Base", "ConflictError", "Database", "DefinitionError", "DefinitionProblem", "Definitions", "DeployedVersion",
    "DuplicateRegistration", "Engine", "EngineError", "HumanTask", "Incident", "InstanceEvent", "InstanceNotRunnable",
    "InstanceStatus", "InvalidData", "MessageWait", "NoMessageWaiting", "PreparedStart", "PreparedStep",
    "ProcessInstance", "ProcessVersion", "RetryPolicy", "ScriptError", "ScriptRegistry", "StaleRevision", "StepReport",
    "TaskChange", "TaskClaimedByOther", "TaskNotOpen", "TaskStatus", "Timer", "UnknownInstance", "UnknownProcess",
    "UnknownTask", "claim_due_timers", "create_db_engine", "fire_due_timers", "utcnow",
]
