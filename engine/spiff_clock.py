"""SpiffWorkflow's timers read the wall clock (`datetime.now` in its timer module); here they
read the clock of the step that evaluates them instead.

Without this an engine on another clock (the simulated past of `minyi demo`, a clock handed
to `Engine`) fires at once every timer due before the real now, and starts duration timers
from the real now. `step_time` sets the step's time for the current context; outside a step
the timers see the wall clock as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

_step_now: ContextVar[datetime | None] = ContextVar("step_now", default=None)


class _StepDatetime(datetime):
    """`datetime` whose `now()` is the running step's time, when there is one."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:
        now = _step_now.get()
        if now is None:
            return datetime.now(tz)
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


spiff_timer.datetime = _StepDatetime


@contextmanager
def step_time(now: datetime) -> Iterator[None]:
    """Let SpiffWorkflow's timers take `now` (aware) as the current time within the block."""
    token = _step_now.set(now)
    try:
        yield
    finally:
        _step_now.reset(token)
