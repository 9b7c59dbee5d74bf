"""The Flask application: `create_app` is the one composition root."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api

OPENAPI = {
    "API_TITLE": "Minyi 民意",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
}
class MinyiApi(Api):
    """flask-smorest's Api without its generic error response: every error here is problem+json,
    declared per endpoint with the statuses it can answer."""

    DEFAULT_ERROR_RESPONSE_NAME = None


SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "a staff API token"}}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, the domain, the API with every resource, CLI commands."""
    from . import cli, config as configuration, errors, extensions, resources

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(OPENAPI)
    configuration.configure(app, config)
    extensions.init_app(app)
    api = MinyiApi(app, spec_kwargs={"components": {"securitySchemes": SECURITY_SCHEMES}})
    errors.init_app(app)  # after Api: our problem+json handlers replace flask-smorest's
    for module in pkgutil.iter_modules(resources.__path__):
        blueprint = getattr(importlib.import_module(f"{resources.__name__}.{module.name}"), "blp", None)
        if blueprint is not None:
            api.register_blueprint(blueprint)
    cli.init_app(app)
    return app
