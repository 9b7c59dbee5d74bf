"""The append-only audit log of instances: one row per step and per task change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import InstanceEvent, ProcessInstance


def record(
    session: Session,
    instance: ProcessInstance,
    kind: str,
    at: datetime,
    actor: str | None,
    *,
    task_id: str | None = None,
    task_spec: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        InstanceEvent(
            instance_id=instance.id,
            revision=instance.revision,
            kind=kind,
            at=at,
            actor=actor,
            task_id=task_id,
            task_spec=task_spec,
            data=data,
        )
    )
