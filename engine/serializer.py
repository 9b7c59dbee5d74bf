"""Workflow state <-> JSON-ready dicts, *without* the process spec.

SpiffWorkflow's stock serializer writes the whole parsed spec (and every subprocess spec)
into each workflow, which is most of the bytes and most of the time of a save. Instances
here store only their state; the spec comes from the per-version cache when they are loaded.

Stored state carries a format version. `MIGRATIONS` is the chain that lifts older stored
state to the current format, one small documented function per step.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS as SPIFF_MIGRATIONS
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .errors import DuplicateRegistration

FORMAT_KEY = "format"
SPIFF_VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY
CURRENT_FORMAT = 1

# format -> function lifting a stored state of that format to format + 1 (in place).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {}
_SPIFF_TYPES = (UUID, datetime, timedelta)  # SpiffWorkflow registers these itself


@lru_cache(maxsize=65536)
def _uuid(text: str) -> UUID:
    return UUID(text)


@lru_cache(maxsize=65536)
def _text(task_id: UUID) -> str:
    return str(task_id)


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's TaskConverter (3.2), writing and reading the same dicts, with each task id
    parsed and formatted once per process rather than three times per task per save and load:
    that was a third of encoding a workflow. `test_serializer` holds the output to Spiff's."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
        return {
            "id": _text(task.id),
            "parent": None if parent is None else _text(task._parent),
            "children": [_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow) -> Task:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = None if dct["parent"] is None else _uuid(dct["parent"])
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta, parent = dct.get("delta"), task.parent
        if delta and parent is not None:
            data = DeepMerge.merge({}, parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow without its specs; specs are passed in on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _Parts(threading.local):
    """SpiffWorkflow's registry switches a flag on itself while encoding, so each thread gets its own."""

    generation = -1
    registry: Any = None
    spiff: BpmnWorkflowSerializer | None = None


class StateSerializer:
    """Turns live workflows into stored state (JSON text, no spec) and back.

    Extra data types that scripts may put into task data are registered with
    `register_type`, which refuses a type registered twice.
    """

    def __init__(self) -> None:
        self._types: dict[type, tuple[Callable, Callable]] = {}
        self._generation = 0
        self._parts = _Parts()
        self.register_type(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self.register_type(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))

    def register_type(self, cls: type, to_dict: Callable, from_dict: Callable) -> None:
        if cls in self._types or cls in _SPIFF_TYPES:
            raise DuplicateRegistration("serializer type", cls.__name__)
        self._types[cls] = (to_dict, from_dict)
        self._generation += 1

    def _local(self) -> _Parts:
        parts = self._parts
        if parts.generation != self._generation:
            config = dict(SPIFF_CONFIG)
            config[BpmnWorkflow] = _StateOnlyWorkflowConverter
            config[Task] = _TaskConverter
            parts.registry = BpmnWorkflowSerializer.configure(config)
            for cls, (to_dict, from_dict) in self._types.items():
                parts.registry.register(cls, to_dict, from_dict)
            parts.spiff = BpmnWorkflowSerializer(parts.registry)
            parts.generation = self._generation
        return parts

    def encode(self, workflow: BpmnWorkflow) -> str:
        """The workflow's state as compact JSON text, stamped with its format version."""
        parts = self._local()
        parts.registry._encoder_mode = True  # what serialize_json does: convert lazily while dumping
        try:
            state = parts.registry.convert(workflow)
            state[SPIFF_VERSION_KEY] = parts.spiff.VERSION
            state[FORMAT_KEY] = CURRENT_FORMAT
            return json.dumps(state, cls=parts.spiff._encoder_cls, separators=(",", ":"), ensure_ascii=False)
        finally:
            parts.registry._encoder_mode = False

    def decode(self, text: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
        return self.from_state(json.loads(text), spec, subprocess_specs)

    def from_state(
        self, state: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        """Rebuild a workflow from a stored state dict; the dict is consumed."""
        migrate(state)
        return self._local().registry.restore(state, spec=spec, subprocess_specs=subprocess_specs)

    def convert_data(self, data: Any) -> Any:
        """Task data as JSON-ready values, with registered types encoded."""
        return self._local().registry.convert(data)

    def restore_data(self, data: Any) -> Any:
        return self._local().registry.restore(data)


def migrate(state: dict[str, Any]) -> None:
    """Lift a stored state to the current format, in place: ours first, then SpiffWorkflow's."""
    fmt = state.pop(FORMAT_KEY, CURRENT_FORMAT)
    while fmt < CURRENT_FORMAT:
        MIGRATIONS[fmt](state)
        fmt += 1
    spiff_version = state.pop(SPIFF_VERSION_KEY, None)
    if spiff_version in SPIFF_MIGRATIONS:
        SPIFF_MIGRATIONS[spiff_version](state)
