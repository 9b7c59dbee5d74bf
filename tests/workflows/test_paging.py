"""Paging with a bounded count: exact up to the limit, "more than the limit" past it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflows.models import Department
from workflows.queries import page_of


@pytest.mark.parametrize("rows,limit,expected", [(5, None, (5, True)), (5, 5, (5, True)), (6, 5, (5, False)),
                                                 (0, 5, (0, True))])
def test_counting_stops_at_the_limit(db, rows, limit, expected):
    with db.write() as session:
        session.add_all(Department(code=f"D{n:02d}", name=f"部门{n}", active=True) for n in range(rows))
    with db.read() as session:
        page = page_of(session, select(Department).order_by(Department.code), 1, 2, lambda row: row[0].code,
                       count_limit=limit)
    assert (page.total, page.total_exact) == expected
    assert page.items == [f"D{n:02d}" for n in range(min(rows, 2))]
