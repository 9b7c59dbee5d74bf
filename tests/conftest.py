"""Shared fixtures: a real database (SQLite, and PostgreSQL when MINYI_TEST_DATABASE_URL is
set), migrated once per session and emptied before each test, and a real engine on it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import event, text

import migrations
import workflows.models  # noqa: F401  (the domain tables are part of every test database)
import workflows.staff  # noqa: F401
import workflows.evaluation.models  # noqa: F401
import workflows.evaluation.tables  # noqa: F401
import workflows.text.models  # noqa: F401
import workflows.text.router_models  # noqa: F401
from engine import Base, Database, Definitions, Engine, ScriptRegistry
from engine.connections import create_db_engine

ENGINE_DATA = Path(__file__).parent / "engine" / "data"
POSTGRES_URL = os.environ.get("MINYI_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]


def _reset_postgres(url: str) -> None:
    sa_engine = create_db_engine(url)
    with sa_engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    sa_engine.dispose()


WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|SHARE)\b|set_config|advisory", re.IGNORECASE)


@event.listens_for(SAEngine, "before_cursor_execute")
def _refuse_writes_in_read_units(connection, _cursor, statement: str, *_args) -> None:
    """Database.read() units run in autocommit on PostgreSQL, where nothing undoes a write, a
    lock or a setting: every test there checks that a read unit sends only plain queries."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT" and (
            not statement.lstrip().upper().startswith(("SELECT", "WITH")) or WRITES.search(statement)):
        raise AssertionError(f"a read unit wrote, locked or set: {statement[:200]}")


def backend_pid(engine: SAEngine) -> int:
    """The PostgreSQL backend serving the connection `engine` hands out (the only one of a pool of one)."""
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def drop_backend(pid: int) -> None:
    """What a PostgreSQL restart does to a pooled connection: its backend ends."""
    killer = create_db_engine(POSTGRES_URL)
    with killer.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    killer.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need MINYI_TEST_DATABASE_URL")
        _reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "minyi.sqlite3")
    sa_engine = create_db_engine(url)
    migrations.upgrade(sa_engine)
    sa_engine.dispose()
    return url


@pytest.fixture(scope="session")
def shared_database(database_url) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.dispose()


def empty_database(database: Database) -> None:
    """Delete every row of every table (ids restart on PostgreSQL)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(shared_database: Database) -> Database:
    """The session's database, emptied of every row."""
    empty_database(shared_database)
    return shared_database


@pytest.fixture(scope="session")
def circular(shared_database):
    """The 2026Q3 circular as the quarterly job stores it (seconds to make: made once per backend)."""
    from tests.workflows.evaluation.generated import make_circular

    return make_circular(shared_database)


@pytest.fixture
def scripts() -> ScriptRegistry:
    return ScriptRegistry()


@pytest.fixture
def engine(scripts: ScriptRegistry) -> Engine:
    return Engine(Definitions(), scripts, script_time_limit=0.5)


@pytest.fixture
def deploy(db: Database, engine: Engine) -> Callable[..., Any]:
    """Deploy files from tests/engine/data by name (or (name, bytes) pairs)."""

    def _deploy(*files: str | tuple[str, bytes], actor: str = "test"):
        pairs = [f if isinstance(f, tuple) else (f, (ENGINE_DATA / f).read_bytes()) for f in files]
        with db.write() as session:
            return engine.definitions.deploy(session, pairs, actor=actor)

    return _deploy


@pytest.fixture
def step(db: Database) -> Callable[..., Any]:
    """Run one engine call in its own write transaction: step(engine.start, "key", {...})."""

    def _step(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with db.write() as session:
            return method(session, *args, **kwargs)

    return _step


@pytest.fixture
def pending(db: Database) -> Callable[[int], dict[str, Any]]:
    """The open or claimed user tasks of an instance, by task spec id."""
    from sqlalchemy import select

    from engine import HumanTask
    from engine.models import PENDING_TASK_STATUSES

    def _pending(instance_id: int) -> dict[str, HumanTask]:
        with db.read() as session:
            rows = session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status.in_(PENDING_TASK_STATUSES))
            )
            return {row.task_spec: row for row in rows}

    return _pending


@pytest.fixture
def audit_log(db: Database) -> Callable[[int], list[Any]]:
    """The audit events of an instance, oldest first."""
    from sqlalchemy import select

    from engine import InstanceEvent

    def _audit_log(instance_id: int) -> list[InstanceEvent]:
        with db.read() as session:
            return list(session.scalars(
                select(InstanceEvent).where(InstanceEvent.instance_id == instance_id).order_by(InstanceEvent.id)))

    return _audit_log


@pytest.fixture
def app(database_url: str, db: Database):
    """The real Flask app on the test database (emptied first by `db`)."""
    from api import create_app

    application = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True})
    yield application
    application.extensions["minyi"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
