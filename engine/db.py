"""Database plumbing: the declarative base, column types and transaction framing.

The engine never commits on its own: callers frame one transaction per step with
`Database.write()` (or a unit of `read()` for queries, without a transaction on a database
server) and pass the session down. On SQLite a write transaction starts with `BEGIN
IMMEDIATE`, so concurrent steps queue on the database lock instead of failing late with
"database is locked" at commit time, and takes its turn in the `WriterQueue` first, so the
lock passes to the next writer as soon as it is free.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone

from sqlalchemy import Connection, DateTime, Engine, Enum, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .connections import create_db_engine
from .writer_queue import writer_queue_for

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by the engine's tables and those of the host application."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type; storing naive UTC and re-attaching UTC on load keeps
    comparisons and arithmetic identical on SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def string_enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    """An enum stored as its values in a plain string column (no native enum to migrate)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


KEPT_PER_UNIT = 1000  # a long batch job loading many rows keeps no more than these


def _keep_loaded(session: Session, instance: object) -> None:
    """Hold the rows a unit of work loads for as long as it lasts. The identity map holds its
    objects weakly, so a row looked up by primary key twice in one request (the task's instance
    by the claim, then by the response) was read from the database twice."""
    kept = session.info.setdefault("loaded", [])
    if len(kept) < KEPT_PER_UNIT:
        kept.append(instance)


class ReadOnlyUnit(RuntimeError):
    """Something tried to write through a `Database.read()` session."""


def _refuse_flush(session: Session, _flush_context, _instances) -> None:
    """A read unit has nothing to flush: on a database server nothing would undo it, on SQLite
    it would be lost. (Called only when the session holds changes.)"""
    changed = sorted({type(o).__name__ for o in [*session.new, *session.dirty, *session.deleted]})
    raise ReadOnlyUnit(f"a read unit tried to write: {', '.join(changed)}")


class Database:
    """Owns the SQLAlchemy engine and hands out sessions framed as one transaction each.

    Except reads on a database server: they run without a transaction (autocommit). Under
    READ COMMITTED each statement takes its own snapshot, in a transaction or not, so a read
    unit's transaction only added a BEGIN and a ROLLBACK, two round trips of the four that
    authenticating a request took. So a read unit must never write, as nothing would undo it: a
    flush in one raises ReadOnlyUnit.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        write_bind = engine.execution_options(sqlite_begin_immediate=True) if self.is_sqlite else engine
        self._read_bind = engine if self.is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = sessionmaker(self._read_bind, expire_on_commit=False)
        self._write_sessions = sessionmaker(write_bind, expire_on_commit=False)
        for sessions in (self._read_sessions, self._write_sessions):
            event.listen(sessions, "loaded_as_persistent", _keep_loaded)
        event.listen(self._read_sessions, "before_flush", _refuse_flush)
        self._writers = writer_queue_for(engine.url.database) if self.is_sqlite else None

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "Database":
        return cls(create_db_engine(url, **kwargs))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One read-write transaction: commit on success, roll back on any exception."""
        with self._writers.turn() if self._writers else nullcontext(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work; closing it ends its transaction, on SQLite (loaded rows stay
        readable)."""
        with self._read_sessions() as session:
            yield session

    def connect_for_reads(self) -> Connection:
        """A bare connection for a query or two outside any unit of work (as a read unit's:
        without a transaction on a database server)."""
        return self._read_bind.connect()

    def dispose(self) -> None:
        self.engine.dispose()
