"""A read unit never writes: on a database server it runs without a transaction, so nothing
would undo a write, and on SQLite a write would be silently lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db import ReadOnlyUnit
from workflows.models import Department


def test_a_read_unit_refuses_to_flush_a_change_and_nothing_is_written(db):
    with pytest.raises(ReadOnlyUnit, match="Department"), db.read() as session:
        session.add(Department(code="D98", name="只读", active=True))
        session.scalars(select(Department))  # autoflush
    with db.read() as session:
        assert session.scalars(select(Department.code)).all() == []


def test_a_read_unit_reads_what_a_write_committed(db):
    with db.write() as session:
        session.add(Department(code="D97", name="可读", active=True))
    with db.read() as session:
        assert session.scalars(select(Department.name)).all() == ["可读"]
