"""Petition rows written straight into the database, for tests of what reads them (samples,
lists in the circular): a petition's history through the processes is not what they test."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from workflows.models import Department, Petition
from workflows.statuses import PUBLIC_STATUS, PetitionStatus

DEPARTMENTS = {"D01": "市住房和城乡建设局", "D02": "市生态环境局", "D03": "市交通运输局"}
_numbers = count(1)


def add_departments(session: Session, departments: dict[str, str] = DEPARTMENTS) -> None:
    session.add_all(Department(code=code, name=name, active=True) for code, name in departments.items())
    session.flush()


def add_petition(session: Session, created_at: datetime, department: str = "D01", *, reply: str | None = "已处理",
                 status: PetitionStatus = PetitionStatus.CLOSED, **fields: Any) -> Petition:
    number = next(_numbers)
    values: dict[str, Any] = dict(
        tracking_no=f"T{number:010d}", access_token_hash="x", channel="web", type="complaint", urgency="normal",
        title=f"诉求{number}", body="小区门口道路破损，联系电话13800001234", department_code=department, status=status,
        public_status=PUBLIC_STATUS[status], reply=reply, replied_at=created_at if reply else None,
        contact_name="张三", contact_phone="13800001234", contact_email="zhangsan@example.com",
        created_at=created_at, updated_at=created_at)
    petition = Petition(**{**values, **fields})
    session.add(petition)
    session.flush()
    return petition
