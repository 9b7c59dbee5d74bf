"""Wiring the engine into the Flask app: one Database and one Engine per app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from engine import Database, Definitions, Engine, ScriptRegistry


@dataclass
class Services:
    db: Database
    engine: Engine


def init_app(app: Flask) -> None:
    db = Database.from_url(app.config["DATABASE_URL"])
    engine = Engine(
        Definitions(max_file_bytes=app.config["MAX_DEFINITION_BYTES"]),
        ScriptRegistry(),
        script_time_limit=app.config["SCRIPT_TIME_LIMIT_SECONDS"],
    )
    app.extensions["minyi"] = Services(db=db, engine=engine)


def services() -> Services:
    return current_app.extensions["minyi"]
