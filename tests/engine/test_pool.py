"""Connections to a database server are pinged before use only once they sat idle: one the
server dropped is replaced then; one used moments ago is trusted, and if it died meanwhile the
failure it meets replaces the pool."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from engine.db import create_db_engine
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="pings are for server databases: set MINYI_TEST_DATABASE_URL")


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _drop_connection(pid: int) -> None:
    """What a server restart does to a pooled connection."""
    killer = create_db_engine(POSTGRES_URL)
    with killer.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use():
    engine = create_db_engine(POSTGRES_URL, ping_after_idle=0.0, pool_size=1)
    try:
        dropped = _backend_pid(engine)
        _drop_connection(dropped)
        assert _backend_pid(engine) != dropped
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged_and_a_failure_replaces_the_pool():
    engine = create_db_engine(POSTGRES_URL, ping_after_idle=3600.0, pool_size=1)
    try:
        _drop_connection(_backend_pid(engine))
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert _backend_pid(engine) > 0
    finally:
        engine.dispose()
