"""Workflow state <-> JSON-ready dicts, *without* the process spec.

SpiffWorkflow's stock serializer writes the whole parsed spec (and every subprocess spec)
into each workflow, which is most of the bytes and most of the time of a save. Instances
here store only their state; the spec comes from the per-version cache when they are loaded.

Stored state carries a format version. `MIGRATIONS` is the chain that lifts older stored
state to the current format, one small documented function per step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS as SPIFF_MIGRATIONS
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .errors import DuplicateRegistration

FORMAT_KEY = "format"
SPIFF_VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY
CURRENT_FORMAT = 1

# format -> function lifting a stored state of that format to format + 1 (in place).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {}


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow without its specs; specs are passed in on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    """Turns live workflows into state dicts and back, given the spec to attach.

    Extra data types that scripts may put into task data are registered with
    `register_type`, which refuses a type registered twice.
    """

    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _StateOnlyWorkflowConverter
        self._registry = BpmnWorkflowSerializer.configure(config)
        self._spiff = BpmnWorkflowSerializer(self._registry)
        self.register_type(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self.register_type(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))

    def register_type(self, cls: type, to_dict: Callable, from_dict: Callable) -> None:
        if cls in self._registry.typenames:
            raise DuplicateRegistration("serializer type", cls.__name__)
        self._registry.register(cls, to_dict, from_dict)

    def to_state(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        state = self._registry.convert(workflow)
        state[SPIFF_VERSION_KEY] = self._spiff.VERSION
        state[FORMAT_KEY] = CURRENT_FORMAT
        return state

    def from_state(
        self, state: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        """Rebuild a workflow from stored state; the dict is consumed (pass a fresh copy)."""
        migrate(state)
        return self._registry.restore(state, spec=spec, subprocess_specs=subprocess_specs)

    def full_json(self, workflow: BpmnWorkflow) -> str:
        """SpiffWorkflow's stock serialization, spec included (what the benchmark compares to)."""
        return self._spiff.serialize_json(workflow)

    def convert_data(self, data: Any) -> Any:
        """Task data as JSON-ready values, with registered types encoded."""
        return self._registry.convert(data)

    def restore_data(self, data: Any) -> Any:
        return self._registry.restore(data)


def migrate(state: dict[str, Any]) -> None:
    """Lift a stored state to the current format, in place: ours first, then SpiffWorkflow's."""
    fmt = state.pop(FORMAT_KEY, CURRENT_FORMAT)
    while fmt < CURRENT_FORMAT:
        MIGRATIONS[fmt](state)
        fmt += 1
    spiff_version = state.pop(SPIFF_VERSION_KEY, None)
    if spiff_version in SPIFF_MIGRATIONS:
        SPIFF_MIGRATIONS[spiff_version](state)
