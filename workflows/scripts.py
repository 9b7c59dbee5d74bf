"""The functions BPMN scripts may call, registered with the engine's sandbox.

Times cross the script boundary as ISO 8601 strings (timer expressions read them, and task
data must stay plain JSON). Functions that change the petition (`set_status`,
`record_escalation`, `notify`) emit effects, applied by `petitions.apply_effects` once the
step is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from engine import ScriptRegistry
from engine.effects import emit

from .calendar import BusinessCalendar
from .statuses import parse_status

ESCALATION_LEVELS = ("warning", "urge", "order", "notice")


def iso(moment: datetime) -> str:
    """UTC, to the second: fixed-width strings, so scripts may compare them as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_time(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def register_script_functions(
    registry: ScriptRegistry, calendar: Callable[[], BusinessCalendar], clock: Callable[[], datetime]
) -> None:
    """Register every petition function; `calendar` and `clock` are read at call time."""

    def now() -> str:
        return iso(clock())

    def deadline(start: str, amount: float, unit: str) -> str:
        return iso(calendar().deadline(parse_time(start), amount, unit))

    def warning_time(start: str, due: str, ratio: float) -> str:
        return iso(BusinessCalendar.warning_time(parse_time(start), parse_time(due), float(ratio)))

    def resume_deadline(due: str, unit: str, paused_at: str) -> str:
        return iso(calendar().resume_deadline(parse_time(due), unit, parse_time(paused_at), clock()))

    def set_status(name: str) -> None:
        emit("status", status=parse_status(name).value)

    def record_escalation(level: str) -> None:
        if level not in ESCALATION_LEVELS:
            raise ValueError(f"escalation level must be one of {', '.join(ESCALATION_LEVELS)}")
        emit("escalation", level=level)

    def notify(recipient: str, subject: str, body: str) -> None:
        emit("notify", recipient=str(recipient), subject=str(subject), body=str(body or ""))

    for function in (now, deadline, warning_time, resume_deadline, set_status, record_escalation, notify):
        registry.register(function.__name__, function)
