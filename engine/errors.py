"""The engine's errors: one base class, narrow subclasses named for their condition.

Every error carries the ids a caller needs to report it. Nothing here knows HTTP; the API
layer maps these to problem+json (conflicts to 409, unknown ids to 404, bad input to 422).
"""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class of everything the engine raises on purpose."""


@dataclass(frozen=True)
class DefinitionProblem:
    """One reason a BPMN/DMN file was refused: where it is and what is wrong."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{element}: {self.message}"


class DefinitionError(EngineError):
    """A deployment was refused; `problems` lists every file, line and element at fault."""

    def __init__(self, problems: list[DefinitionProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class UnknownProcess(EngineError):
    def __init__(self, process_key: str, version: int | None = None):
        self.process_key, self.version = process_key, version
        suffix = f" version {version}" if version is not None else ""
        super().__init__(f"no deployed process {process_key!r}{suffix}")


class UnknownDefinitionFile(EngineError):
    def __init__(self, process_key: str, version: int, name: str):
        self.process_key, self.version, self.name = process_key, version, name
        super().__init__(f"version {version} of process {process_key!r} has no file {name!r}")


class UnknownInstance(EngineError):
    def __init__(self, instance_id: int):
        self.instance_id = instance_id
        super().__init__(f"no process instance {instance_id}")


class UnknownTask(EngineError):
    def __init__(self, task_id: str):
        self.task_id = task_id
        super().__init__(f"no task {task_id}")


class ConflictError(EngineError):
    """The step lost a race or its target is no longer in a state that allows it."""


class StaleRevision(ConflictError):
    def __init__(self, instance_id: int, expected: int | None = None):
        self.instance_id, self.expected = instance_id, expected
        super().__init__(f"process instance {instance_id} was changed by another step")


class TaskNotOpen(ConflictError):
    def __init__(self, task_id: str, status: str):
        self.task_id, self.status = task_id, status
        super().__init__(f"task {task_id} is {status}, not open")


class TaskClaimedByOther(ConflictError):
    def __init__(self, task_id: str, claimed_by: str):
        self.task_id, self.claimed_by = task_id, claimed_by
        super().__init__(f"task {task_id} is claimed by {claimed_by}")


class InstanceNotRunnable(ConflictError):
    def __init__(self, instance_id: int, status: str, action: str):
        self.instance_id, self.status, self.action = instance_id, status, action
        super().__init__(f"cannot {action} process instance {instance_id}: it is {status}")


class InvalidData(EngineError):
    """Data handed to a step cannot be used: `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class NoMessageWaiting(EngineError):
    def __init__(self, message_name: str, keys: dict):
        self.message_name, self.keys = message_name, keys
        super().__init__(f"no process instance waits for message {message_name!r} with {keys}")


class ScriptError(EngineError):
    """A BPMN script, condition or expression was refused by the sandbox or failed inside it."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


class DuplicateRegistration(EngineError, ValueError):
    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name
        super().__init__(f"{kind} {name!r} is already registered")
