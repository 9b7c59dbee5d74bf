"""The append-only audit log of instances: one row per step and per task change.

Rows are built as plain dicts and written with one multi-row INSERT per step: the log is
written on every step, so it avoids the ORM unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import InstanceEvent, ProcessInstance


def event(
    instance: ProcessInstance,
    kind: str,
    at: datetime,
    actor: str | None,
    *,
    task_id: str | None = None,
    task_spec: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "instance_id": instance.id,
        "revision": instance.revision,
        "kind": kind,
        "at": at,
        "actor": actor,
        "task_id": task_id,
        "task_spec": task_spec,
        "data": data,
    }


_INSERT = insert(InstanceEvent.__table__)  # built once: steps write events all the time


def write(session: Session, events: list[dict[str, Any]]) -> None:
    if events:
        session.connection().execute(_INSERT, events)


def record(session: Session, instance: ProcessInstance, kind: str, at: datetime, actor: str | None, **fields: Any) -> None:
    """Write a single event (see `event` for the fields)."""
    write(session, [event(instance, kind, at, actor, **fields)])
