"""Live workflows of recently stepped instances, kept to skip deserializing on the next step.

An entry is the workflow together with the exact state string it was saved as. It is reused
only when the row's stored state is that very string, so a step that rolled back, or a step
made by another process, simply misses and the workflow is deserialized as usual. A step
takes its entry out of the cache (no two steps can share a live workflow) and puts the
result back once it has been saved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow

from .projections import Snapshot


@dataclass(frozen=True)
class WarmWorkflow:
    state: str
    workflow: BpmnWorkflow
    snapshot: Snapshot


class WarmWorkflows:
    """A bounded, thread-safe LRU of live workflows keyed by instance id."""

    def __init__(self, size: int = 1024):
        self._size = size
        self._entries: OrderedDict[int, WarmWorkflow] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, stored_state: str) -> WarmWorkflow | None:
        """Remove and return the entry of an instance if it matches its stored state."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None or entry.state != stored_state:
            return None
        return entry

    def put(self, instance_id: int, entry: WarmWorkflow) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._entries[instance_id] = entry
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
