"""Connections to a database server: pinged before use only once they sat idle (one the server
dropped is replaced then; one used moments ago is trusted, and if it died meanwhile its
failure is reported and the next use reconnects), back in a transaction after a read, and
keeping psycopg's prepared statements across a rollback, whatever the transaction wrote (which
is rolled back)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from engine import Database
from engine.connections import create_db_engine
from tests.conftest import POSTGRES_URL, backend_pid, drop_backend
from workflows.models import Department

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="pings are for server databases: set MINYI_TEST_DATABASE_URL")
ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the `db` schema, emptied


def test_an_idle_connection_the_server_dropped_is_replaced_before_use():
    engine = create_db_engine(POSTGRES_URL, ping_after_idle=0.0, pool_size=1)
    try:
        dropped = backend_pid(engine)
        drop_backend(dropped)
        assert backend_pid(engine) != dropped
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged_its_failure_is_reported_and_the_next_use_reconnects():
    engine = create_db_engine(POSTGRES_URL, ping_after_idle=3600.0, pool_size=1)
    try:
        drop_backend(backend_pid(engine))
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert backend_pid(engine) > 0
    finally:
        engine.dispose()


@ON_POSTGRESQL
def test_a_connection_a_read_used_is_back_in_a_transaction_for_the_next_write(db):
    """Reads run in autocommit on PostgreSQL; the connection must leave it when it goes back to
    the pool, or a write that fails halfway would keep its first half."""
    one_connection = Database.from_url(POSTGRES_URL, pool_size=1, max_overflow=0)
    try:
        with one_connection.read() as session:
            session.execute(text("SELECT 1"))
        with one_connection.connect_for_reads() as connection:
            connection.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError), one_connection.write() as session:
            session.add(Department(code="D99", name="半途而废", active=True))
            session.flush()
            raise RuntimeError("the step failed after its first statement")
        with one_connection.read() as session:
            assert session.scalars(select(Department.code).where(Department.code == "D99")).all() == []
    finally:
        one_connection.dispose()


def _prepared_statements(session) -> int:
    return session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


@pytest.fixture
def one_connection(db):
    """A Database of one pooled connection to the test schema (emptied by `db`)."""
    database = Database.from_url(POSTGRES_URL, pool_size=1, max_overflow=0)
    with database.write() as session:
        session.add(Department(code="D01", name="住建局", active=True))
    yield database
    database.dispose()


def _prepare_a_statement(database: Database) -> None:
    """Run one query often enough that psycopg prepares it (its prepare_threshold is 5)."""
    with database.read() as session:
        for _ in range(6):
            session.execute(select(Department.name).where(Department.code == "D01")).scalar_one()


@contextmanager
def _prepared_statements_kept(database: Database):
    """Asserts, around the block, that psycopg kept the statements it prepared on the connection
    (at a ROLLBACK it forgets them, and the server would parse and plan each again)."""
    _prepare_a_statement(database)
    with database.read() as session:
        prepared = _prepared_statements(session)
    assert prepared >= 1
    yield
    with database.read() as session:
        assert _prepared_statements(session) >= prepared  # an executemany prepares its statement at once


@ON_POSTGRESQL
def test_a_write_refused_before_it_wrote_anything_keeps_the_prepared_statements(one_connection):
    with _prepared_statements_kept(one_connection):
        with pytest.raises(RuntimeError), one_connection.write() as session:
            session.execute(select(Department.name)).all()
            assert session.execute(text("UPDATE department SET name = 'x' WHERE code = 'none'")).rowcount == 0
            raise RuntimeError("the claim was lost")


def _update(session) -> None:
    session.execute(text("UPDATE department SET name = '改了' WHERE code = 'D01'"))


def _insert_many(session) -> None:
    session.execute(Department.__table__.insert(), [{"code": "D02", "name": "甲", "active": True},
                                                    {"code": "D03", "name": "乙", "active": True}])


def _update_in_a_select(session) -> None:
    session.execute(text("WITH changed AS (UPDATE department SET name = '改了' RETURNING code) SELECT code FROM changed"))


def _in_a_released_savepoint(session) -> None:
    with session.begin_nested():
        session.add(Department(code="D02", name="甲", active=True))


@ON_POSTGRESQL
@pytest.mark.parametrize("change", [_update, _insert_many, _update_in_a_select, _in_a_released_savepoint])
def test_a_write_refused_after_it_wrote_is_rolled_back_and_keeps_the_prepared_statements(one_connection, change):
    with _prepared_statements_kept(one_connection):
        with pytest.raises(RuntimeError), one_connection.write() as session:
            change(session)
            session.execute(select(Department.name)).all()
            raise RuntimeError("refused after the change")
    with one_connection.read() as session:
        assert session.execute(select(Department.code, Department.name)).all() == [("D01", "住建局")]


@ON_POSTGRESQL
def test_a_write_whose_statement_failed_is_rolled_back_and_the_connection_serves_on(one_connection):
    with _prepared_statements_kept(one_connection):
        with pytest.raises(IntegrityError), one_connection.write() as session:
            session.execute(text("UPDATE department SET name = '改了' WHERE code = 'D01'"))
            session.execute(Department.__table__.insert(), {"code": "D01", "name": "重复", "active": True})
    with one_connection.write() as session:
        session.add(Department(code="D02", name="甲", active=True))
    with one_connection.read() as session:
        assert session.execute(select(Department.code, Department.name).order_by(Department.code)).all() == [
            ("D01", "住建局"), ("D02", "甲")]


@ON_POSTGRESQL
def test_a_write_refused_on_a_connection_that_broke_meanwhile_reports_it_and_the_next_write_reconnects(one_connection):
    with pytest.raises(OperationalError) as failure, one_connection.write() as session:
        session.execute(select(Department.name)).all()
        drop_backend(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        raise RuntimeError("refused after the server went away")
    assert isinstance(failure.value.__context__, RuntimeError)  # as SQLAlchemy reports it without the listener
    with one_connection.write() as session:
        session.add(Department(code="D02", name="甲", active=True))
    with one_connection.read() as session:
        assert session.execute(select(Department.code).order_by(Department.code)).scalars().all() == ["D01", "D02"]
