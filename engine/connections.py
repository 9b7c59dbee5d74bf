"""Creating engines, and what their connections need: SQLite files get WAL, foreign keys, a
busy timeout and `BEGIN IMMEDIATE` for write transactions; connections to a database server are
pinged only once they sat idle, and keep their prepared statements across a write refused before
it changed anything."""

from __future__ import annotations

import os
import time

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


_CHANGED_NOTHING = ("UPDATE 0", "DELETE 0", "INSERT 0 0", "MERGE 0")


def _keep_prepared_statements(engine: Engine) -> None:
    """End a transaction that changed nothing with COMMIT, not ROLLBACK.

    At a ROLLBACK psycopg forgets every statement it prepared on the connection (it sends
    DEALLOCATE ALL: it cannot tell what the rollback undid), then runs each statement unprepared
    again, parsed and planned by the server each time, until it has seen it often enough to
    prepare it anew (`prepare_threshold`, 5). A request refused inside its write transaction
    rolls back: a lost claim does, whose only statement was an UPDATE that matched no row. For
    a transaction that changed nothing COMMIT is the same as ROLLBACK, and psycopg keeps its
    statements. What changed something, failed, or cannot be told (a statement psycopg ran many
    times over, one that is not a plain SELECT or a DML statement its server says touched no
    row) rolls back as usual.
    """

    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "after_cursor_execute")
    def _note_change(conn, cursor, statement, _parameters, _context, executemany) -> None:
        status = cursor.statusmessage or ""
        plain_select = status.startswith("SELECT") and statement.lstrip()[:6].upper() == "SELECT"
        if executemany or not (plain_select or status in _CHANGED_NOTHING):
            conn.info["changed"] = True

    @event.listens_for(engine, "handle_error")
    def _note_failure(context) -> None:
        if context.connection is not None and not context.connection.invalidated:
            context.connection.info["changed"] = True

    @event.listens_for(engine, "commit")
    def _forget(conn) -> None:
        conn.info.pop("changed", None)

    @event.listens_for(engine, "rollback")
    def _commit_if_unchanged(conn) -> None:
        # Runs just before SQLAlchemy's rollback, which then finds no transaction to end, or,
        # when the COMMIT failed (the connection broke), meets the failure and handles it.
        if not conn.invalidated and not conn.info.pop("changed", False):
            try:
                conn.connection.dbapi_connection.commit()
            except dbapi_error:
                pass
