"""Creating engines, and what their connections need: SQLite files get WAL, foreign keys, a
busy timeout and `BEGIN IMMEDIATE` for write transactions; connections to a database server are
pinged only once they sat idle, and keep their prepared statements across a rollback."""

from __future__ import annotations

import os
import time

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url


IDLE_BEFORE_PING_SECONDS = 5.0


def create_db_engine(url: str, *, ping_after_idle: float = IDLE_BEFORE_PING_SECONDS, **kwargs) -> Engine:
    """Create an SQLAlchemy engine; SQLite files get WAL, foreign keys and a busy timeout, and
    server connections are pinged before use once idle for `ping_after_idle` seconds (and on
    PostgreSQL through psycopg keep their prepared statements)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, **kwargs)
        _ping_idle_connections(engine, ping_after_idle)
        if engine.dialect.driver == "psycopg":
            _keep_prepared_statements(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    engine = create_engine(url, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy emit BEGIN itself so that write transactions can say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool a while.

    SQLAlchemy's `pool_pre_ping` pings at every checkout, and a request checks out two or
    three times (authentication, a read, a write), each ping a round trip. A connection
    checked in moments ago is almost always alive (HikariCP skips its check within 500 ms, for
    the same reason), so only one idle for `idle_seconds` is pinged. One that died since (the
    server restarted) fails the unit of work using it (the API answers 503), and the failure
    invalidates the pool, as a failed ping does.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _note_idle_since(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", float("-inf")) < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # Dead: this and every connection pooled before it are replaced, and checkout retries.
            raise exc.InvalidatePoolError() from error


_IN_A_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def _keep_prepared_statements(engine: Engine) -> None:
    """Roll transactions back without psycopg forgetting its prepared statements.

    At a ROLLBACK psycopg forgets every statement it prepared on the connection (it sends
    DEALLOCATE ALL), then runs each statement unprepared again, parsed and planned by the server
    each time, until it has seen it often enough to prepare it anew (`prepare_threshold`, 5). A
    request refused inside its write transaction rolls back: a lost claim does. psycopg does so
    in case the rollback undid a schema change that a statement prepared meanwhile relied on;
    only migrations change the schema, and the statements SQLAlchemy writes name their columns,
    so one that a rollback left behind would fail all the same. The server keeps prepared
    statements across a rollback (they belong to the session, not to the transaction): the
    ROLLBACK is sent here through libpq, below psycopg, whose state stays that of the server.
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "rollback")
    def _roll_back_below_psycopg(conn) -> None:
        # Runs just before SQLAlchemy's rollback, which then finds no transaction to end, or, if
        # this ROLLBACK failed (the connection broke), meets the failure and handles it. In
        # pipeline mode (psycopg's, never left open by SQLAlchemy) libpq cannot run it.
        if conn.invalidated:
            return
        pgconn = conn.connection.dbapi_connection.pgconn
        if pgconn.transaction_status in _IN_A_TRANSACTION and not pgconn.pipeline_status:
            try:
                pgconn.exec_(b"ROLLBACK")
            except dbapi_error:
                pass
