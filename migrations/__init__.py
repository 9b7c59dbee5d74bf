"""Alembic migrations of every Minyi table; `upgrade` brings a database to the newest schema."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", os.path.dirname(__file__))
    config.attributes["connection"] = connection
    return config


def upgrade(sa_engine: Engine, revision: str = "heads") -> None:
    with sa_engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def recreate(sa_engine: Engine) -> None:
    """Upgrade an emptied database: on PostgreSQL the `public` schema is dropped first, with
    everything in it (for benchmarks, which load their own data)."""
    if sa_engine.dialect.name == "postgresql":
        with sa_engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(sa_engine)
