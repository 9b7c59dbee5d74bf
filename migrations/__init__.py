"""Alembic migrations of every Minyi table; `upgrade` brings a database to the newest schema."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", os.path.dirname(__file__))
    config.attributes["connection"] = connection
    return config


def upgrade(sa_engine: Engine, revision: str = "heads") -> None:
    with sa_engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
