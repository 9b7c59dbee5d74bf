"""Effects: how functions called from BPMN scripts ask the host to do something.

Scripts never see sessions or the app. A host function registered with the sandbox instead
calls `emit(name, **values)`; the engine collects what a step emitted and, once the step's
state is saved, hands the list to the host's step listeners, in the same transaction. A step
that fails emits nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .errors import ScriptError


@dataclass(frozen=True)
class Effect:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    task_spec: str | None = None  # the BPMN element whose script emitted it, when known
    task: Any = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        """The emitting task's data as the step left it (a script's own assignments included)."""
        return dict(self.task.data) if self.task is not None else {}


_collected: ContextVar[list[Effect] | None] = ContextVar("minyi_effects", default=None)
_current_task: ContextVar[Any] = ContextVar("minyi_effect_task", default=None)


def emit(name: str, **values: Any) -> None:
    """Record an effect of the running step. Raises ScriptError outside a step."""
    collected = _collected.get()
    if collected is None:
        raise ScriptError(f"{name} can only be used while a process step runs")
    task = _current_task.get()
    if task is None:
        collected.append(Effect(name, values))
    else:
        collected.append(Effect(name, values, task.task_spec.bpmn_id, task))


@contextmanager
def collecting() -> Iterator[list[Effect]]:
    """Collect the effects emitted inside the block (one step)."""
    collected: list[Effect] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)
        _current_task.set(None)


def running_task(task: Any) -> None:
    """Note which SpiffWorkflow task is running, so its effects carry its id and data."""
    _current_task.set(task)
