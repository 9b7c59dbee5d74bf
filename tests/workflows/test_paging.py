"""Paging with a bounded count: exact up to the limit, "more than the limit" past it."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

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


@pytest.mark.parametrize("rows,page,expected,counted", [
    (0, 1, (0, True), False),  # an empty first page: nothing there
    (1, 1, (1, True), False),  # a first page that is not full is the whole list
    (5, 3, (5, True), False),  # nor is a last page: two full pages before it
    (4, 2, (4, True), True),  # a full page may have more after it
    (5, 4, (5, True), True),  # past the end: nothing shown says how many there are
    (6, 3, (5, False), True),  # past the limit, counting stops there
    (7, 4, (5, False), False),  # a last page past the limit is "more than 5" all the same
])
def test_a_page_that_shows_the_end_of_the_list_is_not_counted(db, rows, page, expected, counted):
    with db.write() as session:
        session.add_all(Department(code=f"D{n:02d}", name=f"部门{n}", active=True) for n in range(rows))
    statements: list[str] = []
    record = lambda _conn, _cursor, statement, *_args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read() as session:
            result = page_of(session, select(Department).order_by(Department.code), page, 2, lambda row: row[0].code,
                             count_limit=5)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert (result.total, result.total_exact) == expected
    assert result.items == [f"D{n:02d}" for n in range(rows)][(page - 1) * 2:page * 2]
    assert any("count(" in s for s in statements) == counted
