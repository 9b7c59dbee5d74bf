"""Connections to a database server: pinged before use only once they sat idle (one the server
dropped is replaced then; one used moments ago is trusted, and if it died meanwhile its
failure is reported and the next use reconnects), and back in a transaction after a read."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine import Database
from engine.db import create_db_engine
from tests.conftest import POSTGRES_URL, backend_pid, drop_backend
from workflows.models import Department

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="pings are for server databases: set MINYI_TEST_DATABASE_URL")


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


def test_a_connection_a_read_used_is_back_in_a_transaction_for_the_next_write(db):
    """Reads run in autocommit on PostgreSQL; the connection must leave it when it goes back to
    the pool, or a write that fails halfway would keep its first half."""
    if db.is_sqlite:
        pytest.skip("SQLite's reads keep their transaction")  # `db`: PostgreSQL's schema, emptied
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
