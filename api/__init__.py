"""The Flask application: `create_app` is the one composition root."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, database and engine, blueprints and CLI commands."""
    from . import cli, config as configuration, extensions, health

    app = Flask(__name__, instance_relative_config=True)
    configuration.configure(app, config)
    extensions.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    return app
